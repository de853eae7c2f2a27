"""The micro-batcher: batches form from what waits, results and errors reach their own callers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from service.batching import MicroBatcher


class Recorder:
    """A batch function that records its batches and can be held at the door."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.entered = asyncio.Event()

    async def __call__(self, items: list[int]) -> list[int | BaseException]:
        self.batches.append(list(items))
        self.entered.set()
        await self.gate.wait()
        return [ValueError(f"odd {i}") if i % 2 else i * 10 for i in items]


async def test_a_lone_caller_is_a_batch_of_one() -> None:
    run = Recorder()
    batcher = MicroBatcher(run, max_concurrent=2)
    assert await batcher.submit(4) == 40
    assert await batcher.submit(6) == 60
    assert run.batches == [[4], [6]]


async def test_items_arriving_while_batches_run_form_the_next_batch() -> None:
    run = Recorder()
    run.gate.clear()
    batcher = MicroBatcher(run, max_concurrent=1, max_batch=100)
    first = asyncio.ensure_future(batcher.submit(0))
    await run.entered.wait()
    rest = [asyncio.ensure_future(batcher.submit(i)) for i in range(2, 42, 2)]
    await asyncio.sleep(0)
    assert batcher.queued == 20
    run.gate.set()
    assert await first == 0
    assert await asyncio.gather(*rest) == [i * 10 for i in range(2, 42, 2)]
    assert run.batches == [[0], list(range(2, 42, 2))]


async def test_batches_are_bounded_and_run_side_by_side() -> None:
    run = Recorder()
    run.gate.clear()
    batcher = MicroBatcher(run, max_concurrent=1, max_batch=8)
    first = asyncio.ensure_future(batcher.submit(0))
    await run.entered.wait()
    rest = [asyncio.ensure_future(batcher.submit(i)) for i in range(2, 42, 2)]
    await asyncio.sleep(0)
    run.gate.set()
    await asyncio.gather(first, *rest)
    assert [len(b) for b in run.batches] == [1, 8, 8, 4]
    assert sorted(i for b in run.batches for i in b) == [0, *range(2, 42, 2)]


async def test_an_item_error_reaches_only_its_caller() -> None:
    batcher = MicroBatcher(Recorder(), max_concurrent=1)
    results = await asyncio.gather(*(batcher.submit(i) for i in range(4)), return_exceptions=True)
    assert results[0] == 0 and results[2] == 20
    assert isinstance(results[1], ValueError) and str(results[1]) == "odd 1"
    assert isinstance(results[3], ValueError)


async def test_a_batch_failure_fails_every_caller_of_that_batch_only() -> None:
    calls = 0

    async def flaky(items: list[int]) -> list[int | BaseException]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("database went away")
        return items

    batcher = MicroBatcher(flaky, max_concurrent=1)
    with pytest.raises(ConnectionError):
        await batcher.submit(1)
    assert await batcher.submit(2) == 2


async def test_a_wrong_number_of_results_is_an_error_not_a_mixup() -> None:
    async def short(items: list[int]) -> list[int | BaseException]:
        return items[:-1]

    batcher = MicroBatcher(short, max_concurrent=1)
    results = await asyncio.gather(batcher.submit(1), return_exceptions=True)
    assert isinstance(results[0], RuntimeError)


async def test_a_cancelled_caller_does_not_cancel_its_batch() -> None:
    run = Recorder()
    run.gate.clear()
    batcher = MicroBatcher(run, max_concurrent=1)
    waiting = asyncio.ensure_future(batcher.submit(2))
    await run.entered.wait()
    waiting.cancel()
    other = asyncio.ensure_future(batcher.submit(4))
    run.gate.set()
    assert await other == 40
    assert run.batches == [[2], [4]]  # the cancelled caller's item was still processed


async def test_close_waits_for_running_batches_and_refuses_new_items() -> None:
    run = Recorder()
    run.gate.clear()
    batcher = MicroBatcher(run, max_concurrent=1)
    pending = asyncio.ensure_future(batcher.submit(8))
    await run.entered.wait()
    closing = asyncio.ensure_future(batcher.close())
    await asyncio.sleep(0)
    assert not closing.done()
    run.gate.set()
    await closing
    assert pending.done() and pending.result() == 80
    with pytest.raises(RuntimeError, match="closed"):
        await batcher.submit(2)


async def test_a_bounded_wait_gathers_company_only_under_load() -> None:
    run = Recorder()
    batcher = MicroBatcher(run, max_concurrent=2, max_wait_s=0.5)
    # Idle: no waiting, a batch of one.
    assert await batcher.submit(2) == 20
    run.gate.clear()
    run.entered.clear()
    busy = asyncio.ensure_future(batcher.submit(4))
    await run.entered.wait()
    # One batch running: the next lingers, so items arriving meanwhile join it.
    a = asyncio.ensure_future(batcher.submit(6))
    await asyncio.sleep(0.01)
    b = asyncio.ensure_future(batcher.submit(8))
    run.gate.set()
    assert await asyncio.gather(busy, a, b) == [40, 60, 80]
    assert run.batches == [[2], [4], [6, 8]]


class TwoPhases:
    """A two-phase batch function: the first phase ends at once, the second waits for ``finish``."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.finish = asyncio.Event()

    async def __call__(self, items: list[int], end_first_phase: Callable[[], None]) -> list[int | BaseException]:
        self.batches.append(list(items))
        end_first_phase()
        end_first_phase()  # a second call frees nothing more
        await self.finish.wait()
        return [i * 10 for i in items]


async def test_the_next_batch_starts_when_a_first_phase_ends() -> None:
    run = TwoPhases()
    batcher = MicroBatcher(run, max_concurrent=3, first_phase_slots=1)
    first = asyncio.ensure_future(batcher.submit(1))
    await asyncio.sleep(0.01)
    # The first batch is still in its second phase ("waiting for its commit"): the next starts.
    second = asyncio.ensure_future(batcher.submit(2))
    await asyncio.sleep(0.01)
    assert run.batches == [[1], [2]] and not first.done()
    third = asyncio.ensure_future(batcher.submit(3))
    await asyncio.sleep(0.01)
    assert run.batches == [[1], [2], [3]]
    # Three batches in flight fill max_concurrent: the fourth waits for one to finish.
    fourth = asyncio.ensure_future(batcher.submit(4))
    await asyncio.sleep(0.01)
    assert run.batches == [[1], [2], [3]]
    run.finish.set()
    assert await asyncio.gather(first, second, third, fourth) == [10, 20, 30, 40]
    assert run.batches == [[1], [2], [3], [4]]


async def test_first_phases_are_bounded() -> None:
    entered = asyncio.Event()
    leave_first_phase = asyncio.Event()
    batches: list[list[int]] = []

    async def run(items: list[int], end_first_phase: Callable[[], None]) -> list[int | BaseException]:
        batches.append(list(items))
        entered.set()
        await leave_first_phase.wait()
        end_first_phase()
        return items

    batcher = MicroBatcher(run, max_concurrent=4, first_phase_slots=1)
    first = asyncio.ensure_future(batcher.submit(1))
    await entered.wait()
    rest = [asyncio.ensure_future(batcher.submit(i)) for i in (2, 3)]
    await asyncio.sleep(0.01)
    assert batches == [[1]]  # a free slot overall, but the first phase is taken
    leave_first_phase.set()
    assert await asyncio.gather(first, *rest) == [1, 2, 3]
    assert batches == [[1], [2, 3]]


async def test_a_one_phase_batch_holds_its_slot_to_the_end() -> None:
    run = Recorder()
    run.gate.clear()
    batcher = MicroBatcher(run, max_concurrent=1)
    first = asyncio.ensure_future(batcher.submit(2))
    await run.entered.wait()
    second = asyncio.ensure_future(batcher.submit(4))
    await asyncio.sleep(0.01)
    assert run.batches == [[2]]
    run.gate.set()
    assert await asyncio.gather(first, second) == [20, 40]
    assert run.batches == [[2], [4]]


def test_bad_bounds_are_refused() -> None:
    async def nothing(items: list[int]) -> list[int | BaseException]:
        return items

    with pytest.raises(ValueError):
        MicroBatcher(nothing, max_batch=0)
    with pytest.raises(ValueError):
        MicroBatcher(nothing, max_wait_s=-1)
    with pytest.raises(ValueError):
        MicroBatcher(nothing, max_concurrent=2, first_phase_slots=3)


async def test_close_with_cancel_stops_running_batches() -> None:
    run = Recorder()
    run.gate.clear()
    batcher = MicroBatcher(run, max_concurrent=1)
    stuck = asyncio.ensure_future(batcher.submit(2))
    await run.entered.wait()
    await batcher.close(cancel=True)
    with pytest.raises(asyncio.CancelledError):
        await stuck
