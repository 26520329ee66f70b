"""List endpoints run a fixed number of queries however many rows they show (no N+1)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from market.models import ApiToken
from market.tokens import api_token_create
from monitoring.models import HealthRollup, Incident, Statement, StatementLine, UsageReport
from tenants.events import record_event
from tenants.models import Operation
from tests.api.support import API
from tests.factories import (
    ManifestFactory,
    OrganizationFactory,
    PlanFactory,
    SchoolAdminFactory,
    ServiceFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db

# Token lookup, the last-used stamp, the count, the page, and a prefetch or two.
MAX_QUERIES = 8
MORE = 12


@pytest.fixture
def crowded(world):
    """The world plus a dozen more schools subscribed to both services, with everything."""
    month = timezone.localdate().replace(day=1)
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    services = [world.vendor_a.objects["service"], world.vendor_b.objects["service"]]
    for n in range(MORE):
        school = OrganizationFactory()
        SchoolAdminFactory(organization=school)
        statement = Statement.objects.create(organization=school, month=month, total=1)
        for service in services:
            subscription = SubscriptionFactory(
                organization=school, service=service, plan=service.plans.get(code="basic")
            )
            operation = Operation.objects.create(
                tenant=subscription.tenant, subscription=subscription, kind="activate"
            )
            record_event(tenant=subscription.tenant, kind="x", message="x", operation=operation)
            UsageReport.objects.create(tenant=subscription.tenant, month=month)
            StatementLine.objects.create(statement=statement, subscription=subscription,
                                         kind="plan", description="x", quantity=1,
                                         unit_price=1, amount=1)  # fmt: skip
            Incident.objects.create(service=service, reason="x", closed_at=timezone.now())
        api_token_create(name=f"t{n}", scope=ApiToken.Scope.STAFF)
        HealthRollup.objects.create(service=services[0], hour=hour - timedelta(hours=n + 1))
        extra = ServiceFactory(vendor=world.vendor_a.objects["vendor"])
        extra.current_manifest = ManifestFactory(service=extra)
        extra.save()
        PlanFactory(service=extra, code="basic")
        PlanFactory(service=extra, code="premium")
    return world


PATHS = [
    "services",
    "services/alpha_tutor",
    "health",
    "health/alpha_tutor/rollups",
    "incidents",
    "organizations",
    "subscriptions",
    "tenants",
    "operations",
    "usage",
    "statements",
    "tokens",
    "policy",
]


@pytest.mark.parametrize("path", PATHS)
def test_lists_take_a_fixed_number_of_queries(crowded, django_assert_max_num_queries, path):
    api = crowded.staff.api
    api.get(f"{API}/services")  # stamp last_used_at first, as a busy token has
    with django_assert_max_num_queries(MAX_QUERIES):
        response = api.get(f"{API}/{path}")
    assert response.status_code == 200
    if "results" in response.json():
        assert len(response.json()["results"]) >= 2


def test_a_statement_with_many_lines_takes_a_fixed_number_of_queries(
    crowded, django_assert_max_num_queries
):
    statement = Statement.objects.exclude(organization__slug__in=["school_a", "school_b"]).first()
    api = crowded.staff.api
    api.get(f"{API}/services")
    with django_assert_max_num_queries(MAX_QUERIES):
        body = api.get(f"{API}/statements/{statement.pk}").json()
    assert len(body["lines"]) == 2


def test_a_tenants_events_take_a_fixed_number_of_queries(crowded, django_assert_max_num_queries):
    tenant = crowded.school_a.objects["tenant"]
    for n in range(MORE):
        record_event(tenant=tenant, kind=f"e{n}", message="x")
    api = crowded.school_a.api
    api.get(f"{API}/services")
    with django_assert_max_num_queries(MAX_QUERIES):
        body = api.get(f"{API}/tenants/{tenant.pk}/events").json()
    assert len(body["results"]) == MORE + 1
