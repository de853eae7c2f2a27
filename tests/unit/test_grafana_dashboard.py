"""The Grafana dashboard queries only series the service exports."""

from __future__ import annotations

import json
import re

from service.metrics import Metrics, QueueSnapshot
from service.settings import REPO_ROOT

DASHBOARD = REPO_ROOT / "deploy" / "grafana" / "moderation-dashboard.json"


def exported_series() -> set[str]:
    metrics = Metrics()
    metrics.queue = QueueSnapshot(depth=1, leased=0, oldest_age_s=1.0)
    metrics.model_version = "v1"
    metrics.observe_scoring(1, 0.01)
    metrics.record_decision("approved", [{"code": "below_thresholds"}], source="model")
    metrics.webhook_deliveries.labels(outcome="delivered").inc()
    metrics.request_duration.labels(route="healthz", method="GET", status="200").observe(0.001)
    text = metrics.exposition().decode()
    return set(re.findall(r"^([a-z_]+)[{ ]", text, re.M))


def test_every_queried_series_exists() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    queried = {name for e in exprs for name in re.findall(r"\b(moderation_[a-z_]+)\b", e)}
    assert queried, "the dashboard queries nothing"
    missing = queried - exported_series()
    assert not missing, f"the dashboard queries series the service does not export: {sorted(missing)}"


def test_panels_have_unique_ids_and_a_query_each() -> None:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    assert all(p["targets"] and p["title"] for p in panels)
