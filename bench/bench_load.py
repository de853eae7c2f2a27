"""Load benchmark of POST /v1/comments (issue 7): throughput and latency against two references.

One command, everything on this machine (service, PostgreSQL and the load generator share the
cores, as in the issue's targets)::

    python bench/bench_load.py --workers 2 --connections 1 32 64 128 --duration 20 \\
        --out bench/results/load.json > bench/results/load.md

It starts a private embedded PostgreSQL (or uses ``--database-url``, which should be a scratch
database: comments and a ``bench_reference`` schema are written to it), then for each target in
turn (``echo``, ``insert``, ``service``):

* ``echo``: a bare aiohttp JSON echo (bench/reference_server.py), the ceiling of the HTTP stack;
* ``insert``: a minimal aiohttp handler doing one asyncpg INSERT per request, answered after the
  commit (bench/reference_server.py), the floor cost of a durable write without batching;
* ``service``: ``moderation serve --workers N`` with the access log off and no rate limit (a
  comment storm arrives through the site's one submitter key; its limit is a site's budget, not
  the service's capacity);

each with ``--workers`` processes on one port (SO_REUSEPORT), a warm-up, then ``wrk`` (closed
loop, a fixed number of connections, each sending its next request when the previous answer
arrived) for ``--duration`` seconds at every ``--connections`` level. Every request is a new
comment: a unique external_id, one of ``--authors`` authors, one of ``--articles`` articles (a few
hot ones get most comments), a text from a pool written to a file that bench/post_comment.lua
reads: Civil Comments sentences and posts and the Jigsaw sample when ../shared/data is there,
plus comments of the kinds found under ../shared/seed/article.md (quotes, names with diacritics,
shouting, link and e-mail spam, short reactions, some rude); generated sentences otherwise.

Per run it reports comments/s (2xx answers per second), p50/p99/max latency, non-2xx answers and
socket errors, CPU (in cores, from /proc) of the server processes, PostgreSQL, wrk and the whole
machine, and the largest RSS of any serving worker. It checks durability: every external_id
answered 2xx must be in the database (``lost`` must be 0; requests still in flight when wrk
stopped may be committed without an answer, at most one per connection). The ratio of the
service's throughput to the echo's is printed per concurrency.

Needs ``wrk`` (Debian: ``apt-get install -y wrk``). Traffic goes to 127.0.0.1 only; each run
stops by itself after ``--duration`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from harness import (
    MODERATION,
    REPO,
    WRK_SCRIPT,
    CpuMeter,
    RssSampler,
    add_service_env_argument,
    create_keys,
    free_port,
    git_commit,
    load_average,
    machine_info,
    parent_of,
    parse_service_env,
    run_wrk,
    service_env,
    wait_ready,
)
from reference_server import STORED_IDS as REFERENCE_STORED_IDS
from reference_server import drop_table

from service.db.embedded import EmbeddedPostgres

REFERENCE_SERVER = Path(__file__).resolve().with_name("reference_server.py")
TARGETS = ("echo", "insert", "service")
SERVICE_STORED_IDS = "SELECT external_id FROM comments WHERE external_id = ANY($1::text[])"
COUNT_SERVICE_RUN = "SELECT count(*) FROM comments WHERE external_id LIKE $1"
COUNT_REFERENCE_RUN = "SELECT count(*) FROM bench_reference.comments WHERE external_id LIKE $1"
MAX_TEXT_CHARS = 5000  # well under the service's 20,000-character and 64 KiB body limits


# -- texts ------------------------------------------------------------------------------------


def _article_sentences(path: Path) -> list[str]:
    """Sentences of the seed article, markdown and links stripped."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[*#\\]+", "", text)
    sentences = re.split(r"(?<=[.!?”])\s+", " ".join(text.split()))
    return [s.strip() for s in sentences if 30 <= len(s.strip()) <= 300]


_FALLBACK_SENTENCES = [
    "The council voted to approve the new budget for the tram line on Tuesday.",
    "Turkey and Pakistan have now become staunch strategic allies, according to analysts.",
    "Only nine countries possess nuclear weapons, as published by the Arms Control Association.",
    "The minutes of the meeting will be published by the end of the month.",
    "Residents of the flooded streets were moved to the school gym overnight.",
]
_REACTIONS = [
    "Well said.", "Source?", "Nonsense.", "Thanks for the analysis.", "Interesting read, thank you.",
    "I disagree.", "This is spot on.", "Who wrote this?", "👍👍", "🙄", "Exactly my point!",
    "Good article, but the headline is misleading.", "Finally someone says it.",
]  # fmt: skip
_NAMES = [
    "Erdoğan", "Recep Tayyip Erdoğan", "Selçuk Bayraktaroğlu", "Imran Khan", "Mian Muhammad Hilal Hussain",
    "Mohammed bin Salman", "Atatürk", "Nawaz Sharif", "the HLMDG", "NATO", "the FATF", "Ankara", "Islamabad",
]  # fmt: skip
_OPINIONS = [
    "{name} is playing a dangerous game here.",
    "I don't trust {name} one bit, and neither should you.",
    "{name} has done more for the region than the critics admit.",
    "Can someone explain why {name} would want this? It makes no sense to me.",
    "Typical of {name}: big words, no results.",
    "The part about {name} is wrong, read the actual statement from 2019.",
]
_SPAM = [
    "JOIN TODAY! SIX-WEEK ONLINE COURSE IN INTERNATIONAL RELATIONS: https://courses.thekootneeti.in",
    "Certificate course in international relations, write to team@thekootneeti.com or call (+91) 120 4565994",
    "Make $500 a day from home!!! Click here http://example.com/earn-now and subscribe to my channel",
    "Check out my channel for the full story www.youtube.com/watch?v=dQw4w9WgXcQ subscribe now",
]
_RUDE = [
    "What a load of garbage, you idiot.",
    "Only a moron would believe this propaganda.",
    "Shut up, nobody cares about your stupid opinion.",
    "The author is a clown and this article is trash.",
]


def article_kind_texts(n: int, rng: random.Random, article: Path | None) -> list[str]:
    """Comments of the kinds a news article like ../shared/seed/article.md gets."""
    sentences = _article_sentences(article) if article and article.is_file() else []
    sentences = sentences or _FALLBACK_SENTENCES
    out = []
    for _ in range(n):
        roll = rng.random()
        s = rng.choice(sentences)
        if roll < 0.25:
            out.append(f"“{s}” {rng.choice(_REACTIONS)}")
        elif roll < 0.45:
            out.append(rng.choice(_OPINIONS).format(name=rng.choice(_NAMES)))
        elif roll < 0.60:
            out.append(rng.choice(_REACTIONS))
        elif roll < 0.70:
            out.append(f"{s.upper()}!!!")
        elif roll < 0.80:
            out.append(rng.choice(_SPAM))
        elif roll < 0.90:
            out.append(f"{rng.choice(_RUDE)} {s}")
        else:
            out.append(f"{rng.choice(_REACTIONS)} {s} {rng.choice(_OPINIONS).format(name=rng.choice(_NAMES))}")
    return out


def comment_texts(size: int, seed: int) -> tuple[list[str], dict[str, int]]:
    """A shuffled pool of ``size`` texts and how many came from each source."""
    from classifier.data import default_data_dir, load_civil_spans, load_jigsaw

    rng = random.Random(seed)
    data = default_data_dir()
    article = data.parent / "seed" / "article.md"
    parts: dict[str, list[str]] = {}
    civil_root, jigsaw_root = data / "civil_comments_toxic_spans", data / "jigsaw_toxic_sample"
    if civil_root.is_dir() and jigsaw_root.is_dir():
        civil = load_civil_spans(civil_root)
        toxic = civil.y[:, 0] == 1
        jigsaw = load_jigsaw(jigsaw_root)
        natural = [t for t, nat in zip(jigsaw.texts, jigsaw.natural, strict=True) if nat]
        # A news site's stream: mostly civil, about one comment in eight rude or toxic.
        shares = {
            "civil comments, civil sentences": (0.50, [t for t, x in zip(civil.texts, toxic, strict=True) if not x]),
            "civil comments, toxic posts and sentences": (
                0.10,
                [t for t, x in zip(civil.texts, toxic, strict=True) if x],
            ),
            "jigsaw natural sample (~10% toxic)": (0.25, natural),
        }
        for name, (share, pool) in shares.items():
            pool = [t for t in pool if 0 < len(t) <= MAX_TEXT_CHARS]
            parts[name] = [rng.choice(pool) for _ in range(int(size * share))]
    remaining = size - sum(map(len, parts.values()))
    parts["article-kind (../shared/seed/article.md)" if article.is_file() else "generated"] = article_kind_texts(
        remaining, rng, article
    )
    texts = [t for pool in parts.values() for t in pool]
    rng.shuffle(texts)
    return texts, {name: len(pool) for name, pool in parts.items()}


# -- targets ----------------------------------------------------------------------------------


@dataclass
class Target:
    name: str
    proc: subprocess.Popen[bytes]
    url: str
    key: str | None
    log: Path
    supervised: bool  # a supervisor process (no model) runs the workers


def listening_sockets(port: int) -> int:
    """How many sockets listen on ``port`` (each SO_REUSEPORT worker has its own)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                count += 1
    return count


def start_target(name: str, args: argparse.Namespace, dsn: str, base: Path) -> Target:
    port = free_port()
    log = base / f"{name}.log"
    if name == "service":
        env = service_env(
            database_url=dsn,
            data_dir=str(base / "service-data"),
            access_log="false",
            log_level="WARNING",
            rate_limits="{}",
        ) | parse_service_env(args.service_env)
        argv = [MODERATION, "serve", "--workers", str(args.workers), "--host", "127.0.0.1", "--port", str(port)]
        ready = "/readyz"
    else:
        env = dict(os.environ)
        argv = [sys.executable, str(REFERENCE_SERVER), name, "--port", str(port), "--workers", str(args.workers)]
        if name == "insert":
            argv += ["--dsn", dsn, "--pool-max", str(args.pool_max)]
        ready = "/healthz"
    with log.open("ab") as fh:
        proc = subprocess.Popen(argv, env=env, stdout=fh, stderr=fh, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url + ready, proc, log=log)
        # Every worker must be serving, not only the first to bind: each has its own socket.
        deadline = time.monotonic() + 120
        while listening_sockets(port) < args.workers:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit(f"{name}: only {listening_sockets(port)} of {args.workers} workers listen; see {log}")
            time.sleep(0.2)
        key = None
        if name == "service":
            key = asyncio.run(create_keys(dsn, {f"bench-load-{port}": "submitter"}))[f"bench-load-{port}"]
    except BaseException:
        stop_target(proc)
        raise
    # With one worker the service serves in the process itself; otherwise a supervisor without a
    # model runs the workers, and only the workers' memory is reported.
    return Target(name, proc, url, key, log, supervised=not (name == "service" and args.workers == 1))


def stop_target(proc: subprocess.Popen[bytes]) -> int | None:
    """SIGTERM (the supervisors drain and stop their workers); SIGKILL the group after 60 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        return None


# -- database ---------------------------------------------------------------------------------


async def postgres_info(dsn: str) -> tuple[int | None, str]:
    """The postmaster's pid when it runs on this machine (the parent of our backend), and the
    server version."""
    conn = await asyncpg.connect(dsn)
    try:
        version = await conn.fetchval("SHOW server_version")
        # Read while the backend lives: once the connection closes it has no parent to read.
        postmaster = parent_of(int(await conn.fetchval("SELECT pg_backend_pid()")))
    finally:
        await conn.close()
    try:
        comm = Path(f"/proc/{postmaster}/comm").read_text().strip() if postmaster else ""
    except OSError:
        comm = ""
    return (postmaster if comm.startswith("postgres") else None), str(version)


async def durability(dsn: str, target: str, run: str, answered: list[str]) -> dict[str, int]:
    """Answered external_ids missing from the database, and commits nobody read the answer of."""
    stored_query, run_query = (
        (SERVICE_STORED_IDS, COUNT_SERVICE_RUN) if target == "service" else (REFERENCE_STORED_IDS, COUNT_REFERENCE_RUN)
    )
    conn = await asyncpg.connect(dsn)
    try:
        found = {r[0] for r in await conn.fetch(stored_query, answered)}
        committed = int(await conn.fetchval(run_query, f"{run}-%"))
    finally:
        await conn.close()
    unique = set(answered) - {"?"}
    return {
        "answered_2xx_ids": len(answered),
        # "?": a 2xx answer without an external_id in its body, which cannot be checked.
        "unreadable_answers": answered.count("?"),
        "duplicate_ids": len(answered) - answered.count("?") - len(unique),
        "lost": len(unique - found),
        "committed": committed,
        "committed_unanswered": committed - len(unique & found),
    }


# -- runs -------------------------------------------------------------------------------------


def intake_batches(url: str) -> tuple[float, float] | None:
    """Sum and count of the service's intake batch-size histogram (every worker's, from /metrics)."""
    try:
        with urllib.request.urlopen(url + "/metrics", timeout=10) as resp:
            text = resp.read().decode()
    except OSError:
        return None
    found = dict(
        line.rsplit(" ", 1)
        for line in text.splitlines()
        if line.startswith(("moderation_intake_batch_size_sum ", "moderation_intake_batch_size_count "))
    )
    if len(found) != 2:
        return None
    return float(found["moderation_intake_batch_size_sum"]), float(found["moderation_intake_batch_size_count"])


def measure(
    target: Target, connections: int, args: argparse.Namespace, base: Path, postmaster: int | None, stamp: str
) -> dict[str, Any]:
    run = f"{stamp}-{target.name}-c{connections}"
    ids_dir = base / "ids" / run
    ids_dir.mkdir(parents=True)
    env = wrk_env(target, args, base, run, ids_dir)
    batches_before = intake_batches(target.url) if target.name == "service" else None
    with CpuMeter({"server": target.proc.pid, "postgres": postmaster}) as cpu, RssSampler(target.proc.pid) as rss:
        summary = run_wrk(target.url, connections=connections, duration=args.duration, threads=args.threads, env=env)
    seconds = summary["duration_us"] / 1e6
    # Comments per submission batch during the run (the warm-up and earlier runs subtracted).
    batches_after = intake_batches(target.url) if batches_before is not None else None
    mean_batch = None
    if batches_before is not None and batches_after is not None and batches_after[1] > batches_before[1]:
        mean_batch = round((batches_after[0] - batches_before[0]) / (batches_after[1] - batches_before[1]), 1)
    statuses = {int(k): v for k, v in summary["statuses"].items()}
    ok = sum(v for k, v in statuses.items() if 200 <= k < 300)
    answered = [line for f in sorted(ids_dir.glob("*.ids")) for line in f.read_text().split()]
    check = asyncio.run(durability(args.dsn, target.name, run, answered)) if target.name != "echo" else {}
    lat = summary["latency_us"]
    errors = summary["errors"]
    worker_rss = {pid: mib for pid, mib in rss.peak.items() if not (target.supervised and pid == target.proc.pid)}
    return {
        "target": target.name,
        "connections": connections,
        "run_id": run,
        "seconds": round(seconds, 2),
        "requests": summary["requests"],
        "ok_2xx": ok,
        "comments_per_s": round(ok / seconds, 1),
        "non_2xx": summary["requests"] - ok,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "decisions": dict(sorted(summary.get("decisions", {}).items())),
        "socket_errors": {k: errors[k] for k in ("connect", "read", "write", "timeout")},
        "latency_ms": {k: round(lat[k] / 1000, 2) for k in ("p50", "p90", "p99", "p99.9", "max", "mean")},
        "cpu_cores": {
            "server": _round(cpu.cores["server"]),
            "postgres": _round(cpu.cores["postgres"]),
            "wrk": _round(cpu.cores["waited_children"]),
            "machine": _round(cpu.cores["machine"]),
        },
        # CPU per answered comment holds up on a busy machine, where throughput does not.
        "cpu_ms_per_comment": {
            name: None if cpu.cores[key] is None or not ok else round(1000 * cpu.cores[key] * seconds / ok, 3)
            for name, key in (("server", "server"), ("postgres", "postgres"), ("wrk", "waited_children"))
        },
        "mean_intake_batch": mean_batch,
        "max_worker_rss_mib": round(max(worker_rss.values(), default=0.0), 1),
        "worker_rss_mib": {str(pid): round(v, 1) for pid, v in sorted(worker_rss.items())},
        "durability": check,
    }


_SEEDS = itertools.count(1)


def wrk_env(target: Target, args: argparse.Namespace, base: Path, run: str, ids: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("KEY", "IDS"):
        env.pop(name, None)
    env.update(
        TEXTS=str(base / "texts.jsonl"),
        RUN=run,
        SEED=str(next(_SEEDS)),
        AUTHORS=str(args.authors),
        ARTICLES=str(args.articles),
    )
    if target.key:
        env["KEY"] = target.key
    if ids is not None:
        env["IDS"] = str(ids)
    return env


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


def bench_target(
    name: str, args: argparse.Namespace, base: Path, postmaster: int | None, stamp: str
) -> tuple[list[dict[str, Any]], int | None]:
    target = start_target(name, args, args.dsn, base)
    runs = []
    try:
        if args.warmup > 0:
            env = wrk_env(target, args, base, f"{stamp}-{name}-warmup", None)
            run_wrk(target.url, connections=max(args.connections), duration=args.warmup, threads=args.threads, env=env)
        for c in args.connections:
            runs.append(measure(target, c, args, base, postmaster, stamp))
            r = runs[-1]
            print(
                f"# {name} c={c}: {r['comments_per_s']:.0f} comments/s, p50 {r['latency_ms']['p50']} ms, "
                f"p99 {r['latency_ms']['p99']} ms, non-2xx {non_2xx(r)}, lost {r['durability'].get('lost', '-')}",
                file=sys.stderr,
                flush=True,
            )
    finally:
        exit_code = stop_target(target.proc)
    if any(r["non_2xx"] or r["durability"].get("lost") for r in runs):
        print(f"# {name}: errors; the last lines of {target.log}:", file=sys.stderr)
        print("\n".join(target.log.read_text(errors="replace").splitlines()[-20:]), file=sys.stderr)
    return runs, exit_code


# -- report -----------------------------------------------------------------------------------


def non_2xx(run: dict[str, Any]) -> str:
    """``0``, or the count with its statuses: ``3 (429: 2, 503: 1)``."""
    other = {k: v for k, v in run["statuses"].items() if not k.startswith("2")}
    return f"{run['non_2xx']} ({', '.join(f'{k}: {v}' for k, v in other.items())})" if other else str(run["non_2xx"])


def decision_shares(run: dict[str, Any]) -> str:
    decisions = run["decisions"]
    total = sum(decisions.values())
    if not total:
        return "-"
    return " / ".join(f"{100 * decisions.get(k, 0) / total:.0f}" for k in ("approved", "pending", "rejected"))


def markdown(report: dict[str, Any]) -> str:
    m, s = report["machine"], report["settings"]
    lines = [
        f"# Load benchmark, {report['started_at']} (commit {report['commit']})",
        "",
        f"Machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['memory_gib']} GiB, {m['platform']}; "
        f"Python {m['python']}; PostgreSQL {report['postgres_version']} ({report['database']}); {report['wrk']}.",
        f"Load average at start {' '.join(map(str, report['load_average']['start']))}, "
        f"at end {' '.join(map(str, report['load_average']['end']))}.",
        f"Command: `{report['command']}`",
        f"{s['workers']} worker processes per target; wrk -t{s['threads']}, {s['duration_s']:g} s per run after a "
        f"{s['warmup_s']:g} s warm-up; {s['authors']} authors, {s['articles']} articles; "
        f"{report['texts']['count']} texts (mean {report['texts']['mean_chars']} chars, median "
        f"{report['texts']['median_chars']}): "
        + ", ".join(f"{n} {k}" for k, n in report["texts"]["sources"].items())
        + ".",
        "",
        "| target | conns | comments/s | p50 ms | p99 ms | max ms | non-2xx | socket errors "
        "| CPU server | CPU PostgreSQL | CPU wrk | CPU machine | server CPU ms/comment | PostgreSQL CPU ms/comment "
        "| mean batch | max worker RSS MiB | lost | committed unanswered | approved / pending / rejected % |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def cell(x: Any) -> str:
        return "-" if x is None else f"{x:.2f}" if isinstance(x, float) else str(x)

    for r in report["runs"]:
        lat, cpu, d = r["latency_ms"], r["cpu_cores"], r["durability"]
        lines.append(
            f"| {r['target']} | {r['connections']} | {r['comments_per_s']:.0f} | {lat['p50']:.1f} | {lat['p99']:.1f} "
            f"| {lat['max']:.1f} | {non_2xx(r)} | {sum(r['socket_errors'].values())} | {cell(cpu['server'])} "
            f"| {cell(cpu['postgres'])} | {cell(cpu['wrk'])} | {cell(cpu['machine'])} "
            f"| {cell(r['cpu_ms_per_comment']['server'])} | {cell(r['cpu_ms_per_comment']['postgres'])} "
            f"| {cell(r.get('mean_intake_batch'))} | {r['max_worker_rss_mib']:.0f} "
            f"| {d.get('lost', '-')} | {d.get('committed_unanswered', '-')} | {decision_shares(r)} |"
        )
    if report["ratio_service_to_echo"]:
        lines += [
            "",
            "Service throughput / echo throughput: "
            + ", ".join(f"{c} conns {v:.3f}" for c, v in report["ratio_service_to_echo"].items())
            + ".",
        ]
    lines += [
        "",
        "comments/s: 2xx answers per second. CPU columns: cores busy on average during the run (1.00 = one "
        "core); 'machine' includes every process on it (2.00 on 2 cores: saturated, by whatever ran). CPU "
        "ms/comment: CPU time per 2xx answer. mean batch: new comments per submission batch (one "
        "transaction each), from the service's /metrics. lost: answered 2xx but not in the database (must be 0). "
        "committed unanswered: committed while wrk was stopping, answer never read (at most one per connection).",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2, help="processes per target (default 2)")
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 32, 64, 128])
    parser.add_argument("--duration", type=float, default=20, help="seconds per run (default 20)")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of unrecorded load per target first")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1: wrk's CPU is measured too)")
    parser.add_argument("--targets", nargs="+", choices=TARGETS, default=list(TARGETS))
    parser.add_argument("--database-url", help="a scratch database to use instead of a private embedded one")
    # The default policy answers 429 to an author's 11th comment within a minute: a storm of R
    # comments/s needs well over 6R authors. 100,000 keeps each under two a minute at 2,000/s.
    parser.add_argument("--authors", type=int, default=100_000)
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--texts", type=int, default=20000, help="size of the text pool (default 20000)")
    parser.add_argument("--pool-max", type=int, default=10, help="insert reference: connections per worker")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "load.json")
    add_service_env_argument(parser)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        parser.error("wrk is needed: apt-get install -y wrk")
    if args.duration > 600 or max(args.connections) > 1024:
        parser.error("bounded by design: at most 600 s per run and 1024 connections")

    started_at = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_start = load_average()
    base = Path(tempfile.mkdtemp(prefix="cm-bench-load-", dir="/tmp"))
    base.chmod(0o711)  # as root the embedded server runs as an unprivileged account
    texts, sources = comment_texts(args.texts, args.seed)
    (base / "texts.jsonl").write_text("".join(json.dumps(t, ensure_ascii=False) + "\n" for t in texts))
    pg = None
    try:
        if args.database_url:
            args.dsn = args.database_url
            database = "--database-url"
        else:
            pg = EmbeddedPostgres(base / "pg")
            args.dsn = pg.start()
            database = "embedded, private"
        postmaster, pg_version = asyncio.run(postgres_info(args.dsn))
        stamp = f"b{int(time.time())}"
        runs: list[dict[str, Any]] = []
        exit_codes: dict[str, int | None] = {}
        for name in args.targets:
            target_runs, exit_codes[name] = bench_target(name, args, base, postmaster, stamp)
            runs += target_runs
        if "insert" in args.targets:
            asyncio.run(drop_table(args.dsn))
    finally:
        if pg is not None:
            pg.stop()
        shutil.rmtree(base, ignore_errors=True)

    by = {(r["target"], r["connections"]): r["comments_per_s"] for r in runs}
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    lengths = [len(t) for t in texts]
    report: dict[str, Any] = {
        "started_at": started_at,
        "commit": git_commit(),
        "command": " ".join(["python", *sys.argv]),
        "machine": machine_info(),
        "load_average": {"start": load_start, "end": load_average()},
        "postgres_version": pg_version,
        "database": database,
        "wrk": " ".join(wrk_version.split()[:2]),
        "wrk_script": str(WRK_SCRIPT.relative_to(REPO)),
        "settings": {
            "workers": args.workers,
            "threads": args.threads,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "authors": args.authors,
            "articles": args.articles,
            "connections": args.connections,
        },
        "texts": {
            "count": len(texts),
            "mean_chars": round(statistics.fmean(lengths)),
            "median_chars": round(statistics.median(lengths)),
            "sources": sources,
        },
        "runs": runs,
        "ratio_service_to_echo": {
            str(c): round(by[("service", c)] / by[("echo", c)], 3)
            for c in args.connections
            if by.get(("echo", c)) and ("service", c) in by
        },
        "server_exit_codes": exit_codes,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(markdown(report))
    healthy = all(
        not r["durability"].get("lost") and not r["durability"].get("unreadable_answers") and r["non_2xx"] == 0
        for r in runs
    )
    return 0 if healthy else 1


if __name__ == "__main__":
    raise SystemExit(main())
