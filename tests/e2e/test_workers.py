"""``moderation serve --workers 2``: two processes on one port, both answering, metrics summed, clean stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import MODERATION, free_port


def get(url: str) -> tuple[int, bytes]:
    # A new connection per request: SO_REUSEPORT spreads connections, not requests.
    req = urllib.request.Request(url, headers={"Connection": "close"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return resp.status, resp.read()


def log_lines(path: Path) -> list[dict]:
    out = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue  # a child's traceback, if any, is plain text
    return out


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_until(predicate, timeout: float = 60, what: str = "condition") -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class Workers:
    def __init__(self, process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
        self.process, self.url, self.log_path = process, url, log_path

    def worker_pids(self) -> list[int]:
        started = [x for x in log_lines(self.log_path) if x["msg"].startswith("worker ") and "started" in x["msg"]]
        return [int(x["msg"].split()[1]) for x in started]

    def listening(self) -> set[int]:
        """Workers that have bound the port (aiohttp's "Running on" line), not just been started."""
        return {x["pid"] for x in log_lines(self.log_path) if "Running on" in x["msg"]}

    def ready(self) -> bool:
        try:
            return get(self.url + "/readyz")[0] == 200
        except OSError:
            return False


@pytest.fixture
def workers(db_dsn: str, tmp_path: Path) -> Iterator[Workers]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODERATION_", "PROMETHEUS_"))}
    env.update(MODERATION_DATABASE_URL=db_dsn, MODERATION_LOG_FORMAT="json", MODERATION_LOG_LEVEL="INFO")
    log_path = tmp_path / "serve.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [MODERATION, "serve", "--workers", "2", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    w = Workers(process, f"http://127.0.0.1:{port}", log_path)
    try:
        wait_until(
            lambda: len(w.worker_pids()) == 2 and w.listening() == set(w.worker_pids()) and w.ready(),
            120,
            "two workers listening",
        )
        yield w
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        for pid in w.worker_pids():
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def healthz_served_by(w: Workers) -> set[int]:
    lines = log_lines(w.log_path)
    return {x["pid"] for x in lines if x["logger"] == "moderation.access" and x.get("route") == "healthz"}


def metric(body: bytes, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            if s.name == name and labels.items() <= s.labels.items():
                return s.value
    return 0.0


def test_two_workers_share_the_port_and_stop_cleanly(workers: Workers) -> None:
    first, second = workers.worker_pids()
    # Each new connection lands on either socket (the kernel hashes the client port): both answer
    # within a few dozen; 400 all on one worker would mean one of them is not serving.
    requests = 0
    while requests < 400:
        assert get(workers.url + "/healthz")[0] == 200
        requests += 1
        if requests % 20 == 0 and healthz_served_by(workers) == {first, second}:
            break
    assert healthz_served_by(workers) == {first, second}

    # Counters live in the shared multi-process directory: any worker's /metrics sums both.
    for _ in range(4):
        status, body = get(workers.url + "/metrics")
        assert status == 200
        count = metric(body, "moderation_http_request_duration_seconds_count", route="healthz", status="200")
        assert count == requests

    workers.process.send_signal(signal.SIGTERM)
    assert workers.process.wait(60) == 0
    assert not alive(first) and not alive(second)


def test_a_dead_worker_is_replaced(workers: Workers) -> None:
    first, second = workers.worker_pids()
    os.kill(first, signal.SIGKILL)
    wait_until(lambda: len(workers.worker_pids()) == 3, 30, "a replacement worker")
    replacement = workers.worker_pids()[-1]
    assert replacement not in (first, second)
    wait_until(workers.ready, 60, "the service to be ready again")
    for _ in range(20):
        assert get(workers.url + "/healthz")[0] == 200
    workers.process.send_signal(signal.SIGTERM)
    assert workers.process.wait(60) == 0
    assert not alive(second) and not alive(replacement)
