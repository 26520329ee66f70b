"""Health timing: a slow healthy answer is degraded (up, but slow); only past the limit is down."""

import pytest

from monitoring.health import probe_outcomes_handle, sweep_chunk_run
from monitoring.models import Incident
from services.models import Service
from tests.factories import VendorFactory
from tests.market.test_environment_errors import run_manage
from tests.monitoring.helpers import T0, minutes, outcome, service_with_manifest

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _timing(settings):
    settings.PROBE_DEGRADED_AFTER_MS = 2000
    settings.PROBE_TOTAL_TIMEOUT = 5.0


def test_a_healthy_answer_slower_than_the_threshold_is_degraded_and_opens_no_incident(policy):
    service = service_with_manifest()
    for minute in range(5):
        probe_outcomes_handle(
            outcomes=[outcome(service, "healthy", latency_ms=3500)], now=T0 + minutes(minute)
        )
    service.refresh_from_db()
    assert service.health == Service.Health.DEGRADED
    assert service.consecutive_failures == 0
    assert "3500 ms" in service.health_reason and "2000 ms" in service.health_reason
    assert not Incident.objects.exists()


def test_an_answer_within_the_threshold_stays_healthy(policy):
    service = service_with_manifest()
    probe_outcomes_handle(outcomes=[outcome(service, "healthy", latency_ms=2000)], now=T0)
    service.refresh_from_db()
    assert service.health == Service.Health.HEALTHY


def test_a_vendor_reporting_unhealthy_quickly_or_slowly_is_still_unhealthy(policy):
    service = service_with_manifest()
    probe_outcomes_handle(outcomes=[outcome(service, "unhealthy", latency_ms=3500)], now=T0)
    service.refresh_from_db()
    assert service.health == Service.Health.UNHEALTHY


def listed(stubs, index=0) -> Service:
    return Service.objects.create(
        vendor=VendorFactory(),
        service_id=f"timed_{index}",
        name=f"Timed {index}",
        status=Service.Status.LISTED,
        base_url=stubs.base_url(index),
    )


def test_a_real_slow_answer_is_degraded_and_one_past_the_limit_is_unhealthy(
    settings, policy, stub_vendors
):
    settings.PROBE_DEGRADED_AFTER_MS = 300
    settings.PROBE_TOTAL_TIMEOUT = 1.5
    slow = listed(stub_vendors(ports=1, delay_ms=600))
    too_slow = listed(stub_vendors(ports=1, delay_ms=2500), index=1)

    result = sweep_chunk_run(service_ids=[slow.pk, too_slow.pk])

    assert result.probed == 2
    slow.refresh_from_db()
    too_slow.refresh_from_db()
    assert slow.health == Service.Health.DEGRADED, slow.health_reason
    assert 600 <= slow.health_latency_ms < 1500
    assert too_slow.health == Service.Health.UNHEALTHY
    assert "1.5 s" in too_slow.health_reason


def test_a_threshold_not_below_the_limit_is_refused_at_start():
    result = run_manage(
        "check", PROBE_DEGRADED_AFTER_MS="5000", PROBE_TOTAL_TIMEOUT_MS="5000", DEBUG="true"
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Configuration error: PROBE_DEGRADED_AFTER_MS=5000 is not below "
        "PROBE_TOTAL_TIMEOUT_MS=5000: a slow answer would never be degraded; lower it."
    ]
