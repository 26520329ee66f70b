"""Planning and running the sweep: chunks spread over the minute, one sweep per minute."""

import threading
from datetime import timedelta

import pytest
from django.db import connection

from monitoring import health
from monitoring.health import (
    services_claim,
    sweep_chunk_run,
    sweep_minute,
    sweep_plan_create,
)
from monitoring.models import HealthRollup, Incident, SweepRun
from services.models import Service
from tests.factories import ServiceFactory, TenantFactory
from tests.monitoring.helpers import T0, service_with_manifest


@pytest.mark.django_db
def test_plan_cuts_services_into_chunks_spread_over_the_minute():
    services = [ServiceFactory() for _ in range(7)]
    plan = sweep_plan_create(now=T0, size=3, spread=30)
    assert [len(chunk.service_ids) for chunk in plan.chunks] == [3, 3, 1]
    assert sorted(pk for chunk in plan.chunks for pk in chunk.service_ids) == sorted(
        s.pk for s in services
    )
    assert [chunk.countdown for chunk in plan.chunks] == [0, 10, 20]
    assert all(chunk.expires_in > chunk.countdown for chunk in plan.chunks)
    run = SweepRun.objects.get(pk=plan.sweep_id)
    assert (run.minute, run.services, run.chunks) == (sweep_minute(T0), 7, 3)


@pytest.mark.django_db
def test_second_plan_for_the_same_minute_is_refused():
    ServiceFactory()
    assert sweep_plan_create(now=T0) is not None
    assert sweep_plan_create(now=T0 + timedelta(seconds=59)) is None
    assert sweep_plan_create(now=T0 + timedelta(seconds=60)) is not None
    assert SweepRun.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_for_one_minute_plan_it_once():
    """Eight callers at once (each with its own database connection): one plan wins."""
    ServiceFactory.create_batch(5)
    callers = 8
    barrier = threading.Barrier(callers)
    plans, errors = [], []

    def sweep():
        try:
            barrier.wait(10)
            plans.append(sweep_plan_create(now=T0))
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    winners = [plan for plan in plans if plan is not None]
    assert len(plans) == callers
    assert len(winners) == 1
    assert sum(len(chunk.service_ids) for chunk in winners[0].chunks) == 5
    assert SweepRun.objects.count() == 1


@pytest.mark.django_db
def test_probed_services_are_listed_ones_and_those_hosting_live_tenants():
    listed = ServiceFactory(status=Service.Status.LISTED)
    unlisted_in_use = ServiceFactory(status=Service.Status.UNLISTED)
    TenantFactory(service=unlisted_in_use)
    ServiceFactory(status=Service.Status.SUSPENDED)
    ServiceFactory(status=Service.Status.PENDING_REVIEW)
    plan = sweep_plan_create(now=T0)
    planned = {pk for chunk in plan.chunks for pk in chunk.service_ids}
    assert planned == {listed.pk, unlisted_in_use.pk}


@pytest.mark.django_db
def test_claim_skips_services_probed_within_the_minimum_gap(settings):
    settings.MONITORING_MIN_PROBE_GAP_SECONDS = 30
    fresh = ServiceFactory(health_checked_at=T0 - timedelta(seconds=10))
    due = ServiceFactory(health_checked_at=T0 - timedelta(seconds=45))
    never = ServiceFactory()
    claimed = services_claim(service_ids=[fresh.pk, due.pk, never.pk], now=T0)
    assert sorted(claimed) == sorted([due.pk, never.pk])
    # Claimed services are stamped, so an overlapping chunk gets none of them.
    assert services_claim(service_ids=[fresh.pk, due.pk, never.pk], now=T0) == []


@pytest.mark.django_db
def test_health_url_comes_from_the_manifest_or_the_standard_path():
    with_manifest = service_with_manifest(base_url="http://127.0.0.1:9001/keli")
    manifest = with_manifest.current_manifest
    manifest.data["endpoints"]["health"] = "/status/health"
    manifest.save()
    bare = ServiceFactory(base_url="http://127.0.0.1:9002/")

    targets = health.health_targets([with_manifest.pk, bare.pk])

    assert {target.key: target.url for target in targets} == {
        with_manifest.pk: "http://127.0.0.1:9001/keli/status/health",
        bare.pk: "http://127.0.0.1:9002/mt/health",
    }


@pytest.mark.django_db
def test_chunk_probes_stub_vendors_and_records_every_outcome(stub_vendors, policy, settings):
    settings.PROBE_TOTAL_TIMEOUT = 1.0
    modes = {
        "e0": "healthy",
        "e1": "degraded",
        "e2": "unhealthy",
        "e3": "error",
        "e4": "invalid",
        "e5": "hang",
    }
    stubs = stub_vendors(delay_ms=5, modes=modes)
    services = [ServiceFactory(base_url=stubs.base_url(i)) for i in range(len(modes))]
    plan = sweep_plan_create(now=T0)

    result = sweep_chunk_run(service_ids=plan.chunks[0].service_ids, sweep_id=plan.sweep_id)

    assert result.probed == 6
    assert result.failures == 4
    states = {}
    for service in services:
        service.refresh_from_db()
        states[service.pk] = (service.health, service.health_reason)
    assert states[services[0].pk] == ("healthy", "")
    assert states[services[1].pk][0] == "degraded"
    assert states[services[2].pk] == ("unhealthy", "the service reports unhealthy")
    assert states[services[3].pk] == ("unhealthy", "HTTP 500")
    assert states[services[4].pk] == ("unhealthy", "body is not JSON")
    assert states[services[5].pk][0] == "unhealthy"
    assert "1 s" in states[services[5].pk][1]  # the timeout, named
    assert all(service.health_checked_at is not None for service in services)
    assert sum(stubs.hits.values()) == 6
    assert HealthRollup.objects.count() == 6
    assert Incident.objects.count() == 0
    run = SweepRun.objects.get(pk=plan.sweep_id)
    assert (run.chunks_done, run.probes, run.failures) == (1, 6, 4)
    assert run.finished_at is not None


@pytest.mark.django_db
def test_chunk_refuses_a_private_address_without_sending_a_packet(policy, settings):
    settings.VENDOR_ALLOWED_PRIVATE_HOSTS = []
    service = ServiceFactory(base_url="http://10.1.2.3:8080")
    sweep_chunk_run(service_ids=[service.pk])
    service.refresh_from_db()
    assert service.health == Service.Health.UNHEALTHY
    assert "private address" in service.health_reason
