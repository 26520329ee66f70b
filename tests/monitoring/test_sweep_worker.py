"""The sweep through a real Celery worker against 200 stub vendors on 127.0.0.1."""

import pytest
from django.utils import timezone

from monitoring.models import SweepRun
from monitoring.tasks import health_sweep
from services.models import Service
from tests.factories import VendorFactory
from tests.support.worker import wait_until

pytestmark = pytest.mark.worker

ENDPOINTS = 200
FAILING = {f"e{i}": "error" for i in range(0, ENDPOINTS, 20)}  # 10 answer HTTP 500


def create_services(stubs) -> list[Service]:
    vendor = VendorFactory()
    return Service.objects.bulk_create(
        Service(
            vendor=vendor,
            service_id=f"stub_{index}",
            name=f"Stub {index}",
            status=Service.Status.LISTED,
            base_url=stubs.base_url(index),
        )
        for index in range(ENDPOINTS)
    )


def sweep_finished() -> bool:
    run = SweepRun.objects.first()
    return run is not None and run.finished_at is not None


def test_one_sweep_through_a_worker_records_every_service(celery_worker, stub_vendors):
    stubs = stub_vendors(ports=4, delay_ms=20, modes=FAILING)
    create_services(stubs)

    health_sweep.delay(spread_seconds=1, chunk_size=50)

    wait_until(sweep_finished, timeout=90, message="the sweep's chunks did not all finish")
    assert Service.objects.filter(health=Service.Health.UNKNOWN).count() == 0
    assert Service.objects.filter(health=Service.Health.HEALTHY).count() == ENDPOINTS - 10
    failing = Service.objects.filter(health=Service.Health.UNHEALTHY)
    assert {s.service_id for s in failing} == {f"stub_{i}" for i in range(0, ENDPOINTS, 20)}
    assert {s.health_reason for s in failing} == {"HTTP 500"}
    run = SweepRun.objects.get()
    assert (run.services, run.chunks, run.chunks_done, run.probes) == (ENDPOINTS, 4, 4, ENDPOINTS)
    assert sum(stubs.hits.values()) == ENDPOINTS
    assert "monitoring.tasks.probe_chunk" in celery_worker.log_text()


def test_two_sweeps_for_the_same_minute_probe_each_service_once(celery_worker, stub_vendors):
    stubs = stub_vendors(ports=4)
    create_services(stubs)
    minute = timezone.now().isoformat()

    health_sweep.delay(now=minute, spread_seconds=0, chunk_size=50)
    health_sweep.delay(now=minute, spread_seconds=0, chunk_size=50)

    wait_until(
        lambda: celery_worker.log_text().count("monitoring.health_sweep[") >= 4,
        timeout=60,
        message="both sweep tasks should have been received and finished",
    )
    wait_until(sweep_finished, timeout=90, message="the sweep's chunks did not all finish")
    assert "succeeded" in celery_worker.log_text()
    assert SweepRun.objects.count() == 1
    assert len(stubs.hits) == ENDPOINTS
    assert set(stubs.hits.values()) == {1}
