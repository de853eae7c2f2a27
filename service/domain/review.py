"""Pure rules of the review workbench: who may undo what, and how the dashboard buckets time."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from service.domain.types import Status

# The history action a moderator's decision is recorded under, and the one that takes it back.
DECIDED = "decided"
UNDONE = "undone"


class UndoRefusal(StrEnum):
    NOT_DECIDED = "not_decided"  # the comment is pending: nothing to undo
    NOT_A_MODERATOR_DECISION = "not_a_moderator_decision"  # the model or another action set the status
    NOT_YOURS = "not_yours"  # another moderator decided it
    WINDOW_PASSED = "window_passed"


@dataclass(frozen=True)
class LastDecision:
    """What undo needs to know about a comment: its status and its latest history event."""

    status: Status
    decided_at: dt.datetime | None
    last_action: str | None
    last_details: dict[str, Any]


def undo_refusal(last: LastDecision, *, key_id: int, now: dt.datetime, window_s: float) -> UndoRefusal | None:
    """Why ``key_id`` may not undo this decision now, or None when it may.

    Only the latest event can be undone, so a decision that something else followed (a report,
    a second decision after an undo) stays; only the key that decided may undo, within the window.
    """
    if last.status is Status.PENDING or last.decided_at is None:
        return UndoRefusal.NOT_DECIDED
    if last.last_action != DECIDED or "key_id" not in last.last_details:
        return UndoRefusal.NOT_A_MODERATOR_DECISION
    if last.last_details.get("key_id") != key_id:
        return UndoRefusal.NOT_YOURS
    if (now - last.decided_at).total_seconds() > window_s:
        return UndoRefusal.WINDOW_PASSED
    return None


# Enough points for a smooth line on a laptop-wide chart, few enough to send and draw quickly.
MAX_SERIES_POINTS = 240


def series_bucket_s(hours: int, sample_interval_s: int) -> int:
    """Bucket width for a queue chart over ``hours``: at most MAX_SERIES_POINTS buckets, and never
    narrower than the sampling interval (a narrower bucket would only hold gaps)."""
    span_s = hours * 3600
    return max(sample_interval_s, 60, math.ceil(span_s / MAX_SERIES_POINTS))


def rate(part: int, whole: int) -> float | None:
    """``part / whole`` rounded for display, None when nothing was counted."""
    return round(part / whole, 4) if whole else None
