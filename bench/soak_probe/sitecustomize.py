"""Memory probe for ``bench/soak.py --probe``: loaded into the service by PYTHONPATH, never by the service.

Python imports ``sitecustomize`` at start-up when it is on the path. This one starts a daemon
thread that appends one JSON line every SOAK_PROBE_INTERVAL_S seconds to SOAK_PROBE_OUT with what
the process's resident memory is made of: glibc malloc's own counters (``mallinfo2``: bytes in use,
free inside the heap and arenas, mmapped blocks), the blocks Python's allocator holds, tracemalloc's
total when PYTHONTRACEMALLOC is set, thread count, and RSS. That tells "more objects" apart from
"the same objects, more pages" (allocator fragmentation) without a debugger.
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


def _run(path: str, interval: float) -> None:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    mallinfo2 = libc.mallinfo2
    mallinfo2.restype = _MallInfo2
    started = time.monotonic()
    with open(path, "a", buffering=1) as out:
        while True:
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
    threading.Thread(
        target=_run, args=(_path, float(os.environ.get("SOAK_PROBE_INTERVAL_S", "10"))), name="soak-probe", daemon=True
    ).start()
