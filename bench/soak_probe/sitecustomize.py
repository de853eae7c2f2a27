"""Memory probe for ``bench/soak.py --probe``: loaded into the service by PYTHONPATH, never by the service.

Python imports ``sitecustomize`` at start-up when it is on the path. This one starts a daemon
thread that appends one JSON line every SOAK_PROBE_INTERVAL_S seconds to SOAK_PROBE_OUT with what
the process's resident memory is made of: glibc malloc's own counters (``mallinfo2``: bytes in use,
free inside the heap and arenas, mmapped blocks), the blocks Python's allocator holds, tracemalloc's
total when PYTHONTRACEMALLOC is set, thread count, and RSS. That tells "more objects" apart from
"the same objects, more pages" (allocator fragmentation) without a debugger. With PYTHONTRACEMALLOC
and SOAK_PROBE_SNAPSHOTS_AT=t1,t2,... (seconds) it also writes where the Python heap grew between
t1 and each later time, by allocating line.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import sys
import threading
import time
import tracemalloc

_MALLINFO2_FIELDS = ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks")


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (*_MALLINFO2_FIELDS, "keepcost")]


def _rss_kib() -> dict[str, int]:
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "Threads"):
                out[key] = int(rest.split()[0])
    return out


def _growth(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, top: int = 15) -> list[dict[str, object]]:
    """Where the traced Python heap grew between two snapshots, by allocating line (largest first)."""
    stats = after.compare_to(before, "lineno")
    return [
        {"where": str(s.traceback[0]), "size_diff_kib": round(s.size_diff / 1024, 1), "count_diff": s.count_diff}
        for s in sorted(stats, key=lambda s: s.size_diff, reverse=True)[:top]
    ]


def _run(path: str, interval: float, snapshot_at: list[float]) -> None:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    mallinfo2 = libc.mallinfo2
    mallinfo2.restype = _MallInfo2
    started = time.monotonic()
    first: tracemalloc.Snapshot | None = None
    with open(path, "a", buffering=1) as out:
        while True:
            now = time.monotonic() - started
            if snapshot_at and now >= snapshot_at[0] and tracemalloc.is_tracing():
                # PYTHONTRACEMALLOC runs: the heap's growth between the first and each later time.
                snapshot_at.pop(0)
                snap = tracemalloc.take_snapshot().filter_traces(
                    [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, __file__)]
                )
                if first is None:
                    first = snap
                else:
                    out.write(json.dumps({"t": round(now, 1), "tracemalloc_growth": _growth(first, snap)}) + "\n")
            m = mallinfo2()
            row = {
                "t": round(time.monotonic() - started, 1),
                **_rss_kib(),
                # Heap and thread arenas obtained from the kernel (not mmapped blocks).
                "malloc_arena_kib": m.arena // 1024,
                "malloc_in_use_kib": m.uordblks // 1024,
                "malloc_free_kib": m.fordblks // 1024,
                "malloc_mmapped_kib": m.hblkhd // 1024,
                "malloc_mmapped_blocks": m.hblks,
                "python_blocks": sys.getallocatedblocks(),
            }
            if tracemalloc.is_tracing():
                row["tracemalloc_kib"] = tracemalloc.get_traced_memory()[0] // 1024
            out.write(json.dumps(row) + "\n")
            time.sleep(interval)


_path = os.environ.get("SOAK_PROBE_OUT")
if _path:
    _at = sorted(float(x) for x in os.environ.get("SOAK_PROBE_SNAPSHOTS_AT", "").split(",") if x.strip())
    threading.Thread(
        target=_run,
        args=(_path, float(os.environ.get("SOAK_PROBE_INTERVAL_S", "10")), _at),
        name="soak-probe",
        daemon=True,
    ).start()
