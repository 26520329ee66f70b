"""/monitoring/metrics: Prometheus text for staff or the metrics bearer token."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from monitoring.health import outcomes_record
from tenants.models import Operation
from tests.factories import SchoolAdminFactory, ServiceFactory, StaffFactory, TenantFactory
from tests.monitoring.helpers import T0, minutes, outcome

pytestmark = pytest.mark.django_db

TOKEN = "s3cret-metrics-token-0123456789"


def sample(text: str, name: str, labels: str = "") -> float:
    match = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.MULTILINE)
    assert match, f"{name}{labels} missing from:\n{text}"
    return float(match.group(1))


@pytest.fixture
def metrics_url(settings):
    settings.METRICS_TOKEN = TOKEN
    return reverse("monitoring:metrics")


def test_metrics_need_staff_or_the_token(client, metrics_url):
    assert client.get(metrics_url).status_code == 401
    assert client.get(metrics_url, HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get(metrics_url, HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 401
    client.force_login(SchoolAdminFactory())
    assert client.get(metrics_url).status_code == 401
    client.logout()
    assert client.get(metrics_url, HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    client.force_login(StaffFactory())
    assert client.get(metrics_url).status_code == 200


def test_an_empty_token_setting_disables_token_access(client, settings):
    settings.METRICS_TOKEN = ""
    response = client.get(reverse("monitoring:metrics"), HTTP_AUTHORIZATION="Bearer ")
    assert response.status_code == 401


@time_machine.travel(T0 + timedelta(hours=1), tick=False)
def test_metrics_report_probes_incidents_and_operations(client, metrics_url, policy):
    services = [ServiceFactory(), ServiceFactory()]
    for minute in range(3):
        outcomes_record(
            outcomes=[outcome(services[0], "unhealthy"), outcome(services[1], "healthy")],
            now=T0 + minutes(minute),
        )
    tenant = TenantFactory()
    Operation.objects.create(
        tenant=tenant, kind="activate", created_at=timezone.now() - timedelta(seconds=300)
    )
    Operation.objects.create(tenant=tenant, kind="status", state=Operation.State.SUCCEEDED)

    response = client.get(metrics_url, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = response.content.decode()
    assert "# TYPE market_health_probes_total counter" in text
    assert sample(text, "market_health_probes_total") == 6
    assert sample(text, "market_health_probe_failures_total") == 3
    assert sample(text, "market_incidents_open") == 1
    assert sample(text, "market_services_health", '{state="unhealthy"}') == 1
    assert sample(text, "market_operations", '{state="queued"}') == 1
    assert sample(text, "market_operations", '{state="succeeded"}') == 1
    assert sample(text, "market_operations", '{state="failed"}') == 0
    assert sample(text, "market_operations_oldest_queued_age_seconds") == 300
