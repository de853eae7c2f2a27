"""service.memory: a fixed glibc mmap threshold keeps large temporaries out of the heap arenas.

Each case runs in a fresh interpreter: the threshold is process-wide and cannot be unset.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from service.memory import MAX_MMAP_THRESHOLD, has_glibc_malloc, set_mmap_threshold
from service.settings import REPO_ROOT

# Free a 4 MiB block (glibc's dynamic threshold then rises to 4 MiB), then ask for 2 MiB: prints 1
# if that block was served by mmap (given back to the kernel on free), 0 if carved from the heap.
PROBE = """
import ctypes, ctypes.util, sys
from service.memory import mallinfo, set_mmap_threshold
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, (ctypes.c_size_t,)
libc.free.argtypes = (ctypes.c_void_p,)
if int(sys.argv[1]):
    assert set_mmap_threshold(int(sys.argv[1]))
libc.free(libc.malloc(4 << 20))
before = mallinfo().hblks
block = libc.malloc(2 << 20)
print(mallinfo().hblks - before)
libc.free(block)
"""

needs_glibc = pytest.mark.skipif(not has_glibc_malloc(), reason="glibc's mallopt/mallinfo2 only")


def mmapped_after_a_large_free(threshold: int) -> int:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(threshold)], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    return int(done.stdout.strip())


@needs_glibc
def test_glibc_default_carves_a_large_block_from_the_heap_after_a_larger_one_was_freed() -> None:
    # The behaviour the setting exists for: glibc's dynamic threshold.
    assert mmapped_after_a_large_free(0) == 0


@needs_glibc
def test_a_fixed_threshold_keeps_serving_large_blocks_with_mmap() -> None:
    assert mmapped_after_a_large_free(128 * 1024) == 1


def test_threshold_bounds() -> None:
    for bad in (0, -1, MAX_MMAP_THRESHOLD + 1):
        with pytest.raises(ValueError):
            set_mmap_threshold(bad)
