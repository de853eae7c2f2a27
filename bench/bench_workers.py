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
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from harness import HERE, MODERATION, CpuMeter, free_port, process_tree, rss_mib, run_wrk, service_env, wait_ready


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


def measure(
    workers: int, target: str, url: str, args: argparse.Namespace, roots: dict[str, int], env: dict[str, str]
) -> Run:
    post = target == "POST /v1/comments"
    with CpuMeter(roots) as cpu:
        out = run_wrk(
            url,
            connections=args.connections,
            duration=args.duration,
            threads=args.threads,
            env=env,
            script=None if not post else HERE / "post_comment.lua",
        )
    if "latency_us" in out:  # the POST script's own summary
        seconds = out["duration_us"] / 1e6
        rps, p50, p99 = out["requests"] / seconds, out["latency_us"]["p50"] / 1000, out["latency_us"]["p99"] / 1000
        non2xx = out["requests"] - sum(v for k, v in out["statuses"].items() if k.startswith("2"))
    else:
        rps, p50, p99, non2xx = (
            out["requests_per_s"],
            out["latency_ms"]["p50"],
            out["latency_ms"]["p99"],
            out["non_2xx"],
        )
    return Run(
        workers,
        target,
        rps,
        p50,
        p99,
        non2xx,
        cpu.cores["service"] or 0.0,
        cpu.cores["postgres"] or 0.0,
        cpu.cores["waited_children"] or 0.0,
        cpu.cores["machine"] or 0.0,
        # Serving processes only: with --workers N the supervisor (no model) is left out.
        max(rss_mib(p) for p in process_tree(roots["service"])),
        cpu.seconds,
    )


def bench(workers: int, args: argparse.Namespace, base: Path) -> list[Run]:
    data_dir = base / f"data-{workers}"
    port = free_port()
    # No rate limit: one submitter key sends everything (see bench_load.py).
    env = service_env(data_dir=str(data_dir), log_level="WARNING", access_log="false", rate_limits="{}")
    key = (
        subprocess.run(
            [MODERATION, "keys", "create", "--role", "submitter", "--name", "bench"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    server = subprocess.Popen(
        [MODERATION, "serve", "--workers", str(workers), "--port", str(port)], env=env, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url + "/readyz", server)
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
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"load average after the runs {' '.join(load)}"
    )
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
