"""Monitoring pages: who sees what (staff, two schools, two vendors, outsiders)."""

from datetime import date, timedelta

import pytest
import responses
from django.urls import reverse
from django.utils import timezone

from market.lib.months import previous_month
from monitoring import billing
from monitoring.health import outcomes_record
from monitoring.models import HealthRollup, Incident, UsageReport
from tests.factories import (
    OrganizationFactory,
    ServiceFactory,
    StaffFactory,
    SubscriptionFactory,
    TenantFactory,
    UserFactory,
    VendorFactory,
    VendorUserFactory,
)
from tests.monitoring.helpers import outcome, service_with_manifest

pytestmark = pytest.mark.django_db

MARCH = date(2026, 3, 1)


@pytest.fixture
def world(policy):
    """Two vendors with one service each, two schools subscribed to both, and their people."""
    vendors = [VendorFactory(), VendorFactory()]
    services = [
        ServiceFactory(vendor=vendors[0], name="Keli Tutor"),
        ServiceFactory(vendor=vendors[1], name="LLM Chatbot"),
    ]
    schools = [OrganizationFactory(name="Hallym"), OrganizationFactory(name="Kangwon")]
    for school in schools:
        for service in services:
            SubscriptionFactory(
                organization=school,
                service=service,
                starts_on=date(2026, 1, 1),
                ends_on=date(2027, 1, 1),
            )
    statements = [billing.statement_generate(organization_id=s.pk, month=MARCH) for s in schools]
    return {
        "vendors": vendors,
        "services": services,
        "schools": schools,
        "statements": statements,
        "staff": StaffFactory(),
        "school_admins": [UserFactory(organization=school) for school in schools],
        "vendor_users": [VendorUserFactory(vendor=vendor) for vendor in vendors],
        "nobody": UserFactory(),
    }


def make_unhealthy(service, *, reason="connection failed (Connection refused)"):
    now = timezone.now()
    for minute in range(3):
        outcomes_record(
            outcomes=[outcome(service, "unhealthy", reason=reason)],
            now=now - timedelta(minutes=3 - minute),
        )


# --- status page -----------------------------------------------------------------------------


def test_status_page_needs_a_signed_in_portal_user(client, world):
    url = reverse("monitoring:status")
    assert client.get(url).status_code == 302
    client.force_login(world["nobody"])
    assert client.get(url).status_code == 403


def test_school_sees_every_service_with_90_day_bars_but_not_failure_details(client, world):
    keli = world["services"][0]
    make_unhealthy(keli)
    client.force_login(world["school_admins"][0])

    page = client.get(reverse("monitoring:status")).content.decode()

    assert "Keli Tutor" in page and "LLM Chatbot" in page
    assert page.count("<rect ") == 2 * 90
    assert "Unhealthy" in page
    assert "Connection refused" not in page  # the vendor's technical detail
    assert Incident.objects.filter(service=keli, closed_at__isnull=True).exists()
    assert "Incident open since" in page


def test_vendor_sees_details_and_history_links_of_its_own_services_only(client, world):
    keli, chatbot = world["services"]
    make_unhealthy(keli, reason="keli reason")
    make_unhealthy(chatbot, reason="chatbot reason")
    client.force_login(world["vendor_users"][0])

    page = client.get(reverse("monitoring:status")).content.decode()

    assert "keli reason" in page
    assert "chatbot reason" not in page
    assert reverse("monitoring:service-history", args=[keli.service_id]) in page
    assert reverse("monitoring:service-history", args=[chatbot.service_id]) not in page


def test_uptime_bar_of_today_shows_the_share_of_good_checks(client, world):
    keli = world["services"][0]
    HealthRollup.objects.create(
        service=keli, hour=timezone.now().replace(minute=0, second=0, microsecond=0),
        checks=60, failures=3,
    )  # fmt: skip
    client.force_login(world["school_admins"][0])
    page = client.get(reverse("monitoring:status")).content.decode()
    assert "95.00% (3/60" in page


# --- a service's history -----------------------------------------------------------------------


def test_vendor_reads_its_own_service_history(client, world):
    keli = world["services"][0]
    make_unhealthy(keli)
    tenant = keli.tenants.first()
    UsageReport.objects.create(
        tenant=tenant,
        month=MARCH,
        state=UsageReport.State.REJECTED,
        error="metric api_calls is negative (-4)",
    )
    client.force_login(world["vendor_users"][0])

    response = client.get(reverse("monitoring:service-history", args=[keli.service_id]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "metric api_calls is negative (-4)" in page
    assert "Connection refused" in page
    assert page.count("<rect ") == 90


@pytest.mark.parametrize("who", ["other_vendor", "school", "nobody"])
def test_nobody_else_reads_a_vendor_service_history(client, world, who):
    user = {
        "other_vendor": world["vendor_users"][1],
        "school": world["school_admins"][0],
        "nobody": world["nobody"],
    }[who]
    client.force_login(user)
    url = reverse("monitoring:service-history", args=[world["services"][0].service_id])
    assert client.get(url).status_code in (403, 404)


def test_staff_reads_any_service_history(client, world):
    client.force_login(world["staff"])
    url = reverse("monitoring:service-history", args=[world["services"][1].service_id])
    assert client.get(url).status_code == 200


# --- staff dashboard ---------------------------------------------------------------------------


def test_dashboard_is_for_staff_only(client, world):
    url = reverse("monitoring:dashboard")
    assert client.get(url).status_code == 302
    for user in (world["school_admins"][0], world["vendor_users"][0], world["nobody"]):
        client.force_login(user)
        assert client.get(url).status_code == 403


def test_dashboard_lists_incidents_usage_problems_and_non_compliance(client, world):
    keli, chatbot = world["services"]
    make_unhealthy(keli, reason="HTTP 502")
    chatbot.usage_noncompliant_since = timezone.now()
    chatbot.save()
    UsageReport.objects.create(
        tenant=keli.tenants.first(),
        month=previous_month(),
        state=UsageReport.State.FAILED,
        error="the service declares no usage_report endpoint in its manifest",
    )
    client.force_login(world["staff"])

    page = client.get(reverse("monitoring:dashboard")).content.decode()

    assert "HTTP 502" in page
    assert "declares no usage_report endpoint" in page
    assert "LLM Chatbot" in page


def test_staff_collects_one_report_again_from_the_dashboard(client, world):
    service = service_with_manifest()
    tenant = TenantFactory(service=service)
    report = UsageReport.objects.create(
        tenant=tenant, month=MARCH, state=UsageReport.State.FAILED, error="timeout"
    )
    url = f"{service.base_url}/mt/tenant/{tenant.tenant_id}/usage"
    body = {
        "tenant_id": tenant.tenant_id,
        "period": "2026-03",
        "usage": {"api_calls": 1, "ai_tokens": 2, "storage_gb": 3, "active_users": 4},
    }
    collect_url = reverse("monitoring:usage-collect", args=[report.pk])
    client.force_login(world["school_admins"][0])
    assert client.post(collect_url).status_code == 403

    client.force_login(world["staff"])
    with responses.RequestsMock() as mock:
        mock.get(url, json=body)
        response = client.post(collect_url)

    assert response.status_code == 302
    report.refresh_from_db()
    assert report.state == UsageReport.State.COLLECTED


# --- statements --------------------------------------------------------------------------------


def test_school_lists_only_its_own_statements(client, world):
    client.force_login(world["school_admins"][0])
    page = client.get(reverse("monitoring:statement-list")).content.decode()
    own, other = world["statements"]
    assert reverse("monitoring:statement-detail", args=[own.pk]) in page
    assert reverse("monitoring:statement-detail", args=[other.pk]) not in page


def test_school_reads_and_downloads_its_own_statement(client, world):
    own = world["statements"][0]
    client.force_login(world["school_admins"][0])
    detail = client.get(reverse("monitoring:statement-detail", args=[own.pk]))
    assert detail.status_code == 200
    assert "200,000" in detail.content.decode()
    download = client.get(reverse("monitoring:statement-csv", args=[own.pk]))
    assert download.status_code == 200
    assert download["Content-Type"].startswith("text/csv")
    assert "attachment" in download["Content-Disposition"]
    assert download.content.decode().splitlines()[-1].endswith(",total,,,,200000,KRW")


def test_another_schools_statement_is_not_found(client, world):
    other = world["statements"][1]
    client.force_login(world["school_admins"][0])
    assert client.get(reverse("monitoring:statement-detail", args=[other.pk])).status_code == 404
    assert client.get(reverse("monitoring:statement-csv", args=[other.pk])).status_code == 404


def test_vendors_and_outsiders_see_no_statements(client, world):
    own = world["statements"][0]
    for user in (world["vendor_users"][0], world["nobody"]):
        client.force_login(user)
        assert client.get(reverse("monitoring:statement-list")).status_code == 403
        assert client.get(reverse("monitoring:statement-csv", args=[own.pk])).status_code == 403


def test_staff_sees_every_statement_and_filters_by_month(client, world):
    client.force_login(world["staff"])
    page = client.get(reverse("monitoring:statement-list"), {"month": "2026-03"}).content.decode()
    for statement in world["statements"]:
        assert reverse("monitoring:statement-detail", args=[statement.pk]) in page
    empty = client.get(reverse("monitoring:statement-list"), {"month": "2026-04"}).content.decode()
    assert reverse("monitoring:statement-detail", args=[world["statements"][0].pk]) not in empty
    other = world["statements"][1]
    assert client.get(reverse("monitoring:statement-csv", args=[other.pk])).status_code == 200
