"""What beat starts: the reconciler, the subscription calendar, and the status sync."""

import logging
import uuid
from concurrent.futures import ThreadPoolExecutor

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from market.models import MarketPolicy
from services.models import Service
from services.vendor_targets import client_for
from tenants import emails, executor, services
from tenants.dispatch import send_to_worker
from tenants.models import Operation, Subscription, Tenant

logger = logging.getLogger(__name__)
S = Tenant.State
STATUS_SYNC_THREADS = 16


def reconcile_operations(*, now=None, limit: int = 5000) -> dict[str, int]:
    """Re-dispatch operations that are due, and reclaim ones stuck in flight (a killed worker).

    The broker may have lost the message (flushed, restarted) or the web process may have died
    right after commit; the database row is the truth, so nothing queued is lost.
    """
    now = now or timezone.now()
    stuck = Operation.objects.filter(
        state=Operation.State.IN_FLIGHT, started_at__lt=now - executor.stuck_after()
    )
    reclaimed = 0
    for operation in stuck:
        # The same request id goes out again, so the vendor recognizes a repeat.
        reclaimed += Operation.objects.filter(
            pk=operation.pk, state=Operation.State.IN_FLIGHT, started_at=operation.started_at
        ).update(state=Operation.State.QUEUED, next_attempt_at=now, started_at=None)
    due = list(
        Operation.objects.filter(
            state__in=[Operation.State.QUEUED, Operation.State.POLLING], next_attempt_at__lte=now
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    for operation_id in due:
        send_to_worker(operation_id)
    return {"reclaimed": reclaimed, "dispatched": len(due)}


def operations_wake_for_service(*, service: Service | int) -> int:
    """The service (or service pk) is healthy again: attempt its waiting operations now."""
    now = timezone.now()
    waiting = Operation.objects.filter(
        tenant__service=service,
        state=Operation.State.QUEUED,
        attempts__gt=0,
        next_attempt_at__gt=now,
    )
    ids = list(waiting.values_list("pk", flat=True))
    Operation.objects.filter(pk__in=ids).update(next_attempt_at=now)
    for operation_id in ids:
        transaction.on_commit(lambda operation_id=operation_id: send_to_worker(operation_id))
    return len(ids)


def send_expiry_notices(*, today=None) -> int:
    """Warn schools N days before the end (policy), once per subscription even if run twice."""
    today = today or timezone.localdate()
    days = MarketPolicy.load().expiry_notice_days
    candidates = Subscription.objects.filter(
        status=Subscription.Status.ACTIVE,
        expiry_notice_sent_at__isnull=True,
        ends_on__gt=today,
        ends_on__lte=today + timezone.timedelta(days=days),
    ).select_related("organization", "service", "plan")
    sent = 0
    for subscription in candidates:
        # The mark and the outbox row commit together: the notice is queued exactly once, and
        # the mailer delivers it (with retries) whatever the mail server does meanwhile.
        with transaction.atomic():
            claimed = Subscription.objects.filter(
                pk=subscription.pk, expiry_notice_sent_at__isnull=True
            ).update(expiry_notice_sent_at=timezone.now())
            if claimed:
                emails.send_expiry_notice(subscription)
                sent += 1
    return sent


def expire_subscriptions(*, today=None) -> int:
    """On the end date, end each live subscription and deactivate its tenant, data kept."""
    today = today or timezone.localdate()
    ended = Subscription.objects.filter(status=Subscription.Status.ACTIVE, ends_on__lte=today)
    count = 0
    for subscription in ended:
        services.subscription_expire(subscription=subscription)
        count += 1
    return count


def purge_past_deadline(*, now=None) -> int:
    """Tenants whose data-retention deadline passed, with no live subscription, are purged."""
    now = now or timezone.now()
    due = Tenant.objects.filter(state=S.DEACTIVATED, reactivation_deadline__lt=now).exclude(
        subscriptions__status__in=Subscription.LIVE_STATUSES
    )
    count = 0
    for tenant in due.select_related("service"):
        services.tenant_purge(tenant=tenant)
        count += 1
    return count


def process_subscription_dates(*, today=None, now=None) -> dict[str, int]:
    return {
        "notices": send_expiry_notices(today=today),
        "expired": expire_subscriptions(today=today),
        "purged": purge_past_deadline(now=now),
    }


VENDOR_STATUS_FOR = {S.ACTIVE: "active", S.DEACTIVATED: "deactivated"}


def _drift_reason(tenant: Tenant, response) -> str:
    if response.status_code in (404, 410):
        return _("The vendor does not know this tenant (HTTP %(code)s).") % {
            "code": response.status_code
        }
    body = response.body or {}
    expected = VENDOR_STATUS_FOR.get(tenant.state)
    if expected and body.get("status") != expected:
        return _("The market says %(ours)s; the vendor says %(theirs)s.") % {
            "ours": expected,
            "theirs": body.get("status"),
        }
    if tenant.state == S.ACTIVE and tenant.plan_code and body.get("plan") != tenant.plan_code:
        return _("The market says plan %(ours)s; the vendor says %(theirs)s.") % {
            "ours": tenant.plan_code,
            "theirs": body.get("plan"),
        }
    return ""


def tenant_sync_status(*, tenant: Tenant) -> Tenant:
    """Ask the vendor for one tenant's status; flag drift, never overwrite the market's state."""
    client = client_for(tenant.service)
    try:
        response = client.status(tenant.tenant_id, request_id=str(uuid.uuid4()))
    finally:
        client.close()
    if not response.ok and response.status_code not in (404, 410):
        return tenant  # an unclear answer says nothing about drift
    reason = _drift_reason(tenant, response)
    fields = {
        "last_status_at": timezone.now(),
        "drifted": bool(reason),
        "drift_reason": reason[:500],
    }
    if response.ok:
        fields["last_status"] = response.body
    Tenant.objects.filter(pk=tenant.pk).update(**fields)
    if reason and not tenant.drifted:
        from tenants.events import record_event

        record_event(tenant=tenant, kind="drift_detected", message=reason)
    for name, value in fields.items():
        setattr(tenant, name, value)
    return tenant


def sync_tenant_statuses(*, batch_size: int = 500) -> int:
    """Hourly: the status of every settled tenant, concurrently, in batches."""
    settled = (
        Tenant.objects.filter(state__in=[S.ACTIVE, S.DEACTIVATED])
        .exclude(Q(operations__state__in=Operation.OPEN_STATES))
        .select_related("service__current_manifest")
        .order_by("pk")
    )
    synced = 0
    last_pk = 0
    while True:
        batch = list(settled.filter(pk__gt=last_pk)[:batch_size])
        if not batch:
            return synced
        last_pk = batch[-1].pk
        with ThreadPoolExecutor(max_workers=STATUS_SYNC_THREADS) as pool:
            for _tenant in pool.map(_sync_safely, batch):
                synced += 1


def _sync_safely(tenant: Tenant):
    try:
        return tenant_sync_status(tenant=tenant)
    except Exception:  # noqa: BLE001 - one tenant's failure must not stop the sweep
        logger.exception("status sync failed for tenant %s", tenant.pk)
        return tenant
    finally:
        from django.db import connection

        connection.close()
