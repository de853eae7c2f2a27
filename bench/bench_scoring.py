"""Scoring throughput and latency of the default model (a benchmark, not a test).

Usage: ``python bench/bench_scoring.py [--model DIR] [--seconds 3]``. Texts are the Jigsaw sample
when the shared data is present (long Wikipedia talk-page comments, ~410 characters on average),
plus a "short" set of comments under 120 characters; without the data, generated sentences.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import time
from pathlib import Path

from classifier import default_model_path, load_model


def _texts() -> dict[str, list[str]]:
    from classifier.data import default_data_dir, load_jigsaw

    root = default_data_dir() / "jigsaw_toxic_sample"
    if root.is_dir():
        texts = load_jigsaw(root).texts
        return {
            "jigsaw (mean ~410 chars)": texts[:1024],
            "short (< 120 chars)": [t for t in texts if len(t) < 120][:1024],
        }
    rng = random.Random(0)
    words = "the council voted to approve budget you are an idiot this article is great why not".split()
    gen = [" ".join(rng.choices(words, k=rng.randint(5, 40))) for _ in range(1024)]
    return {"generated": gen}


def _measure(model: object, texts: list[str], batch: int, seconds: float) -> tuple[float, float, float]:
    """Return (comments per second, median ms per call, p95 ms per call)."""
    timings: list[float] = []
    start = time.perf_counter()
    i = 0
    while time.perf_counter() - start < seconds:
        chunk = texts[(i * batch) % len(texts) :][:batch] if batch > 1 else [texts[i % len(texts)]]
        if len(chunk) < batch:
            chunk = texts[:batch]
        t0 = time.perf_counter()
        model.score(chunk)  # type: ignore[attr-defined]
        timings.append(time.perf_counter() - t0)
        i += 1
    total = sum(timings)
    timings.sort()
    return batch * len(timings) / total, statistics.median(timings) * 1e3, timings[int(0.95 * (len(timings) - 1))] * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=default_model_path())
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    t0 = time.perf_counter()
    model = load_model(args.model)
    load_ms = (time.perf_counter() - t0) * 1e3
    print(f"model {model.version}: {model.n_features} features, loaded in {load_ms:.0f} ms")
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
    print("single process, one core")
    print(f"{'texts':28s} {'batch':>5s} {'comments/s':>11s} {'median ms':>10s} {'p95 ms':>8s}")
    for name, texts in _texts().items():
        for batch in (1, 32, 1024):
            rate, median, p95 = _measure(model, texts, batch, args.seconds)
            print(f"{name:28s} {batch:5d} {rate:11.0f} {median:10.2f} {p95:8.2f}")


if __name__ == "__main__":
    main()
