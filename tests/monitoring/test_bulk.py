"""rows_update and rows_upsert write what bulk_update and bulk_create would, in bulk."""

from datetime import timedelta

import pytest

from monitoring.bulk import rows_update, rows_upsert
from monitoring.models import HealthRollup
from services.models import Service
from tests.factories import ServiceFactory
from tests.monitoring.helpers import T0

pytestmark = pytest.mark.django_db


def test_each_row_gets_its_own_values_of_every_field():
    services = ServiceFactory.create_batch(3)
    untouched = ServiceFactory(health_reason="keep me")
    for index, service in enumerate(services):
        service.health = ["healthy", "degraded", "unhealthy"][index]
        service.health_checked_at = T0 + timedelta(seconds=index)
        service.health_latency_ms = None if index == 0 else index * 10
        service.health_reason = f"reason {index} with 'quotes' and ünïcode"
        service.consecutive_failures = index

    assert (
        rows_update(
            objects=services,
            fields=[
                "health",
                "health_checked_at",
                "health_latency_ms",
                "health_reason",
                "consecutive_failures",
            ],
        )
        == 3
    )

    for index, service in enumerate(services):
        fresh = Service.objects.get(pk=service.pk)
        assert fresh.health == ["healthy", "degraded", "unhealthy"][index]
        assert fresh.health_checked_at == T0 + timedelta(seconds=index)
        assert fresh.health_latency_ms == (None if index == 0 else index * 10)
        assert fresh.health_reason == f"reason {index} with 'quotes' and ünïcode"
        assert fresh.consecutive_failures == index
    assert Service.objects.get(pk=untouched.pk).health_reason == "keep me"


def test_json_fields_and_small_batches():
    service = ServiceFactory()
    rollups = [
        HealthRollup.objects.create(service=service, hour=T0 + timedelta(hours=h)) for h in range(5)
    ]
    for index, rollup in enumerate(rollups):
        rollup.latency_histogram = {"10": index, "inf": 1}
        rollup.checks = index + 1

    assert rows_update(objects=rollups, fields=["latency_histogram", "checks"], batch_size=2) == 5

    for index, rollup in enumerate(rollups):
        fresh = HealthRollup.objects.get(pk=rollup.pk)
        assert fresh.latency_histogram == {"10": index, "inf": 1}
        assert fresh.checks == index + 1


def test_nothing_to_update_is_fine():
    assert rows_update(objects=[], fields=["health"]) == 0


def test_rows_upsert_creates_missing_rows_and_overwrites_existing_ones():
    service = ServiceFactory()
    kept = HealthRollup.objects.create(service=service, hour=T0, checks=7, latency_histogram={})
    rows = [
        HealthRollup(service=service, hour=T0, checks=8, latency_histogram={"10": 8}),
        HealthRollup(service=service, hour=T0 + timedelta(hours=1), checks=1, failures=1),
    ]

    written = rows_upsert(
        model=HealthRollup,
        objects=rows,
        unique_fields=["service", "hour"],
        fields=["checks", "failures", "degraded", "latency_histogram"],
    )

    assert written == 2
    assert HealthRollup.objects.count() == 2
    kept.refresh_from_db()
    assert (kept.checks, kept.latency_histogram) == (8, {"10": 8})
    new = HealthRollup.objects.get(hour=T0 + timedelta(hours=1))
    assert (new.checks, new.failures, new.latency_histogram) == (1, 1, {})


def test_rows_update_takes_plain_objects_with_the_model_named():
    service = ServiceFactory(health_reason="old")

    class Row:
        pk = service.pk
        health_reason = "new"

    assert rows_update(model=Service, objects=[Row()], fields=["health_reason"]) == 1
    assert Service.objects.get(pk=service.pk).health_reason == "new"
