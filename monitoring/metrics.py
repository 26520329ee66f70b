"""The Prometheus text exposition (format 0.0.4) of /monitoring/metrics, written by hand."""

from __future__ import annotations

from monitoring.health import FAILURES_COUNTER, PROBES_COUNTER
from monitoring.selectors import MetricsSnapshot

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float | int) -> str:
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def metric(self, name: str, kind: str, help_text: str, samples) -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            label_text = ""
            if labels:
                pairs = ",".join(f'{key}="{_escape(str(val))}"' for key, val in labels.items())
                label_text = "{" + pairs + "}"
            self.lines.append(f"{name}{label_text} {_number(value)}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def metrics_text(snapshot: MetricsSnapshot) -> str:
    out = _Writer()
    out.metric(
        "market_health_probes_total",
        "counter",
        "Health probes recorded since the market started counting.",
        [({}, snapshot.counters.get(PROBES_COUNTER, 0))],
    )
    out.metric(
        "market_health_probe_failures_total",
        "counter",
        "Health probes whose outcome was unhealthy.",
        [({}, snapshot.counters.get(FAILURES_COUNTER, 0))],
    )
    out.metric(
        "market_incidents_open",
        "gauge",
        "Incidents currently open.",
        [({}, snapshot.open_incidents)],
    )
    out.metric(
        "market_services_health",
        "gauge",
        "Monitored services by current health state.",
        [({"state": state}, n) for state, n in snapshot.services_by_health.items()],
    )
    out.metric(
        "market_operations",
        "gauge",
        "Lifecycle operations by state.",
        [({"state": state}, n) for state, n in snapshot.operations_by_state.items()],
    )
    out.metric(
        "market_operations_oldest_queued_age_seconds",
        "gauge",
        "Age of the oldest queued lifecycle operation (0 when none is queued).",
        [({}, round(snapshot.oldest_queued_operation_age_seconds, 3))],
    )
    out.metric(
        "market_usage_reports",
        "gauge",
        "Usage reports of the previous month by state.",
        [({"state": state}, n) for state, n in snapshot.usage_reports_by_state.items()],
    )
    finished = snapshot.last_sweep_finished_at
    out.metric(
        "market_health_last_sweep_finished_timestamp_seconds",
        "gauge",
        "When the last complete health sweep finished (Unix time; 0 if never).",
        [({}, round(finished.timestamp(), 3) if finished else 0)],
    )
    return out.text()
