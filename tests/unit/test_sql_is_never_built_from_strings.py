"""No SQL is assembled from strings at run time: every statement the service sends is a named
query from queries.sql, or a literal constant (migrations' bookkeeping), checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

from service.settings import REPO_ROOT

# ("prepare" is left out: aiohttp's StreamResponse.prepare(request) shares the name, and the
# service never prepares statements by hand.)
DRIVER_CALLS = {"execute", "executemany", "fetch", "fetchrow", "fetchval", "cursor", "copy_to_table"}
# Migration files are SQL by nature: their text is run as written, from disk, never formatted.
ALLOWED_EXPRESSIONS = {"migration.sql"}


def _is_named_query(node: ast.expr) -> bool:
    return isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "QUERIES"


def _sql_argument_problems(path: Path, root: Path = REPO_ROOT) -> list[str]:
    problems = []
    tree = ast.parse(path.read_text("utf-8"), str(path))
    # Names bound to a named query (``query = QUERIES[f"list_review_queue_{sort}"]``) count as one:
    # the lookup fails for any name queries.sql does not define.
    query_names = {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and _is_named_query(node.value)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    # Tables of named queries (``_QUEUES = {"oldest": QUERIES["..."], ...}``) indexed at the call.
    query_tables = {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Dict)
        and node.value.values
        and all(_is_named_query(v) for v in node.value.values)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in DRIVER_CALLS or not node.args:
            continue
        sql = node.args[0]
        if isinstance(sql, ast.Constant) and isinstance(sql.value, str):
            continue
        if _is_named_query(sql) or (isinstance(sql, ast.Name) and sql.id in query_names):
            continue
        if isinstance(sql, ast.Subscript) and isinstance(sql.value, ast.Name) and sql.value.id in query_tables:
            continue
        if ast.unparse(sql) in ALLOWED_EXPRESSIONS:
            continue
        problems.append(f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)[:100]}")
    return problems


def test_every_statement_is_a_named_query_or_a_literal() -> None:
    files = sorted((REPO_ROOT / "service").rglob("*.py"))
    assert len(files) > 10
    problems = [p for f in files for p in _sql_argument_problems(f)]
    assert problems == []


def test_the_check_catches_formatting(tmp_path: Path) -> None:
    """The checker itself can fail: f-strings, % and .format() are all reported."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "async def f(conn, t, q):\n"
        "    await conn.execute(f'DELETE FROM {t}')\n"
        "    await conn.fetch('SELECT * FROM x WHERE y = %s' % q)\n"
        "    await conn.fetchrow('SELECT {}'.format(q))\n"
        "    await conn.fetchval(QUERIES['ping'])\n"
        "    sql = 'SELECT ' + q\n"
        "    await conn.execute(sql)\n"
        "    table = {'a': 'SELECT ' + q}\n"
        "    await conn.execute(table['a'])\n"
    )
    assert len(_sql_argument_problems(bad, tmp_path)) == 5
