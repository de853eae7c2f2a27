"""``moderation serve --workers N``: a small supervisor of N serving processes on one port.

Each child is an ordinary ``moderation serve`` that binds the port with ``SO_REUSEPORT``; the
Linux kernel spreads incoming connections over the listening sockets, so no process proxies
traffic. Choices, documented in docs/scaling.md:

- The supervisor applies migrations once and starts the embedded PostgreSQL if there is no
  database URL; children start with ``--no-migrate`` and the supervisor's DSN.
- SIGTERM or SIGINT to the supervisor is forwarded to every child as SIGTERM; each child drains
  its in-flight requests (aiohttp's shutdown timeout), then the supervisor exits 0. A child that
  has not exited ``KILL_AFTER_S`` seconds after the signal is killed.
- A child that dies on its own is restarted after ``RESTART_DELAY_S``; more than
  ``MAX_RESTARTS`` deaths within ``RESTART_WINDOW_S`` means something is wrong with every child
  (bad model, port taken): the supervisor stops the rest and exits 1 instead of looping.
- Metrics: children share a prometheus_client multi-process directory, so any child's /metrics
  answers for all of them (see service/metrics.py).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

log = logging.getLogger("moderation.workers")

KILL_AFTER_S = 30.0
RESTART_DELAY_S = 1.0
MAX_RESTARTS = 5
RESTART_WINDOW_S = 60.0
POLL_S = 0.2


class Supervisor:
    """Start, watch, restart and stop the children."""

    def __init__(self, child_argv: Sequence[str], env: dict[str, str], workers: int, metrics_dir: Path) -> None:
        self.child_argv = list(child_argv)
        self.env = env
        self.workers = workers
        self.metrics_dir = metrics_dir
        self.children: dict[int, subprocess.Popen[bytes]] = {}
        self.stopping_since: float | None = None
        self.deaths: deque[float] = deque()
        self.failed = False

    def spawn(self) -> None:
        child = subprocess.Popen(self.child_argv, env=self.env)
        self.children[child.pid] = child
        log.info("worker %d started", child.pid)

    def stop(self, signum: int = signal.SIGTERM) -> None:
        if self.stopping_since is None:
            self.stopping_since = time.monotonic()
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signum)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        log.info("supervisor got signal %d: stopping %d worker(s)", signum, len(self.children))
        self.stop(signal.SIGTERM)

    def _reap(self) -> None:
        from prometheus_client import multiprocess

        for pid, child in list(self.children.items()):
            code = child.poll()
            if code is None:
                continue
            del self.children[pid]
            # Drop the dead process's live gauges; its counters stay summed, as counters should.
            multiprocess.mark_process_dead(pid, str(self.metrics_dir))
            if self.stopping_since is not None:
                log.info("worker %d exited with %d", pid, code)
                continue
            now = time.monotonic()
            self.deaths.append(now)
            while self.deaths and now - self.deaths[0] > RESTART_WINDOW_S:
                self.deaths.popleft()
            if len(self.deaths) > MAX_RESTARTS:
                log.error("workers keep dying (%d in %.0f s): giving up", len(self.deaths), RESTART_WINDOW_S)
                self.failed = True
                self.stop()
                continue
            log.warning("worker %d died with %d; restarting in %.0f s", pid, code, RESTART_DELAY_S)
            time.sleep(RESTART_DELAY_S)
            if self.stopping_since is None:
                self.spawn()

    def run(self) -> int:
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            for _ in range(self.workers):
                self.spawn()
            while self.children:
                self._reap()
                if self.stopping_since is not None and time.monotonic() - self.stopping_since > KILL_AFTER_S:
                    self.stop(signal.SIGKILL)
                time.sleep(POLL_S)
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
        return 1 if self.failed else 0


def serve_workers(*, workers: int, host: str, port: int, dsn: str, extra_env: dict[str, str] | None = None) -> int:
    """Run ``workers`` children of ``moderation serve`` on ``host:port``; return the exit code."""
    if port == 0:
        raise SystemExit("serve --workers needs a fixed --port: with port 0 every worker would get its own")
    metrics_dir = Path(tempfile.mkdtemp(prefix="moderation-metrics-"))
    env = dict(os.environ)
    env.update(extra_env or {})
    env.update(
        {
            "MODERATION_DATABASE_URL": dsn,
            "MODERATION_WORKERS": "1",
            "MODERATION_MIGRATE_ON_START": "false",
            "MODERATION_METRICS_MULTIPROC_DIR": str(metrics_dir),
            # prometheus_client's own switch, read when a child imports it.
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        }
    )
    argv = [sys.executable, "-m", "service", "serve", "--host", host, "--port", str(port), "--reuse-port"]
    log.info("starting %d workers on %s:%d (SO_REUSEPORT)", workers, host, port)
    try:
        return Supervisor(argv, env, workers, metrics_dir).run()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
