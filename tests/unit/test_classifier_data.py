"""Data loading: generic loader, masking, deduplication, the fixed split; shared sources when present."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from classifier.data import SOURCES, Dataset, deduplicate, default_data_dir, load_source, load_table, split_of
from classifier.labels import LABELS

L = {label: i for i, label in enumerate(LABELS)}
DATA = default_data_dir()
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="shared data not present")


def test_generic_csv_loader_masks_missing_labels(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("id,body,is_toxic,is_spam\n1,hello there,0,\n2,you idiot,1,0\n")
    ds = load_table(path, text_column="body", label_columns={"is_toxic": "toxicity", "is_spam": "spam"})
    assert ds.texts == ["hello there", "you idiot"]
    assert ds.y[0, L["toxicity"]] == 0.0
    assert math.isnan(ds.y[0, L["spam"]])
    # not toxic implies none of the toxic sub-labels; toxic leaves them unknown
    assert ds.y[0, L["insult"]] == 0.0
    assert math.isnan(ds.y[1, L["insult"]])


def test_generic_jsonl_loader(tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    path.write_text(
        "\n".join(
            json.dumps(r)
            for r in [{"id": "a", "text": "spam spam", "spam": 1}, {"id": "b", "text": "fine", "spam": 0.2}]
        )
    )
    ds = load_table(path)
    assert ds.y[:, L["spam"]].tolist() == [1.0, 0.0]
    assert ds.group == ["export:a", "export:b"]


def test_unknown_label_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("text,rude\nhi,1\n")
    with pytest.raises(ValueError, match="unknown labels"):
        load_table(path, label_columns={"rude": "rudeness"})


def _ds(texts: list[str], rows: list[list[float]], source: str) -> Dataset:
    return Dataset(
        texts,
        np.array(rows),
        [source] * len(texts),
        [f"{source}:{i}" for i in range(len(texts))],
        np.ones(len(texts), dtype=bool),
    )


def test_deduplication_merges_labels_across_sources() -> None:
    nan = float("nan")
    a = _ds(["You IDIOT!!", "fine"], [[1, nan, nan, nan, nan, nan, nan], [0] * 7], "a")
    b = _ds(["you idiot", "other"], [[nan, nan, nan, nan, 1, nan, nan], [0] * 7], "b")
    out = deduplicate(Dataset.concat([a, b]))
    assert out.texts == ["You IDIOT!!", "fine", "other"]
    assert out.y[0, L["toxicity"]] == 1.0 and out.y[0, L["insult"]] == 1.0


def test_split_is_fixed_and_grouped() -> None:
    groups = [f"g{i}" for i in range(2000)]
    first = [split_of(g) for g in groups]
    assert first == [split_of(g) for g in groups]
    shares = {name: first.count(name) / len(first) for name in ("train", "val", "test")}
    assert 0.65 < shares["train"] < 0.75 and 0.12 < shares["test"] < 0.18
    assert [split_of(g, seed=14) for g in groups] != first


@needs_data
@pytest.mark.data
@pytest.mark.parametrize(
    ("name", "rows"),
    [("jigsaw", 9848), ("davidson", 24783), ("youtube", 1956), ("ethos", 998), ("stormfront", 10703), ("olid", 14100)],
)
def test_shared_sources_load_with_documented_counts(name: str, rows: int) -> None:
    spec = next(s for s in SOURCES if s.name == name)
    ds, info = load_source(spec, DATA)
    assert len(ds) == rows
    assert info.files and all(len(f.sha256) == 64 for f in info.files)
    annotated = ~np.isnan(ds.y)
    assert annotated.any(axis=0).sum() >= 1


@needs_data
@pytest.mark.data
def test_civil_sentences_stay_with_their_post() -> None:
    spec = next(s for s in SOURCES if s.name == "civil")
    ds, _ = load_source(spec, DATA)
    by_group: dict[str, set[str]] = {}
    for g in ds.group:
        by_group.setdefault(g, set()).add(split_of(g))
    assert all(len(s) == 1 for s in by_group.values())
    assert np.nanmin(ds.y[:, L["toxicity"]]) == 0.0  # derived clean sentences exist


def test_extra_files_become_training_sources(tmp_path: Path) -> None:
    from classifier.train import Recipe, prepare

    path = tmp_path / "decisions.jsonl"
    path.write_text(
        "\n".join(json.dumps({"id": i, "text": f"comment number {i}", "toxicity": i % 2}) for i in range(50))
    )
    splits = prepare(
        Recipe(name="t", sources=(), eval_only_sources=(), augment=False), tmp_path, lambda _m: None, [path]
    )
    assert len(splits.data) == 50
    assert set(splits.data.source) == {"extra:decisions"}
    assert splits.infos[0].files[0].path == "decisions.jsonl"
    assert set(splits.split) <= {"train", "val", "test"}
