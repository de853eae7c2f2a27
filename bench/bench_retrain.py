"""Retraining at scale: 1,000,000 labeled comments, out of core, on two cores (a benchmark, not a test).

Usage::

    /usr/bin/time -v python bench/bench_retrain.py [--rows 1000000] [--chunk 10000] [--vocab-rows 30000]

The comments are synthetic but made of real text: each one is a real comment from the shared
datasets (Jigsaw, Civil Comments, Davidson, YouTube spam; ``MODERATION_SHARED_DATA`` or
``../shared/data``), keeping that comment's labels, recombined with templates — a reply prefix
(``@reader123``), a sign-off, a second real civil sentence in front (the labels are then the
element-wise maximum) — and a random reader name or number, so nearly every row is distinct. The
source comments are split by a seeded hash first: the 1M training rows come from the train split,
the calibration rows from the validation split and the evaluation rows from the test split, so
the reported ROC AUCs are on comments whose source text the model never saw.

The rows are generated on the fly in chunks and streamed through
:func:`classifier.streaming.train_streaming`; nothing holds all of them. The result is an ordinary
artifact (``load_model`` verifies and smoke-tests it). Peak RSS comes from ``getrusage``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from sklearn.metrics import roc_auc_score

from classifier import load_model
from classifier.data import SOURCES, Dataset, default_data_dir, load_source, split_of
from classifier.labels import LABELS
from classifier.streaming import StreamingRecipe, train_streaming

BENCH_SOURCES = ("jigsaw", "civil", "davidson", "youtube")
SPAM_SHARE, TOXIC_SHARE = 0.03, 0.12
_PREFIXES = ["", "", "", "@reader{n} ", "Re: the article above. ", "As a subscriber since {y}, ", "Reply to {name}: "]
_SUFFIXES = ["", "", "", " Just my two cents.", " -- {name}", " (edited)", " Thanks.", " #{n}"]
_NAMES = ["Sam", "Alex", "J. Doe", "Maria", "Kofi", "Lena", "Ravi", "Tom", "Ana", "Chen"]


class Pool:
    """Real comments of one split, with their labels (NaN where the source did not annotate)."""

    def __init__(self, data: Dataset, rows: NDArray[np.int64]) -> None:
        self.texts = [data.texts[i] for i in rows]
        self.y = data.y[rows]
        clean = np.nan_to_num(self.y, nan=0.0).max(axis=1) == 0
        self.civil = np.flatnonzero(clean & ~np.isnan(self.y[:, 0]))
        self.spam = np.flatnonzero(self.y[:, LABELS.index("spam")] == 1)
        self.toxic = np.flatnonzero(self.y[:, 0] == 1)
        self.other = np.flatnonzero(clean)

    def sample(self, rng: random.Random, n: int) -> tuple[list[str], NDArray[np.float64]]:
        texts: list[str] = []
        y = np.empty((n, len(LABELS)))
        for k in range(n):
            # A news site's mix, not the sources' (Davidson is 83% offensive): ~12% toxic, ~3% spam.
            r = rng.random()
            group = self.spam if r < SPAM_SHARE else self.toxic if r < SPAM_SHARE + TOXIC_SHARE else self.other
            i = int(group[rng.randrange(len(group))])
            text, labels = self.texts[i], self.y[i]
            if rng.random() < 0.2 and len(self.civil):
                j = int(self.civil[rng.randrange(len(self.civil))])
                first = self.texts[j].split(". ")[0][:200]
                text = f"{first}. {text}"
                labels = np.where(np.isnan(labels), self.y[j], np.fmax(labels, self.y[j]))
            fill = {"n": rng.randint(1, 99999), "y": rng.randint(1990, 2025), "name": rng.choice(_NAMES)}
            text = rng.choice(_PREFIXES).format(**fill) + text + rng.choice(_SUFFIXES).format(**fill)
            texts.append(text)
            y[k] = labels
        return texts, y


def load_pools(data_dir: Path) -> tuple[dict[str, Pool], list]:
    parts, infos = [], []
    for spec in SOURCES:
        if spec.name in BENCH_SOURCES:
            ds, info = load_source(spec, data_dir)
            parts.append(ds)
            infos.append(info)
    data = Dataset.concat(parts)
    split = np.array([split_of(g) for g in data.group])
    return {name: Pool(data, np.flatnonzero(split == name)) for name in ("train", "val", "test")}, infos


def chunks(pool: Pool, rows: int, chunk: int, seed: int) -> Iterator[tuple[list[str], NDArray[np.float64], NDArray]]:
    rng = random.Random(seed)
    done = 0
    while done < rows:
        n = min(chunk, rows - done)
        texts, y = pool.sample(rng, n)
        done += n
        yield texts, y, np.ones(n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=10_000)
    parser.add_argument("--vocab-rows", type=int, default=30_000)
    parser.add_argument("--calib-rows", type=int, default=20_000)
    parser.add_argument("--eval-rows", type=int, default=20_000)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()

    started = time.perf_counter()
    data_dir = args.data_dir or default_data_dir()
    pools, infos = load_pools(data_dir)
    vocab_texts, vocab_y = pools["train"].sample(random.Random(1), args.vocab_rows)
    prevalence = np.nanmean(vocab_y, axis=0)
    calib_texts, calib_y = pools["val"].sample(random.Random(2), args.calib_rows)
    eval_texts, eval_y = pools["test"].sample(random.Random(3), args.eval_rows)
    print(f"pools: train {len(pools['train'].texts)}, val {len(pools['val'].texts)}, test {len(pools['test'].texts)}")
    with tempfile.TemporaryDirectory(prefix="bench-retrain-") as tmp:
        model, stats = train_streaming(
            vocab_texts,
            lambda: chunks(pools["train"], args.rows, args.chunk, seed=4),
            calib_texts,
            calib_y,
            Path(tmp) / "model",
            recipe=StreamingRecipe(),
            prevalence=prevalence,
            data_sources=infos,
        )
        trained_s = time.perf_counter() - started
        reloaded = load_model(Path(tmp) / "model")
        artifact_mb = sum(p.stat().st_size for p in (Path(tmp) / "model").iterdir()) / 1e6
    p = np.vstack([reloaded.score_array(eval_texts[lo : lo + 4000]) for lo in range(0, len(eval_texts), 4000)])
    aucs = {}
    for j, label in enumerate(LABELS):
        rows = ~np.isnan(eval_y[:, j])
        y = eval_y[rows, j]
        if y.size and 0 < y.sum() < y.size:
            aucs[label] = round(float(roc_auc_score(y, p[rows, j])), 4)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    mean_chars = float(np.mean([len(t) for t in vocab_texts]))
    print(
        json.dumps(
            {
                "rows": stats.rows,
                "chunk": args.chunk,
                "mean_chars_per_comment": round(mean_chars),
                "positives_per_label": dict(zip(LABELS, map(int, stats.positives), strict=True)),
                "seconds": {
                    "total": round(time.perf_counter() - started, 1),
                    "until_artifact_written": round(trained_s, 1),
                    "vocabulary": round(stats.seconds_vocabulary, 1),
                    "stream_fit": round(stats.seconds_stream, 1),
                    "calibrate": round(stats.seconds_calibrate, 1),
                },
                "rows_per_second_stream": round(stats.rows / stats.seconds_stream),
                "peak_rss_mb": round(peak_mb),
                "artifact_mb": round(artifact_mb, 1),
                "model_version": model.version,
                "eval_roc_auc": aucs,
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "load_average_at_end": os.getloadavg(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
