"""The named-query file parses, and no statement is built from strings."""

from __future__ import annotations

import pathlib
import re

import pytest

from service.db.queries import QUERIES, load_queries

SERVICE = pathlib.Path(__file__).resolve().parents[2] / "service"


def test_every_store_wrapper_has_its_query_and_back() -> None:
    source = (SERVICE / "db" / "store.py").read_text()
    used = set(re.findall(r'QUERIES\["([a-z_]+)"\]', source))
    used |= {f"list_review_queue_{s}" for s in ("oldest", "newest", "score")}
    assert used == set(QUERIES)


def test_duplicate_names_are_refused(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "q.sql"
    path.write_text("-- name: a\nSELECT 1;\n-- name: a\nSELECT 2;\n")
    with pytest.raises(ValueError, match="twice"):
        load_queries(path)


def test_no_sql_is_formatted_at_run_time() -> None:
    pattern = re.compile(r"(execute|fetch|fetchrow|fetchval)\(\s*f[\"']")
    for path in SERVICE.rglob("*.py"):
        assert not pattern.search(path.read_text()), path
