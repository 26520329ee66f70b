"""A worker dies with SIGKILL while the vendor is still working on its call."""

import pytest

from tenants.models import Operation, Tenant
from tenants.operations import reconcile
from tests.support.stub_vendor import hang
from tests.support.worker import wait_until

pytestmark = pytest.mark.worker


def test_a_worker_killed_mid_activation_is_replaced_and_the_vendor_acts_once(
    service, stub, workers, subscribe, settings
):
    """Worker SIGKILLed mid-activation.

    Fault: the worker is SIGKILLed while the vendor is still answering the first activate
    (the vendor takes 3 s, then acts; nobody hears its answer).
    Expected: the reconciler reclaims the operation stuck in flight, a new worker repeats the
    call with the same request id, the vendor replays its first answer; tenant active.
    Vendor effects: 2 activate requests, 1 distinct request id, 1 activation applied.
    """
    settings.OPERATION_STUCK_AFTER_SECONDS = 1
    stub.script("activate", hang(3, then_normal=True))
    first = workers.start()

    subscription = subscribe(service, slug="killed_mid_call")
    operation = Operation.objects.get(subscription=subscription)
    stub.wait_for_requests("activate", 1)
    assert Operation.objects.get(pk=operation.pk).state == Operation.State.IN_FLIGHT
    first.kill()

    workers.start()
    wait_until(
        lambda: reconcile.reconcile_operations()["reclaimed"] == 1,
        timeout=30,
        message="the reconciler never reclaimed the operation of the killed worker",
    )
    wait_until(
        lambda: Tenant.objects.get(pk=subscription.tenant_id).state == Tenant.State.ACTIVE,
        timeout=30,
        message="the new worker never finished the activation",
    )

    operation.refresh_from_db()
    assert operation.state == Operation.State.SUCCEEDED
    assert operation.attempts == 2
    tenant = Tenant.objects.get(pk=subscription.tenant_id)
    assert tenant.temp_password == stub.temp_password
    stats = stub.stats()
    assert stats["requests"]["activate"] == 2
    assert stub.request_ids("activate") == {str(operation.request_id)}
    assert stats["applied"] == {"activate": 1}  # the vendor acted once
    # The repeat is a replay when the killed worker's request finished at the vendor first; when
    # the vendor dropped that request with its closed connection, the repeat is the one applied.
    assert stats["replays"].get("activate", 0) in (0, 1)
