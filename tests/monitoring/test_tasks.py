"""The Celery tasks stay thin: they call one service and send chunks to the right queue."""

import os
import subprocess
import sys
from datetime import date, timedelta

import pytest
import responses

from market.celery import app
from monitoring import billing, tasks, usage
from monitoring.models import HealthRollup, Statement, SweepRun, UsageReport
from tests.factories import ServiceFactory, SubscriptionFactory
from tests.monitoring.helpers import T0, service_with_manifest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Sent:
    """Records apply_async/delay calls instead of sending them to the broker."""

    def __init__(self):
        self.calls = []

    def apply_async(self, *args, **kwargs):
        self.calls.append(kwargs)

    def delay(self, **kwargs):
        self.calls.append({"kwargs": kwargs})


def test_probe_chunks_are_routed_to_the_probes_queue():
    route = app.amqp.router.route({}, tasks.probe_chunk.name)
    assert route["queue"].name == "probes"


@pytest.mark.django_db
def test_health_sweep_sends_each_chunk_with_its_offset_and_expiry(monkeypatch):
    ServiceFactory.create_batch(5)
    sent = Sent()
    monkeypatch.setattr(tasks, "probe_chunk", sent)

    assert tasks.health_sweep(now=T0.isoformat(), spread_seconds=20, chunk_size=2) == 3
    assert tasks.health_sweep(now=T0.isoformat(), spread_seconds=20, chunk_size=2) == 0

    run = SweepRun.objects.get()
    assert [call["countdown"] for call in sent.calls] == [0, pytest.approx(6.667), 13.333]
    assert all(call["expires"] > call["countdown"] for call in sent.calls)
    assert all(call["kwargs"]["sweep_id"] == run.pk for call in sent.calls)
    assert sum(len(call["kwargs"]["service_ids"]) for call in sent.calls) == 5


@pytest.mark.django_db
def test_monthly_usage_collection_prepares_reports_and_sends_chunks(monkeypatch, policy, settings):
    service = service_with_manifest()
    for _ in range(3):
        SubscriptionFactory(service=service, tenant__created_at=T0 - timedelta(days=60))
    sent = Sent()
    monkeypatch.setattr(tasks, "collect_usage_chunk", sent)
    settings.USAGE_CHUNK_SIZE = 2

    other_vendor = service_with_manifest()
    SubscriptionFactory(service=other_vendor, tenant__created_at=T0 - timedelta(days=60))

    assert tasks.collect_monthly_usage(month="2026-02") == 3

    assert UsageReport.objects.filter(month=date(2026, 2, 1)).count() == 4
    # One chain per vendor: its first chunk is sent, the rest follow it one at a time.
    chains = sorted(
        [call["kwargs"]["report_ids"], *call["kwargs"]["following"]] for call in sent.calls
    )
    assert sorted(len(chunk) for chain in chains for chunk in chain) == [1, 1, 2]
    assert sorted(len(chain) for chain in chains) == [1, 2]
    assert all(call["kwargs"]["leased_until"] for call in sent.calls)
    # Leased to the chains: the 5-minute retry task does not start a second chain of them.
    assert tasks.retry_usage_collection() == 0


@pytest.mark.django_db
def test_prune_task_deletes_old_rollups():
    service = ServiceFactory()
    HealthRollup.objects.create(service=service, hour=T0 - timedelta(days=400))
    assert tasks.prune_rollups() == 1
    assert HealthRollup.objects.count() == 0


@pytest.mark.django_db
def test_usage_collected_after_billing_completes_the_statement(policy):
    subscription = SubscriptionFactory(
        service=service_with_manifest(),
        starts_on=date(2026, 1, 1),
        plan__unit_prices={"api_calls": "2"},
        tenant__created_at=T0 - timedelta(days=60),
    )
    month = date(2026, 2, 1)
    first = billing.statement_generate(organization_id=subscription.organization_id, month=month)
    assert first.total == 100000
    tenant = subscription.tenant
    usage_body = {
        "tenant_id": tenant.tenant_id,
        "period": "2026-02",
        "usage": {"api_calls": 10, "ai_tokens": 0, "storage_gb": 0, "active_users": 0},
    }
    with responses.RequestsMock() as mock:
        mock.get(f"{tenant.service.base_url}/mt/tenant/{tenant.tenant_id}/usage", json=usage_body)
        usage.usage_collect_for_tenant(tenant_id=tenant.pk, month=month)

    statement = Statement.objects.get()
    assert statement.pk == first.pk
    assert statement.total == 100020


def test_bench_cli_runs_a_small_probe_only_sweep(tmp_path):
    env = {**os.environ, "MARKET_VAR_DIR": str(tmp_path)}
    command = [sys.executable, "-m", "bench", "sweep", "--endpoints", "40", "--delay-ms", "5",
               "--ports", "2", "--chunk-size", "20", "--no-db"]  # fmt: skip
    finished = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert finished.returncode == 0, finished.stderr
    assert "probe only (probe_all)" in finished.stdout
    assert "      40  healthy" in finished.stdout
    assert "stub vendors (another process) answered 40 requests" in finished.stdout
