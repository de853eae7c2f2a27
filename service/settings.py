"""Typed settings, read once from the environment (prefix ``MODERATION_``).

Nothing else in the code base reads ``os.environ``: every knob lives here, so the
configuration reference in the docs can be generated from this model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


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
    db_command_timeout_s: float = Field(default=10.0, gt=0, description="Timeout for one SQL statement.")
    db_retry_after_s: int = Field(
        default=5, ge=1, description="Retry-After (seconds) sent with 503 when the database is unreachable."
    )

    max_body_bytes: int = Field(default=64 * 1024, ge=1024, description="Largest accepted request body.")
    max_text_chars: int = Field(default=20_000, ge=1, description="Longest accepted comment text.")

    review_lease_s: int = Field(default=300, ge=5, description="How long a claim on a comment holds.")
    review_claim_max: int = Field(default=100, ge=1, description="Most comments one claim may lease.")

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
    metrics_multiproc_dir: Path | None = Field(
        default=None,
        description="Set by 'serve --workers N' for its children: where prometheus_client's multi-process "
        "files live, so any worker's /metrics sums all workers. Not set by hand.",
    )
