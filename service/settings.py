"""Typed settings, read once from the environment (prefix ``MODERATION_``).

Nothing else in the code base reads ``os.environ``: every knob lives here, so the
configuration reference in the docs can be generated from this model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.domain.types import Role

REPO_ROOT = Path(__file__).resolve().parent.parent


class RateLimit(BaseModel):
    """A token bucket: ``burst`` requests at once, refilled at ``per_second`` requests a second."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    per_second: float = Field(gt=0)
    burst: int = Field(ge=1)


# Per API key, by role. A website posts every reader's comment through one submitter key, so
# its budget is the largest; moderators click, and a moderator page polls a few times a second.
DEFAULT_RATE_LIMITS: dict[Role, RateLimit] = {
    Role.SUBMITTER: RateLimit(per_second=100, burst=200),
    Role.MODERATOR: RateLimit(per_second=20, burst=60),
    Role.ADMIN: RateLimit(per_second=20, burst=60),
    Role.TRAINER: RateLimit(per_second=10, burst=30),
}


class Settings(BaseSettings):
    """Service configuration. Every field maps to ``MODERATION_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="MODERATION_", extra="ignore", frozen=True)

    database_url: SecretStr | None = Field(
        default=None,
        description="PostgreSQL DSN. When unset, an embedded PostgreSQL is started under data_dir.",
    )
    data_dir: Path | None = Field(
        default=None,
        description="Where the embedded PostgreSQL keeps its cluster (default: the user's data dir).",
    )
    host: str = Field(default="127.0.0.1", description="Address to listen on.")
    port: int = Field(default=8080, ge=0, le=65535, description="Port to listen on.")
    migrate_on_start: bool = Field(default=True, description="Apply pending migrations when serving.")
    migrations_dir: Path = Field(default=REPO_ROOT / "migrations", description="Numbered SQL migrations.")
    model_path: Path | None = Field(
        default=None, description="Model artifact directory (default: the bundled default model)."
    )

    db_pool_max: int = Field(default=10, ge=1, description="Maximum connections in the pool.")
    db_connect_timeout_s: float = Field(default=5.0, gt=0, description="Timeout to open a connection.")
    db_command_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="Client-side backstop for one SQL round trip (a server that stopped answering).",
    )
    db_statement_timeout_s: float = Field(
        default=5.0,
        gt=0,
        description="PostgreSQL statement_timeout and lock_timeout: a slow statement is cancelled (504).",
    )
    db_acquire_timeout_s: float = Field(
        default=5.0,
        gt=0,
        description="Longest wait for a free pooled connection before answering 503.",
    )
    db_retry_after_s: int = Field(
        default=5, ge=1, description="Retry-After (seconds) sent with 503 when the database is unreachable."
    )

    intake_max_batch: int = Field(
        default=64,
        ge=1,
        description="Most new comments stored in one transaction (micro-batching of concurrent submissions).",
    )
    intake_max_concurrent: int = Field(
        default=4,
        ge=1,
        description="Submission batches in flight at once per process (each uses one pooled connection at a time).",
    )
    intake_max_planning: int = Field(
        default=1,
        ge=1,
        description=(
            "Of those, the batches reading and scoring at once; the next batch forms when one has "
            "scored, while earlier ones wait for their commits (at most intake_max_concurrent)."
        ),
    )
    intake_max_wait_ms: float = Field(
        default=0.0,
        ge=0,
        le=100,
        description=(
            "How long a submission batch may wait for more comments while other batches are running "
            "(never when the process is idle); 0: batches form from what is queued."
        ),
    )
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, description="Largest accepted request body.")
    max_text_chars: int = Field(default=20_000, ge=1, description="Longest accepted comment text.")
    max_json_depth: int = Field(default=16, ge=2, description="Deepest accepted nesting of a JSON body.")

    rate_limits: dict[Role, RateLimit] = Field(
        default_factory=lambda: dict(DEFAULT_RATE_LIMITS),
        description='Per-key token bucket by role (JSON, e.g. {"submitter": {"per_second": 100, '
        '"burst": 200}}); a role left out is not limited. Counted per process.',
    )
    key_cache_ttl_s: float = Field(
        default=10.0,
        ge=0,
        description="How long a looked-up API key is trusted without the database: revocation and "
        "rotation take effect within this many seconds.",
    )
    shutdown_timeout_s: float = Field(
        default=15.0,
        gt=0,
        description="On SIGTERM, how long in-flight requests may run before they are cancelled.",
    )

    review_lease_s: int = Field(default=300, ge=5, description="How long a claim on a comment holds.")
    review_claim_max: int = Field(default=100, ge=1, description="Most comments one claim may lease.")
    review_undo_window_s: int = Field(
        default=120, ge=0, description="How long after deciding a moderator may undo the decision."
    )
    review_bulk_max: int = Field(
        default=10_000, ge=1, description="Most comments one bulk decision settles (one transaction)."
    )
    review_reject_reasons: list[str] = Field(
        default_factory=lambda: [
            "Abuse or insult",
            "Hate or identity attack",
            "Threat or violence",
            "Spam or advertising",
            "Off-topic",
            "Personal information",
        ],
        description="Rejection reasons the moderator page offers (JSON list); moderators may also type one.",
    )
    live_heartbeat_s: float = Field(
        default=15.0, gt=0, description="Seconds between keep-alive comments on the live event stream."
    )
    queue_snapshot_interval_s: int = Field(
        default=60, ge=0, description="Seconds between queue depth samples for the dashboard (0: never sample)."
    )
    queue_snapshot_keep_days: int = Field(default=90, ge=1, description="Days of queue samples kept.")

    # Policy: per-label thresholds override the model's own (JSON object, e.g.
    # {"toxicity": {"review": 0.4, "reject": 0.9}}); the model's manifest holds defaults.
    thresholds: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="Per-label review/reject thresholds overriding the model's."
    )

    webhook_poll_s: float = Field(default=2.0, gt=0, description="How often the deliverer looks for due webhooks.")
    webhook_batch: int = Field(default=20, ge=1, description="Most webhook events one delivery round claims.")
    webhook_claim_lease_s: float = Field(
        default=60.0, gt=0, description="How long a claimed event is hidden from other deliverers (> timeout)."
    )
    webhook_timeout_s: float = Field(default=10.0, gt=0, description="Timeout of one webhook POST.")
    webhook_max_attempts: int = Field(default=10, ge=1, description="Attempts before an event is marked dead.")
    webhook_backoff_base_s: float = Field(default=5.0, gt=0, description="First retry delay (doubles each time).")
    webhook_backoff_max_s: float = Field(default=3600.0, gt=0, description="Longest retry delay.")
    retention_interval_s: float = Field(
        default=3600.0, gt=0, description="How often rejected comments past their site's retention are purged."
    )

    bootstrap_admin_key: SecretStr | None = Field(
        default=None,
        description="If set, an admin API key with this value is ensured at start (for first set-up).",
    )
    log_level: str = Field(default="INFO", description="Logging level.")

    # Model registry, hot swap and shadow mode (service/registry.py, service/model_sync.py).
    model_poll_s: float = Field(
        default=5.0, gt=0, description="How often each instance checks the registry for a new active model."
    )
    model_upload_max_bytes: int = Field(
        default=64 << 20, ge=1024, description="Largest model archive accepted by POST /v1/models."
    )
    shadow_batch: int = Field(default=50, ge=1, description="Comments the shadow model scores per round.")

    # Retraining (moderation retrain, service/retraining.py).
    retrain_base: str = Field(
        default="recipe:default",
        description="Base training data: 'recipe:<name>' (the shared datasets) or a CSV/JSONL table path.",
    )
    retrain_eval: Path | None = Field(
        default=None,
        description="Fixed evaluation table (CSV/JSONL; its test split is used); default: the base data's test split.",
    )
    retrain_data_dir: Path | None = Field(
        default=None, description="The shared datasets (default: classifier.data.default_data_dir())."
    )
    retrain_trainer: Literal["batch", "streaming"] = Field(
        default="batch",
        description="'batch' (the classifier's in-memory recipe) or 'streaming' (out of core, for huge label sets).",
    )
    retrain_min_new_labels: int = Field(
        default=20, ge=1, description="Fewest new moderator labels that make a retraining run worthwhile."
    )
    retrain_site_weight: float = Field(
        default=5.0, gt=0, description="Training weight of this site's labels relative to base rows."
    )
    retrain_holdout_fraction: float = Field(
        default=0.2, ge=0.05, le=0.5, description="Share of the newest moderator labels held out for evaluation."
    )
    retrain_auc_margin: float = Field(
        default=0.01, ge=0, le=1, description="Gate: no label's ROC AUC may fall below the active's by more."
    )
    retrain_max_auto_error: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="Gate: highest error rate of automatic (non-review) decisions; a candidate is refused "
        "when its rate is above it with 95% confidence.",
    )
    retrain_max_automation_drop: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="Gate: largest fall in the share of comments decided automatically, against the active "
        "model, on an evaluation set of 1,000 rows or more (0.05: five points more to review).",
    )
    retrain_canaries: bool = Field(
        default=True,
        description="Gate: refuse a candidate that approves a canary attack or rejects a canary benign comment "
        "(classifier/canaries.py) the active model decides right, its margin down by at least the canary margin, "
        "or more such canaries than the flips allowed; an uploaded model that does is registered as rejected "
        "(activating it takes force).",
    )
    retrain_canary_margin: float = Field(
        default=1.0,
        ge=0,
        description="Gate: how far, in log-odds, a canary's margin from the cut-off that flips its decision must "
        "fall (from right under the active model to wrong under the candidate) to count; less is chance "
        "(another seed moves margins by 0.1, up to 0.85).",
    )
    retrain_max_flipped_canaries: int = Field(
        default=2,
        ge=0,
        description="Gate: refuse a candidate that gets more than this many canaries wrong that the active model "
        "gets right, however narrowly: another seed or a routine retrain flips one or two; labels that teach a "
        "family to pass (moderators approving death wishes) flip several by a little each.",
    )

    # Operations (issue 9): logs, metrics, worker processes.
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="Log line format: 'text' for people, 'json' (one object per line, with request_id) "
        "for log collectors.",
    )
    access_log: bool = Field(
        default=True,
        description="Log one line per request at INFO: method, route name, status, duration (never IP or path).",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="If set, GET /metrics requires 'Authorization: Bearer <token>'; unset, /metrics is open.",
    )
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Worker processes for 'moderation serve' (SO_REUSEPORT on one port); --workers overrides.",
    )
    uvloop: bool = Field(
        default=True,
        description="'moderation serve' runs its event loop on uvloop when it is installed (it is a dependency "
        "except on Windows): less CPU per request than asyncio's default loop. false: asyncio's loop.",
    )
    malloc_mmap_threshold_bytes: int = Field(
        default=128 * 1024,
        ge=0,
        le=32 * 2**20,
        description="'moderation serve' has glibc malloc serve blocks of this size or more with mmap, a fixed "
        "threshold instead of glibc's dynamic one, which lets large temporaries fragment the heap (docs/soak.md: "
        "19-31 MiB more heap, and a creeping one). 0 leaves glibc's default, and its own "
        "MALLOC_* variables, alone. No effect without glibc.",
    )
    gc_tuning: bool = Field(
        default=True,
        description="'moderation serve' freezes the objects alive once it has started (the model, the app) out of "
        "Python's cyclic garbage collector and makes its young collections rarer: the collector's share of a "
        "worker's CPU under load fell from 7-11 % to 0.1 %, without its 125-180 ms full collections "
        "(service/memory.py). false: Python's defaults.",
    )
    metrics_multiproc_dir: Path | None = Field(
        default=None,
        description="Set by 'serve --workers N' for its children: where prometheus_client's multi-process "
        "files live, so any worker's /metrics sums all workers. Not set by hand.",
    )

    @model_validator(mode="after")
    def _planning_within_concurrency(self) -> Settings:
        if self.intake_max_planning > self.intake_max_concurrent:
            raise ValueError("intake_max_planning must not exceed intake_max_concurrent")
        return self
