"""Fan-out of queue notifications to subscribers, without a database."""

from __future__ import annotations

import json

from service.live import SUBSCRIBER_BACKLOG, QueueHub


async def test_a_subscriber_that_falls_behind_is_told_to_resync() -> None:
    hub = QueueHub("postgresql://unused")
    slow = hub.subscribe(None)
    for _ in range(SUBSCRIBER_BACKLOG + 5):
        hub.dispatch(json.dumps({"s": {"entered": 1}}))
    first = await slow.next(1)
    assert first is not None and first.kind == "resync"
    # After the resync the subscriber hears the changes that came later, one by one.
    later = [await slow.next(0.01) for _ in range(5)]
    assert [e.kind for e in later if e] == ["queue"] * 4


async def test_site_filter_and_malformed_payloads() -> None:
    hub = QueueHub("postgresql://unused")
    site_a = hub.subscribe("a")
    hub.dispatch("not json")
    hub.dispatch(json.dumps(["not", "an", "object"]))
    hub.dispatch(json.dumps({"b": {"left": 2}}))
    assert await site_a.next(0.01) is None
    hub.dispatch(json.dumps({"a": {"left": 1}, "b": {"left": 2}}))
    event = await site_a.next(0.01)
    assert event is not None and event.data == {"sites": {"a": {"left": 1}}}
