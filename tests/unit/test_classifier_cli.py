"""The classifier CLI: ``score`` keeps order and ids, streams, and reports bad input."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from classifier.cli import add_subcommands, main
from classifier.labels import LABELS
from classifier.testing import train_tiny_model


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "model"
    train_tiny_model(out)
    return out


def test_score_writes_one_line_per_input_in_order(artifact: Path, tmp_path: Path) -> None:
    records = [{"id": i, "text": f"the council budget {'idiot' if i % 3 == 0 else 'vote'}"} for i in range(2500)]
    records[7]["id"] = "string-id"
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps(r) for r in records) + "\n\n")
    dst = tmp_path / "out.jsonl"
    assert main(["score", str(src), "-o", str(dst), "--model", str(artifact)]) == 0
    lines = [json.loads(line) for line in dst.read_text().splitlines()]
    assert [line["id"] for line in lines] == [r["id"] for r in records]
    assert all(set(line["scores"]) == set(LABELS) for line in lines)
    assert lines[0]["scores"]["toxicity"] > lines[1]["scores"]["toxicity"]


def test_score_rejects_lines_without_text(artifact: Path, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": 1, "text": "ok"}\n{"id": 2}\n')
    assert main(["score", str(src), "-o", str(tmp_path / "out.jsonl"), "--model", str(artifact)]) == 1


def test_score_reports_a_broken_model(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": 1, "text": "ok"}\n')
    assert main(["score", str(src), "-o", str(tmp_path / "out.jsonl"), "--model", str(tmp_path)]) == 1


def test_subcommands_register_on_a_host_parser() -> None:
    parser = argparse.ArgumentParser(prog="moderation")
    add_subcommands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["train", "--recipe", "default", "--out", "x"])
    assert args.command == "train" and args.recipe == "default"
    args = parser.parse_args(["evaluate", "--skip-cross"])
    assert args.skip_cross
    args = parser.parse_args(["score", "in.jsonl", "-o", "out.jsonl"])
    assert args.output == Path("out.jsonl")


def test_train_refuses_an_unknown_recipe(tmp_path: Path) -> None:
    assert main(["train", "--recipe", "nope", "--data-dir", str(tmp_path)]) == 2
