"""Claim one operation: due, first of its tenant, and within its service's cap of calls at once.

A claim moves the operation to in flight and its tenant to the state it shows while the
vendor works (`states.tenant_state_during`), in one transaction. An operation that finds its
service at the cap parks itself; the call that frees a slot hands it on (`hand_slot_on`).
"""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from services.models import Service
from tenants import states
from tenants.models import Operation
from tenants.operations.dispatch import dispatch_after_commit
from tenants.operations.states import operations_move, tenant_state_during

OS = Operation.State

# An operation waiting for a slot is sent by the call that frees one; should that hand-off be
# lost (a worker killed mid-apply), the reconciler sends it again after this long.
SLOT_WAIT_FALLBACK = timedelta(seconds=60)


def max_calls_per_service() -> int:
    return settings.VENDOR_MAX_CONCURRENT_CALLS


def operation_claim(operation_id: int) -> Operation | str:
    now = timezone.now()
    with transaction.atomic():
        operation = (
            # of=: lock the operation and its tenant only. A plain FOR UPDATE would lock the
            # joined service row too and make every claim of a service wait for the others.
            Operation.objects.select_for_update(of=("self", "tenant"))
            .select_related("tenant__service", "tenant__organization")
            .filter(pk=operation_id)
            .first()
        )
        if operation is None:
            return "missing"
        if operation.state not in (OS.QUEUED, OS.POLLING):
            return "not-open"
        if operation.next_attempt_at > now:
            return "not-due"
        earlier_open = Operation.objects.filter(
            tenant_id=operation.tenant_id, state__in=Operation.OPEN_STATES, pk__lt=operation.pk
        )
        if earlier_open.exists():
            return "waiting-for-earlier"  # dispatched again when the earlier one finishes
        service_id = operation.tenant.service_id
        # A first look without the service's lock: while a vendor is at its cap (a thousand
        # activations at once), operations park here side by side instead of queueing for it.
        if _calls_in_flight(service_id) >= max_calls_per_service():
            return _wait_for_slot(operation, service_id, now)
        was_polling = operation.state == OS.POLLING
        try:
            with transaction.atomic():
                operations_move(
                    Operation.objects.filter(pk=operation.pk),
                    OS.IN_FLIGHT,
                    attempts=F("attempts") + 1,
                    started_at=now,
                    waiting_for_slot_since=None,
                    updated_at=now,
                )
                tenant = operation.tenant
                target = tenant_state_during(operation.kind, tenant.state)
                if target:
                    states.move(tenant, target)
                    tenant.save(
                        update_fields=[
                            "state",
                            "state_changed_at",
                            "attention_reason",
                            "updated_at",
                        ]
                    )
                # The slot is taken last, so the service's lock is held only for the count and
                # the commit: two claims can never both take the last slot, and claims of one
                # service wait for each other as briefly as possible.
                _lock_service_slots(service_id)
                if _calls_in_flight(service_id) > max_calls_per_service():
                    raise _ServiceAtCap
        except IntegrityError:
            return "tenant-busy"  # another operation of this tenant is in flight
        except _ServiceAtCap:
            return _wait_for_slot(operation, service_id, now)
        # What the update wrote (the row is locked, so attempts + 1 is exact).
        operation.state = OS.IN_FLIGHT
        operation.attempts += 1
        operation.started_at = now
        operation.waiting_for_slot_since = None
        operation.polling = was_polling
    return operation


class _ServiceAtCap(Exception):
    """Raised inside a claim's savepoint to undo it: the service's last slot went to another."""


def _wait_for_slot(operation: Operation, service_id: int, now) -> str:
    """Park the operation until a call of its service finishes and hands it a slot.

    The next call of this service to finish sends the operation that has waited longest
    (``hand_slot_on``); the far next attempt is only the reconciler's safety net.
    """
    Operation.objects.filter(pk=operation.pk).update(
        waiting_for_slot_since=operation.waiting_for_slot_since or now,
        next_attempt_at=now + SLOT_WAIT_FALLBACK,
        updated_at=now,
    )
    # Parked first, looked again after: a call that finished meanwhile either saw this
    # operation waiting or left a free slot that this look finds (no lost wake-up).
    transaction.on_commit(lambda: _hand_slot_if_free(service_id))
    return "service-busy"


def _calls_in_flight(service_id: int) -> int:
    return Operation.objects.filter(tenant__service_id=service_id, state=OS.IN_FLIGHT).count()


def _lock_service_slots(service_id: int) -> None:
    """Serialise, per service, the last step of taking a call slot (count, then commit).

    A row lock on the service (PostgreSQL; SQLite serialises writers anyway).
    """
    Service.objects.select_for_update().filter(pk=service_id).first()


def _hand_slot_if_free(service_id: int) -> None:
    if _calls_in_flight(service_id) < max_calls_per_service():
        hand_slot_on(service_id)


def hand_slot_on(service_id: int) -> None:
    """A slot of this service is free: send the operation that has waited longest for one.

    Called after a call's outcome is committed (and after an operation parked itself, in case
    the last call finished meanwhile). The waiting operation is taken under its row lock and
    its mark cleared before it is sent, so two callers never send the same one; a thousand
    operations queued for a capped vendor go out as slots free up, without anyone polling.
    """
    waiting_for_slot = Operation.objects.filter(
        tenant__service_id=service_id,
        state__in=(OS.QUEUED, OS.POLLING),
        waiting_for_slot_since__isnull=False,
    )
    if not waiting_for_slot.exists():
        return
    with transaction.atomic():
        waiting = (
            waiting_for_slot.select_for_update(skip_locked=True, of=("self",))
            .order_by("waiting_for_slot_since", "pk")
            .first()
        )
        if waiting is None:
            return
        waiting.waiting_for_slot_since = None
        waiting.next_attempt_at = timezone.now()
        waiting.save(update_fields=["waiting_for_slot_since", "next_attempt_at", "updated_at"])
        dispatch_after_commit(waiting)
