"""subscription_create refuses bad input before writing anything, naming the field at fault."""

import datetime

import pytest
from django.utils import timezone

from services.models import Service
from tenants.errors import LifecycleError
from tenants.models import LifecycleEvent, Operation, Subscription, Tenant
from tenants.services import subscription_create
from tests.factories import (
    ManifestFactory,
    OrganizationFactory,
    PlanFactory,
    ServiceFactory,
    SubscriptionFactory,
    TenantFactory,
)

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def listed_service(**fields) -> Service:
    service = ServiceFactory(**fields)
    service.current_manifest = ManifestFactory(service=service)
    service.save()
    PlanFactory(service=service, code="basic", name="Basic", max_users=100, storage_limit_gb=10)
    PlanFactory(
        service=service, code="premium", name="Premium", max_users=1000, storage_limit_gb=200
    )
    return service


@pytest.fixture
def service():
    return listed_service()


@pytest.fixture
def school():
    return OrganizationFactory(slug="hallym_univ")


def request(service, school, **changes) -> dict:
    values = {
        "organization": school,
        "service": service,
        "plan": service.plans.get(code="basic"),
        "ends_on": TODAY() + datetime.timedelta(days=365),
        "max_users": 100,
        "storage_limit_gb": 10,
        "admin_email": "admin@hallym.ac.kr",
        "admin_name": "홍길동",
    }
    values.update(changes)
    return values


def row_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Subscription, Tenant, Operation, LifecycleEvent)
    }


def assert_refused(values: dict, *, field: str | None, code: str | None = None, capture) -> None:
    before = row_counts()
    with capture() as dispatched, pytest.raises(LifecycleError) as raised:
        subscription_create(**values)
    assert raised.value.field == field, raised.value.message
    if code:
        assert raised.value.code == code
    assert raised.value.message
    assert row_counts() == before, "nothing may be written for refused input"
    assert dispatched == [], "nothing may be sent to a worker"


def test_valid_input_writes_one_subscription_tenant_and_queued_activation(
    service, school, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as dispatched:
        subscription = subscription_create(**request(service, school))

    assert subscription.tenant.tenant_id == "hallym_univ"
    assert subscription.tenant.state == Tenant.State.REQUESTED
    operation = Operation.objects.get(tenant=subscription.tenant)
    assert operation.kind == Operation.Kind.ACTIVATE
    assert operation.state == Operation.State.QUEUED
    assert operation.payload["config"] == {"max_users": 100, "storage_limit_gb": 10}
    assert len(dispatched) == 1


def test_a_retired_plan_is_refused_naming_the_plan(
    service, school, django_capture_on_commit_callbacks
):
    retired = PlanFactory(service=service, code="legacy", name="Legacy", is_active=False)
    assert_refused(
        request(service, school, plan=retired),
        field="plan",
        capture=django_capture_on_commit_callbacks,
    )


def test_a_plan_of_another_service_is_refused(service, school, django_capture_on_commit_callbacks):
    other = listed_service()
    assert_refused(
        request(service, school, plan=other.plans.get(code="basic")),
        field="plan",
        capture=django_capture_on_commit_callbacks,
    )


@pytest.mark.parametrize("days", [-1, 0], ids=["yesterday", "today"])
def test_an_end_date_not_in_the_future_is_refused(
    service, school, days, django_capture_on_commit_callbacks
):
    assert_refused(
        request(service, school, ends_on=TODAY() + datetime.timedelta(days=days)),
        field="ends_on",
        capture=django_capture_on_commit_callbacks,
    )


def test_a_period_over_three_years_is_refused(service, school, django_capture_on_commit_callbacks):
    assert_refused(
        request(service, school, ends_on=TODAY() + datetime.timedelta(days=4 * 365)),
        field="ends_on",
        capture=django_capture_on_commit_callbacks,
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [("max_users", 101), ("max_users", 0), ("storage_limit_gb", 11), ("storage_limit_gb", 0)],
)
def test_limits_outside_the_plan_are_refused(
    service, school, field, value, django_capture_on_commit_callbacks
):
    assert_refused(
        request(service, school, **{field: value}),
        field=field,
        capture=django_capture_on_commit_callbacks,
    )


def test_a_second_live_subscription_to_the_same_service_is_refused(
    service, school, django_capture_on_commit_callbacks
):
    subscription_create(**request(service, school))

    assert_refused(
        request(service, school, plan=service.plans.get(code="premium")),
        field="service",
        code="already_subscribed",
        capture=django_capture_on_commit_callbacks,
    )


@pytest.mark.parametrize(
    "status",
    [Service.Status.PENDING_REVIEW, Service.Status.UNLISTED, Service.Status.SUSPENDED],
)
def test_a_service_not_listed_is_refused(school, status, django_capture_on_commit_callbacks):
    service = listed_service(status=status)
    assert_refused(
        request(service, school), field="service", capture=django_capture_on_commit_callbacks
    )


def test_a_disabled_school_is_refused(service, django_capture_on_commit_callbacks):
    school = OrganizationFactory(is_active=False)
    assert_refused(
        request(service, school), field="organization", capture=django_capture_on_commit_callbacks
    )


@pytest.mark.parametrize(
    "state", [Tenant.State.DEACTIVATING, Tenant.State.PURGING, Tenant.State.NEEDS_ATTENTION]
)
def test_a_tenant_that_has_not_settled_is_not_subscribed_again(
    service, school, state, django_capture_on_commit_callbacks
):
    TenantFactory(organization=school, service=service, state=state)
    assert_refused(
        request(service, school), field="service", capture=django_capture_on_commit_callbacks
    )


def test_the_same_idempotency_key_returns_the_same_subscription_and_one_operation(
    service, school, django_capture_on_commit_callbacks
):
    values = request(service, school, idempotency_key="3f1c-double-click")

    with django_capture_on_commit_callbacks() as dispatched:
        first = subscription_create(**values)
        second = subscription_create(**values)

    assert second.pk == first.pk
    assert Subscription.objects.filter(organization=school).count() == 1
    assert Operation.objects.filter(tenant=first.tenant).count() == 1
    assert len(dispatched) == 1


def test_the_same_idempotency_key_for_another_plan_is_refused(
    service, school, django_capture_on_commit_callbacks
):
    subscription_create(**request(service, school, idempotency_key="k-1"))

    assert_refused(
        request(service, school, plan=service.plans.get(code="premium"), idempotency_key="k-1"),
        field=None,
        code="idempotency_conflict",
        capture=django_capture_on_commit_callbacks,
    )


def test_an_idempotency_key_is_per_school(service, school):
    other_school = OrganizationFactory(slug="kangwon_univ")
    first = subscription_create(**request(service, school, idempotency_key="same-key"))
    second = subscription_create(**request(service, other_school, idempotency_key="same-key"))

    assert first.pk != second.pk
    assert second.organization == other_school


def test_a_school_may_subscribe_again_once_the_old_subscription_ended(service, school):
    SubscriptionFactory(
        organization=school,
        service=service,
        plan=service.plans.get(code="basic"),
        status=Subscription.Status.ENDED,
        tenant__state=Tenant.State.DEACTIVATED,
        tenant__data_preserved=True,
    )

    subscription = subscription_create(**request(service, school))

    assert subscription.tenant.state == Tenant.State.REACTIVATING
