"""Messages to the worker are lost: the broker is emptied, or the web process dies before sending.

The database row is the truth (the outbox); the reconciler sends again what is due.
"""

import pytest

from tenants.models import Operation, Tenant
from tenants.operations import reconcile
from tests.support.worker import wait_until

pytestmark = pytest.mark.worker

SCHOOLS = 100


def test_an_emptied_broker_loses_no_activation(service, stub, workers, broker, subscribe):
    """Broker emptied with 100 operations queued.

    Fault: 100 schools subscribe while no worker runs; then every message in the broker is
    lost (queue files deleted, or FLUSHDB on Redis) before a worker starts.
    Expected: the reconciler re-sends all 100 from the database; all 100 tenants active.
    Vendor effects: 100 activate requests, 100 distinct request ids, each activation applied once.
    """
    subscriptions = [subscribe(service, slug=f"school_{n:03d}") for n in range(SCHOOLS)]
    assert broker.queued() >= SCHOOLS
    broker.lose_everything()
    assert broker.queued() == 0

    workers.start(concurrency=4)
    assert reconcile.reconcile_operations()["dispatched"] == SCHOOLS

    tenant_ids = [s.tenant_id for s in subscriptions]
    wait_until(
        lambda: (
            Tenant.objects.filter(pk__in=tenant_ids, state=Tenant.State.ACTIVE).count() == SCHOOLS
        ),
        timeout=120,
        message="not every activation went through after the broker lost its messages",
    )
    operations = Operation.objects.filter(tenant_id__in=tenant_ids)
    assert operations.filter(state=Operation.State.SUCCEEDED).count() == SCHOOLS
    stats = stub.stats()
    assert stats["requests"]["activate"] == SCHOOLS
    assert stats["distinct_request_ids"]["activate"] == SCHOOLS
    assert stats["applied"] == {"activate": SCHOOLS}
    assert stub.request_ids("activate") == {str(o.request_id) for o in operations}


def test_a_web_process_dying_before_dispatch_loses_no_activation(
    service, stub, workers, held_dispatch, subscribe
):
    """The web process dies between commit and dispatch.

    Fault: the subscription and its activation are committed, but the process dies before the
    on-commit hand-over to the broker (the hand-over is dropped).
    Expected: the activation waits in the database; the reconciler delivers it, exactly once,
    and a second reconciler run sends nothing more.
    Vendor effects: 1 activate request, 1 distinct request id.
    """
    worker = workers.start()
    with held_dispatch.held() as dropped:
        subscription = subscribe(service, slug="died_after_commit")
    operation = Operation.objects.get(subscription=subscription)
    assert dropped == [operation.pk]

    worker.wait_ready()  # a live, idle worker has not heard of the operation
    operation.refresh_from_db()
    assert (operation.state, operation.attempts) == (Operation.State.QUEUED, 0)
    assert stub.requests_to("activate") == []

    assert reconcile.reconcile_operations()["dispatched"] == 1
    wait_until(
        lambda: Tenant.objects.get(pk=subscription.tenant_id).state == Tenant.State.ACTIVE,
        timeout=30,
        message="the reconciler never delivered the activation",
    )
    assert reconcile.reconcile_operations()["dispatched"] == 0

    operation.refresh_from_db()
    assert (operation.state, operation.attempts) == (Operation.State.SUCCEEDED, 1)
    assert len(stub.requests_to("activate")) == 1
    assert stub.request_ids("activate") == {str(operation.request_id)}
