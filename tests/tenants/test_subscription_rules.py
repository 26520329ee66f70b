"""The rules of subscriptions: bad input refused before anything is written; the calendar.

subscription_create names the field at fault and writes no row; notices, expiry, renewal and
purge follow the dates (the calendar jobs take today/now, so no clock is moved).
"""

import datetime

import pytest
from django.utils import timezone

from services.models import Service
from tenants.errors import LifecycleError
from tenants.models import LifecycleEvent, Operation, Subscription, Tenant
from tenants.operations import calendar
from tenants.operations.services import subscription_cancel, subscription_create, subscription_renew
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
    assert len([c for c in dispatched if "_notify_after_commit" not in c.__qualname__]) == 1


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
    assert len([c for c in dispatched if "_notify_after_commit" not in c.__qualname__]) == 1


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


# --- the calendar: notices, expiry, renewal, purge -----------------------------------------------


def live_subscription(service, school, *, days_left: int = 30) -> Subscription:
    """A live subscription whose tenant the vendor has activated."""
    subscription = subscription_create(
        **request(service, school, ends_on=TODAY() + datetime.timedelta(days=days_left))
    )
    Tenant.objects.filter(pk=subscription.tenant_id).update(state=Tenant.State.ACTIVE)
    Operation.objects.filter(tenant=subscription.tenant_id).update(
        state=Operation.State.SUCCEEDED, attempts=1
    )
    subscription.refresh_from_db()
    return subscription


def test_the_expiry_notice_goes_out_once_n_days_before_the_end(service, school, mailoutbox):
    subscription = live_subscription(service, school)
    notice_day = subscription.ends_on - datetime.timedelta(days=7)

    assert calendar.send_expiry_notices(today=notice_day - datetime.timedelta(days=1)) == 0
    assert calendar.send_expiry_notices(today=notice_day) == 1
    assert calendar.send_expiry_notices(today=notice_day) == 0
    assert calendar.send_expiry_notices(today=notice_day + datetime.timedelta(days=1)) == 0

    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [school.contact_email]


def test_renewing_a_live_subscription_extends_it_without_calling_the_vendor(service, school):
    subscription = live_subscription(service, school)
    calendar.send_expiry_notices(today=subscription.ends_on - datetime.timedelta(days=7))
    operations = Operation.objects.count()
    new_end = subscription.ends_on + datetime.timedelta(days=365)

    renewed = subscription_renew(subscription=subscription, ends_on=new_end)

    assert renewed.pk == subscription.pk
    assert renewed.ends_on == new_end
    assert renewed.expiry_notice_sent_at is None, "the next period gets its own notice"
    assert Operation.objects.count() == operations


def test_a_renewal_must_move_the_end_date_forward(service, school):
    subscription = live_subscription(service, school)
    before = row_counts()

    with pytest.raises(LifecycleError) as raised:
        subscription_renew(subscription=subscription, ends_on=subscription.ends_on)

    assert raised.value.field == "ends_on"
    assert row_counts() == before


def test_on_the_end_date_the_subscription_ends_and_a_deactivation_keeping_data_is_queued(
    service, school
):
    subscription = live_subscription(service, school)

    assert calendar.expire_subscriptions(today=subscription.ends_on - datetime.timedelta(1)) == 0
    assert calendar.expire_subscriptions(today=subscription.ends_on) == 1
    assert calendar.expire_subscriptions(today=subscription.ends_on) == 0

    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ENDED
    assert subscription.tenant.state == Tenant.State.DEACTIVATING
    deactivation = Operation.objects.get(tenant=subscription.tenant, kind=Operation.Kind.DEACTIVATE)
    assert deactivation.payload["reason"] == "subscription_expired"
    assert deactivation.payload["preserve_data"] is True


def ended_with_data_kept(service, school, *, deadline_in_days: int) -> Subscription:
    subscription = live_subscription(service, school)
    calendar.expire_subscriptions(today=subscription.ends_on)
    Tenant.objects.filter(pk=subscription.tenant_id).update(
        state=Tenant.State.DEACTIVATED,
        data_preserved=True,
        reactivation_deadline=timezone.now() + datetime.timedelta(days=deadline_in_days),
    )
    Operation.objects.filter(tenant=subscription.tenant_id).update(state=Operation.State.SUCCEEDED)
    subscription.refresh_from_db()
    return subscription


def test_renewing_an_ended_subscription_reactivates_the_same_tenant(service, school):
    subscription = ended_with_data_kept(service, school, deadline_in_days=30)

    renewed = subscription_renew(
        subscription=subscription, ends_on=TODAY() + datetime.timedelta(days=365)
    )

    assert renewed.pk != subscription.pk
    assert renewed.tenant_id == subscription.tenant_id
    assert renewed.tenant.state == Tenant.State.REACTIVATING
    assert Operation.objects.filter(
        subscription=renewed, kind=Operation.Kind.ACTIVATE, state=Operation.State.QUEUED
    ).exists()


def test_renewing_after_the_data_deadline_is_refused(service, school):
    subscription = ended_with_data_kept(service, school, deadline_in_days=-1)
    before = row_counts()

    with pytest.raises(LifecycleError):
        subscription_renew(
            subscription=subscription, ends_on=TODAY() + datetime.timedelta(days=365)
        )

    assert row_counts() == before


def test_past_the_deadline_a_tenant_is_purged_through_tenant_delete_when_declared(school):
    service = listed_service()
    service.current_manifest.data["endpoints"]["tenant_delete"] = "/mt/tenant/{tenant_id}/delete"
    service.current_manifest.save()
    subscription = ended_with_data_kept(service, school, deadline_in_days=10)

    assert calendar.purge_past_deadline(now=timezone.now()) == 0
    assert calendar.purge_past_deadline(now=timezone.now() + datetime.timedelta(days=11)) == 1

    tenant = Tenant.objects.get(pk=subscription.tenant_id)
    assert tenant.state == Tenant.State.PURGING
    purge = Operation.objects.get(tenant=tenant, kind=Operation.Kind.DELETE)
    assert purge.payload == {"reason": "retention_expired"}


def test_past_the_deadline_a_tenant_without_tenant_delete_is_marked_purged(service, school):
    subscription = ended_with_data_kept(service, school, deadline_in_days=10)

    assert calendar.purge_past_deadline(now=timezone.now() + datetime.timedelta(days=11)) == 1

    tenant = Tenant.objects.get(pk=subscription.tenant_id)
    assert tenant.state == Tenant.State.PURGED
    assert tenant.purged_at is not None
    assert not Operation.objects.filter(tenant=tenant, kind=Operation.Kind.DELETE).exists()


def test_a_tenant_with_a_live_subscription_again_is_never_purged(service, school):
    subscription = ended_with_data_kept(service, school, deadline_in_days=10)
    subscription_renew(subscription=subscription, ends_on=TODAY() + datetime.timedelta(days=365))
    Tenant.objects.filter(pk=subscription.tenant_id).update(state=Tenant.State.DEACTIVATED)

    assert calendar.purge_past_deadline(now=timezone.now() + datetime.timedelta(days=11)) == 0


def test_cancelling_before_the_vendor_was_called_cancels_the_activation(service, school):
    subscription = subscription_create(**request(service, school))

    subscription_cancel(subscription=subscription)

    activation = Operation.objects.get(tenant=subscription.tenant, kind=Operation.Kind.ACTIVATE)
    assert activation.state == Operation.State.CANCELLED
    assert Tenant.objects.get(pk=subscription.tenant_id).state == Tenant.State.DEACTIVATED
    assert not Operation.objects.filter(
        tenant=subscription.tenant, kind=Operation.Kind.DEACTIVATE
    ).exists()


def test_a_school_whose_data_was_not_kept_may_subscribe_again(service, school):
    subscription = live_subscription(service, school)
    calendar.expire_subscriptions(today=subscription.ends_on)
    Tenant.objects.filter(pk=subscription.tenant_id).update(
        state=Tenant.State.DEACTIVATED, data_preserved=False, reactivation_deadline=None
    )

    again = subscription_create(**request(service, school))

    assert again.tenant.state == Tenant.State.REQUESTED
