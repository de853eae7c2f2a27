"""glibc malloc tuning for the serving process: a fixed mmap threshold instead of glibc's dynamic one.

Why (docs/soak.md has the measurements): glibc serves blocks of 128 KiB or more with mmap and
returns them to the kernel on free, but its *dynamic* threshold rises to the size of the largest
mmapped block freed so far, so after one large temporary every later one is carved out of the heap
arenas instead, where the holes they leave between longer-lived allocations stay resident. Before
issue 7, explaining a score allocated two dense arrays over the model's feature space (about
1.5 MiB each) per comment; in a ten-minute soak resident memory crept up by 0.3-0.7 MiB a minute, in
~1.5 MiB steps, with the bytes malloc had handed out and Python's object count both flat. Fixing the
threshold (which also turns the dynamic adjustment off) sends such blocks back to mmap: the arenas
stayed flat and about 18 MiB smaller. Issue 7 removed those arrays; the fixed threshold still keeps
the heap 19-31 MiB smaller on that code (where glibc's heap still grew by an occasional step) and
guards against the next large temporary.

glibc only; elsewhere (musl, macOS) there is no ``mallopt`` and nothing is changed.

:func:`settle_heap` tunes Python's cyclic garbage collector for the same process, once it has
started: see its docstring.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc

# <malloc.h>: mallopt(M_MMAP_THRESHOLD, bytes). glibc refuses more than HEAP_MAX_SIZE / 2 (32 MiB on 64-bit).
M_MMAP_THRESHOLD = -3
MAX_MMAP_THRESHOLD = 32 * 2**20


class MallInfo2(ctypes.Structure):
    """glibc's ``struct mallinfo2`` (2.33+): totals over all arenas, in bytes."""

    _fields_ = [
        ("arena", ctypes.c_size_t),  # obtained from the kernel for the heap and arenas (not mmapped blocks)
        ("ordblks", ctypes.c_size_t),
        ("smblks", ctypes.c_size_t),
        ("hblks", ctypes.c_size_t),  # blocks served by mmap
        ("hblkhd", ctypes.c_size_t),  # bytes in blocks served by mmap
        ("usmblks", ctypes.c_size_t),
        ("fsmblks", ctypes.c_size_t),
        ("uordblks", ctypes.c_size_t),  # handed out (in use)
        ("fordblks", ctypes.c_size_t),  # free inside the heap and arenas
        ("keepcost", ctypes.c_size_t),
    ]


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    libc = ctypes.CDLL(name)
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "mallinfo2") else None


def has_glibc_malloc() -> bool:
    """Whether this process's C library has glibc's ``mallopt`` and ``mallinfo2``."""
    return _libc() is not None


def set_mmap_threshold(nbytes: int) -> bool:
    """Serve blocks of ``nbytes`` or more with mmap, always (no dynamic threshold); False if not glibc."""
    if not 0 < nbytes <= MAX_MMAP_THRESHOLD:
        raise ValueError(f"the mmap threshold must be between 1 and {MAX_MMAP_THRESHOLD} bytes")
    libc = _libc()
    if libc is None:
        return False
    libc.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    libc.mallopt.restype = ctypes.c_int
    return bool(libc.mallopt(M_MMAP_THRESHOLD, nbytes))


def mallinfo() -> MallInfo2:
    """glibc's malloc counters for this process (all zero where there is no glibc)."""
    libc = _libc()
    if libc is None:
        return MallInfo2()
    libc.mallinfo2.restype = MallInfo2
    info: MallInfo2 = libc.mallinfo2()
    return info


# After start-up: young collections every this many net container allocations (Python: 700), the
# middle generation every 20 of them, the full heap every 100 of those (and, as always, only when
# the objects allocated since the last full collection reach a quarter of the heap).
GC_THRESHOLDS = (10_000, 20, 100)


def settle_heap() -> int:
    """Tune the cyclic garbage collector once the service has started; returns the objects frozen.

    At start-up the process loads the model, the language identifier and the app: ~90,000
    container objects that live as long as it does, and that every full collection walked again
    (125-180 ms each, a pause of the event loop that ended up in the latency tail). One last full
    collection, then ``gc.freeze()`` moves them out of the collector's sight; garbage that is not
    in a reference cycle (a replaced model included) is still freed by reference counting. Young
    collections become rarer (``GC_THRESHOLDS``): request handling allocates and frees many small
    containers, and each collection walks the young ones. Measured under load (2 workers, 64
    connections): the collector took 7-11 % of a worker's CPU, 2.5-2.9 % with the freeze alone,
    0.1 % with both (docs/benchmarks.md).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    return gc.get_freeze_count()
