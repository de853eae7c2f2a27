"""The scorer's memory pattern without the service: does glibc's heap grow while nothing leaks?

Scores and explains comments in one worker thread, as ``service.ml.scorer.Scorer`` does, while
the main thread allocates and frees Python objects of assorted sizes (as request handling does),
and prints glibc malloc's counters (``mallinfo2``) and RSS as it goes. ``--mmap-threshold N``
first sets glibc's M_MMAP_THRESHOLD to N bytes the way ``moderation serve`` does
(``service.memory``); 0 leaves glibc's dynamic threshold alone.

    python bench/malloc_scorer.py --rounds 20000 --mmap-threshold 0
    python bench/malloc_scorer.py --rounds 20000 --mmap-threshold 131072
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.memory import mallinfo, set_mmap_threshold  # noqa: E402

TEXTS = [
    "Thank you for the clear explanation of the budget vote.",
    "I disagree with the author on the tram line, but the figures are useful.",
    "You are an idiot and this article is garbage.",
    "Shut up, nobody cares about your stupid opinion.",
]


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def row(label: str, started: float) -> str:
    m = mallinfo()
    mib = 2**20
    return (
        f"{label:>8} {time.monotonic() - started:6.1f}s  rss {rss_mib():7.1f}  heap+arenas {m.arena / mib:6.1f}"
        f"  in use {m.uordblks / mib:6.1f}  free {m.fordblks / mib:6.1f}  mmapped {m.hblkhd / mib:6.1f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20000)
    parser.add_argument("--mmap-threshold", type=int, default=0)
    args = parser.parse_args()
    if args.mmap_threshold:
        print("M_MMAP_THRESHOLD set:", set_mmap_threshold(args.mmap_threshold))
    from classifier import default_model_path, load_model

    model = load_model(default_model_path())
    rng = random.Random(8)
    started = time.monotonic()
    keep: list[object] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="scorer") as pool:
        for i in range(args.rounds):
            text = rng.choice(TEXTS) + f" (#{i})"
            scores = pool.submit(model.score, [text]).result()[0]
            if i % 3 == 0:  # the soak's share of comments that are not approved, so explained
                pool.submit(model.explain, text, scores).result()
            # Request-sized garbage on the main thread, some of it living a little longer.
            keep.append(bytearray(rng.choice((600, 4000, 20000, 70000))))
            if len(keep) > 200:
                del keep[: rng.randrange(1, 200)]
            if i % (args.rounds // 10 or 1) == 0:
                print(row(f"{i}", started), flush=True)
    print(row("end", started))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
