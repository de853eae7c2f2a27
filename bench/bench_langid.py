"""CPU per comment of language detection: py3langid's walk, one text at a time, against detect_many.

Usage: python bench/bench_langid.py [--texts 4000] [--rounds 5] [--batches 1,8,32]

The texts are the load benchmark's pool (``bench_load.comment_texts(20000, 1)``: real comments
from ../shared/data, mean 166 characters), the first ``--texts`` of them. ``detect``: ``old`` is
the detector as it was before detect_many (its rules around py3langid's own ``classify``), ``new``
is ``LanguageDetector.detect_many`` on consecutive batches of each size. ``classify``: the
identification alone, py3langid's ``classify`` against ``classify_many``, on the samples the rules
pass on. Times are CPU time of this process (time.process_time), single-threaded; old and new
alternate within each round, so a busy machine slows both alike. Reports each round and the range
over rounds.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_load import comment_texts  # noqa: E402

from service.language import MIN_LETTERS, MIN_PROBABILITY, MIN_WORDS, SAMPLE_CHARS, LanguageDetector  # noqa: E402

_WORD_RE = re.compile(r"[^\W\d_]{2,}")
_URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.I)


def old_sample(text: str) -> str | None:
    """What LanguageDetector.detect gave py3langid before detect_many (None: too short to try)."""
    prose = _URL_RE.sub(" ", text)
    words = _WORD_RE.findall(prose)
    if len(words) < MIN_WORDS or sum(len(w) for w in words) < MIN_LETTERS:
        return None
    return prose if len(prose) <= SAMPLE_CHARS else prose[: prose.rfind(" ", 0, SAMPLE_CHARS) + 1 or SAMPLE_CHARS]


def old_detect(identifier: Any, text: str) -> str | None:
    """LanguageDetector.detect before detect_many: the same rules, py3langid's classify."""
    sample = old_sample(text)
    if sample is None:
        return None
    language, probability = identifier.classify(sample)
    return str(language) if float(probability) >= MIN_PROBABILITY else None


def cpu_us_per_text(run: Callable[[], object], count: int) -> float:
    start = time.process_time()
    run()
    return (time.process_time() - start) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batches", default="1,8,32")
    args = parser.parse_args()
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    detector = LanguageDetector()
    texts = comment_texts(20000, 1)[0][: args.texts]
    sizes = [int(b) for b in args.batches.split(",")]
    assert [old_detect(identifier, t) for t in texts] == detector.detect_many(texts), "old and new disagree"
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "")
    print(f"{len(texts)} texts, mean {sum(map(len, texts)) / len(texts):.0f} characters; {cpu or platform.processor()}")
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; CPU µs per text, old / new")
    samples = [s for s in map(old_sample, texts) if s is not None]
    print(f"{len(samples)} of them long enough to identify")
    # detect: the rules (links, word counts, sample) and the identification; classify: the
    # identification alone, on the samples the rules pass on.
    runs = {
        "detect": (
            len(texts),
            lambda: [old_detect(identifier, t) for t in texts],
            lambda b: [detector.detect_many(texts[i : i + b]) for i in range(0, len(texts), b)],
        ),
        "classify": (
            len(samples),
            lambda: [identifier.classify(t) for t in samples],
            lambda b: [detector.classify_many(samples[i : i + b]) for i in range(0, len(samples), b)],
        ),
    }
    seen: dict[tuple[str, int], list[tuple[float, float]]] = {(name, b): [] for name in runs for b in sizes}
    for r in range(args.rounds):
        for name, (count, old, new) in runs.items():
            line = []
            for b in sizes:
                before = cpu_us_per_text(old, count)
                after = cpu_us_per_text(lambda: new(b), count)  # noqa: B023
                seen[name, b].append((before, after))
                line.append(f"batch {b}: {before:5.1f} / {after:5.1f}")
            print(f"round {r + 1}, {name:<8}: " + "   ".join(line))
    for (name, b), pairs in seen.items():
        olds, news, ratios = [o for o, _ in pairs], [n for _, n in pairs], [n / o for o, n in pairs]
        print(
            f"{name:<8} batch {b:>3}: old {min(olds):.1f}-{max(olds):.1f} µs, new {min(news):.1f}-{max(news):.1f} µs,"
            f" new/old {min(ratios):.2f}-{max(ratios):.2f} (per round)"
        )


if __name__ == "__main__":
    main()
