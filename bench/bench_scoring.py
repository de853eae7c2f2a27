"""Scoring throughput and latency of the default model (a benchmark, not a test).

Usage: ``python bench/bench_scoring.py [--model DIR] [--seconds 3]``. Texts, when the shared data is
present: the Jigsaw sample (long Wikipedia talk-page comments, ~410 characters on average), Civil
Comments posts and sentences (news comments), and Jigsaw comments under 120 characters; without
the data, generated sentences.
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
    from classifier.data import default_data_dir, load_civil_spans, load_jigsaw

    root = default_data_dir() / "jigsaw_toxic_sample"
    if root.is_dir():
        texts = load_jigsaw(root).texts
        news = load_civil_spans(default_data_dir() / "civil_comments_toxic_spans").texts[::3][:1024]
        return {
            "jigsaw (mean ~410 chars)": texts[:1024],
            f"news (mean ~{sum(map(len, news)) // len(news)} chars)": news,
            "short (< 120 chars)": [t for t in texts if len(t) < 120][:1024],
        }
    rng = random.Random(0)
    words = "the council voted to approve budget you are an idiot this article is great why not".split()
    gen = [" ".join(rng.choices(words, k=rng.randint(5, 40))) for _ in range(1024)]
    return {"generated": gen}


def _measure(model: object, texts: list[str], batch: int, seconds: float) -> tuple[float, float, float, float]:
    """Return (comments/s by wall clock, comments/s by CPU time, median and p95 wall ms per call).

    CPU time (``time.process_time``) is what one core delivers regardless of other processes on a
    shared machine; wall time is what a caller waits. Both are printed.
    """
    timings: list[float] = []
    cpu_total = 0.0
    start = time.perf_counter()
    i = 0
    while time.perf_counter() - start < seconds:
        chunk = texts[(i * batch) % len(texts) :][:batch] if batch > 1 else [texts[i % len(texts)]]
        if len(chunk) < batch:
            chunk = texts[:batch]
        c0, t0 = time.process_time(), time.perf_counter()
        model.score(chunk)  # type: ignore[attr-defined]
        timings.append(time.perf_counter() - t0)
        cpu_total += time.process_time() - c0
        i += 1
    total = sum(timings)
    n = batch * len(timings)
    timings.sort()
    median, p95 = statistics.median(timings) * 1e3, timings[int(0.95 * (len(timings) - 1))] * 1e3
    return n / total, n / max(cpu_total, 1e-9), median, p95


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
    # Other processes on the machine skew every figure: print the load so a reader can judge.
    print(f"single process, one core; load average {os.getloadavg()[0]:.2f} over {os.cpu_count()} CPUs")
    print(f"{'texts':28s} {'batch':>5s} {'wall/s':>8s} {'cpu/s':>8s} {'median ms':>10s} {'p95 ms':>8s}")
    for name, texts in _texts().items():
        for batch in (1, 32, 1024):
            rate, cpu_rate, median, p95 = _measure(model, texts, batch, args.seconds)
            print(f"{name:28s} {batch:5d} {rate:8.0f} {cpu_rate:8.0f} {median:10.2f} {p95:8.2f}")


if __name__ == "__main__":
    main()
