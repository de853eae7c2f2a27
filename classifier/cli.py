"""Command-line entry points: ``train``, ``evaluate`` and ``score``.

The service's ``moderation`` CLI calls :func:`add_subcommands`; ``python -m classifier`` uses the
same parsers, so both spell the commands identically.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

__all__ = ["add_subcommands", "main", "score_jsonl"]

SCORE_CHUNK = 1024  # comments per scoring call: large enough to amortise numpy overhead


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def add_subcommands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``train``, ``evaluate`` and ``score`` on an argparse subparsers object."""
    from classifier.data import default_data_dir
    from classifier.model import default_model_path

    p = subparsers.add_parser("train", help="train a model from the shared datasets")
    p.add_argument("--recipe", default="default", help="training recipe (default: %(default)s)")
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help=f"shared data directory (default: $MODERATION_SHARED_DATA or {default_data_dir()})",
    )
    p.add_argument("--out", type=Path, default=None, help="artifact directory (default: the packaged default)")
    p.add_argument("--no-eval", action="store_true", help="skip test-split metrics in the manifest")
    p.add_argument(
        "--extra",
        type=Path,
        action="append",
        default=[],
        help="extra labelled CSV/JSONL (a text column, columns named like the labels); repeatable",
    )
    p.set_defaults(func=_cmd_train)

    p = subparsers.add_parser("evaluate", help="write the evaluation report with plots")
    p.add_argument("--model", type=Path, default=None, help="artifact directory (default: packaged default)")
    p.add_argument("--out", type=Path, default=Path("docs/classifier"), help="report directory")
    p.add_argument("--data-dir", type=Path, default=None, help="shared data directory")
    p.add_argument("--skip-cross", action="store_true", help="skip the leave-one-source-out retraining")
    p.add_argument(
        "--render-only", action="store_true", help="rewrite REPORT.md from OUT/metrics.json without recomputing"
    )
    p.set_defaults(func=_cmd_evaluate)

    p = subparsers.add_parser("score", help="score a JSONL file of comments offline")
    p.add_argument("input", type=Path, help='JSONL input, one {"id": ..., "text": ...} per line')
    p.add_argument("-o", "--output", type=Path, required=True, help="JSONL output path")
    p.add_argument("--model", type=Path, default=None, help=f"artifact directory (default: {default_model_path()})")
    p.set_defaults(func=_cmd_score)


def _cmd_train(args: argparse.Namespace) -> int:
    from classifier.data import default_data_dir
    from classifier.model import default_model_path
    from classifier.train import RECIPES, train

    if args.recipe not in RECIPES:
        _log(f"unknown recipe {args.recipe!r}; choose from {', '.join(RECIPES)}")
        return 2
    data_dir = args.data_dir or default_data_dir()
    if not data_dir.is_dir():
        _log(f"data directory {data_dir} not found (set --data-dir or MODERATION_SHARED_DATA)")
        return 2
    missing = [p for p in args.extra if not p.is_file()]
    if missing:
        _log(f"extra data file(s) not found: {', '.join(map(str, missing))}")
        return 2
    train(
        args.recipe, data_dir, args.out or default_model_path(), log=_log, evaluate=not args.no_eval, extra=args.extra
    )
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from classifier.data import default_data_dir
    from classifier.evaluate import write_report
    from classifier.model import default_model_path

    if args.render_only:
        from classifier.evaluate import rerender

        rerender(args.model or default_model_path(), args.out)
        return 0
    data_dir = args.data_dir or default_data_dir()
    if not data_dir.is_dir():
        _log(f"data directory {data_dir} not found (set --data-dir or MODERATION_SHARED_DATA)")
        return 2
    write_report(args.model or default_model_path(), data_dir, args.out, cross=not args.skip_cross, log=_log)
    return 0


def _cmd_score(args: argparse.Namespace) -> int:
    from classifier.model import ModelLoadError, default_model_path, load_model

    try:
        model = load_model(args.model or default_model_path())
    except ModelLoadError as exc:
        _log(f"cannot load model: {exc}")
        return 1
    started = time.perf_counter()
    with args.input.open(encoding="utf-8") as src, args.output.open("w", encoding="utf-8") as dst:
        try:
            count = score_jsonl(model, src, dst)
        except ValueError as exc:
            _log(str(exc))
            return 1
    _log(f"scored {count} comments with model {model.version} in {time.perf_counter() - started:.1f}s")
    return 0


def _chunks(lines: TextIO, size: int) -> Iterator[list[tuple[int, Any, str]]]:
    chunk: list[tuple[int, Any, str]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"line {number}: invalid JSON ({exc.msg})") from exc
        if not isinstance(record, dict) or not isinstance(record.get("text"), str) or "id" not in record:
            raise ValueError(f'line {number}: expected an object with "id" and a string "text"')
        chunk.append((number, record["id"], record["text"]))
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def score_jsonl(model: Any, src: TextIO, dst: TextIO, chunk_size: int = SCORE_CHUNK) -> int:
    """Score JSONL ``{"id", "text"}`` lines from ``src`` into ``dst`` in input order, streaming."""
    count = 0
    for chunk in _chunks(src, chunk_size):
        scores = model.score([text for _, _, text in chunk])
        for (_, ident, _), row in zip(chunk, scores, strict=True):
            dst.write(json.dumps({"id": ident, "scores": {k: round(v, 6) for k, v in row.items()}}) + "\n")
        count += len(chunk)
    return count


def main(argv: list[str] | None = None) -> int:
    """``python -m classifier``: the same subcommands without the service."""
    parser = argparse.ArgumentParser(prog="python -m classifier", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_subcommands(subparsers)
    args = parser.parse_args(argv)
    return int(args.func(args))
