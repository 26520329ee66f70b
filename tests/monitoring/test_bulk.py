"""rows_update, rows_upsert and rows_insert write what bulk_update and bulk_create would."""

from datetime import timedelta
from decimal import Decimal
from typing import NamedTuple

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from monitoring.bulk import rows_insert, rows_update, rows_upsert
from monitoring.models import HealthRollup, Statement, StatementLine
from services.models import Service
from tests.factories import OrganizationFactory, ServiceFactory
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


class Line(NamedTuple):
    statement_id: int
    subscription_id: int | None
    kind: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal


FIELDS = list(Line._fields)


def line_rows(statement, count):
    return [
        Line(statement.pk, None, "usage", f"Service — metric {n} 'quoted', ünïcode\ttab\nnewline \\N",
             Decimal(n) + Decimal("0.1234"), Decimal("0.5"), Decimal(n))
        for n in range(count)
    ]  # fmt: skip


@pytest.fixture
def statement():
    return Statement.objects.create(organization=OrganizationFactory(), month=T0.date())


def test_rows_insert_writes_every_value_of_plain_objects(statement):
    rows = line_rows(statement, 3)

    assert rows_insert(model=StatementLine, objects=rows, fields=FIELDS) == 3

    stored = list(statement.lines.order_by("id"))
    assert [
        (line.statement_id, line.subscription_id, line.kind, line.description, line.quantity,
         line.unit_price, line.amount)
        for line in stored
    ] == [tuple(row) for row in rows]  # fmt: skip


def test_rows_insert_writes_many_rows_in_one_statement_on_postgresql(statement):
    rows = line_rows(statement, 2500)
    with CaptureQueriesContext(connection) as queries:
        assert (
            rows_insert(model=StatementLine, objects=rows, fields=FIELDS, batch_size=1000) == 2500
        )
    assert statement.lines.count() == 2500
    expected = 1 if connection.vendor == "postgresql" else 3  # one COPY; else 3 INSERTs
    assert len(queries.captured_queries) == expected


def test_rows_insert_of_nothing_is_fine():
    assert rows_insert(model=StatementLine, objects=[], fields=FIELDS) == 0
