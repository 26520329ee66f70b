"""Storage stays small: the current state on the service, one rollup per service and hour."""

from datetime import UTC, datetime, timedelta

import pytest
from django.apps import apps

from monitoring.health import outcomes_record, rollups_prune
from monitoring.latency import bucket_key, histogram_add, histogram_percentile
from monitoring.models import HealthRollup, Incident, SweepRun
from tests.factories import ServiceFactory
from tests.monitoring.helpers import T0, minutes, outcome


def rows_in_every_table() -> int:
    return sum(model.objects.count() for model in apps.get_app_config("monitoring").get_models())


@pytest.mark.django_db
def test_a_probe_adds_no_row_once_the_hour_has_its_rollup(policy):
    services = [ServiceFactory() for _ in range(3)]
    states = ["healthy", "degraded", "unhealthy"]

    def sweep(minute):
        outcomes_record(
            outcomes=[outcome(s, states[i]) for i, s in enumerate(services)],
            now=T0 + minutes(minute),
        )

    for minute in range(3):  # the hour's rollups, the counters and one incident appear
        sweep(minute)
    before = rows_in_every_table()
    assert Incident.objects.count() == 1

    for minute in range(3, 30):
        sweep(minute)

    assert rows_in_every_table() == before  # 81 probes later: updates only, no new row
    assert HealthRollup.objects.count() == 3
    assert HealthRollup.objects.get(service=services[2]).checks == 30


@pytest.mark.django_db
def test_a_new_hour_starts_a_new_rollup_per_service(policy):
    services = [ServiceFactory() for _ in range(2)]
    start_of_next_hour = T0.replace(minute=0) + timedelta(hours=1)
    outcomes_record(outcomes=[outcome(s, "healthy") for s in services], now=T0)
    outcomes_record(outcomes=[outcome(s, "healthy") for s in services], now=start_of_next_hour)
    hours = sorted({rollup.hour for rollup in HealthRollup.objects.all()})
    assert hours == [T0.replace(minute=0), start_of_next_hour]
    assert HealthRollup.objects.count() == 4


@pytest.mark.django_db
def test_rollup_counts_checks_failures_degraded_and_percentiles(policy):
    service = ServiceFactory()
    latencies = [10] * 10 + [100] * 9 + [1000]  # answered probes
    for minute, latency in enumerate(latencies):
        outcomes_record(
            outcomes=[outcome(service, "healthy", latency_ms=latency)], now=T0 + minutes(minute / 2)
        )
    outcomes_record(outcomes=[outcome(service, "degraded", latency_ms=10)], now=T0 + minutes(11))
    for minute in (12, 13):
        outcomes_record(
            outcomes=[outcome(service, "unhealthy", latency_ms=5000, reason="timeout")],
            now=T0 + minutes(minute),
        )

    rollup = HealthRollup.objects.get(service=service)
    assert rollup.hour == datetime(2026, 3, 10, 5, 0, tzinfo=UTC)
    assert rollup.checks == 23
    assert rollup.failures == 2
    assert rollup.degraded == 1
    # 21 answered probes: 11 at 10 ms, 9 at 100 ms, 1 at 1000 ms; the timeouts are not latencies.
    assert rollup.latency_p50_ms == 10
    assert rollup.latency_p95_ms == 100
    assert sum(rollup.latency_histogram.values()) == 21


def test_histogram_buckets_are_upper_bounds():
    assert bucket_key(0) == "5"
    assert bucket_key(5) == "5"
    assert bucket_key(6) == "10"
    assert bucket_key(10_000) == "10000"
    assert bucket_key(10_001) == "inf"


def test_histogram_percentiles_use_nearest_rank():
    histogram = histogram_add({}, [10] * 19 + [3000])
    assert histogram_percentile(histogram, 0.50) == 10
    assert histogram_percentile(histogram, 0.95) == 10  # rank 19 of 20
    assert histogram_percentile(histogram, 0.99) == 3000
    assert histogram_percentile({}, 0.5) is None
    assert histogram_percentile(histogram_add({}, [60_000]), 0.5) == 10_000


def test_histogram_add_leaves_the_given_histogram_alone():
    original = {"10": 1}
    assert histogram_add(original, [10, 12]) == {"10": 2, "15": 1}
    assert original == {"10": 1}


@pytest.mark.django_db
def test_prune_keeps_ninety_days_of_rollups(policy):
    service = ServiceFactory()
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    for days in (0, 89, 91, 200):
        HealthRollup.objects.create(
            service=service, hour=(now - timedelta(days=days)).replace(minute=0), checks=60
        )
    SweepRun.objects.create(minute=now - timedelta(days=3))
    SweepRun.objects.create(minute=now - timedelta(minutes=1))

    result = rollups_prune(now=now)

    assert result.rollups == 2
    assert result.sweeps == 1
    kept = sorted((now - rollup.hour).days for rollup in HealthRollup.objects.all())
    assert kept == [0, 89]
    assert SweepRun.objects.count() == 1
