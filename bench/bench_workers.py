"""Throughput of ``moderation serve --workers N`` on one PostgreSQL, and where the CPU goes.

For each N: start the service (N processes on one port, SO_REUSEPORT) on a private embedded
PostgreSQL, drive it with ``wrk`` on loopback (GET /healthz, then POST /v1/comments), and read
the CPU time (from /proc) that the service processes, PostgreSQL and wrk used during each run.
Every process shares the machine's cores, so the split shows what saturates first.

    python bench/bench_workers.py --workers 1 2 3 4 --duration 10 --connections 32 > bench/results.md

Needs ``wrk`` (Debian: ``apt-get install -y wrk``). Sends traffic to 127.0.0.1 only, and each
run stops by itself after ``--duration`` seconds.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODERATION = str(Path(sys.executable).with_name("moderation"))
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children_of(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                out.append(int(entry.name))
    return out


def tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children_of(p))
    return found


@dataclass
class Run:
    workers: int
    target: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    cpu_service: float
    cpu_postgres: float
    cpu_wrk: float
    cpu_machine: float
    rss_mib: float
    seconds: float


def parse_latency(text: str, pct: str) -> float:
    m = re.search(rf"^\s*{pct}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    if not m:
        return float("nan")
    return float(m[1]) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m[2]]


def run_wrk(url: str, args: argparse.Namespace, script: Path | None, env: dict[str, str]) -> str:
    cmd = ["wrk", "-t", str(args.threads), "-c", str(args.connections), "-d", f"{args.duration}s", "--latency"]
    if script:
        cmd += ["-s", str(script)]
    # wrk is waited for, so its CPU time lands in this process's children's times.
    return subprocess.run([*cmd, url], stdout=subprocess.PIPE, text=True, env=env, timeout=args.duration + 60).stdout


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, every process included."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def measure(
    workers: int, target: str, url: str, args: argparse.Namespace, roots: dict[str, int], env: dict[str, str]
) -> Run:
    script = HERE / "post_comment.lua" if target == "POST /v1/comments" else None
    before = {name: {p: cpu_seconds(p) for p in tree(root)} for name, root in roots.items()}
    wrk_before = os.times().children_user + os.times().children_system
    busy_before, total_before = machine_jiffies()
    started = time.monotonic()
    out = run_wrk(url, args, script, env)
    seconds = time.monotonic() - started
    busy_after, total_after = machine_jiffies()
    wrk_cpu = os.times().children_user + os.times().children_system - wrk_before
    # Processes born during the run (pool connections open lazily) count from zero.
    used = {
        name: sum(cpu_seconds(p) - before[name].get(p, 0.0) for p in tree(root)) for name, root in roots.items()
    }
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return Run(
        workers,
        target,
        rps,
        parse_latency(out, "50"),
        parse_latency(out, "99"),
        int(non2xx[1]) if non2xx else 0,
        used["service"] / seconds,
        used["postgres"] / seconds,
        wrk_cpu / seconds,
        (busy_after - busy_before) / max(1, total_after - total_before) * (os.cpu_count() or 1),
        # Serving processes only: with --workers N the supervisor (no model) is left out.
        max(rss_mib(p) for p in tree(roots["service"])),
        seconds,
    )


def bench(workers: int, args: argparse.Namespace, base: Path) -> list[Run]:
    data_dir = base / f"data-{workers}"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODERATION_", "PROMETHEUS_"))}
    env.update(MODERATION_DATA_DIR=str(data_dir), MODERATION_LOG_LEVEL="WARNING", MODERATION_ACCESS_LOG="false")
    key = subprocess.run(
        [MODERATION, "keys", "create", "--role", "submitter", "--name", "bench"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout.strip().splitlines()[-1]
    server = subprocess.Popen(
        [MODERATION, "serve", "--workers", str(workers), "--port", str(port)], env=env, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(url + "/readyz", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit(f"service with {workers} workers did not become ready")
            time.sleep(0.3)
        time.sleep(2)  # let every worker finish loading the model
        postmaster = int((data_dir / "pgdata" / "postmaster.pid").read_text().split()[0])
        roots = {"service": server.pid, "postgres": postmaster}
        wrk_env = {**env, "KEY": key}
        runs = []
        for target, path in (("GET /healthz", "/healthz"), ("POST /v1/comments", "")):
            runs.append(measure(workers, target, url + path, args, roots, wrk_env))
            print(f"# {runs[-1]}", file=sys.stderr)
        return runs
    finally:
        # The supervisor (or the single server) stops its workers, then its embedded PostgreSQL.
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    base = Path(tempfile.mkdtemp(prefix="moderation-bench-", dir="/tmp"))
    base.chmod(0o711)  # as root the embedded PostgreSQL runs as another user and must traverse it
    try:
        runs = [r for n in args.workers for r in bench(n, args, base)]
    finally:
        shutil.rmtree(base, ignore_errors=True)
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"load average after the runs {' '.join(load)}")
    print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s --latency\n")
    print(
        "| workers | target | req/s | p50 ms | p99 ms | non-2xx "
        "| CPU service | CPU PostgreSQL | CPU wrk | CPU whole machine | service CPU ms/req | PostgreSQL CPU ms/req "
        "| largest worker RSS MiB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in runs:
        print(
            f"| {r.workers} | {r.target} | {r.requests_per_s:.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.non_2xx} "
            f"| {r.cpu_service:.2f} | {r.cpu_postgres:.2f} | {r.cpu_wrk:.2f} | {r.cpu_machine:.2f} "
            f"| {1000 * r.cpu_service / r.requests_per_s:.2f} | {1000 * r.cpu_postgres / r.requests_per_s:.2f} "
            f"| {r.rss_mib:.0f} |"
        )
    print(
        "\nCPU columns: cores busy on average during the run (1.00 = one core fully used); 'whole machine' "
        "includes every other process on the machine."
    )


if __name__ == "__main__":
    main()
