"""Claim one operation: due, first of its tenant, within its service's and its vendor's caps.

Two caps bound the calls in flight: ``VENDOR_MAX_CONCURRENT_CALLS`` per service protects a
vendor from the market; ``VENDOR_MAX_CALLS_PER_VENDOR`` over all the services of one vendor is
the bulkhead that protects the other vendors from it (a hanging vendor with many services holds
at most that many worker slots; market/lib/bulkhead.py sets and checks it against the worker).

A claim moves the operation to in flight and its tenant to the state it shows while the
vendor works (`states.tenant_state_during`), in one transaction. An operation that finds its
service at the cap parks itself; the call that frees a slot hands it on (`hand_slot_on`).
"""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F
from django.utils import timezone

from market.lib.bulkhead import vendor_call_cap
from services.models import Service, Vendor
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


def max_calls_per_vendor() -> int:
    return vendor_call_cap()


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
        vendor_id = operation.tenant.service.vendor_id
        # A first look without the vendor's lock: while a vendor is at its cap (a thousand
        # activations at once), operations park here side by side instead of queueing for it.
        if _at_cap(service_id, vendor_id, taken=0):
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
                # The slot is taken last, so the vendor's lock is held only for the count and
                # the commit: two claims can never both take the last slot, and claims of one
                # vendor wait for each other as briefly as possible.
                _lock_vendor_slots(vendor_id)
                if _at_cap(service_id, vendor_id, taken=1):
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
    """Raised inside a claim's savepoint to undo it: the last slot went to another claim."""


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
    vendor_id = operation.tenant.service.vendor_id
    transaction.on_commit(lambda: hand_slot_on(service_id, vendor_id=vendor_id))
    return "service-busy"


def _in_flight_by_service(vendor_id: int) -> dict[int, int]:
    """Calls in flight per service of one vendor, in one query."""
    rows = (
        Operation.objects.filter(tenant__service__vendor_id=vendor_id, state=OS.IN_FLIGHT)
        .values_list("tenant__service_id")
        .annotate(n=Count("pk"))
    )
    return dict(rows)


def _at_cap(service_id: int, vendor_id: int, *, taken: int) -> bool:
    """Whether one more call (``taken``: 1 when this claim's own call is already counted) is over
    the service's or the vendor's cap."""
    by_service = _in_flight_by_service(vendor_id)
    return (
        by_service.get(service_id, 0) - taken >= max_calls_per_service()
        or sum(by_service.values()) - taken >= max_calls_per_vendor()
    )


def _lock_vendor_slots(vendor_id: int) -> None:
    """Serialise, per vendor, the last step of taking a call slot (count, then commit).

    A row lock on the vendor (PostgreSQL; SQLite serialises writers anyway).
    """
    Vendor.objects.select_for_update().filter(pk=vendor_id).values_list("pk").first()


def _vendor_of(service_id: int) -> int | None:
    return Service.objects.filter(pk=service_id).values_list("vendor_id", flat=True).first()


def hand_slot_on(service_id: int, *, vendor_id: int | None = None) -> None:
    """A slot of this service's vendor is free: send the operation that has waited longest.

    Called after a call's outcome is committed (and after an operation parked itself, in case
    the last call finished meanwhile). The longest-waiting operation of any of the vendor's
    services still under its own cap gets the slot, so the vendor's services share its slots
    in arrival order. The waiting operation is taken under its row lock and its mark cleared
    before it is sent, so two callers never send the same one; a thousand operations queued
    for a capped vendor go out as slots free up, without anyone polling.
    """
    vendor_id = vendor_id if vendor_id is not None else _vendor_of(service_id)
    if vendor_id is None:
        return
    by_service = _in_flight_by_service(vendor_id)
    if sum(by_service.values()) >= max_calls_per_vendor():
        return
    full = [s for s, n in by_service.items() if n >= max_calls_per_service()]
    waiting_for_slot = Operation.objects.filter(
        tenant__service__vendor_id=vendor_id,
        state__in=(OS.QUEUED, OS.POLLING),
        waiting_for_slot_since__isnull=False,
    ).exclude(tenant__service_id__in=full)
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
