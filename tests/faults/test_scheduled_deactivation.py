"""A scheduled deactivation against an HTTP stub vendor: nothing is sent before its moment,
then one deactivate call whose body carries that moment in whole seconds."""

import datetime

import pytest
import time_machine
from django.utils import timezone

from tenants.models import Operation, Tenant
from tenants.operations.apply import operation_execute
from tenants.operations.services import tenant_deactivate


@pytest.mark.django_db(transaction=True)
def test_nothing_is_sent_before_the_moment_then_the_body_carries_it(
    service, stub, held_dispatch, subscribe
):
    with held_dispatch.held():
        subscription = subscribe(service, slug="scheduled_school")
        activation = Operation.objects.get(subscription=subscription)
        assert operation_execute(operation_id=activation.pk) == "succeeded"
        tenant = Tenant.objects.get(pk=subscription.tenant_id)
        assert tenant.state == Tenant.State.ACTIVE

        moment = (timezone.now() + datetime.timedelta(hours=2)).replace(microsecond=250000)
        operation = tenant_deactivate(
            tenant=tenant, reason="admin_request", deactivate_at=moment, preserve_data=True
        )
        assert operation_execute(operation_id=operation.pk) != "succeeded"  # not due yet
        assert stub.requests_to("deactivate") == []
        assert Tenant.objects.get(pk=tenant.pk).state == Tenant.State.ACTIVE

        with time_machine.travel(moment + datetime.timedelta(seconds=1), tick=False):
            assert operation_execute(operation_id=operation.pk) == "succeeded"
    (request,) = stub.requests_to("deactivate")
    body = request.json()
    assert body["tenant_id"] == tenant.tenant_id
    assert body["deactivate_at"] == moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert body["preserve_data"] is True
    assert Tenant.objects.get(pk=tenant.pk).state == Tenant.State.DEACTIVATED
