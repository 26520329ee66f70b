"""Events are written by the service functions, in the transaction of their change."""

import datetime

import pytest
from django.db import transaction
from django.utils import timezone, translation

from events.models import Event
from events.services import EventError, event_record
from monitoring import billing
from tenants.models import Operation, Subscription
from tenants.operations import dispatch, reconcile
from tenants.operations.apply import operation_execute
from tenants.operations.services import subscription_cancel, subscription_create
from tests.factories import OrganizationFactory, SchoolAdminFactory, SubscriptionFactory
from tests.support.stub_vendor import StubVendor, refuse, register_stub_service
from tests.support.vendors import TEST_CREDENTIALS

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    monkeypatch.setattr(dispatch, "send_to_worker", lambda *a, **k: None)
    monkeypatch.setattr(reconcile, "send_to_worker", lambda *a, **k: None)


@pytest.fixture
def stub():
    with StubVendor(api_key=TEST_CREDENTIALS.api_key) as vendor:
        yield vendor


@pytest.fixture
def service(stub):
    return register_stub_service(stub)


def _subscribe(service, *, by=None) -> Subscription:
    return subscription_create(
        organization=by.organization if by else OrganizationFactory(),
        service=service,
        plan=service.plans.get(code="basic"),
        ends_on=timezone.localdate() + datetime.timedelta(days=90),
        max_users=50,
        storage_limit_gb=5,
        admin_email="admin@school.example",
        admin_name="홍길동",
        created_by=by,
    )


def _types(**filters) -> list[str]:
    return list(Event.objects.filter(**filters).order_by("id").values_list("type", flat=True))


def test_registration_records_the_service(service):
    assert _types(service_id=service.pk) == ["service.registered", "service.listed"]
    event = Event.objects.get(type="service.registered")
    assert event.vendor_id == service.vendor_id
    assert event.payload["service"]["service_id"] == service.service_id


def test_a_subscription_lifecycle_is_in_the_log_with_its_actor(service):
    admin = SchoolAdminFactory()
    subscription = _subscribe(service, by=admin)
    tenant_events = {"tenant_id": subscription.tenant_id}
    assert _types(**tenant_events) == ["subscription.created", "tenant.activation_requested"]
    created = Event.objects.get(type="subscription.created")
    assert (created.actor_kind, created.actor_user_id) == ("user", admin.pk)
    assert created.organization_id == admin.organization_id
    assert created.vendor_id == service.vendor_id

    operation = Operation.objects.get(subscription=subscription)
    assert operation_execute(operation_id=operation.pk) == "succeeded"
    activated = Event.objects.get(type="tenant.activated")
    assert activated.payload["tenant"]["state"] == "active"
    assert activated.actor_kind == "system"

    subscription_cancel(subscription=subscription, cancelled_by=admin)
    assert _types(**tenant_events)[-1] == "subscription.cancelled"
    deactivation = Operation.objects.get(subscription=subscription, kind="deactivate")
    operation_execute(operation_id=deactivation.pk)
    assert _types(**tenant_events)[-1] == "tenant.deactivated"


def test_a_refused_activation_records_the_vendors_reason(service, stub):
    stub.script("activate", refuse(message="Plan basic is not sold on Jeju"))
    subscription = _subscribe(service)
    operation_execute(operation_id=Operation.objects.get(subscription=subscription).pk)
    failed = Event.objects.get(type="tenant.activation_failed")
    assert "Jeju" in failed.payload["data"]["reason"]


def test_a_change_rolled_back_leaves_no_event(service):
    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        _subscribe(service)
        assert Event.objects.filter(type="subscription.created").exists()
        raise Abort
    assert not Event.objects.filter(type="subscription.created").exists()


def test_issuing_a_statement_records_it():
    subscription = SubscriptionFactory(starts_on=datetime.date(2026, 3, 1))
    statement = billing.statement_generate(
        organization_id=subscription.organization_id, month=datetime.date(2026, 4, 1)
    )
    event = Event.objects.get(type="statement.issued")
    assert event.organization_id == subscription.organization_id
    assert event.payload["statement"] == {
        "id": statement.pk,
        "organization_id": statement.organization_id,
        "month": "2026-04",
        "currency": "KRW",
        "total": str(statement.total),
    }


def test_an_unknown_type_or_a_payload_off_its_schema_is_refused():
    subscription = SubscriptionFactory()
    with translation.override("en"), pytest.raises(EventError, match="known types: "):
        event_record(type="tenant.exploded", tenant=subscription.tenant)
    with pytest.raises(EventError, match="reactivation"):
        event_record(type="tenant.activation_requested", tenant=subscription.tenant, data={})
    assert not Event.objects.exists()


def test_unlisting_a_service_records_it(service):
    from services.services import service_unlist

    service_unlist(service=service)
    assert _types(service_id=service.pk)[-1] == "service.unlisted"
