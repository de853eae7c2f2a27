"""``moderation retrain``: the periodic job that learns from moderators.

One run: take the advisory lock (a second concurrent run exits at once), see whether enough new
moderator labels arrived since the last trained run, read every label (the latest decision per
comment), hold out the newest ``retrain_holdout_fraction`` of them, train a candidate on the base
data plus the rest (site labels weighted up), evaluate candidate and active model on the same fixed
evaluation set and on the held-out labels, register the candidate with that report, and promote it
only when the gate passes; otherwise record it as rejected with the gate's reasons.

Exit codes (cron and Kubernetes CronJob read these):

* 0 — a candidate passed the gate and is active on every instance (NOTIFY sent at commit)
* 3 — a candidate was trained and registered but the gate refused it (reason recorded)
* 4 — another run holds the lock; this one did nothing
* 5 — not enough new labels since the last run; nothing trained
* 1 — error (logged, and recorded in ``retrain_runs``)
"""

from __future__ import annotations

import asyncio
import logging
import math
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from service import registry
from service.db import store
from service.db.pool import init_connection
from service.domain.gate import GateResult, SetEvaluation, broken_canaries, check_gate
from service.domain.labels import labels_for
from service.settings import Settings

log = logging.getLogger("moderation.retrain")

EXIT_PROMOTED = 0
EXIT_ERROR = 1
EXIT_NOT_PROMOTED = 3
EXIT_LOCKED = 4
EXIT_NOT_ENOUGH_LABELS = 5

# pg_try_advisory_lock key: an arbitrary constant shared by every retrain run ("mod-retrain").
RETRAIN_LOCK_KEY = 0x6D6F645F72657472


@dataclass(frozen=True)
class RetrainOutcome:
    exit_code: int
    outcome: str
    message: str
    candidate_version: str | None = None


async def read_site_labels(conn: store.Conn, page_rows: int = 2000) -> tuple[list[Any], int]:
    """Every human decision as a site label (latest per comment), oldest first, and the last cursor."""
    from classifier.retrain import SiteLabel

    latest: dict[Any, SiteLabel] = {}
    cursor = 0
    while True:
        rows = await store.list_training_labels(conn, cursor, page_rows, None)
        for row in rows:
            reason = row.details.get("reason") if isinstance(row.details, dict) else None
            latest.pop(row.comment_id, None)  # re-insert so dict order follows the latest decision
            latest[row.comment_id] = SiteLabel(row.text, labels_for(row.to_status, reason), row.cursor)
            cursor = row.cursor
        if len(rows) < page_rows:
            return list(latest.values()), cursor


def split_holdout(labels: Sequence[Any], fraction: float) -> tuple[list[Any], list[Any]]:
    """The oldest labels train; the newest ``fraction`` (at least one when any) are held out."""
    n_hold = max(1, round(len(labels) * fraction)) if labels else 0
    return list(labels[: len(labels) - n_hold]), list(labels[len(labels) - n_hold :])


def _as_gate_input(metrics: dict[str, Any]) -> dict[str, SetEvaluation]:
    return {name: SetEvaluation(m.roc_auc, m.auto_errors, m.auto_decided, m.rows) for name, m in metrics.items()}


@dataclass(frozen=True)
class Evaluated:
    """The blocking part's result: the candidate, its and the active model's metrics per set, and
    each model's margin on every behavioural canary, by its description (negative: wrong; None:
    not checked, or no active model)."""

    candidate: Any
    candidate_metrics: dict[str, Any]
    active_metrics: dict[str, Any] | None
    candidate_canary_margins: dict[str, float] | None
    active_canary_margins: dict[str, float] | None


def train_and_evaluate(
    settings: Settings,
    train_labels: Sequence[Any],
    heldout: Sequence[Any],
    active_artifact: bytes | None,
    active_sha: str | None,
    workdir: Path,
) -> Evaluated:
    """Blocking part of a run: train the candidate, evaluate it and the active model."""
    from classifier.retrain import (
        evaluate,
        load_base,
        load_fixed_eval,
        site_dataset,
        train_candidate,
        train_candidate_streaming,
    )

    base = load_base(settings.retrain_base, settings.retrain_data_dir, log=log.info)
    trainer = train_candidate_streaming if settings.retrain_trainer == "streaming" else train_candidate
    candidate = trainer(base, train_labels, settings.retrain_site_weight, workdir / "candidate", log=log.info)
    fixed = load_fixed_eval(settings.retrain_eval) if settings.retrain_eval else base.test
    held = site_dataset(heldout)
    sets = {"fixed_eval": (fixed.texts, fixed.y), "recent_labels": (held.texts, held.y)}
    # Automatic decisions are judged on the thresholds the service would apply (its overrides included).
    overrides = settings.thresholds
    cand_metrics = {name: evaluate(candidate, texts, y, overrides) for name, (texts, y) in sets.items()}

    active = registry.load_artifact(active_artifact, active_sha).model if active_artifact is not None else None
    active_metrics = None
    if active is not None:
        active_metrics = {
            name: evaluate(active, texts, y, overrides)  # type: ignore[arg-type]
            for name, (texts, y) in sets.items()
        }
    return Evaluated(candidate, cand_metrics, active_metrics, *canaries_of(candidate, active, settings))


def canaries_of(
    candidate: Any, active: Any | None, settings: Settings
) -> tuple[dict[str, float] | None, dict[str, float] | None]:
    """The candidate's and the active model's margin on every behavioural canary (described), on
    the service's thresholds; None where not checked (canaries off, or no active model to compare
    with)."""
    from classifier.canaries import CANARIES, margins

    if not settings.retrain_canaries:
        return None, None

    def described(model: Any) -> dict[str, float]:
        return {c.describe(): float(m) for c, m in zip(CANARIES, margins(model, settings.thresholds), strict=True)}

    return described(candidate), None if active is None else described(active)


def check_upload(candidate: Any, active: Any, settings: Settings) -> tuple[GateResult, dict[str, Any]]:
    """The gate for an uploaded model against the one this instance serves: there are no labels
    to evaluate it on, so only the canary rule can refuse it; its verdict and report."""
    return judge(Evaluated(candidate, {}, None, *canaries_of(candidate, active, settings)), settings)


async def run_retrain(settings: Settings, dsn: str) -> RetrainOutcome:
    """One retraining run on its own connection; see the module docstring for the exit codes."""
    conn = await asyncpg.connect(dsn)
    try:
        await init_connection(conn)
        if not await store.try_retrain_lock(conn, RETRAIN_LOCK_KEY):
            log.warning("another retrain run holds the lock; exiting")
            return RetrainOutcome(EXIT_LOCKED, "locked", "another run holds the lock")
        try:
            return await _run_locked(conn, settings)
        finally:
            await store.release_retrain_lock(conn, RETRAIN_LOCK_KEY)
    finally:
        await conn.close()


async def _run_locked(conn: asyncpg.Connection, settings: Settings) -> RetrainOutcome:
    started = time.perf_counter()
    active_ref = await store.get_active_model_version(conn)
    run_id = await store.insert_retrain_run(conn, active_ref.version if active_ref else None)
    cursor = await store.last_retrain_cursor(conn)
    labels_used = 0
    try:
        new = await store.count_training_labels_after(conn, cursor)
        if new < settings.retrain_min_new_labels:
            message = f"{new} new moderator label(s) since the last run; need {settings.retrain_min_new_labels}"
            log.info("%s: nothing to do", message)
            await store.finish_retrain_run(
                conn,
                run_id,
                outcome="not_enough_labels",
                labels_cursor=cursor,
                labels_used=0,
                candidate_version=None,
                message=message,
                report={"new_labels": new},
            )
            return RetrainOutcome(EXIT_NOT_ENOUGH_LABELS, "not_enough_labels", message)
        labels, last_cursor = await read_site_labels(conn)
        labels_used = len(labels)
        train_labels, heldout = split_holdout(labels, settings.retrain_holdout_fraction)
        log.info(
            "%d new label(s); %d site label(s) in all: %d train, %d held out",
            new,
            len(labels),
            len(train_labels),
            len(heldout),
        )
        active_art = await store.get_model_artifact(conn, active_ref.version) if active_ref else None
        with tempfile.TemporaryDirectory(prefix="moderation-retrain-") as tmp:
            done = await asyncio.to_thread(
                train_and_evaluate,
                settings,
                train_labels,
                heldout,
                active_art.artifact if active_art else None,
                active_art.artifact_sha256 if active_art else None,
                Path(tmp),
            )
            data, sha = registry.pack_directory(Path(tmp) / "candidate")
        candidate = done.candidate
        gate, judged = judge(done, settings)
        report = {
            "run_id": run_id,
            "active_version": active_ref.version if active_ref else None,
            **judged,
            "labels": {"train": len(train_labels), "heldout": len(heldout), "new": new, "cursor": last_cursor},
            "seconds": round(time.perf_counter() - started, 1),
        }
        for line in report_lines(report):
            log.info("%s", line)
        from service.ml.scorer import model_manifest

        async with conn.transaction():
            registered = await store.insert_model_version(
                conn,
                version=candidate.version,
                state="candidate" if gate.passed else "rejected",
                manifest=model_manifest(candidate),
                artifact=data,
                sha256=sha,
                state_reason=f"retrain run {run_id}: {gate.summary()}",
                origin="retrain",
                created_by=f"retrain run {run_id}",
                evaluation=report,
            )
            if not registered:
                # Same data, same arrays, same version: nothing new to register or promote.
                raise RuntimeError(f"candidate {candidate.version} is registered already")
            if gate.passed:
                await registry.activate_in(conn, candidate.version, f"promoted by retrain run {run_id}: gate passed")
            outcome = "promoted" if gate.passed else "not_promoted"
            await store.finish_retrain_run(
                conn,
                run_id,
                outcome=outcome,
                labels_cursor=last_cursor,
                labels_used=labels_used,
                candidate_version=candidate.version,
                message=gate.summary(),
                report=report,
            )
        if gate.passed:
            log.info("promoted %s (was %s)", candidate.version, active_ref.version if active_ref else None)
            return RetrainOutcome(EXIT_PROMOTED, outcome, gate.summary(), candidate.version)
        log.warning("candidate %s not promoted: %s", candidate.version, gate.summary())
        return RetrainOutcome(EXIT_NOT_PROMOTED, outcome, gate.summary(), candidate.version)
    except Exception as exc:
        log.exception("retrain run %d failed", run_id)
        await store.finish_retrain_run(
            conn,
            run_id,
            outcome="error",
            labels_cursor=cursor,
            labels_used=labels_used,
            candidate_version=None,
            message=f"{exc.__class__.__name__}: {exc}"[:1000],
            report={},
        )
        return RetrainOutcome(EXIT_ERROR, "error", f"{exc.__class__.__name__}: {exc}")


def judge(done: Evaluated, settings: Settings) -> tuple[GateResult, dict[str, Any]]:
    """The gate's verdict on an evaluated candidate, and the report's parts about it: both models'
    metrics per set, the canaries, the gate's reasons and settings."""
    gate = check_gate(
        _as_gate_input(done.candidate_metrics),
        _as_gate_input(done.active_metrics) if done.active_metrics else None,
        auc_margin=settings.retrain_auc_margin,
        max_auto_error=settings.retrain_max_auto_error,
        max_automation_drop=settings.retrain_max_automation_drop,
        candidate_canary_margins=done.candidate_canary_margins,
        active_canary_margins=done.active_canary_margins,
        canary_margin=settings.retrain_canary_margin,
        max_flipped_canaries=settings.retrain_max_flipped_canaries,
    )
    return gate, {
        "candidate": {k: v.as_dict() for k, v in done.candidate_metrics.items()},
        "active": {k: v.as_dict() for k, v in done.active_metrics.items()} if done.active_metrics else None,
        "canaries": _canary_report(done, settings.retrain_canary_margin),
        "gate": {
            "passed": gate.passed,
            "reasons": list(gate.reasons),
            "auc_margin": settings.retrain_auc_margin,
            "max_auto_error": settings.retrain_max_auto_error,
            "max_automation_drop": settings.retrain_max_automation_drop,
            "canaries": settings.retrain_canaries,
            "canary_margin": settings.retrain_canary_margin,
            "max_flipped_canaries": settings.retrain_max_flipped_canaries,
        },
    }


def _canary_report(done: Evaluated, margin: float) -> dict[str, Any]:
    """The canaries each model gets wrong; those the active model decides right by less than the
    gate's margin (a candidate may get these wrong by a hair); of the candidate's wrong ones, those
    the active model gets right whose margin fell by less than the gate's (they count only towards
    the flips allowed); and both models' margins on the candidate's wrong ones. None where not
    checked."""
    cand, active = done.candidate_canary_margins, done.active_canary_margins
    report: dict[str, Any] = dict.fromkeys(("candidate", "active", "active_narrow", "within_margin", "margins"))
    if cand is None:
        return report
    wrong = report["candidate"] = [c for c, m in cand.items() if m < 0]
    if active is None:
        return report
    broken = set(broken_canaries(cand, active, margin))
    report["active"] = [c for c, m in active.items() if m < 0]
    report["active_narrow"] = [c for c, m in active.items() if 0 <= m < margin]
    report["within_margin"] = [c for c in broken_canaries(cand, active, 0.0) if c not in broken]
    report["margins"] = {c: {"active": _finite(active.get(c)), "candidate": _finite(cand[c])} for c in wrong}
    return report


def _finite(margin: float | None) -> float | None:
    """A margin for the JSON report: rounded; None where there is none or it is infinite (a benign
    comment that names a group cannot be rejected on scores)."""
    return round(margin, 3) if margin is not None and math.isfinite(margin) else None


def report_lines(report: dict[str, Any]) -> list[str]:
    """A run's report as log lines: per model and set, ROC AUC and the automatic-decision error;
    the canaries each model gets wrong; the gate's verdict."""
    lines = []
    for who in ("candidate", "active"):
        for set_name, m in (report.get(who) or {}).items():
            aucs = ", ".join(f"{k} {v:.3f}" for k, v in m["roc_auc"].items()) or "no measurable label"
            lines.append(
                f"{who} on {set_name} ({m['rows']} rows): ROC AUC {aucs}; "
                f"auto-decision error {m['auto_error_rate']:.2%} of {m['auto_decided']}"
                f" ({m['auto_decided'] / m['rows'] if m['rows'] else 0:.1%} decided automatically)"
            )
    for who in ("candidate", "active"):
        wrong = (report.get("canaries") or {}).get(who)
        if wrong is not None:
            lines.append(f"{who}: {len(wrong)} behavioural canar{'y' if len(wrong) == 1 else 'ies'} wrong")
    lines.append("gate: " + ("passed" if report["gate"]["passed"] else "; ".join(report["gate"]["reasons"])))
    return lines
