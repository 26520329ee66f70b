"""Fan-out and delivery: events become Standard Webhooks messages, retried under one id.

Atomicity: `events.event_record` writes the event in the transaction of its change; after that
transaction commits, `fan_out_after_commit` queues `event_fan_out`. If that message is lost
(the process died), `deliveries_sweep` (every minute) fans out events still unpublished.
Deliveries are rows: a worker that dies mid-call leaves its delivery in flight, and the sweep
gives it back once its deadline has long passed, so nothing is lost and the receiver sees the
same `webhook-id` again (it drops duplicates by that id, as the standard asks).

Order: deliveries that share an ordering key (one tenant, one subscription without tenant, one
service) reach an endpoint in event order: a delivery waits while an earlier one with its key
is still open for that endpoint. Usage, statements and test events carry no key.

Bulkhead: at most WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT deliveries of one endpoint are in flight
at once, and each call is bounded by WEBHOOK_TOTAL_TIMEOUT; a slow endpoint so holds at most
that many worker slots for that long, and a failing one backs off on its own schedule, while
deliveries to every other endpoint keep flowing.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, timedelta

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from events.models import Event
from events.services import event_record
from mailer.services import mail_queue
from webhooks import conf, signing, transport
from webhooks.models import Delivery, DeliveryAttempt, Endpoint

logger = logging.getLogger(__name__)

S = Delivery.State
GIVE_UP_AFTER = timedelta(days=3, hours=1)
# An in-flight delivery older than this lost its worker: give it back.
STALE_SLACK = timedelta(seconds=30)
# A countdown longer than this is left to the sweep (the broker need not hold it for hours).
MAX_COUNTDOWN = 60
# Deliveries one thread sends in a row for an endpoint before it leaves the rest to tasks.
CHAIN_LIMIT = 100
_MINUTE = timedelta(minutes=1)


FAN_OUT_BATCH = 200


def fan_out_after_commit(event_ids: list[int]) -> None:
    """Called by the event log after the recording transaction committed."""
    for start in range(0, len(event_ids), FAN_OUT_BATCH):
        batch = event_ids[start : start + FAN_OUT_BATCH]
        try:
            # By name: tasks import this module, never the other way round.
            current_app.tasks["webhooks.fan_out"].delay(batch)
        except Exception:  # the sweep fans them out later; the change itself is saved
            logger.exception("could not queue the fan-out of events %s…", batch[:3])


def ordering_key(event: Event) -> str:
    if event.tenant_id:
        return f"tenant:{event.tenant_id}"
    if event.subscription_id:
        return f"subscription:{event.subscription_id}"
    if event.type.startswith(("service.", "incident.")) and event.service_id:
        return f"service:{event.service_id}"
    return ""


def endpoints_for(event: Event):
    """The active endpoints whose owner may see ``event`` and that asked for its type."""
    may_see = Q(owner_kind=Endpoint.Owner.STAFF)
    if event.organization_id:
        may_see |= Q(owner_kind=Endpoint.Owner.ORGANIZATION, organization_id=event.organization_id)
    if event.vendor_id:
        may_see |= Q(owner_kind=Endpoint.Owner.VENDOR, vendor_id=event.vendor_id)
    return [e for e in Endpoint.objects.filter(may_see, is_active=True) if e.wants(event.type)]


def _enqueue(delivery_ids, *, countdown: float = 0, manual: bool = False) -> None:
    ids = list(delivery_ids)

    def send():
        for delivery_id in ids:
            current_app.tasks["webhooks.deliver"].apply_async(
                (delivery_id,), {"manual": manual}, countdown=countdown or None
            )

    transaction.on_commit(send)


def event_fan_out(*, event_id: int) -> list[int]:
    """Create one delivery per interested endpoint and queue them; idempotent."""
    with transaction.atomic():
        event = (
            Event.objects.select_for_update(skip_locked=True)
            .filter(pk=event_id, published_at__isnull=True)
            .first()
        )
        if event is None:
            return []
        key = ordering_key(event)
        Delivery.objects.bulk_create(
            [
                Delivery(
                    endpoint=endpoint,
                    event=event,
                    message_id=Delivery.new_message_id(),
                    ordering_key=key,
                )
                for endpoint in endpoints_for(event)
            ],
            ignore_conflicts=True,
        )
        Event.objects.filter(pk=event.pk).update(published_at=timezone.now())
        ids = list(
            Delivery.objects.filter(event=event, state=S.PENDING).values_list("pk", flat=True)
        )
        _enqueue(ids)
    return ids


def message_body(event: Event) -> bytes:
    """The Standard Webhooks payload: `type`, `timestamp` and `data` (the same on every retry)."""
    data = {
        "event_id": event.pk,
        "schema_version": event.schema_version,
        "actor": {"kind": event.actor_kind, "label": event.actor_label},
        **event.payload,
    }
    body = {
        "type": event.type,
        "timestamp": event.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": data,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def _claim(delivery_id: int, *, manual: bool, now) -> Delivery | str:
    with transaction.atomic():
        endpoint_id = (
            Delivery.objects.filter(pk=delivery_id).values_list("endpoint_id", flat=True).first()
        )
        if endpoint_id is None:
            return "gone"
        endpoint = Endpoint.objects.select_for_update().get(pk=endpoint_id)
        delivery = Delivery.objects.select_for_update().select_related("event").get(pk=delivery_id)
        if delivery.state != S.PENDING or (not manual and delivery.next_attempt_at > now):
            return "not-due"
        if not endpoint.is_active and not manual:
            return "endpoint-disabled"
        if delivery.ordering_key and not manual:
            earlier = (
                Delivery.objects.filter(
                    endpoint=endpoint,
                    ordering_key=delivery.ordering_key,
                    event_id__lt=delivery.event_id,
                    state__in=[S.PENDING, S.IN_FLIGHT],
                )
                .order_by("event_id")
                .first()
            )
            if earlier is not None:
                # The earlier one's success queues this one; the sweep is the safety net.
                delivery.next_attempt_at = max(earlier.next_attempt_at, now) + timedelta(seconds=1)
                delivery.save(update_fields=["next_attempt_at", "updated_at"])
                return "waiting-for-earlier"
        stale = now - timedelta(seconds=conf.total_timeout()) - STALE_SLACK
        in_flight = Delivery.objects.filter(
            endpoint=endpoint, state=S.IN_FLIGHT, claimed_at__gt=stale
        ).count()
        if in_flight >= conf.max_in_flight_per_endpoint():
            # Left pending and due: the delivery of this endpoint that finishes next takes it
            # on (_hand_slot_on, under the same endpoint lock); the sweep is the net.
            return "endpoint-busy"
        delivery.state = S.IN_FLIGHT
        delivery.claimed_at = now
        delivery.attempts += 1
        delivery.save(update_fields=["state", "claimed_at", "attempts", "updated_at"])
        delivery.endpoint = endpoint
        return delivery


def delivery_send(*, delivery_id: int, manual: bool = False) -> str:
    """Make one attempt of a delivery that is due, then keep its endpoint slot busy.

    When the attempt frees the slot and deliveries of the same endpoint wait (they found it
    busy), this thread goes on with the oldest (up to CHAIN_LIMIT in a row, over the same
    kept-alive connection) and queues tasks for any other free slots. A hand-off cannot be
    lost this way: the waiting ones are looked for under the endpoint lock that their busy
    claims took. Returns the first attempt's outcome, for the task log.
    """
    outcome, following = _send_one(delivery_id, manual=manual)
    for _ in range(CHAIN_LIMIT):
        if not following:
            break
        _outcome, following = _send_one(following, manual=False)
    return outcome


def _send_one(delivery_id: int, *, manual: bool) -> tuple[str, int | None]:
    claimed = _claim(delivery_id, manual=manual, now=timezone.now())
    if isinstance(claimed, str):
        return claimed, None
    endpoint = claimed.endpoint
    body = message_body(claimed.event)
    headers = signing.headers(
        secrets_=endpoint.signing_secrets(),
        message_id=claimed.message_id,
        timestamp=int(time.time()),
        body=body,
    )
    started_at = timezone.now()
    result = transport.post(endpoint.url, headers=headers, body=body)
    return _apply(claimed, headers, body, result, manual=manual, started_at=started_at)


def _apply(delivery, headers, body, result, *, manual: bool, started_at) -> tuple[str, int | None]:
    """Record the attempt; returns its outcome and the endpoint's next waiting delivery."""
    now = timezone.now()
    with transaction.atomic():
        endpoint = Endpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
        delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
        DeliveryAttempt.objects.create(
            delivery=delivery,
            number=delivery.attempts,
            manual=manual,
            started_at=started_at,
            request_headers=headers,  # signatures are not secret: they prove, not unlock
            request_body=body.decode(),
            status_code=result.status,
            response_body=result.content.decode(errors="replace")[:4000],
            latency_ms=result.latency_ms,
            error_kind=result.error_kind or "",
            error=(result.error or "")[:500],
        )
        if delivery.state != S.IN_FLIGHT:
            return "reclaimed-meanwhile", None
        if result.ok:
            delivery.state, delivery.finished_at, delivery.last_error = S.SUCCEEDED, now, ""
            delivery.save(update_fields=["state", "finished_at", "last_error", "updated_at"])
            # Written when it says something new (a streak ended, or a minute passed), not on
            # every delivery of a busy endpoint.
            stale = endpoint.last_success_at is None or now - endpoint.last_success_at > _MINUTE
            if endpoint.consecutive_failures or stale:
                endpoint.consecutive_failures = 0
                endpoint.last_success_at = now
                endpoint.save(
                    update_fields=["consecutive_failures", "last_success_at", "updated_at"]
                )
            _queue_next_in_order(delivery)
            return "delivered", _hand_slot_on(endpoint, finished=delivery)
        delivery.last_error = (result.error or "")[:500]
        schedule = conf.retry_schedule()
        retry_index = delivery.attempts - 1
        if retry_index < len(schedule) and now - delivery.created_at < GIVE_UP_AFTER:
            delay = schedule[retry_index]
            delivery.state = S.PENDING
            delivery.next_attempt_at = now + timedelta(seconds=delay)
            if delay <= MAX_COUNTDOWN:
                _enqueue([delivery.pk], countdown=delay)
            outcome = "retry-scheduled"
        else:
            delivery.state, delivery.finished_at = S.FAILED, now
            outcome = "gave-up"
        delivery.save(
            update_fields=["state", "next_attempt_at", "finished_at", "last_error", "updated_at"]
        )
        endpoint.consecutive_failures += 1
        endpoint.save(update_fields=["consecutive_failures", "updated_at"])
        if endpoint.is_active and (
            endpoint.consecutive_failures >= conf.disable_after_failures()
            or (outcome == "gave-up" and not manual)  # "send again" never disables by itself
        ):
            endpoint_disable(
                endpoint=endpoint,
                reason=f"{endpoint.consecutive_failures} deliveries in a row failed; "
                f"the last one: {result.error or 'no answer'}",
            )
        return outcome, _hand_slot_on(endpoint, finished=delivery)


def _hand_slot_on(endpoint: Endpoint, *, finished: Delivery) -> int | None:
    """Slots of ``endpoint`` are free: the oldest waiting delivery for this thread, and a task
    for each other free slot (under the endpoint's row lock, as the busy claims took it).

    Queueing one that another task claims first is harmless (its claim finds it taken).
    """
    if not endpoint.is_active:
        return None
    stale = timezone.now() - timedelta(seconds=conf.total_timeout()) - STALE_SLACK
    in_flight = (
        Delivery.objects.filter(endpoint=endpoint, state=S.IN_FLIGHT, claimed_at__gt=stale)
        .exclude(pk=finished.pk)
        .count()
    )
    free = conf.max_in_flight_per_endpoint() - in_flight
    if free <= 0:
        return None
    waiting = list(
        Delivery.objects.filter(
            endpoint=endpoint, state=S.PENDING, next_attempt_at__lte=timezone.now()
        )
        .exclude(pk=finished.pk)
        .order_by("event_id", "pk")  # event order, so an ordered one is never taken too early
        .values_list("pk", flat=True)[:free]
    )
    if not waiting:
        return None
    _enqueue(waiting[1:])
    return waiting[0]


def _queue_next_in_order(delivery: Delivery) -> None:
    if not delivery.ordering_key:
        return
    following = (
        Delivery.objects.filter(
            endpoint_id=delivery.endpoint_id,
            ordering_key=delivery.ordering_key,
            event_id__gt=delivery.event_id,
            state=S.PENDING,
        )
        .order_by("event_id")
        .first()
    )
    if following is not None:
        Delivery.objects.filter(pk=following.pk).update(next_attempt_at=timezone.now())
        _enqueue([following.pk])


def owner_emails(endpoint: Endpoint) -> list[str]:
    if endpoint.created_by_id and endpoint.created_by.email:
        return [endpoint.created_by.email]
    if endpoint.organization_id:
        return [endpoint.organization.contact_email]
    if endpoint.vendor_id:
        return [endpoint.vendor.contact_email]
    return list(settings.MARKET_STAFF_ALERT_EMAILS)


def endpoint_disable(*, endpoint: Endpoint, reason: str, actor=None) -> Endpoint:
    """Stop delivering to an endpoint (kept, with its pending deliveries) and tell its owner."""
    with transaction.atomic():
        endpoint.is_active = False
        endpoint.disabled_at = timezone.now()
        endpoint.disabled_reason = reason[:500]
        endpoint.save(update_fields=["is_active", "disabled_at", "disabled_reason", "updated_at"])
        event_record(
            type="webhook_endpoint.disabled",
            actor=actor,
            webhook_endpoint=endpoint,
            organization=endpoint.organization_id,
            vendor=endpoint.vendor_id,
        )
        recipients = owner_emails(endpoint)
        if recipients:
            _mail_disabled(recipients, endpoint.url, endpoint.disabled_reason)
    return endpoint


def _mail_disabled(recipients: list[str], url: str, reason: str) -> None:
    """Queue the owner's notice in the outbox, in the transaction that disables the endpoint."""
    subject = "웹훅 엔드포인트 중지됨 / Webhook endpoint disabled"
    body = (
        f"{url}\n\n"
        "전송이 계속 실패하여 이 엔드포인트로의 전송을 중지했습니다. 엔드포인트를 고친 뒤 포털에서 "
        "다시 켜면 밀린 이벤트가 전송됩니다.\n\n"
        "Deliveries kept failing, so the market stopped sending to this endpoint. Fix it, then "
        "enable it again in the portal: the pending events are sent then.\n\n"
        f"{reason}\n"
    )
    mail_queue(kind="webhook_endpoint_disabled", to=recipients, subject=subject, body_text=body)


def deliveries_sweep(*, now=None, limit: int = 1000) -> dict[str, int]:
    """Every minute: fan out unpublished events, queue due deliveries, reclaim lost ones."""
    now = now or timezone.now()
    unpublished = list(
        Event.objects.filter(published_at__isnull=True, created_at__lte=now - timedelta(seconds=5))
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
    for event_id in unpublished:
        event_fan_out(event_id=event_id)
    stale = now - timedelta(seconds=conf.total_timeout()) - STALE_SLACK
    with transaction.atomic():
        reclaimed = Delivery.objects.filter(state=S.IN_FLIGHT, claimed_at__lt=stale).update(
            state=S.PENDING, next_attempt_at=now, updated_at=now
        )
        due = list(
            Delivery.objects.filter(
                state=S.PENDING, next_attempt_at__lte=now, endpoint__is_active=True
            )
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:limit]
        )
        _enqueue(due)
    return {"fanned_out": len(unpublished), "reclaimed": reclaimed, "queued": len(due)}
