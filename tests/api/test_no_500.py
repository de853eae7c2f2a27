"""However malformed, no request gets a 500: arbitrary JSON at every body-taking endpoint."""

from __future__ import annotations

import json

from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import PROBLEM_FIELDS, Keys, auth

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
# Objects shaped like real bodies, with fields of the wrong types or values.
near_bodies = st.fixed_dictionaries(
    {},
    optional={
        "article_id": json_values,
        "author_id": json_values,
        "text": json_values,
        "site_id": json_values,
        "external_id": json_values,
        "parent_id": json_values,
        "author_ip": json_values,
        "mode": json_values,
        "limit": json_values,
        "decision": json_values,
        "reason": json_values,
        "terms": json_values,
        "add": json_values,
        "thresholds": json_values,
        "max_links": json_values,
        "webhook_url": json_values,
        "blocked_domains": json_values,
        "until": json_values,
        "duration_s": json_values,
        "reject_pending": json_values,
        "version": json_values,
    },
)
TARGETS = [
    ("POST", "/v1/comments", "submitter"),
    ("POST", "/v1/score", "submitter"),
    ("PUT", "/v1/articles/a1", "admin"),
    ("POST", "/v1/review/claim", "moderator"),
    ("POST", "/v1/review/00000000-0000-0000-0000-000000000000/decision", "moderator"),
    ("PUT", "/v1/comments/00000000-0000-0000-0000-000000000000", "submitter"),
    ("POST", "/v1/comments/00000000-0000-0000-0000-000000000000/reports", "submitter"),
    ("PUT", "/v1/sites/default/settings", "admin"),
    ("PUT", "/v1/sites/default/word-lists/banned", "admin"),
    ("PATCH", "/v1/sites/default/word-lists/suspect", "admin"),
    ("PUT", "/v1/articles/a1/settings", "admin"),
    ("POST", "/v1/authors/reader-1/ban", "moderator"),
    ("POST", "/v1/authors/reader-1/suspend", "moderator"),
]


async def test_arbitrary_bodies_never_get_a_500(client: TestClient, keys: Keys) -> None:
    # Hypothesis drives synchronous tests; draw the examples first, then send them over HTTP.
    pending: list[tuple[tuple[str, str, str], object]] = []

    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(st.sampled_from(TARGETS), near_bodies | json_values)
    def draw(target: tuple[str, str, str], body: object) -> None:
        pending.append((target, body))

    draw()
    for (method, path, role), body in pending:
        resp = await client.request(
            method,
            path,
            data=json.dumps(body),
            headers={**auth(getattr(keys, role)), "Content-Type": "application/json"},
        )
        payload = await resp.json(content_type=None)
        assert resp.status < 500, (method, path, body, payload)
        if resp.status >= 400:
            assert PROBLEM_FIELDS <= set(payload), payload
