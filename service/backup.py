"""``moderation backup`` and ``moderation restore``: pg_dump / pg_restore of the configured database.

They work the same on the embedded PostgreSQL (whose port and password the operator never sees)
and on a server of your own. The password travels in ``PGPASSWORD``, never on a command line
(where ``ps`` would show it). The tools are the ones shipped in the ``pgserver`` wheel
(PostgreSQL 16), unless ``--pg-bin`` names a directory with newer ones (needed for a server newer
than 16: pg_dump refuses to dump a server newer than itself).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit


def bundled_bin() -> Path | None:
    """pgserver's bin directory, located without importing the package (see docs/embedded-postgres.md)."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    return path if (path / "pg_dump").exists() else None


def tool(name: str, pg_bin: Path | None) -> str:
    for directory in (pg_bin, bundled_bin()):
        if directory is not None and (directory / name).exists():
            return str(directory / name)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} not found: install the PostgreSQL client tools or pass --pg-bin")
    return found


def split_password(dsn: str) -> tuple[str, dict[str, str]]:
    """The DSN without its password, and the environment that carries it instead."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn, {}
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{parts.username or ''}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc)), {"PGPASSWORD": unquote(parts.password)}


def _run(cmd: list[str], secret_env: dict[str, str]) -> int:
    env = {**os.environ, **secret_env}
    return subprocess.run(cmd, env=env, check=False).returncode


def dump(dsn: str, out: Path, pg_bin: Path | None = None) -> int:
    """A consistent snapshot in pg_dump's custom format (compressed; restore selectively with pg_restore)."""
    url, env = split_password(dsn)
    return _run([tool("pg_dump", pg_bin), "--format=custom", "--no-owner", "--file", str(out), "--dbname", url], env)


def restore(dsn: str, src: Path, pg_bin: Path | None = None) -> int:
    """Restore a dump made by ``dump`` into the database, replacing the objects it contains."""
    url, env = split_password(dsn)
    return _run(
        [
            tool("pg_restore", pg_bin),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--exit-on-error",
            "--single-transaction",
            "--dbname",
            url,
            str(src),
        ],
        env,
    )
