"""The Dockerfile's commands, run outside Docker the way the image runs them.

Docker cannot run here, so this builds the same wheel the image installs, lays it out like the
runtime stage (the wheel on the path, migrations under WORKDIR, the Dockerfile's ENV), and runs
the image's commands: ``moderation migrate`` on an empty database, then the CMD
(``moderation serve``) as an unprivileged user, and the HEALTHCHECK against it.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.settings import REPO_ROOT
from tests.e2e.conftest import free_port

NOBODY = 65534


def dockerfile_runtime() -> tuple[dict[str, str], list[str], list[str], str]:
    """ENV, CMD, HEALTHCHECK command and USER of the Dockerfile's last stage (exec forms only)."""
    import json

    text = (REPO_ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    stages = text.split("\nFROM ")
    runtime = stages[-1]
    env: dict[str, str] = {}
    cmd: list[str] = []
    health: list[str] = []
    user = ""
    for line in runtime.splitlines():
        word, _, rest = line.strip().partition(" ")
        if word == "ENV":
            for pair in shlex.split(rest):
                key, _, value = pair.partition("=")
                env[key] = value
        elif word == "CMD":
            cmd = json.loads(rest)
        elif word == "HEALTHCHECK":
            health = json.loads(rest.split(" CMD ", 1)[1])
        elif word == "USER":
            user = rest.strip()
    return env, cmd, health, user


@pytest.fixture(scope="module")
def image_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """/opt/venv's site-packages and /app, as the runtime stage lays them out."""
    root = Path(tmp_path_factory.mktemp("image", numbered=True))
    wheels = root / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), str(REPO_ROOT)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "classifier/models/default/manifest.json" in names, "the image must include the default model"
    assert "service/db/queries.sql" in names
    site = root / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert install.returncode == 0, install.stderr
    app = root / "app"
    shutil.copytree(REPO_ROOT / "migrations", app / "migrations")  # COPY migrations /app/migrations
    for path in [root, *root.rglob("*")]:  # readable, not writable, by the unprivileged user
        path.chmod(0o755 if path.is_dir() else 0o644)
    yield root


def image_env(root: Path, dsn: str, port: int) -> dict[str, str]:
    env, _, _, _ = dockerfile_runtime()
    out = {k: v for k, v in os.environ.items() if not k.startswith(("MODERATION_", "PROMETHEUS_"))}
    out.update(env)
    out.pop("PATH", None)
    out["PATH"] = f"{Path(sys.executable).parent}:/usr/bin:/bin"
    out["PYTHONPATH"] = str(root / "site")  # the wheel, not the working tree
    out["MODERATION_MIGRATIONS_DIR"] = str(root / "app" / env["MODERATION_MIGRATIONS_DIR"].removeprefix("/app/"))
    out["MODERATION_DATABASE_URL"] = dsn
    out["MODERATION_HOST"] = "127.0.0.1"  # the image listens on 0.0.0.0; a test stays on loopback
    out["MODERATION_PORT"] = str(port)
    return out


def _become_nobody() -> None:
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def _nobody_can_run_python() -> bool:
    if os.getuid() != 0:
        return False
    try:
        return subprocess.run([sys.executable, "-c", "0"], preexec_fn=_become_nobody, check=False).returncode == 0
    except PermissionError:  # the interpreter lives under a private home (pyenv in /root)
        return False


# Like the image (USER 10001), run unprivileged where this interpreter allows it; otherwise as is.
as_image_user = _become_nobody if _nobody_can_run_python() else None


def moderation(args: list[str]) -> list[str]:
    assert args[0] == "moderation"
    return [sys.executable, "-m", "service", *args[1:]]


def test_dockerfile_runs_unprivileged_with_a_python_healthcheck() -> None:
    env, cmd, health, user = dockerfile_runtime()
    assert user and user.split(":")[0] not in ("0", "root")
    assert cmd == ["moderation", "serve"]
    assert health[:3] == ["python", "-m", "service.healthcheck"]
    assert env["MODERATION_MIGRATE_ON_START"] == "false", "migrations are a separate command"


def test_image_commands_migrate_serve_and_healthcheck(image_root: Path, empty_db_dsn: str) -> None:
    port = free_port()
    env = image_env(image_root, empty_db_dsn, port)
    workdir = image_root / "app"
    where = subprocess.run(
        [sys.executable, "-c", "import service, classifier; print(service.__file__, classifier.__file__)"],
        env=env, cwd=workdir, capture_output=True, text=True, check=True,
    )
    assert all(p.startswith(str(image_root / "site")) for p in where.stdout.split()), where.stdout

    migrate = subprocess.run(
        moderation(["moderation", "migrate"]), env=env, cwd=workdir, capture_output=True, text=True, timeout=120,
        preexec_fn=as_image_user, check=False,
    )
    assert migrate.returncode == 0, migrate.stderr
    assert "applied 1 migration" in migrate.stdout or "applied" in migrate.stdout

    _, cmd, health, _ = dockerfile_runtime()
    health_cmd = [sys.executable, *health[1:]]
    log_path = image_root / f"serve-{port}.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            moderation(cmd), env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, preexec_fn=as_image_user
        )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, log_path.read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.3)
        healthy = subprocess.run(health_cmd, env=env, cwd=workdir, capture_output=True, timeout=30, check=False)
        assert healthy.returncode == 0, healthy.stderr
        # JSON logs (the image's MODERATION_LOG_FORMAT) from the non-root process.
        assert '"logger": "service.app"' in log_path.read_text()
    finally:
        server.terminate()
        assert server.wait(60) == 0, log_path.read_text()
    unhealthy = subprocess.run(health_cmd, env=env, cwd=workdir, capture_output=True, timeout=30, check=False)
    assert unhealthy.returncode == 1
