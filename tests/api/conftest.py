"""The real app through aiohttp's test client, on a fresh real database per test."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

from service.app import create_app
from service.settings import Settings


@pytest.fixture
def settings(db_dsn: str) -> Settings:
    # No background queue sampling: tests that need samples take them explicitly.
    return Settings(database_url=SecretStr(db_dsn), review_lease_s=60, queue_snapshot_interval_s=0)


@pytest.fixture
async def client(settings: Settings, aiohttp_client: Callable[..., Awaitable[TestClient]]) -> TestClient:
    return await aiohttp_client(create_app(settings))
