"""A small typed Python client for the moderation API (aiohttp).

    async with ModerationClient("http://127.0.0.1:8080", api_key) as client:
        comment = await client.submit(article_id="a-1", author_id="reader-1", text="Nice piece.")
        if comment.status == "pending": ...

Retries: a 503 (database unreachable: nothing was stored) or 429 is retried after the server's
``Retry-After`` (capped at ``max_retry_after_s``), up to ``max_retries`` times. A submission always
carries an idempotency key (the caller's ``external_id``, else a generated ``Idempotency-Key``
reused on every retry), so a retry after a lost answer can never store the comment twice; that
is also why a submission, unlike a claim or a decision, is retried after a connection error.
"""

from __future__ import annotations

import asyncio
import uuid
from types import TracebackType
from typing import Any, Literal, TypeVar

import aiohttp
from pydantic import BaseModel

from service.api.schemas import ClaimOut, CommentDetailOut, CommentOut, QueueItemOut, ScoreOut

M = TypeVar("M", bound=BaseModel)

RETRY_STATUSES = frozenset({429, 503})


class ModerationError(Exception):
    """An error answer (RFC 9457 problem details) from the service."""

    def __init__(self, status: int, code: str, detail: str, request_id: str | None, body: dict[str, Any]) -> None:
        super().__init__(f"{status} {code}: {detail} (request {request_id})")
        self.status, self.code, self.detail, self.request_id, self.body = status, code, detail, request_id, body


class ModerationClient:
    """One API key, one connection pool; use as an async context manager or call ``close()``."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout_s: float = 10.0,
        max_retries: int = 3,
        max_retry_after_s: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {api_key}"}
        self._own_session = session is None
        self._session = session or aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s))
        self.max_retries = max_retries
        self.max_retry_after_s = max_retry_after_s

    async def __aenter__(self) -> ModerationClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._own_session:
            await self._session.close()

    async def _request(
        self,
        method: str,
        path: str,
        model: type[M],
        *,
        json: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        retry_connection_errors: bool = False,
    ) -> tuple[int, M]:
        attempt = 0
        while True:
            try:
                async with self._session.request(
                    method, self.base_url + path, json=json, headers={**self._headers, **(headers or {})}
                ) as resp:
                    try:
                        body = await resp.json(content_type=None)
                    except ValueError:  # not JSON (say, a proxy's error page)
                        body = {}
                    if resp.status < 400:
                        return resp.status, model.model_validate(body)
                    if resp.status not in RETRY_STATUSES or attempt >= self.max_retries:
                        raise _error(resp.status, body)
                    delay = self._retry_after(resp.headers.get("Retry-After"), attempt)
            except aiohttp.ClientConnectionError:
                if not retry_connection_errors or attempt >= self.max_retries:
                    raise
                delay = self._retry_after(None, attempt)
            attempt += 1
            await asyncio.sleep(delay)

    def _retry_after(self, header: str | None, attempt: int) -> float:
        try:
            seconds = float(header) if header is not None else 0.5 * 2**attempt
        except ValueError:  # an HTTP date or garbage: fall back to exponential back-off
            seconds = 0.5 * 2**attempt
        return max(0.0, min(seconds, self.max_retry_after_s))

    async def submit(
        self,
        *,
        article_id: str,
        author_id: str,
        text: str,
        site_id: str | None = None,
        external_id: str | None = None,
        idempotency_key: str | None = None,
        parent_id: uuid.UUID | str | None = None,
        author_ip: str | None = None,
        user_agent: str | None = None,
    ) -> CommentOut:
        """Submit a comment; the answer says approved, rejected or pending (and why)."""
        return (
            await self.submit_with_status(
                article_id=article_id,
                author_id=author_id,
                text=text,
                site_id=site_id,
                external_id=external_id,
                idempotency_key=idempotency_key,
                parent_id=parent_id,
                author_ip=author_ip,
                user_agent=user_agent,
            )
        )[1]

    async def submit_with_status(self, **fields: Any) -> tuple[int, CommentOut]:
        """Like ``submit``, with the HTTP status: 201 stored now, 200 stored by an earlier call."""
        idempotency_key = fields.pop("idempotency_key", None)
        body = {k: (str(v) if isinstance(v, uuid.UUID) else v) for k, v in fields.items() if v is not None}
        headers = {}
        if "external_id" not in body:
            headers["Idempotency-Key"] = idempotency_key or uuid.uuid4().hex
        return await self._request(
            "POST", "/v1/comments", CommentOut, json=body, headers=headers, retry_connection_errors=True
        )

    async def get(self, comment_id: uuid.UUID | str) -> CommentDetailOut:
        """A comment with its text, scores, reasons and history."""
        return (
            await self._request("GET", f"/v1/comments/{comment_id}", CommentDetailOut, retry_connection_errors=True)
        )[1]

    async def score(self, text: str) -> ScoreOut:
        """Scores and reasons without storing anything (a pre-submit nudge)."""
        return (await self._request("POST", "/v1/score", ScoreOut, json={"text": text}, retry_connection_errors=True))[
            1
        ]

    async def claim(
        self, limit: int = 10, *, site_id: str | None = None, article_id: str | None = None
    ) -> list[QueueItemOut]:
        """Lease up to ``limit`` pending comments to this key (moderator role)."""
        body: dict[str, Any] = {"limit": limit}
        if site_id is not None:
            body["site_id"] = site_id
        if article_id is not None:
            body["article_id"] = article_id
        return (await self._request("POST", "/v1/review/claim", ClaimOut, json=body))[1].items

    async def decide(
        self, comment_id: uuid.UUID | str, decision: Literal["approve", "reject"], reason: str | None = None
    ) -> CommentOut:
        """Approve or reject a comment this key holds (409 ``lease_not_held`` otherwise)."""
        body: dict[str, Any] = {"decision": decision}
        if reason is not None:
            body["reason"] = reason
        return (await self._request("POST", f"/v1/review/{comment_id}/decision", CommentOut, json=body))[1]


def _error(status: int, body: Any) -> ModerationError:
    if not isinstance(body, dict):
        body = {}
    return ModerationError(
        status, str(body.get("code", "http_error")), str(body.get("detail", "")), body.get("request_id"), body
    )
