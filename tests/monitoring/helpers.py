"""Helpers shared by the monitoring tests (fixtures live in conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.vendor_client.probe import ProbeOutcome
from tests.factories import ManifestFactory, ServiceFactory

STAFF_ALERTS = ["ops@market.test", "oncall@market.test"]

# A fixed moment in the middle of an hour, so a few minutes either way stay in one rollup.
T0 = datetime(2026, 3, 10, 5, 20, tzinfo=UTC)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def outcome(service, state: str, *, latency_ms: int = 20, reason: str | None = None):
    if reason is None:
        reason = "" if state == "healthy" else f"the service reports {state}"
    return ProbeOutcome(key=service.pk, state=state, latency_ms=latency_ms, reason=reason)


def service_with_manifest(**service_fields):
    """A listed service whose current manifest declares every endpoint, usage_report included."""
    service = ServiceFactory(**service_fields)
    manifest = ManifestFactory(service=service)
    service.current_manifest = manifest
    service.save(update_fields=["current_manifest"])
    return service


def mails_to(mailbox, address: str):
    return [message for message in mailbox if address in message.to]
