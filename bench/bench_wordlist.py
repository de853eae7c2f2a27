"""How much a 10,000-term word list costs per comment, and how long building it takes.

Usage: python bench/bench_wordlist.py [--terms 10000] [--comments 2000] [--repeat 5]

Terms are synthetic but word-like (6-10 letters, some multi-word phrases, some with a wildcard);
comments are real-looking sentences of 30-120 words with a few planted disguised terms, so both
the clean path (automaton finds nothing) and the hit path (verification, offsets) are measured.
Reports per-comment time for the matcher alone and for the matcher including the
classifier's normalization (which the matcher runs itself), with the machine it ran on.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from classifier.normalize import normalize  # noqa: E402
from service.domain.wordlist import WordListMatcher  # noqa: E402

WORDS = (
    "the a of to and in that is for it on with as was be by this are or at from but not have an they which "
    "one you were all we her she there would their will when who him been has more if no out so said what up "
    "its about into than them can only other new some could time these two may then do first any my now such "
    "like our over man me even most made after also did many before must through back years where much your "
    "way well down should because each just those people how too little state good very make world still own "
    "see men work long get here between both life being under never day same another know while last might us "
    "great old year off come since against go came right used take three government minister election policy"
).split()


def synthetic_terms(n: int, rng: random.Random) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    terms = set()
    while len(terms) < n:
        word = "".join(rng.choice(letters) for _ in range(rng.randint(6, 10)))
        roll = rng.random()
        if roll < 0.1:
            word = f"{word} {rng.choice(WORDS)}"
        elif roll < 0.15:
            word = word + "*"
        terms.add(word)
    return sorted(terms)


def synthetic_comments(n: int, terms: list[str], rng: random.Random) -> list[str]:
    out = []
    for _ in range(n):
        words = [rng.choice(WORDS) for _ in range(rng.randint(30, 120))]
        if rng.random() < 0.2:  # a fifth of the comments carry a disguised listed term
            term = rng.choice(terms).rstrip("*").split()[0]
            words.insert(rng.randint(0, len(words)), " ".join(term))  # spaced out
        if rng.random() < 0.1:
            words.insert(rng.randint(0, len(words)), "f.u.c.k")
        out.append(" ".join(words).capitalize() + ".")
    return out


def timed(fn, items: list[str], repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    per_item = []
    for _ in range(repeat):
        started = time.perf_counter()
        for item in items:
            fn(item)
        per_item.append((time.perf_counter() - started) / len(items))
    return per_item


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terms", type=int, default=10_000)
    parser.add_argument("--comments", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(7)
    terms = synthetic_terms(args.terms, rng)
    comments = synthetic_comments(args.comments, terms, rng)

    started = time.perf_counter()
    matcher = WordListMatcher(terms + ["fuck"], terms[:100])
    build_s = time.perf_counter() - started

    with_hit = [c for c in comments if matcher.find(c)]
    clean = [c for c in comments if not matcher.find(c)]
    hits = len(with_hit)
    total = timed(matcher.find, comments, args.repeat)
    clean_t = timed(matcher.find, clean, args.repeat)
    hit_t = timed(matcher.find, with_hit, args.repeat)
    norm_only = timed(normalize, comments, args.repeat)
    mean_chars = statistics.mean(len(c) for c in comments)

    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
    print(f"terms: {matcher.size}, built in {build_s * 1000:.0f} ms")
    print(f"comments: {len(comments)} (mean {mean_chars:.0f} chars), {hits} with a hit")
    best, median = min(total), statistics.median(total)
    print(f"find() per comment, incl. normalization: best {best * 1e6:.0f} us, median {median * 1e6:.0f} us")
    nbest = min(norm_only)
    print(f"  of which classifier.normalize alone:   best {nbest * 1e6:.0f} us")
    print(f"  so the automaton + verification cost:  ~{(best - nbest) * 1e6:.0f} us")
    print(
        f"comments without a hit: best {min(clean_t) * 1e6:.0f} us; with a hit (verification + offsets):"
        f" best {min(hit_t) * 1e6:.0f} us"
    )


if __name__ == "__main__":
    main()
