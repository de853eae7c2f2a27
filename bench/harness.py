"""What the benchmarks under bench/ share: ports, readiness, keys, /proc accounting, wrk, machine info.

Imported by the scripts next to it (``python bench/<script>.py`` puts this directory on
``sys.path``); not part of the service.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

MODERATION = str(Path(sys.executable).with_name("moderation"))
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[Any], timeout: float = 120.0, log: Path | None = None) -> None:
    """Poll ``url`` until it answers 200; fail if ``proc`` exits or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{proc.args!r} exited with {proc.returncode}" + (f"; see {log}" if log else ""))
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} not ready in {timeout:.0f} s" + (f"; see {log}" if log else ""))


def service_env(**settings: str) -> dict[str, str]:
    """This process's environment without any MODERATION_/PROMETHEUS_ variable, plus ``settings``
    given as ``MODERATION_<NAME>`` (e.g. ``database_url=...``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODERATION_", "PROMETHEUS_"))}
    env.update({f"MODERATION_{name.upper()}": value for name, value in settings.items()})
    return env


def add_service_env_argument(parser: argparse.ArgumentParser) -> None:
    """``--service-env NAME=VALUE`` (repeatable): a setting for the service under test only."""
    parser.add_argument(
        "--service-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for the service only, e.g. MODERATION_INTAKE_MAX_CONCURRENT=2 (repeatable)",
    )


def parse_service_env(items: Sequence[str]) -> dict[str, str]:
    """The ``--service-env`` items as a mapping; each must be NAME=VALUE."""
    env: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SystemExit(f"--service-env wants NAME=VALUE, got {item!r}")
        env[name] = value
    return env


async def create_keys(dsn: str, roles: Mapping[str, str]) -> dict[str, str]:
    """Create one API key per ``{name: role}`` directly in the database; ``{name: secret}``."""
    import asyncpg

    from service.domain.types import Role
    from service.keys import create_key

    conn = await asyncpg.connect(dsn)
    try:
        return {name: (await create_key(conn, name=name, role=Role(role))).secret for name, role in roles.items()}
    finally:
        await conn.close()


# -- /proc accounting ---------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mib(pid: int) -> float:
    """Resident memory of one process in MiB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def parent_of(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            ppid = parent_of(int(entry.name))
            if ppid is not None:
                children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, every process included."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


class CpuMeter:
    """CPU used by process trees (and by waited-for children such as wrk) between start and stop.

    Results are in cores: 1.0 means one core busy for the whole interval.
    """

    def __init__(self, roots: Mapping[str, int | None]) -> None:
        self.roots = dict(roots)

    def __enter__(self) -> CpuMeter:
        self._before = {
            name: {p: cpu_seconds(p) for p in process_tree(root)} for name, root in self.roots.items() if root
        }
        t = os.times()
        self._children = t.children_user + t.children_system
        self._jiffies = machine_jiffies()
        self._t0 = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.monotonic() - self._t0
        t = os.times()
        busy, total = machine_jiffies()
        self.cores: dict[str, float | None] = {}
        for name, root in self.roots.items():
            if not root:
                self.cores[name] = None
                continue
            # Processes born during the interval (pool connections open lazily) count from zero.
            used = sum(cpu_seconds(p) - self._before[name].get(p, 0.0) for p in process_tree(root))
            self.cores[name] = used / self.seconds
        self.cores["waited_children"] = (t.children_user + t.children_system - self._children) / self.seconds
        self.cores["machine"] = (busy - self._jiffies[0]) / max(1, total - self._jiffies[1]) * (os.cpu_count() or 1)


@dataclass
class RssSampler:
    """Largest RSS of every process in a tree, sampled in a background thread."""

    root: int
    interval: float = 0.5
    peak: dict[int, float] = field(default_factory=dict)

    def __enter__(self) -> RssSampler:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _sample(self) -> None:
        for pid in process_tree(self.root):
            self.peak[pid] = max(self.peak.get(pid, 0.0), rss_mib(pid))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()


# -- wrk ----------------------------------------------------------------------------------------

WRK_SCRIPT = HERE / "post_comment.lua"


def run_wrk(
    url: str,
    *,
    connections: int,
    duration: float,
    threads: int = 1,
    env: Mapping[str, str] | None = None,
    script: Path | None = WRK_SCRIPT,
    timeout_s: float = 30.0,
) -> dict[str, Any]:
    """Run wrk and return its summary: the JSON line post_comment.lua prints in ``done()``, or
    figures parsed from wrk's own report when there is no script (a GET).

    ``timeout_s`` is wrk's per-request timeout: it is set far above any latency we care about,
    because wrk drops timed-out requests from its latency statistics.
    """
    cmd = [
        "wrk", "-t", str(max(1, min(threads, connections))), "-c", str(connections),
        "-d", f"{duration:g}s", "--timeout", f"{timeout_s:g}s", "--latency",
    ]  # fmt: skip
    if script is not None:
        cmd += ["-s", str(script)]
    proc = subprocess.run(
        [*cmd, url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(env or os.environ),
        timeout=duration + 120,
    )  # fmt: skip
    out = proc.stdout
    for line in out.splitlines():
        if line.startswith("WRKJSON "):
            summary: dict[str, Any] = json.loads(line[len("WRKJSON ") :])
            summary["wrk_output"] = out
            return summary
    if proc.returncode != 0 or "Requests/sec" not in out:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{out}")
    return _parse_wrk_report(out)


def _parse_wrk_report(out: str) -> dict[str, Any]:
    def latency_ms(pct: str) -> float:
        m = re.search(rf"^\s*{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        return float(m[1]) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m[2]] if m else float("nan")

    requests = int(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "requests": requests,
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]),  # type: ignore[index]
        "latency_ms": {"p50": latency_ms("50"), "p99": latency_ms("99")},
        "non_2xx": int(non2xx[1]) if non2xx else 0,
        "wrk_output": out,
    }


# -- reporting ----------------------------------------------------------------------------------


def percentile(values: Iterable[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def load_average() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def machine_info() -> dict[str, Any]:
    """Cores, CPU model, memory, Python and kernel: the header of every benchmark report."""
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(mem_kib / 2**20, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def git_commit() -> str:
    """The checked-out commit, with ``-dirty`` when tracked files are modified."""
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("-dirty" if dirty else "")
