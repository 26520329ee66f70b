"""Two reconcilers run at once (two beat instances, or a slow run overlapping the next)."""

import threading

import pytest
from django.db import connection

from tenants.models import LifecycleEvent, Operation, Tenant
from tenants.operations import reconcile as reconciler
from tests.support.stub_vendor import delayed
from tests.support.worker import wait_until

SCHOOLS = 10


def reconcile_together(count: int) -> list[dict]:
    """Run `count` reconcilers in threads released at the same instant."""
    start = threading.Barrier(count)
    results: list[dict] = []
    errors: list[BaseException] = []

    def reconcile() -> None:
        try:
            start.wait()
            results.append(reconciler.reconcile_operations())
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=reconcile) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


@pytest.mark.worker
def test_two_reconcilers_at_once_do_not_send_anything_twice(
    service, stub, workers, held_dispatch, subscribe
):
    """Two reconcilers at once.

    Fault: two reconcilers start at the same instant and both dispatch the same 10 due
    activations, so every operation reaches the workers twice (the vendor takes 0.3 s, so
    duplicates arrive while the first is in flight).
    Expected: each operation is claimed once; the duplicate finds it taken; 10 tenants active,
    1 success per operation, 1 attempt each.
    Vendor effects: 10 activate requests, 1 distinct request id per school.
    """
    stub.always("activate", delayed(0.3))
    with held_dispatch.held():
        subscriptions = [subscribe(service, slug=f"twice_{n}") for n in range(SCHOOLS)]
    workers.start(concurrency=4)

    results = reconcile_together(2)

    assert [r["dispatched"] for r in results] == [SCHOOLS, SCHOOLS]
    tenant_ids = [s.tenant_id for s in subscriptions]
    wait_until(
        lambda: (
            Tenant.objects.filter(pk__in=tenant_ids, state=Tenant.State.ACTIVE).count() == SCHOOLS
        ),
        timeout=60,
        message="not every activation went through",
    )
    operations = list(Operation.objects.filter(tenant_id__in=tenant_ids))
    assert {(o.state, o.attempts) for o in operations} == {(Operation.State.SUCCEEDED, 1)}
    assert (
        LifecycleEvent.objects.filter(tenant_id__in=tenant_ids, kind="activate_succeeded").count()
        == SCHOOLS
    )
    requests = stub.requests_to("activate")
    assert len(requests) == SCHOOLS
    assert {r.request_id for r in requests} == {str(o.request_id) for o in operations}


def test_two_reconcilers_reclaiming_the_same_stuck_operation_reclaim_it_once(
    service, stub, held_dispatch, subscribe, settings
):
    """Two reconcilers reclaim one stuck operation.

    Fault: an operation is left in flight by a dead worker; two reconcilers find it stuck at
    the same instant.
    Expected: exactly one of them reclaims it (the other's conditional update matches nothing).
    Vendor effects: none (nothing is sent while dispatch is held).
    """
    settings.OPERATION_STUCK_AFTER_SECONDS = 0
    with held_dispatch.held() as dropped:
        subscription = subscribe(service, slug="stuck_once")
        operation = Operation.objects.get(subscription=subscription)
        Operation.objects.filter(pk=operation.pk).update(
            state=Operation.State.IN_FLIGHT, attempts=1, started_at=operation.created_at
        )

        results = reconcile_together(2)

    assert sorted(r["reclaimed"] for r in results) == [0, 1]
    operation.refresh_from_db()
    assert operation.state == Operation.State.QUEUED
    assert dropped.count(operation.pk) >= 2  # first dispatch at commit, then the reclaim
    assert stub.requests_to("activate") == []
