"""Loaders for the shared datasets, mapped onto our labels, plus a generic CSV/JSONL loader.

Every loader returns a :class:`Dataset`: texts, a label matrix with ``NaN`` where the source says
nothing about a label (those rows are left out of that label's training and metrics, see
REFERENCE.md), the source name, a group key that keeps related rows (sentences of one post) in the
same split, and a ``natural`` flag for rows drawn at the source's natural class balance.

Label mapping (documented in the model card too):

| source | toxicity | severe | obscene | threat | insult | identity_attack | spam |
| --- | --- | --- | --- | --- | --- | --- | --- |
| jigsaw | toxic | severe_toxic | obscene | threat | insult | identity_hate | 0 (assumed) |
| civil spans: posts | 1 | - | - | - | - | - | - |
| civil spans: sentences | 1 if it holds a toxic span, 0 if its post has spans and it has none | 0 if 0 | … | | | | - |
| davidson | hate or offensive | - | - | - | - | hate=1, offensive=0 | - |
| olid | OFF | - | UNT=1, TIN=- | TIN=-, UNT=0 | TIN=-, UNT=0 | IND/OTH/UNT=0 | - |
| stormfront | hate | - | - | - | - | hate | - |
| ethos | isHate ≥ 0.5 | - | - | violence ≥ 0.5 | - | isHate ≥ 0.5 | - |
| youtube spam | - | - | - | - | - | - | CLASS |

"-" is masked. A row with toxicity 0 also gets 0 for every toxic sub-label (a comment that is not
toxic is not an insult either); spam is independent of toxicity.
"""

from __future__ import annotations

import ast
import csv
import gzip
import hashlib
import html
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from classifier.labels import LABELS, TOXIC_SUBLABELS
from classifier.model import DataSource, FileHash, sha256_file
from classifier.normalize import normalize

__all__ = [
    "Dataset",
    "SOURCES",
    "SourceSpec",
    "default_data_dir",
    "load_source",
    "load_table",
    "deduplicate",
    "split_of",
]

NAN = float("nan")
L = {name: i for i, name in enumerate(LABELS)}

csv.field_size_limit(sys.maxsize)


@dataclass
class Dataset:
    """Rows of labelled text. ``y[i, j]`` is 0, 1 or NaN (not annotated)."""

    texts: list[str]
    y: NDArray[np.float64]
    source: list[str]
    group: list[str]
    natural: NDArray[np.bool_]
    spans: dict[int, list[int]] = field(default_factory=dict)  # row -> gold toxic char offsets

    def __len__(self) -> int:
        return len(self.texts)

    def whole_posts(self, rows: Iterable[int]) -> NDArray[np.bool_]:
        """Which of ``rows`` are whole posts annotated with toxic spans (Civil's toxic-spans posts,
        all toxic), not sentences cut from them or rows of other sources."""
        return np.array([i in self.spans for i in rows], dtype=bool)

    def subset(self, index: Sequence[int] | NDArray[np.int64]) -> Dataset:
        """Rows at ``index``, in that order."""
        idx = list(map(int, index))
        pos = {old: new for new, old in enumerate(idx)}
        return Dataset(
            [self.texts[i] for i in idx],
            self.y[idx],
            [self.source[i] for i in idx],
            [self.group[i] for i in idx],
            self.natural[idx],
            {pos[i]: s for i, s in self.spans.items() if i in pos},
        )

    @staticmethod
    def concat(parts: Sequence[Dataset]) -> Dataset:
        """All rows of ``parts`` in order."""
        texts: list[str] = []
        source: list[str] = []
        group: list[str] = []
        spans: dict[int, list[int]] = {}
        for part in parts:
            spans.update({i + len(texts): s for i, s in part.spans.items()})
            texts += part.texts
            source += part.source
            group += part.group
        y = np.concatenate([p.y for p in parts]) if parts else np.zeros((0, len(LABELS)))
        natural = np.concatenate([p.natural for p in parts]) if parts else np.zeros(0, dtype=bool)
        return Dataset(texts, y, source, group, natural, spans)


def _row(**labels: float) -> list[float]:
    row = [NAN] * len(LABELS)
    for name, value in labels.items():
        row[L[name]] = value
    if row[L["toxicity"]] == 0:
        for name in TOXIC_SUBLABELS:
            if np.isnan(row[L[name]]):
                row[L[name]] = 0.0
    return row


class _Builder:
    def __init__(self, source: str) -> None:
        self.source = source
        self.texts: list[str] = []
        self.rows: list[list[float]] = []
        self.groups: list[str] = []
        self.natural: list[bool] = []
        self.spans: dict[int, list[int]] = {}

    def add(self, text: str, row: list[float], group: str, natural: bool = False) -> int:
        self.texts.append(text)
        self.rows.append(row)
        self.groups.append(f"{self.source}:{group}")
        self.natural.append(natural)
        return len(self.texts) - 1

    def build(self) -> Dataset:
        y = np.array(self.rows, dtype=np.float64).reshape(-1, len(LABELS))
        return Dataset(
            self.texts, y, [self.source] * len(self.texts), self.groups, np.array(self.natural, dtype=bool), self.spans
        )


def _read_csv(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as fh:  # type: ignore[operator]
        return list(csv.DictReader(fh, delimiter=delimiter))


# -- the shared sources -------------------------------------------------------------------------


def load_jigsaw(root: Path) -> Dataset:
    """Jigsaw Toxic Comment sample (Wikipedia talk pages); ``natural`` marks ``train.5k.csv`` rows."""
    b = _Builder("jigsaw")
    seen: set[str] = set()
    natural_ids = {r["id"] for r in _read_csv(root / "train.5k.csv")}
    for name in (
        "train.5k.csv",
        "train.a.ok.1k.csv",
        "train.b.ok.1k.csv",
        "train.a.bad.1k.csv",
        "train.b.bad.1k.csv",
        "train.c.bad.1k.csv",
    ):
        for r in _read_csv(root / name):
            if r["id"] in seen:
                continue
            seen.add(r["id"])
            row = _row(
                toxicity=float(r["toxic"]),
                severe_toxicity=float(r["severe_toxic"]),
                obscene=float(r["obscene"]),
                threat=float(r["threat"]),
                insult=float(r["insult"]),
                identity_attack=float(r["identity_hate"]),
                spam=0.0,  # assumption: the Kaggle sample of talk-page comments holds no spam
            )
            b.add(r["comment_text"], row, r["id"], natural=r["id"] in natural_ids)
    return b.build()


_SENTENCE_RE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)")


def load_civil_spans(root: Path) -> Dataset:
    """Civil Comments toxic-spans posts (all toxic) plus sentence-level rows derived from the spans.

    The posts are positives only; to get news-domain negatives, each post with gold spans is cut
    into sentences: a sentence holding a span is toxic, one without any is treated as not toxic.
    The derived rows share their post's group so a post never straddles the split.
    """
    b = _Builder("civil")
    for name in ("tsd_train.csv", "tsd_trial.csv"):
        for i, r in enumerate(_read_csv(root / name)):
            text = r["text"]
            spans = sorted(set(ast.literal_eval(r["spans"])))
            group = f"{name}:{i}"
            idx = b.add(text, _row(toxicity=1.0), group)
            b.spans[idx] = spans
            if not spans:
                continue
            span_set = set(spans)
            for m in _SENTENCE_RE.finditer(text):
                sentence = m.group(0).strip()
                if len(sentence) < 25 or len(sentence) > 0.9 * len(text):
                    continue
                hit = any(p in span_set for p in range(m.start(), m.end()))
                b.add(sentence, _row(toxicity=1.0 if hit else 0.0), group)
    return b.build()


def load_davidson(root: Path) -> Dataset:
    """Davidson et al. tweets: hate speech, offensive language, neither."""
    b = _Builder("davidson")
    for r in _read_csv(root / "labeled_data.csv.gz"):
        cls = int(r["class"])
        if cls == 0:
            row = _row(toxicity=1.0, identity_attack=1.0)
        elif cls == 1:
            row = _row(toxicity=1.0, identity_attack=0.0)
        else:
            row = _row(toxicity=0.0)
        b.add(r["tweet"], row, r[""], natural=True)
    return b.build()


def load_olid(root: Path) -> Dataset:
    """OLID tweets (training file and level-A test set with its gold labels)."""
    b = _Builder("olid")

    def mapped(a: str, bl: str, c: str) -> list[float]:
        if a == "NOT":
            return _row(toxicity=0.0)
        if bl == "UNT":
            return _row(toxicity=1.0, obscene=1.0, insult=0.0, threat=0.0, identity_attack=0.0)
        if c in ("IND", "OTH"):
            return _row(toxicity=1.0, identity_attack=0.0)
        return _row(toxicity=1.0)

    with open(root / "olid-training-v1.0.tsv", encoding="utf-8") as fh:
        next(fh)
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 5:
                continue
            b.add(parts[1], mapped(parts[2], parts[3], parts[4]), parts[0], natural=True)
    gold = {}
    with open(root / "labels-levela.csv", encoding="utf-8") as fh:
        for line in fh:
            key, _, value = line.strip().partition(",")
            gold[key] = value
    with open(root / "testset-levela.tsv", encoding="utf-8") as fh:
        next(fh)
        for line in fh:
            key, _, tweet = line.rstrip("\n").partition("\t")
            if key in gold:
                b.add(tweet, mapped(gold[key], "NULL", "NULL"), "test:" + key, natural=True)
    return b.build()


def load_stormfront(root: Path) -> Dataset:
    """Stormfront forum sentences: hate / noHate (``relation`` and ``idk/skip`` dropped)."""
    b = _Builder("stormfront")
    with open(root / "stormfront_sentences.jsonl", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            if r["label"] == "hate":
                row = _row(toxicity=1.0, identity_attack=1.0)
            elif r["label"] == "noHate":
                row = _row(toxicity=0.0)
            else:
                continue
            b.add(r["text"], row, r["file_id"].split("_")[0], natural=True)
    return b.build()


def load_ethos(root: Path) -> Dataset:
    """ETHOS (YouTube/Reddit) hate speech, README binarisation ``isHate >= 0.5``; GPLv3."""
    b = _Builder("ethos")
    violence = {}
    for r in _read_csv(root / "Ethos_Dataset_Multi_Label.csv", delimiter=";"):
        violence[r["comment"]] = float(r["violence"]) >= 0.5
    for i, r in enumerate(_read_csv(root / "Ethos_Dataset_Binary.csv", delimiter=";")):
        hate = float(r["isHate"]) >= 0.5
        if hate:
            row = _row(toxicity=1.0, identity_attack=1.0, threat=1.0 if violence.get(r["comment"]) else NAN)
        else:
            row = _row(toxicity=0.0)
        b.add(r["comment"], row, str(i), natural=True)
    return b.build()


_TAG_RE = re.compile(r"<[^>]+>")


def load_youtube(root: Path) -> Dataset:
    """UCI YouTube spam collection (five videos); HTML entities and tags removed."""
    b = _Builder("youtube")
    for path in sorted(root.glob("Youtube0*.csv")):
        for r in _read_csv(path):
            text = html.unescape(_TAG_RE.sub(" ", r["CONTENT"]))
            b.add(text, _row(spam=float(r["CLASS"])), r["COMMENT_ID"], natural=True)
    return b.build()


@dataclass(frozen=True)
class SourceSpec:
    """A shared dataset: where it lives, how to load it, its licence and what we use it for."""

    name: str
    directory: str
    loader: Callable[[Path], Dataset]
    license: str
    citation: str
    mapping: str
    train: bool = True


SOURCES: tuple[SourceSpec, ...] = (
    SourceSpec(
        "jigsaw",
        "jigsaw_toxic_sample",
        load_jigsaw,
        "CC0 (Kaggle data); comment text CC BY-SA 3.0 (Wikipedia)",
        "Jigsaw/Conversation AI 2018; Wulczyn, Thain, Dixon 2017",
        "toxic, severe_toxic, obscene, threat, insult, identity_hate → same labels; spam 0",
    ),
    SourceSpec(
        "civil",
        "civil_comments_toxic_spans",
        load_civil_spans,
        "CC0 1.0",
        "Pavlopoulos et al. 2021 (SemEval-2021 Task 5); Borkan et al. 2019",
        "posts toxicity 1; sentences 1 if they hold a gold span, else 0",
    ),
    SourceSpec(
        "davidson",
        "davidson_hate_offensive",
        load_davidson,
        "MIT",
        "Davidson et al. 2017, ICWSM",
        "hate → toxicity+identity_attack; offensive → toxicity; neither → 0",
    ),
    SourceSpec(
        "olid",
        "olid",
        load_olid,
        "unspecified by the authors (research use customary)",
        "Zampieri et al. 2019, NAACL",
        "OFF → toxicity; UNT → obscene; NOT → 0",
    ),
    SourceSpec(
        "stormfront",
        "stormfront_hate",
        load_stormfront,
        "CC BY-SA 3.0 ES",
        "de Gibert et al. 2018, ALW2",
        "hate → toxicity+identity_attack; noHate → 0",
    ),
    SourceSpec(
        "ethos",
        "ethos",
        load_ethos,
        "GPLv3",
        "Mollas et al. 2022",
        "isHate ≥ 0.5 → toxicity+identity_attack (+threat if violence ≥ 0.5); else 0",
        train=False,
    ),
    SourceSpec(
        "youtube",
        "youtube_spam",
        load_youtube,
        "CC BY 4.0 (UCI)",
        "Alberto et al. 2015, ICMLA",
        "CLASS → spam; toxicity labels masked",
    ),
)


def default_data_dir() -> Path:
    """``$MODERATION_SHARED_DATA`` or ``../shared/data`` relative to the repository root."""
    env = os.environ.get("MODERATION_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def load_source(spec: SourceSpec, data_dir: Path) -> tuple[Dataset, DataSource]:
    """Load one shared source and describe it (file hashes, licence) for the manifest."""
    root = data_dir / spec.directory
    ds = spec.loader(root)
    files = [
        FileHash(path=f"{spec.directory}/{p.name}", sha256=sha256_file(p))
        for p in sorted(root.iterdir())
        if p.is_file()
    ]
    info = DataSource(
        name=spec.name,
        license=spec.license,
        citation=spec.citation,
        files=files,
        rows=len(ds),
        used_for="train" if spec.train else "evaluation only",
        label_mapping=spec.mapping,
    )
    return ds, info


def load_table(
    path: Path, text_column: str = "text", label_columns: dict[str, str] | None = None, source: str | None = None
) -> Dataset:
    """Generic CSV or JSONL loader: one text column and label columns mapped onto our labels.

    ``label_columns`` maps a column name to one of :data:`LABELS` (default: columns named like
    our labels). Empty cells are masked; values are read as floats and thresholded at 0.5.
    Moderator decisions exported by the service can be loaded this way.
    """
    path = Path(path)
    if path.suffix == ".jsonl":
        records: Iterable[Mapping[str, Any]] = (
            json.loads(line) for line in path.open(encoding="utf-8") if line.strip()
        )
    else:
        records = _read_csv(path)
    mapping = label_columns or {name: name for name in LABELS}
    unknown = set(mapping.values()) - set(LABELS)
    if unknown:
        raise ValueError(f"unknown labels {sorted(unknown)}")
    b = _Builder(source or path.stem)
    for i, r in enumerate(records):
        labels: dict[str, float] = {}
        for column, label in mapping.items():
            value = r.get(column)
            if value is None or value == "":
                continue
            labels[label] = 1.0 if float(value) >= 0.5 else 0.0  # type: ignore[arg-type]
        b.add(str(r[text_column]), _row(**labels), str(r.get("id", i)), natural=True)
    return b.build()


def dedup_key(text: str) -> str:
    """Texts that normalize to the same string (ignoring punctuation) are duplicates."""
    core = re.sub(r"[^\w]+", " ", normalize(text)).strip()
    return hashlib.blake2b(core.encode(), digest_size=12).hexdigest()


def deduplicate(ds: Dataset) -> Dataset:
    """Keep the first row of each duplicate set, merging labels (max of the annotated values)."""
    first: dict[str, int] = {}
    keep: list[int] = []
    y = ds.y.copy()
    for i, text in enumerate(ds.texts):
        key = dedup_key(text)
        j = first.get(key)
        if j is None:
            first[key] = i
            keep.append(i)
        else:
            y[j] = np.where(np.isnan(y[j]), y[i], np.where(np.isnan(y[i]), y[j], np.fmax(y[j], y[i])))
    out = ds.subset(keep)
    out.y = y[keep]
    return out


def split_of(group: str, seed: int = 13, val: float = 0.15, test: float = 0.15) -> str:
    """Fixed split of a group key: ``train``, ``val`` or ``test`` (a seeded hash, so stable)."""
    h = int.from_bytes(hashlib.sha256(f"{seed}:{group}".encode()).digest()[:8], "big") / 2**64
    if h < test:
        return "test"
    if h < test + val:
        return "val"
    return "train"
