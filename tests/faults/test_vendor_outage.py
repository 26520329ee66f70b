"""A vendor that is down for hours, or answers nothing useful for three days.

The market's decisions are driven in-process with the clock moved across the retry schedule
(time_machine); the last step goes through a real worker with the real clock.
"""

import datetime
from collections import Counter

import pytest
import time_machine
from django.utils import timezone

from tenants.models import Operation, Tenant
from tenants.operations import reconcile, retry, services
from tenants.operations.apply import operation_execute
from tests.support.stub_vendor import error
from tests.support.worker import wait_until

pytestmark = pytest.mark.worker

OUTAGE = datetime.timedelta(hours=6)


def attempt_due_operations(operation_ids, traveller, *, until) -> Counter:
    """Run each operation whenever it is due, moving the clock, until the next is after `until`."""
    results: Counter = Counter()
    while True:
        due = (
            Operation.objects.filter(pk__in=operation_ids, state=Operation.State.QUEUED)
            .order_by("next_attempt_at")
            .first()
        )
        if due is None or due.next_attempt_at >= until:
            return results
        traveller.move_to(due.next_attempt_at)
        results[operation_execute(operation_id=due.pk)] += 1


def test_a_six_hour_outage_ends_in_one_activation_soon_after_recovery(
    service, stub, workers, held_dispatch, subscribe
):
    """Vendor down for 6 hours.

    Fault: the vendor refuses connections for 6 hours while two schools subscribe.
    Expected: every attempt in the outage is retried (never final, tenants stay activating);
    after recovery school A activates at its next scheduled attempt, within one retry interval;
    school B is attempted at once when the service is woken, and a real worker activates it.
    Vendor effects: 0 requests during the outage; then 2 activate requests, 1 distinct
    request id per school.
    """
    workers.start()
    with held_dispatch.held(), time_machine.travel(timezone.now(), tick=True) as traveller:
        school_a = subscribe(service, slug="outage_a")
        school_b = subscribe(service, slug="outage_b")
        operations = [Operation.objects.get(subscription=s) for s in (school_a, school_b)]
        ids = [o.pk for o in operations]
        stub.down()
        outage_ends = timezone.now() + OUTAGE

        results = attempt_due_operations(ids, traveller, until=outage_ends)

        assert set(results) == {"retry-scheduled"}
        assert results["retry-scheduled"] > 2 * 30  # ~40 attempts each at <= 10 min apart
        for operation in Operation.objects.filter(pk__in=ids):
            assert operation.state == Operation.State.QUEUED
            assert operation.last_error_kind == "connection"
            assert operation.tenant.state == Tenant.State.ACTIVATING
        assert stub.requests_to("activate") == []

        traveller.move_to(outage_ends)
        stub.up()
        recovered = timezone.now()
        first = Operation.objects.get(pk=ids[0])
        assert first.next_attempt_at - recovered <= retry.LATE_DELAY * (1 + retry.JITTER)
        traveller.move_to(first.next_attempt_at)
        assert operation_execute(operation_id=first.pk) == "succeeded"

    # Back on the real clock: the health monitor wakes the service, a real worker delivers.
    assert services.operations_wake_for_service(service=service) == 1
    wait_until(
        lambda: Tenant.objects.get(pk=school_b.tenant_id).state == Tenant.State.ACTIVE,
        timeout=30,
        message="the woken operation was not delivered by the worker",
    )
    assert Tenant.objects.get(pk=school_a.tenant_id).state == Tenant.State.ACTIVE
    requests = stub.requests_to("activate")
    assert len(requests) == 2
    assert {r.request_id for r in requests} == {str(o.request_id) for o in operations}


def test_72_hours_without_a_clear_answer_needs_attention_and_alerts_staff_once(
    service, stub, workers, held_dispatch, subscribe, sent_mail_dir, mailoutbox
):
    """72 hours of failure.

    Fault: the vendor answers every activate with HTTP 500 for 72 hours.
    Expected: retried on schedule (never final) until 72 h have passed; the last attempt, made
    by a real worker, marks the operation and tenant needs_attention and e-mails staff once;
    later reconciler runs send nothing more.
    Vendor effects: about 110 activate requests, all with 1 distinct request id.
    """
    stub.always("activate", error(500))
    worker = workers.start()
    with held_dispatch.held(), time_machine.travel(timezone.now(), tick=True) as traveller:
        subscription = subscribe(service, slug="three_bad_days")
        operation = Operation.objects.get(subscription=subscription)
        results = Counter([operation_execute(operation_id=operation.pk)])
        operation.refresh_from_db()
        gives_up = operation.first_failure_at + retry.GIVE_UP_AFTER

        results += attempt_due_operations([operation.pk], traveller, until=gives_up)

        assert set(results) == {"retry-scheduled"}
        operation.refresh_from_db()
        assert operation.state == Operation.State.QUEUED
        assert operation.tenant.state == Tenant.State.ACTIVATING
    assert mailoutbox == []

    # Hand the last attempt to the worker on the real clock: shift the operation's times back
    # by the distance travelled, so it is due now and 72 hours have passed since the first
    # failure.
    travelled = operation.next_attempt_at - timezone.now()
    Operation.objects.filter(pk=operation.pk).update(
        next_attempt_at=operation.next_attempt_at - travelled,
        first_failure_at=operation.first_failure_at - travelled,
    )
    assert reconcile.reconcile_operations()["dispatched"] == 1
    wait_until(
        lambda: Operation.objects.get(pk=operation.pk).state == Operation.State.NEEDS_ATTENTION,
        timeout=30,
        message="the worker did not give up after 72 hours",
    )
    # The file backend creates the file before writing it: wait for the content.
    mails = wait_until(
        lambda: [p for p in sent_mail_dir.glob("*.log") if "ops@market.local" in p.read_text()],
        timeout=10,
        message="staff were not alerted",
    )
    assert reconcile.reconcile_operations()["dispatched"] == 0
    worker.wait_ready()  # anything still queued for the worker has run by now

    assert len(mails) == 1
    assert len(list(sent_mail_dir.glob("*.log"))) == 1
    tenant = Tenant.objects.get(pk=subscription.tenant_id)
    assert tenant.state == Tenant.State.NEEDS_ATTENTION
    assert "72" in tenant.attention_reason  # in the worker's language (Korean by default)
    assert "HTTP 500" in tenant.attention_reason
    operation.refresh_from_db()
    requests = stub.requests_to("activate")
    assert len(requests) == operation.attempts
    assert 90 <= operation.attempts <= 130
    assert stub.request_ids("activate") == {str(operation.request_id)}
