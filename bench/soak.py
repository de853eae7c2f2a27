"""Soak test: a steady request rate against ``moderation serve`` on loopback, for a bounded time.

It starts its own embedded PostgreSQL (in a temporary directory) and its own ``moderation serve``
process, creates the keys it needs, then sends a fixed mix at a fixed rate (open loop: a request
is due every 1/rate seconds whether or not earlier ones finished, at most --max-in-flight at
once). Every 10 s it samples the service's resident memory. At the end it checks that every
comment answered 2xx is in the database, and writes a JSON report.

    python bench/soak.py --duration 600 --rate 40 --out bench/results/soak.json

Traffic goes to 127.0.0.1 only and stops by itself after --duration seconds. With --probe the
service also loads bench/soak_probe/sitecustomize.py, which records what its memory is made of
(glibc malloc's counters, Python's allocated blocks) every 10 s; the samples go into the report.
Environment variables other than MODERATION_* (e.g. MALLOC_ARENA_MAX) pass through to the service.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from harness import (
    MODERATION,
    REPO,
    add_service_env_argument,
    create_keys,
    free_port,
    git_commit,
    load_average,
    machine_info,
    parse_service_env,
    percentile,
    rss_mib,
    service_env,
    wait_ready,
)

from service.db.embedded import EmbeddedPostgres

CIVIL = [
    "Thank you for the clear explanation of the budget vote.",
    "I disagree with the author on the tram line, but the figures are useful.",
    "Does anyone know when the council publishes the minutes?",
    "Great reporting, and the map of the flooded streets helped a lot.",
]
RUDE = [
    "You are an idiot and this article is garbage.",
    "Shut up, nobody cares about your stupid opinion.",
]


@dataclass
class Stats:
    started: float = field(default_factory=time.monotonic)
    statuses: Counter[str] = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    stored_ids: list[str] = field(default_factory=list)
    late_starts: int = 0
    memory: list[tuple[float, int]] = field(default_factory=list)  # (seconds, RSS bytes)

    def record(self, kind: str, status: int | None, seconds: float) -> None:
        self.statuses[f"{kind} {status}"] += 1
        self.latencies.setdefault(kind, []).append(seconds)


def rss_bytes(pid: int) -> int:
    return int(rss_mib(pid) * 2**20)


PROBE_DIR = REPO / "bench" / "soak_probe"


def start_service(
    dsn: str, log_path: Path, probe_out: Path | None = None, extra_env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = service_env(database_url=dsn, log_level="INFO") | (extra_env or {})
    if probe_out is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROBE_DIR), env.get("PYTHONPATH")]))
        env["SOAK_PROBE_OUT"] = str(probe_out)
    log = log_path.open("ab")
    proc = subprocess.Popen(
        [MODERATION, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url + "/readyz", proc, log=log_path)
    except BaseException:
        proc.kill()
        raise
    return proc, url


async def make_keys(dsn: str) -> dict[str, str]:
    roles = {"submitter": "submitter", "moderator": "moderator", "admin": "admin", "moderator_b": "moderator"}
    keys = await create_keys(dsn, {f"soak-{label}": role for label, role in roles.items()})
    return {label: keys[f"soak-{label}"] for label in roles}


async def one_request(http: aiohttp.ClientSession, url: str, keys: dict[str, str], i: int, stats: Stats) -> None:
    """The mix: 70% submit (1 in 10 rude, 1 in 5 on a premoderated article), 10% read back,
    10% score, 10% one of two moderators claims and decides up to 5 pending comments (up to six
    requests, so each moderator key stays under its role's default 20 requests/s)."""
    sub = {"Authorization": f"Bearer {keys['submitter']}"}
    mod = {"Authorization": f"Bearer {keys['moderator' if i % 20 < 10 else 'moderator_b']}"}
    roll = i % 10
    t0 = time.monotonic()
    kind = "submit"
    try:
        if roll < 7:
            text = random.choice(RUDE if i % 10 == 3 else CIVIL) + f" (#{i})"
            body = {
                "article_id": "soak-premod" if i % 5 == 0 else f"soak-{i % 50}",
                "author_id": f"reader-{i % 997}",
                "external_id": f"soak-{i}",
                "text": text,
            }
            async with http.post(f"{url}/v1/comments", json=body, headers=sub) as resp:
                data = await resp.json(content_type=None)
                if 200 <= resp.status < 300:
                    stats.stored_ids.append(data["id"])
                stats.record(kind, resp.status, time.monotonic() - t0)
        elif roll == 7 and stats.stored_ids:
            kind = "read"
            cid = random.choice(stats.stored_ids[-500:])
            async with http.get(f"{url}/v1/comments/{cid}", headers=sub) as resp:
                await resp.read()
                stats.record(kind, resp.status, time.monotonic() - t0)
        elif roll == 8:
            kind = "score"
            async with http.post(f"{url}/v1/score", json={"text": random.choice(CIVIL + RUDE)}, headers=sub) as resp:
                await resp.read()
                stats.record(kind, resp.status, time.monotonic() - t0)
        else:
            kind = "review"
            async with http.post(f"{url}/v1/review/claim", json={"limit": 5}, headers=mod) as resp:
                items = (await resp.json(content_type=None)).get("items", [])
                status = resp.status
            for item in items:
                decision = {"decision": "approve" if item["max_score"] < 0.5 else "reject"}
                async with http.post(f"{url}/v1/review/{item['id']}/decision", json=decision, headers=mod) as resp:
                    await resp.read()
                    status = resp.status if resp.status != 200 else status
            stats.record(kind, status, time.monotonic() - t0)
    except Exception as exc:  # a soak counts every failure, whatever it is
        stats.record(kind, None, time.monotonic() - t0)
        stats.errors.append(f"{kind}: {exc.__class__.__name__}: {exc}"[:200])


async def drive(url: str, keys: dict[str, str], pid: int, duration: float, rate: float, max_in_flight: int) -> Stats:
    stats = Stats()
    in_flight = asyncio.Semaphore(max_in_flight)
    tasks: set[asyncio.Task[None]] = set()
    connector = aiohttp.TCPConnector(limit=max_in_flight)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as http:
        admin = {"Authorization": f"Bearer {keys['admin']}"}
        async with http.put(f"{url}/v1/articles/soak-premod", json={"mode": "premod"}, headers=admin) as resp:
            assert resp.status == 200, await resp.text()

        async def sample_memory() -> None:
            while True:
                stats.memory.append((round(time.monotonic() - stats.started, 1), rss_bytes(pid)))
                await asyncio.sleep(10)

        sampler = asyncio.create_task(sample_memory())
        t0 = time.monotonic()
        total = int(duration * rate)
        for i in range(total):
            due = t0 + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -1.0:
                stats.late_starts += 1
            await in_flight.acquire()

            async def run(i: int = i) -> None:
                try:
                    await one_request(http, url, keys, i, stats)
                finally:
                    in_flight.release()

            task = asyncio.create_task(run())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
        sampler.cancel()
        stats.memory.append((round(time.monotonic() - stats.started, 1), rss_bytes(pid)))
    return stats


async def missing(dsn: str, ids: list[str]) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        found = await conn.fetchval("SELECT count(*) FROM comments WHERE id = ANY($1::uuid[])", ids)
    finally:
        await conn.close()
    return len(set(ids)) - int(found)


def slope_mib_per_min(samples: list[tuple[float, int]]) -> float:
    """Least-squares slope of RSS over ``samples`` (seconds, bytes), MiB per minute."""
    if len(samples) < 2:
        return 0.0
    xs = [t for t, _ in samples]
    ys = [b / 2**20 for _, b in samples]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return 0.0 if var == 0 else 60 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var


def memory_summary(samples: list[tuple[float, int]], warmup_s: float) -> dict[str, Any]:
    """'Flat' in numbers: the slope and the growth of RSS after the warm-up, and the slope over the
    second half (what earlier reports quoted)."""
    after = [(t, b) for t, b in samples if t >= warmup_s]
    mib = [b / 2**20 for _, b in after]
    return {
        "warmup_s": warmup_s,
        "after_warmup_first_mib": round(mib[0], 1) if mib else None,
        "after_warmup_last_mib": round(mib[-1], 1) if mib else None,
        "after_warmup_growth_mib": round(mib[-1] - mib[0], 1) if mib else None,
        "after_warmup_max_minus_min_mib": round(max(mib) - min(mib), 1) if mib else None,
        "slope_after_warmup_mib_per_min": round(slope_mib_per_min(after), 3),
        "slope_second_half_mib_per_min": round(slope_mib_per_min(samples[len(samples) // 2 :]), 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=600, help="seconds of steady load (default 600)")
    parser.add_argument("--rate", type=float, default=40, help="requests per second (default 40)")
    parser.add_argument("--max-in-flight", type=int, default=64)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "soak.json")
    parser.add_argument("--warmup", type=float, default=120, help="seconds left out of the memory slope (default 120)")
    parser.add_argument("--probe", action="store_true", help="record the service's malloc/Python memory counters")
    add_service_env_argument(parser)
    args = parser.parse_args()
    extra_env = parse_service_env(args.service_env)
    if args.duration > 3600 or args.rate > 500:
        parser.error("bounded by design: at most 3600 s and 500 requests/s")

    base = Path(tempfile.mkdtemp(prefix="cm-soak-", dir="/tmp"))
    base.chmod(0o711)  # as root the embedded server runs as an unprivileged account
    pg = EmbeddedPostgres(base / "pg")
    dsn = pg.start()
    proc = None
    try:
        probe_out = base / "probe.jsonl" if args.probe else None
        proc, url = start_service(dsn, base / "server.log", probe_out, extra_env)
        keys = asyncio.run(make_keys(dsn))
        rss_start = rss_bytes(proc.pid)
        load_start, started_at = load_average(), time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        print(f"soak: {args.rate:g} req/s for {args.duration:g} s against {url} (pid {proc.pid})", flush=True)
        stats = asyncio.run(drive(url, keys, proc.pid, args.duration, args.rate, args.max_in_flight))
        lost = asyncio.run(missing(dsn, stats.stored_ids))
        elapsed = time.monotonic() - stats.started
        load_end = load_average()
        proc.send_signal(signal.SIGTERM)
        exit_code = proc.wait(60)
        log_text = (base / "server.log").read_text(errors="replace")
        leaked = any(k in log_text for k in keys.values()) or "council" in log_text
        ok = sum(n for k, n in stats.statuses.items() if k.split()[1].startswith("2"))
        total = sum(stats.statuses.values())
        report: dict[str, Any] = {
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "commit": git_commit(),
            "started_utc": started_at,
            "machine": machine_info(),
            "load_average_1_5_15": {"start": load_start, "end": load_end},
            "duration_s": round(elapsed, 1),
            "rate_target_per_s": args.rate,
            "requests": total,
            "achieved_per_s": round(total / elapsed, 1),
            "ok_2xx": ok,
            "non_2xx_or_errors": total - ok,
            "statuses": dict(sorted(stats.statuses.items())),
            "errors_sample": stats.errors[:10],
            "late_starts_over_1s": stats.late_starts,
            "comments_answered_2xx": len(stats.stored_ids),
            "comments_lost": lost,
            "latency_ms": {
                kind: {
                    "p50": round(1000 * percentile(v, 0.5), 1),
                    "p95": round(1000 * percentile(v, 0.95), 1),
                    "p99": round(1000 * percentile(v, 0.99), 1),
                    "max": round(1000 * max(v), 1),
                }
                for kind, v in sorted(stats.latencies.items())
            },
            "rss_mib": {
                "at_start": round(rss_start / 2**20, 1),
                "samples": [(t, round(b / 2**20, 1)) for t, b in stats.memory],
                **memory_summary(stats.memory, args.warmup),
            },
            "service_env": {k: v for k, v in os.environ.items() if k.startswith(("MALLOC_", "PYTHONMALLOC"))}
            | extra_env,
            "service_exit_code_after_sigterm": exit_code,
            "secrets_or_text_in_log": leaked,
        }
        if probe_out is not None and probe_out.exists():
            report["probe"] = [json.loads(line) for line in probe_out.read_text().splitlines() if line.strip()]
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")
        print(json.dumps({k: v for k, v in report.items() if k not in ("rss_mib", "probe")}, indent=2))
        print("rss MiB:", report["rss_mib"])
        healthy = ok == total and lost == 0 and exit_code == 0 and not leaked
        return 0 if healthy else 1
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        pg.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
