"""Named queries, loaded once from ``queries.sql``.

Keeping every statement in one file makes the SQL easy to review and grep, and
guarantees that no query is assembled from strings at run time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

_BLOCK_RE = re.compile(r"^-- name: (?P<name>[a-z_]+)\n(?P<body>.*?)(?=^-- name: |\Z)", re.M | re.S)


def load_queries(path: Path) -> Mapping[str, str]:
    """Parse ``-- name:`` blocks into {name: sql}; refuse duplicates and empty bodies."""
    text = path.read_text("utf-8")
    queries: dict[str, str] = {}
    for match in _BLOCK_RE.finditer(text):
        name = match["name"]
        body = "\n".join(line for line in match["body"].splitlines() if not line.lstrip().startswith("--")).strip()
        if name in queries:
            raise ValueError(f"query {name!r} defined twice")
        if not body:
            raise ValueError(f"query {name!r} is empty")
        queries[name] = body.rstrip(";")
    return MappingProxyType(queries)


QUERIES: Mapping[str, str] = load_queries(Path(__file__).with_name("queries.sql"))
