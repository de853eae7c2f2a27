"""'moderation serve' picks its event loop from the settings."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from service.cli import _choose_event_loop
from service.settings import Settings

uvloop = pytest.importorskip("uvloop")


@pytest.fixture
def restore_policy() -> Iterator[None]:
    before = asyncio.get_event_loop_policy()
    yield
    asyncio.set_event_loop_policy(before)


def test_serving_loop_is_uvloop_by_default(restore_policy: None) -> None:
    asyncio.set_event_loop_policy(None)
    _choose_event_loop(Settings())
    loop = asyncio.new_event_loop()
    try:
        assert isinstance(loop, uvloop.Loop)
    finally:
        loop.close()


def test_uvloop_false_keeps_asyncio_loop(restore_policy: None) -> None:
    asyncio.set_event_loop_policy(None)
    _choose_event_loop(Settings(uvloop=False))
    loop = asyncio.new_event_loop()
    try:
        assert not isinstance(loop, uvloop.Loop)
    finally:
        loop.close()
