"""Micro-batching: concurrent requests that need the same kind of work share one call.

A storm of comments costs far less when the model scores them in one call and PostgreSQL stores
them in one transaction (one commit, one WAL flush) than one at a time. ``MicroBatcher`` collects
items from concurrent callers and hands them to a batch function as one list:

* A batch starts as soon as a slot is free, with everything waiting at that moment, so a lone
  caller never waits for company: at low load every batch has one item.
* While ``max_concurrent`` batches are running, new items queue; they form the next batch. So
  batches grow by themselves with the load, and nothing waits longer than the batches ahead of it.
* With ``max_wait_s`` > 0, a batch that would start while others are running lingers that long
  for more items (a bounded wait; never when the batcher is idle).
* With ``first_phase_slots``, a batch function works in two phases and says when its first ends
  (it gets a callable to call then). At most ``first_phase_slots`` batches are in their first phase
  at once, and at most ``max_concurrent`` in all. The next batch forms as soon as a first phase
  ends, while earlier batches finish their second: for the intake, one batch reads and scores while
  others wait for their commits, and each batch takes everything that arrived meanwhile.

The batch function returns one result per item, in order; a result that is an exception is
raised in that item's caller only. An exception from the batch function itself fails every item
of that batch (e.g. the database is unreachable: each caller answers 503).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar, cast

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

BatchFn = Callable[[list[T]], Awaitable[Sequence[R | BaseException]]]
# A two-phase batch function also gets a callable to call when its first phase ends.
PhasedBatchFn = Callable[[list[T], Callable[[], None]], Awaitable[Sequence[R | BaseException]]]


class MicroBatcher(Generic[T, R]):
    def __init__(
        self,
        run: BatchFn[T, R] | PhasedBatchFn[T, R],
        *,
        max_batch: int = 128,
        max_concurrent: int = 2,
        max_wait_s: float = 0.0,
        on_batch: Callable[[int], None] | None = None,
        first_phase_slots: int | None = None,
    ) -> None:
        if max_batch < 1 or max_concurrent < 1 or max_wait_s < 0:
            raise ValueError("max_batch and max_concurrent must be >= 1, max_wait_s >= 0")
        if first_phase_slots is not None and not 1 <= first_phase_slots <= max_concurrent:
            raise ValueError("first_phase_slots must be between 1 and max_concurrent")
        self._run = run
        self._max_batch = max_batch
        self._max_wait_s = max_wait_s
        self._on_batch = on_batch
        self._slots = asyncio.Semaphore(max_concurrent)
        self._first_phase = None if first_phase_slots is None else asyncio.Semaphore(first_phase_slots)
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._running: set[asyncio.Task[None]] = set()
        self._scheduled = False
        self._closed = False

    @property
    def queued(self) -> int:
        return len(self._queue)

    async def submit(self, item: T) -> R:
        """The batch function's result for ``item`` (or its exception, raised here)."""
        if self._closed:
            raise RuntimeError("the batcher is closed")
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        self._schedule()
        # A cancelled caller (client went away) does not cancel the batch: its item is still
        # stored, exactly as if it had been processed alone.
        return await asyncio.shield(future)

    def _schedule(self) -> None:
        if self._scheduled or not self._queue:
            return
        self._scheduled = True
        task = asyncio.get_running_loop().create_task(self._dispatch())
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _dispatch(self) -> None:
        """Wait for a free slot, then take what is queued (up to max_batch) and run it."""
        first = self._first_phase
        busy = self._slots.locked() or len(self._running) > 1 or (first is not None and first.locked())
        await self._slots.acquire()
        if first is not None:
            try:
                await first.acquire()
            except BaseException:
                self._slots.release()
                raise
        in_first_phase = first is not None

        def end_first_phase() -> None:
            nonlocal in_first_phase
            if in_first_phase and first is not None:
                in_first_phase = False
                first.release()

        try:
            if busy and self._max_wait_s > 0 and len(self._queue) < self._max_batch:
                await asyncio.sleep(self._max_wait_s)
            batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
            self._scheduled = False
            self._schedule()  # the rest (or later arrivals) wait for the next slot
            await self._execute(batch, end_first_phase)
        finally:
            end_first_phase()
            self._slots.release()

    async def _execute(self, batch: list[tuple[T, asyncio.Future[R]]], end_first_phase: Callable[[], None]) -> None:
        if not batch:
            return
        if self._on_batch is not None:
            self._on_batch(len(batch))
        items = [item for item, _ in batch]
        try:
            if self._first_phase is not None:
                results = await cast(PhasedBatchFn[T, R], self._run)(items, end_first_phase)
            else:
                results = await cast(BatchFn[T, R], self._run)(items)
            if len(results) != len(items):
                raise RuntimeError(f"batch function returned {len(results)} results for {len(items)} items")
        except BaseException as exc:  # every caller of this batch gets the failure
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)

    async def close(self, *, cancel: bool = False) -> None:
        """Stop taking items; wait for the batches queued or running to finish, or with ``cancel``
        cancel them (their callers get ``CancelledError``)."""
        self._closed = True
        while self._running:
            tasks = list(self._running)
            if cancel:
                for task in tasks:
                    task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
