"""Scoring throughput of the default model per core, and its featurizer against scikit-learn's.

    python bench/bench_scoring.py [--model DIR] [--seconds 3] [--out bench/results/scoring.json]

Part 1, scoring alone (``Model.score``: normalization, features, linear layer, calibration; no
HTTP, no database), at batch sizes 1, 32 and 1024: comments per second per core (from this
process's CPU time, which is what one core delivers whatever else runs on the machine), the same
by wall clock, CPU milliseconds per comment, and the median and p95 wall time of one call. Then
the same for ``Model.score_and_explain``: scores plus the spans of the texts the model flags
itself (with the share flagged in each text set); and the service's whole scoring call,
``Model.score_explain_and_name``, which also tells which texts name an identity group.

Part 2, featurization alone on already-normalized news comments: the served featurizer
(``classifier.features``: word and character n-grams together) against the scikit-learn pipeline
it reproduces (``classifier.sklearn_reference``, built from the same artifact): its ``char_wb``
``TfidfVectorizer`` alone and the whole word + ``char_wb`` ``FeatureUnion``. CPU ms per comment.

Texts, when the shared data is present: the Jigsaw sample (long Wikipedia talk-page comments,
~410 characters on average), Civil Comments posts and sentences (news comments), and Jigsaw
comments under 120 characters; without the data, generated sentences. One process, one thread.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from harness import git_commit, load_average, machine_info

# One thread, as 'moderation serve' runs the model (the Rust tokenizer's pool off), so the figures
# are what one core delivers.
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from classifier import Model, default_model_path, load_model
from classifier.normalize import clear_cache
from classifier.sklearn_reference import reference_pipeline

BATCHES = (1, 32, 1024)


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


@dataclass(frozen=True)
class Measurement:
    batch: int
    per_s_per_core: float  # comments per CPU second of this process
    per_s_wall: float
    cpu_ms_per_comment: float
    median_call_ms: float
    p95_call_ms: float


def measure(fn: Callable[[Sequence[str]], object], texts: list[str], batch: int, seconds: float) -> Measurement:
    """Call ``fn`` on successive batches of ``texts`` for about ``seconds``.

    The pools are cycled, so a text comes back every few calls; normalization's cache of recent
    texts is emptied before each call (untimed), so every call pays for its texts as new comments do.
    """
    fn(texts[:batch])  # warm first-call allocations and lazy imports
    timings: list[float] = []
    cpu_total = 0.0
    start = time.perf_counter()
    i = 0
    while time.perf_counter() - start < seconds:
        chunk = texts[(i * batch) % len(texts) :][:batch]
        if len(chunk) < batch:
            chunk = texts[:batch]
        clear_cache()
        c0, t0 = time.process_time(), time.perf_counter()
        fn(chunk)
        timings.append(time.perf_counter() - t0)
        cpu_total += time.process_time() - c0
        i += 1
    n = batch * len(timings)
    timings.sort()
    cpu = max(cpu_total, 1e-9)
    return Measurement(
        batch,
        n / cpu,
        n / sum(timings),
        1e3 * cpu / n,
        statistics.median(timings) * 1e3,
        timings[int(0.95 * (len(timings) - 1))] * 1e3,
    )


def scoring_table(
    fn: Callable[[Sequence[str]], object], texts: dict[str, list[str]], seconds: float
) -> dict[str, list[Measurement]]:
    """Measure ``fn`` on every text set at every batch size, printing one Markdown row each."""
    print("| texts | batch | comments/s per core | comments/s wall | CPU ms/comment | median ms/call | p95 ms/call |")
    print("|---|---|---|---|---|---|---|")
    out: dict[str, list[Measurement]] = {}
    for name, pool in texts.items():
        for batch in BATCHES:
            m = measure(fn, pool, batch, seconds)
            out.setdefault(name, []).append(m)
            print(
                f"| {name} | {batch} | {m.per_s_per_core:.0f} | {m.per_s_wall:.0f} | {m.cpu_ms_per_comment:.3f} "
                f"| {m.median_call_ms:.2f} | {m.p95_call_ms:.2f} |"
            )
    return out


def _flagged_share(model: Model, texts: list[str]) -> float:
    _, spans = model.score_and_explain(texts)
    return sum(s is not None for s in spans) / max(len(texts), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=default_model_path())
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement (default 3)")
    parser.add_argument("--out", type=Path, help="also write the figures as JSON")
    args = parser.parse_args()
    t0 = time.perf_counter()
    model = load_model(args.model)
    load_ms = (time.perf_counter() - t0) * 1e3
    reference = reference_pipeline(args.model)
    machine = machine_info()
    load_start = load_average()
    print(f"model {model.version}: {model.n_features} features, loaded in {load_ms:.0f} ms; commit {git_commit()}")
    print(
        f"machine: {machine['nproc']} CPUs ({machine['cpu_model']}), {machine['memory_gib']} GiB, "
        f"Python {machine['python']}; one process, one thread; load average at start {load_start[0]:.2f}"
    )
    texts = _texts()

    print("\n## Scoring alone (Model.score)\n")
    scoring = scoring_table(model.score, texts, args.seconds)
    print("\n## Scoring with explanations, as the service calls the model (Model.score_and_explain)\n")
    print("Scores, plus the spans of the texts the model flags itself (share flagged per text set below).\n")
    explaining = scoring_table(model.score_and_explain, texts, args.seconds)
    flagged = {name: _flagged_share(model, pool) for name, pool in texts.items()}
    shares = ", ".join(f"{name} {100 * share:.0f} %" for name, share in flagged.items())
    print(f"\nFlagged by the model: {shares}.")

    # The scoring thread's whole call (service/ml/scorer.py): scores, spans, and whether each text
    # names an identity group (the policy holds those it would reject).
    print("\n## The service's scoring call (Model.score_explain_and_name)\n")
    serving = scoring_table(model.score_explain_and_name, texts, args.seconds)

    news_name = next((n for n in texts if n.startswith("news")), next(iter(texts)))
    normalized = reference.prepare(texts[news_name])
    features = model._features  # the served featurizer itself (private; benchmarks only)
    contenders: dict[str, Callable[[Sequence[str]], object]] = {
        "ours, word + char": features.transform,
        "scikit-learn char_wb": reference.char.transform,
        "scikit-learn word + char_wb": reference.features.transform,
    }
    print(f"\n## Featurization alone, {news_name}, normalized text: CPU ms per comment\n")
    print("| batch | " + " | ".join(contenders) + " | ours / scikit-learn char_wb |")
    print("|---|" + "---|" * (len(contenders) + 1))
    featurizing: dict[str, list[Measurement]] = {}
    for batch in BATCHES:
        row = {name: measure(fn, normalized, batch, args.seconds) for name, fn in contenders.items()}
        for name, m in row.items():
            featurizing.setdefault(name, []).append(m)
        ratio = row["ours, word + char"].cpu_ms_per_comment / row["scikit-learn char_wb"].cpu_ms_per_comment
        cells = " | ".join(f"{m.cpu_ms_per_comment:.3f}" for m in row.values())
        print(f"| {batch} | {cells} | {ratio:.2f} |")
    normalize_ms = measure(reference.prepare, texts[news_name], 1024, args.seconds)
    print(f"\nNormalization (prepare_text) of the same texts: {normalize_ms.cpu_ms_per_comment:.3f} CPU ms/comment.")
    print(f"Load average at end {load_average()[0]:.2f}.")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        report = {
            "command": " ".join(["python", *sys.argv]),
            "commit": git_commit(),
            "model": model.version,
            "machine": machine,
            "load_average": {"start": load_start, "end": load_average()},
            "scoring": {name: [asdict(m) for m in ms] for name, ms in scoring.items()},
            "score_and_explain": {name: [asdict(m) for m in ms] for name, ms in explaining.items()},
            "service_call": {name: [asdict(m) for m in ms] for name, ms in serving.items()},
            "flagged_share": flagged,
            "featurizing": {"texts": news_name, **{n: [asdict(m) for m in ms] for n, ms in featurizing.items()}},
            "normalize_cpu_ms_per_comment": normalize_ms.cpu_ms_per_comment,
        }
        args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
