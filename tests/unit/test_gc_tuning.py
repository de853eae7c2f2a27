"""settle_heap: what start-up built leaves the collector's sight, and young collections get rarer."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from service.memory import GC_THRESHOLDS, settle_heap


@pytest.fixture
def restore_gc() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_settle_heap_freezes_what_lives_and_raises_the_thresholds(restore_gc: None) -> None:
    kept = [Node() for _ in range(100)]
    frozen = settle_heap()
    assert frozen >= len(kept) and gc.get_freeze_count() == frozen
    assert gc.get_threshold() == GC_THRESHOLDS
    # Cycles made afterwards are still collected; only the frozen ones are left alone.
    Node()
    assert gc.collect() >= 1
    assert gc.get_freeze_count() == frozen
