"""Pages take a fixed number of database queries however many rows they show (no N+1).

Each test counts the queries of one page, adds many more of the rows that page lists, and
counts again: the number must not move. (The API's lists: tests/api/test_query_counts.py.
The pages benchmark, ``python -m bench pages``, counts them again at 2,000 and 20,000 tenants.)
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tenants.models import Operation, Subscription
from tests.factories import OrganizationFactory, StaffFactory, SubscriptionFactory
from tests.portal.conftest import listed_service

pytestmark = pytest.mark.django_db

MORE = 8
# A generous ceiling, so a page that starts with many more queries is noticed too.
MAX_QUERIES = 15


def queries_of(client, url: str) -> int:
    client.get(url)  # warm: the session, the content types, the translations
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.status_code
    return len(captured)


def more_subscriptions(*, organization, services, status=Subscription.Status.ACTIVE):
    for service in services:
        subscription = SubscriptionFactory(
            organization=organization, service=service, plan=service.plans.get(code="basic"),
            status=status,
        )  # fmt: skip
        Operation.objects.create(
            tenant=subscription.tenant, subscription=subscription, kind=Operation.Kind.ACTIVATE
        )


def more_services(world, count: int = MORE):
    return [
        listed_service(
            vendor=world.vendor_a,
            service_id=f"extra_{n}",
            name=f"Extra {n}",
            categories=(f"category_{n}",),
        )  # fmt: skip
        for n in range(count)
    ]


def test_the_catalog_takes_the_same_queries_with_many_more_services(world, as_user):
    client = as_user(world.admin_a)
    url = reverse("school-catalog")
    before = queries_of(client, url)
    more_subscriptions(organization=world.school_a, services=more_services(world)[:3])
    after = queries_of(client, url)
    assert after == before
    assert after <= MAX_QUERIES


def test_my_subscriptions_take_the_same_queries_with_many_more_subscriptions(world, as_user):
    client = as_user(world.admin_a)
    url = reverse("school-subscriptions")
    before = queries_of(client, url)
    services = more_services(world)
    more_subscriptions(organization=world.school_a, services=services[: MORE // 2])
    more_subscriptions(
        organization=world.school_a,
        services=services[MORE // 2 :],
        status=Subscription.Status.ENDED,
    )
    after = queries_of(client, url)
    assert after == before
    assert after <= MAX_QUERIES
    page = client.get(url).content.decode()
    assert all(f"Extra {n}" in page for n in range(MORE))  # the new rows are on the page


@pytest.mark.parametrize(
    "model",
    ["tenant", "operation", "subscription"],
)
def test_the_admin_change_lists_take_the_same_queries_with_many_more_rows(world, client, model):
    client.force_login(StaffFactory(), backend="django.contrib.auth.backends.ModelBackend")
    url = reverse(f"admin:tenants_{model}_changelist")
    before = queries_of(client, url)
    services = [world.service_a, world.service_b]
    for _ in range(MORE):
        more_subscriptions(organization=OrganizationFactory(), services=services)
    after = queries_of(client, url)
    assert after == before
    assert after <= MAX_QUERIES


def test_the_staff_overview_takes_the_same_queries_with_many_more_problems(world, as_user):
    from tenants.models import Tenant

    client = as_user(StaffFactory())
    url = reverse("staff-overview")
    before = queries_of(client, url)
    for state in (Operation.State.FAILED, Operation.State.NEEDS_ATTENTION):
        for _ in range(MORE // 2):
            subscription = SubscriptionFactory(organization=OrganizationFactory())
            Operation.objects.create(
                tenant=subscription.tenant, subscription=subscription,
                kind=Operation.Kind.ACTIVATE, state=state,
            )  # fmt: skip
            Tenant.objects.filter(pk=subscription.tenant_id).update(drifted=True)
    after = queries_of(client, url)
    assert after == before
    assert after <= MAX_QUERIES, after
    page = client.get(url).content.decode()
    assert page.count('data-testid="failed-row"') == MORE // 2 + 2  # the world's own two


def test_a_subscription_page_takes_the_same_queries_however_long_its_history(world, as_user):
    client = as_user(world.admin_a)
    url = reverse("school-subscription", args=[world.subscription_a.pk])
    before = queries_of(client, url)
    for _ in range(MORE):
        Operation.objects.create(
            tenant=world.subscription_a.tenant, subscription=world.subscription_a,
            kind=Operation.Kind.UPDATE, state=Operation.State.SUCCEEDED,
        )  # fmt: skip
    assert queries_of(client, url) == before
