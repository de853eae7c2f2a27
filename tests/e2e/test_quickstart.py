"""docs/quickstart.md, word for word: every ``sh`` block, in order, in a fresh copy of the repository.

The copy has no ``.venv`` and the data directory is new, so ``./dev run`` installs everything
(from pip's cache when warm: about a minute and a half here) and starts a new embedded
PostgreSQL, as on a clean machine. Only ``MODERATION_PORT`` is set beforehand (the document
honours it) so the run cannot collide with a service on 8080.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from service.settings import REPO_ROOT
from tests.e2e.conftest import free_port

QUICKSTART = REPO_ROOT / "docs" / "quickstart.md"
BUDGET_S = 900


def shell_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", markdown, re.M | re.S)


def fresh_copy(dest: Path) -> None:
    """The repository's files as a clone would have them (tracked and new, not ignored ones)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")
    for name in filter(None, listed):
        src = REPO_ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def clean_shell_env(port: int) -> dict[str, str]:
    venv_bin = str(Path(sys.executable).parent)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MODERATION_", "PROMETHEUS_", "PYTEST_")) and k not in ("VIRTUAL_ENV", "PYTHONPATH")
    }
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    env["MODERATION_PORT"] = str(port)
    return env


def test_blocks_are_the_documented_steps() -> None:
    blocks = shell_blocks(QUICKSTART.read_text())
    assert len(blocks) >= 6
    assert "./dev run" in blocks[0] and "kill" in blocks[-1]


@pytest.mark.slow
def test_quickstart_word_for_word() -> None:
    # The one addition to the document: if a step fails, still stop the server it started.
    cleanup = "trap 'kill ${SERVER:-} 2>/dev/null || true' EXIT\n"
    script = "set -eu\n" + cleanup + "\n".join(shell_blocks(QUICKSTART.read_text()))
    base = Path(tempfile.mkdtemp(prefix="moderation-quickstart-", dir="/tmp"))
    base.chmod(0o711)  # as root, the embedded PostgreSQL's own account must traverse it
    checkout = base / "comment-moderation"
    try:
        checkout.mkdir()
        checkout.chmod(0o755)
        fresh_copy(checkout)
        done = subprocess.run(
            ["bash", "-c", script], cwd=checkout, env=clean_shell_env(free_port()),
            capture_output=True, text=True, timeout=BUDGET_S, check=False,
        )
        log_file = checkout / "moderation.log"
        log = log_file.read_text(errors="replace") if log_file.exists() else ""
        assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n--- moderation.log\n{log[-4000:]}"
        out = done.stdout
        assert '"status":"ready"' in out and '"database":true' in out
        assert '"mode":"premod"' in out
        assert '"actor_name":"alice"' in out and '"to_status":"approved"' in out
        assert re.search(r'^moderation_decisions_total\{source="moderator",status="approved"\} 1\.0$', out, re.M)
        assert re.search(r"^moderation_model_info\{version=", out, re.M)
        assert (checkout / ".moderation-data" / "pgdata").is_dir(), "data lives in the documented directory"
        assert "wrote moderation.dump" in out and (checkout / "moderation.dump").stat().st_size > 0
    finally:
        shutil.rmtree(base, ignore_errors=True)
