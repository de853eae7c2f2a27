"""Pure workbench rules: who may undo what, and chart buckets."""

from __future__ import annotations

import datetime as dt

from service.domain.review import (
    MAX_SERIES_POINTS,
    LastDecision,
    UndoRefusal,
    rate,
    series_bucket_s,
    undo_refusal,
)
from service.domain.types import Status

NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


def decision(status: Status = Status.APPROVED, ago_s: float = 5, action: str = "decided", key_id: int | None = 7):
    details = {} if key_id is None else {"key_id": key_id}
    return LastDecision(status, NOW - dt.timedelta(seconds=ago_s), action, details)


def test_the_decider_may_undo_within_the_window() -> None:
    assert undo_refusal(decision(), key_id=7, now=NOW, window_s=60) is None
    assert undo_refusal(decision(Status.REJECTED, ago_s=60), key_id=7, now=NOW, window_s=60) is None


def test_undo_refusals() -> None:
    assert undo_refusal(decision(ago_s=61), key_id=7, now=NOW, window_s=60) is UndoRefusal.WINDOW_PASSED
    assert undo_refusal(decision(), key_id=8, now=NOW, window_s=60) is UndoRefusal.NOT_YOURS
    pending = LastDecision(Status.PENDING, None, "undone", {"key_id": 7})
    assert undo_refusal(pending, key_id=7, now=NOW, window_s=60) is UndoRefusal.NOT_DECIDED
    by_model = decision(action="created", key_id=None)
    assert undo_refusal(by_model, key_id=7, now=NOW, window_s=60) is UndoRefusal.NOT_A_MODERATOR_DECISION
    # Something happened after the decision (e.g. a reader report): the decision is no longer the latest.
    assert undo_refusal(decision(action="reported"), key_id=7, now=NOW, window_s=60) is (
        UndoRefusal.NOT_A_MODERATOR_DECISION
    )


def test_series_buckets_bound_the_number_of_points() -> None:
    for hours in (1, 24, 48, 24 * 90):
        bucket = series_bucket_s(hours, 60)
        assert bucket >= 60 and hours * 3600 / bucket <= MAX_SERIES_POINTS
    assert series_bucket_s(1, 300) == 300  # never finer than the samples


def test_rate() -> None:
    assert rate(1, 4) == 0.25 and rate(0, 0) is None
