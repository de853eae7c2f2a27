"""Helpers shared by the API and end-to-end tests."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CIVIL = "Thank you for this thoughtful piece on Turkey and Pakistan; the historical context was really useful."
ABUSIVE = "You are a worthless idiot and a piece of shit, shut up you stupid moron."

PROBLEM_FIELDS = {"type", "title", "status", "detail", "code"}


@dataclass(frozen=True)
class Keys:
    submitter: str
    moderator: str
    moderator_b: str
    admin: str
    trainer: str


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def assert_problem(status: int, content_type: str, body: dict[str, Any], expected_status: int, code: str) -> None:
    """The one error shape: RFC 9457 problem details with our stable code."""
    assert status == expected_status, body
    assert content_type == "application/problem+json"
    assert PROBLEM_FIELDS <= set(body), body
    assert body["status"] == expected_status and body["code"] == code, body
    assert body["type"] == f"/problems/{code}"


@contextlib.contextmanager
def server_dir(prefix: str) -> Iterator[Path]:
    """A fresh directory the embedded PostgreSQL can live in, removed afterwards.

    As root the server runs as an unprivileged account that cannot enter pytest's
    /tmp/pytest-of-root (mode 700), so the directory sits directly under /tmp and is
    made traversable (not readable) by others.
    """
    base = Path(tempfile.mkdtemp(prefix=f"moderation-{prefix}-", dir="/tmp"))
    base.chmod(0o711)
    try:
        yield base / "data"
    finally:
        shutil.rmtree(base, ignore_errors=True)
