"""Staff tools in the admin call the lifecycle services, one row or many at once."""

import pytest
from django.contrib import messages
from django.urls import reverse

from tenants.models import Operation, Tenant
from tests.factories import StaffFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(StaffFactory())
    return client


def test_force_deactivate_queues_a_violation_deactivation_for_each_selected_tenant(staff_client):
    tenants = [SubscriptionFactory().tenant for _ in range(2)]
    response = staff_client.post(
        reverse("admin:tenants_tenant_changelist"),
        {"action": "force_deactivate_violation", "_selected_action": [t.pk for t in tenants]},
        follow=True,
    )
    assert response.status_code == 200
    for tenant in tenants:
        tenant.refresh_from_db()
        assert tenant.state == Tenant.State.DEACTIVATING
        operation = tenant.operations.get()
        assert operation.kind == Operation.Kind.DEACTIVATE
        assert operation.payload["reason"] == "violation"
        assert operation.requested_by is not None


def test_retry_now_requeues_a_failed_operation_and_reports_refusals(staff_client):
    tenant = SubscriptionFactory(tenant__state=Tenant.State.NEEDS_ATTENTION).tenant
    failed = Operation.objects.create(
        tenant=tenant, kind=Operation.Kind.ACTIVATE, state=Operation.State.FAILED
    )
    done = Operation.objects.create(
        tenant=tenant, kind=Operation.Kind.STATUS, state=Operation.State.SUCCEEDED
    )
    response = staff_client.post(
        reverse("admin:tenants_operation_changelist"),
        {"action": "retry_operations", "_selected_action": [failed.pk, done.pk]},
        follow=True,
    )
    failed.refresh_from_db()
    done.refresh_from_db()
    assert failed.state == Operation.State.QUEUED
    assert done.state == Operation.State.SUCCEEDED
    tenant.refresh_from_db()
    assert tenant.state == Tenant.State.ACTIVATING
    levels = [message.level for message in response.context["messages"]]
    assert messages.WARNING in levels  # the refusal for the finished operation is reported
    assert messages.SUCCESS in levels


def test_cancel_gives_up_a_queued_operation(staff_client):
    tenant = SubscriptionFactory().tenant
    queued = Operation.objects.create(tenant=tenant, kind=Operation.Kind.UPDATE)
    staff_client.post(
        reverse("admin:tenants_operation_changelist"),
        {"action": "cancel_operations", "_selected_action": [queued.pk]},
    )
    queued.refresh_from_db()
    assert queued.state == Operation.State.CANCELLED
    assert tenant.events.filter(kind="operation_cancelled").exists()
