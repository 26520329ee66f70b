"""Writes of the tenant lifecycle: every entry point (portal, API, admin, tasks) calls these.

Each command changes state and writes the operations it needs in one transaction (the outbox);
the operations are dispatched to a worker after commit and re-dispatched by the reconciler.
"""

import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from events.services import event_record
from market.models import MarketPolicy, User
from services.models import Plan, Service
from services.vendor_client.client import VendorResponse
from tenants import emails, states
from tenants.errors import LifecycleError
from tenants.events import record_event
from tenants.models import Operation, Organization, PlanChange, Subscription, Tenant, plan_terms
from tenants.operations import payloads
from tenants.operations.dispatch import dispatch_after_commit, dispatch_id_after_commit
from tenants.operations.states import operation_move, operations_move, tenant_state_during
from tenants.operations.subscription_input import (
    subscription_input_check,
    subscription_limits_check,
)

S = Tenant.State
# How far ahead staff may schedule a deactivation (a year and a day: any date of a yearly plan).
DEACTIVATION_MAX_AHEAD = datetime.timedelta(days=366)


def _queue_operation(
    *,
    tenant: Tenant,
    kind: str,
    payload: dict,
    subscription: Subscription | None = None,
    requested_by: User | None = None,
    not_before: datetime.datetime | None = None,
) -> Operation:
    operation = Operation.objects.create(
        tenant=tenant,
        subscription=subscription,
        kind=kind,
        payload=payload,
        requested_by=requested_by,
        next_attempt_at=not_before or timezone.now(),
    )
    dispatch_after_commit(operation)
    return operation


def subscription_create(
    *,
    organization: Organization,
    service: Service,
    plan: Plan,
    ends_on: datetime.date,
    max_users: int,
    storage_limit_gb: int,
    admin_email: str,
    admin_name: str,
    starts_on: datetime.date | None = None,
    created_by: User | None = None,
    idempotency_key: str = "",
    actor=None,
) -> Subscription:
    """Subscribe a school to a plan and queue the activation (a reactivation if data was kept).

    ``actor`` is whom the event log names (an API token, a Principal); ``created_by`` by default.
    """
    actor = created_by if actor is None else actor
    today = timezone.localdate()
    starts_on = starts_on or today
    if idempotency_key:
        earlier = Subscription.objects.filter(
            organization=organization, idempotency_key=idempotency_key
        ).first()
        if earlier is not None:
            if (earlier.service_id, earlier.plan_id) != (service.pk, plan.pk):
                raise LifecycleError(
                    _("This Idempotency-Key was used for a different subscription: use a new key."),
                    code="idempotency_conflict",
                )
            return earlier
    if not organization.is_active:
        raise LifecycleError(_("This school's account is disabled."), field="organization")
    subscription_input_check(
        service=service,
        plan=plan,
        starts_on=starts_on,
        ends_on=ends_on,
        max_users=max_users,
        storage_limit_gb=storage_limit_gb,
        today=today,
    )
    if Subscription.objects.filter(
        organization=organization, service=service, status__in=Subscription.LIVE_STATUSES
    ).exists():
        raise LifecycleError(
            _("%(school)s already subscribes to %(service)s: renew or change that subscription.")
            % {"school": organization.name, "service": service.name},
            field="service",
            code="already_subscribed",
        )
    policy = MarketPolicy.load()
    try:
        with transaction.atomic():
            tenant, created = Tenant.objects.select_for_update().get_or_create(
                organization=organization,
                service=service,
                defaults={"tenant_id": organization.slug, "state": S.REQUESTED},
            )
            if not created and tenant.state not in (S.DEACTIVATED, S.PURGED):
                raise LifecycleError(
                    _("The tenant is %(state)s; wait until it settles before subscribing again.")
                    % {"state": tenant.get_state_display()},
                    field="service",
                )
            reactivating = not created and tenant.state == S.DEACTIVATED and tenant.data_preserved
            states.move(tenant, S.REACTIVATING if reactivating else S.REQUESTED)
            tenant.isolation = payloads.choose_isolation(service, policy)
            tenant.save()
            subscription = Subscription.objects.create(
                organization=organization,
                service=service,
                plan=plan,
                tenant=tenant,
                starts_on=starts_on,
                ends_on=ends_on,
                max_users=max_users,
                storage_limit_gb=storage_limit_gb,
                admin_email=admin_email,
                admin_name=admin_name,
                created_by=created_by,
                idempotency_key=idempotency_key,
                **plan_terms(plan),
            )
            operation = _queue_operation(
                tenant=tenant,
                kind=Operation.Kind.ACTIVATE,
                payload=payloads.activation_payload(
                    subscription=subscription,
                    tenant=tenant,
                    isolation=tenant.isolation,
                    reactivation=reactivating,
                ),
                subscription=subscription,
                requested_by=created_by,
            )
            record_event(
                tenant=tenant,
                kind="subscription_created",
                message=_("Subscribed to the %(plan)s plan until %(end)s.")
                % {"plan": plan.name, "end": ends_on},
                actor=created_by,
                operation=operation,
                subscription=subscription,
            )
            event_record(type="subscription.created", actor=actor, subscription=subscription)
            event_record(type="tenant.activation_requested", actor=actor, tenant=tenant, data={"reactivation": reactivating})  # fmt: skip
    except IntegrityError:
        # Lost a race with an identical request (double click, retried POST).
        if idempotency_key:
            return subscription_create(
                organization=organization,
                service=service,
                plan=plan,
                ends_on=ends_on,
                max_users=max_users,
                storage_limit_gb=storage_limit_gb,
                admin_email=admin_email,
                admin_name=admin_name,
                starts_on=starts_on,
                created_by=created_by,
                idempotency_key=idempotency_key,
            )
        raise LifecycleError(
            _("%(school)s already subscribes to %(service)s.")
            % {"school": organization.name, "service": service.name},
            field="service",
            code="already_subscribed",
        ) from None
    return subscription


def subscription_renew(
    *,
    subscription: Subscription,
    ends_on: datetime.date,
    renewed_by: User | None = None,
    actor=None,
) -> Subscription:
    """Extend a live subscription (no vendor call), or start a new one after it ended."""
    today = timezone.localdate()
    subscription_input_check(
        service=subscription.service,
        plan=subscription.plan,
        starts_on=subscription.starts_on,
        ends_on=ends_on,
        max_users=subscription.max_users,
        storage_limit_gb=subscription.storage_limit_gb,
        today=today,
        renewing_from=max(subscription.ends_on, today),
        offer=False,
    )
    if subscription.is_live:
        with transaction.atomic():
            locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
            old_end = locked.ends_on
            locked.ends_on = ends_on
            locked.expiry_notice_sent_at = None
            locked.save(update_fields=["ends_on", "expiry_notice_sent_at", "updated_at"])
            record_event(
                tenant=locked.tenant,
                kind="subscription_renewed",
                message=_("Renewed: the end date moved from %(old)s to %(new)s.")
                % {"old": old_end, "new": ends_on},
                actor=renewed_by,
                subscription=locked,
            )
            event_record(type="subscription.renewed", actor=renewed_by if actor is None else actor, subscription=locked, data={"previous_ends_on": old_end.isoformat()})  # fmt: skip
        return locked
    tenant = subscription.tenant
    deadline = tenant.reactivation_deadline
    if tenant.state == S.DEACTIVATED and deadline and deadline < timezone.now():
        raise LifecycleError(
            _("The data was kept until %(date)s and that date has passed: subscribe anew.")
            % {"date": f"{timezone.localtime(deadline):%Y-%m-%d}"}
        )
    return subscription_create(
        organization=subscription.organization,
        service=subscription.service,
        plan=subscription.plan,
        ends_on=ends_on,
        max_users=subscription.max_users,
        storage_limit_gb=subscription.storage_limit_gb,
        admin_email=subscription.admin_email,
        admin_name=subscription.admin_name,
        created_by=renewed_by,
        actor=actor,
    )


def _end_subscription(subscription: Subscription, status: str) -> None:
    subscription.status = status
    subscription.ended_at = timezone.now()
    subscription.save(update_fields=["status", "ended_at", "updated_at"])


def _rfc3339(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def deactivation_moment(
    deactivate_at: datetime.datetime | None, *, now: datetime.datetime | None = None
) -> datetime.datetime:
    """When a deactivation takes effect: now, or a future ``deactivate_at`` in whole seconds.

    Raises LifecycleError (field ``deactivate_at``) for a time without a zone, in the past or
    more than ``DEACTIVATION_MAX_AHEAD`` ahead, saying what to write instead.
    """
    now = now or timezone.now()
    if deactivate_at is None:
        return now
    if timezone.is_naive(deactivate_at):
        raise LifecycleError(
            _(
                "deactivate_at has no time zone: write it in RFC 3339 with an offset, e.g. "
                "%(example)s."
            )
            % {"example": _rfc3339(now + datetime.timedelta(days=1))},
            field="deactivate_at",
        )
    # Whole seconds, as the vendor's body carries it: the schedule and the body agree.
    moment = deactivate_at.astimezone(datetime.UTC).replace(microsecond=0)
    if moment < now.replace(microsecond=0):
        raise LifecycleError(
            _(
                "deactivate_at %(value)s is in the past (now is %(now)s): choose a later time, "
                "or leave deactivate_at out to deactivate now."
            )
            % {"value": _rfc3339(moment), "now": _rfc3339(now)},
            field="deactivate_at",
        )
    limit = now + DEACTIVATION_MAX_AHEAD
    if moment > limit:
        raise LifecycleError(
            _(
                "deactivate_at %(value)s is more than %(days)s days ahead: choose a time before "
                "%(limit)s."
            )
            % {
                "value": _rfc3339(moment),
                "days": DEACTIVATION_MAX_AHEAD.days,
                "limit": _rfc3339(limit),
            },
            field="deactivate_at",
        )
    return moment


def _bring_forward(
    pending: Operation, *, tenant: Tenant, when: datetime.datetime, requested_by: User | None
) -> Operation:
    """A deactivation asked for now while one is scheduled later: the scheduled one goes now."""
    if pending.state != Operation.State.QUEUED or pending.next_attempt_at <= when:
        return pending  # already due or at the vendor
    pending.next_attempt_at = when
    pending.payload = {**pending.payload, "deactivate_at": _rfc3339(when)}
    pending.save(update_fields=["next_attempt_at", "payload", "updated_at"])
    if tenant.state == S.ACTIVE:
        states.move(tenant, S.DEACTIVATING)
        tenant.save()
    record_event(
        tenant=tenant,
        kind="deactivation_requested",
        message=_("The scheduled deactivation was brought forward to now."),
        actor=requested_by,
        operation=pending,
    )
    dispatch_after_commit(pending)
    return pending


def tenant_deactivate(
    *,
    tenant: Tenant,
    reason: str,
    requested_by: User | None = None,
    preserve_data: bool | None = None,
    deactivate_at: datetime.datetime | None = None,
    subscription: Subscription | None = None,
) -> Operation | None:
    """Queue a deactivation (now or at a future `deactivate_at`); cancels an activation never sent.

    A scheduled deactivation leaves the tenant active until its moment; the vendor's body
    carries that moment as `deactivate_at` (RFC 3339, whole seconds).
    """
    if reason not in ("subscription_expired", "admin_request", "violation"):
        raise LifecycleError(
            _("Unknown reason: use subscription_expired, admin_request or violation."),
            field="reason",
        )
    when = deactivation_moment(deactivate_at)
    if preserve_data is None:
        preserve_data = MarketPolicy.load().preserve_data_on_expiry
    with transaction.atomic():
        tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
        if tenant.state in (S.DEACTIVATED, S.DEACTIVATING, S.PURGING, S.PURGED):
            return None
        pending = (
            tenant.operations.filter(
                kind=Operation.Kind.DEACTIVATE, state__in=Operation.OPEN_STATES
            )
            .order_by("pk")
            .first()
        )
        if pending is not None and deactivate_at is None:
            return _bring_forward(pending, tenant=tenant, when=when, requested_by=requested_by)
        if pending is not None:
            raise LifecycleError(
                _(
                    "A deactivation of this tenant is already queued for %(when)s (operation "
                    "%(id)s): cancel that operation first to ask for another time."
                )
                % {"when": _rfc3339(pending.next_attempt_at), "id": pending.pk},
                field="deactivate_at",
                code="already_scheduled",
            )
        unsent = tenant.operations.filter(
            kind=Operation.Kind.ACTIVATE, state=Operation.State.QUEUED, attempts=0
        )
        if tenant.state in (S.REQUESTED, S.REACTIVATING) and unsent.exists():
            operations_move(unsent, Operation.State.CANCELLED)
            states.move(tenant, S.DEACTIVATED)
            tenant.save()
            record_event(
                tenant=tenant,
                kind="activation_cancelled",
                message=_("Cancelled before the vendor was called."),
                actor=requested_by,
                subscription=subscription,
            )
            return None
        if tenant.state == S.ACTIVE and when <= timezone.now():
            # A deactivation scheduled for later leaves the tenant active until its moment;
            # the executor moves it to deactivating when the call starts.
            states.move(tenant, S.DEACTIVATING)
            tenant.save()
        operation = _queue_operation(
            tenant=tenant,
            kind=Operation.Kind.DEACTIVATE,
            payload=payloads.deactivation_payload(
                reason=reason, preserve_data=preserve_data, deactivate_at=when
            ),
            subscription=subscription,
            requested_by=requested_by,
            not_before=when,
        )
        record_event(
            tenant=tenant,
            kind="deactivation_requested",
            message=_("Deactivation requested (%(reason)s).") % {"reason": reason},
            actor=requested_by,
            operation=operation,
        )
    return operation


def subscription_cancel(
    *, subscription: Subscription, cancelled_by: User | None = None, actor=None
) -> Subscription:
    """End a subscription now at the school's request: the tenant is deactivated, data kept."""
    if not subscription.is_live:
        raise LifecycleError(_("This subscription has already ended."))
    with transaction.atomic():
        _end_subscription(subscription, Subscription.Status.CANCELLED)
        event_record(
            type="subscription.cancelled",
            actor=cancelled_by if actor is None else actor,
            subscription=subscription,
        )
        tenant_deactivate(
            tenant=subscription.tenant,
            reason="admin_request",
            requested_by=cancelled_by,
            subscription=subscription,
        )
    return subscription


def subscription_expire(*, subscription: Subscription) -> Subscription:
    """The end date has come: end the subscription and deactivate with data kept."""
    with transaction.atomic():
        locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
        if not locked.is_live:
            return locked
        _end_subscription(locked, Subscription.Status.ENDED)
        event_record(type="subscription.ended", actor="expire_subscriptions", subscription=locked)
        tenant_deactivate(tenant=locked.tenant, reason="subscription_expired", subscription=locked)
    return locked


def subscription_change_plan(
    *, subscription: Subscription, plan: Plan, changed_by: User | None = None
) -> Operation:
    """Change the plan through the vendor's tenant_update endpoint."""
    service = subscription.service
    if not subscription.is_live:
        raise LifecycleError(_("This subscription has ended: renew it first."))
    if "tenant_update" not in (service.manifest_data.get("endpoints") or {}):
        raise LifecycleError(
            _("%(service)s does not support plan changes: cancel and subscribe to the new plan.")
            % {"service": service.name},
            field="plan",
            code="unsupported",
        )
    if plan.service_id != service.pk or not plan.is_active:
        raise LifecycleError(_("Unknown plan for this service."), field="plan")
    if plan.pk == subscription.plan_id:
        raise LifecycleError(_("The subscription is already on this plan."), field="plan")
    allowed = subscription.plan.allowed_changes
    if allowed and plan.code not in allowed:
        raise LifecycleError(
            _("From %(old)s you can change to: %(allowed)s.")
            % {"old": subscription.plan.code, "allowed": ", ".join(allowed)},
            field="plan",
        )
    subscription_limits_check(
        plan=plan,
        max_users=subscription.max_users,
        storage_limit_gb=subscription.storage_limit_gb,
    )
    with transaction.atomic():
        tenant = Tenant.objects.select_for_update().get(pk=subscription.tenant_id)
        if tenant.state != S.ACTIVE:
            raise LifecycleError(
                _("The tenant is %(state)s; a plan can change only while it is active.")
                % {"state": tenant.get_state_display()}
            )
        states.move(tenant, S.UPDATING)
        tenant.save()
        payload = payloads.update_payload(plan=plan, subscription=subscription)
        operation = _queue_operation(
            tenant=tenant,
            kind=Operation.Kind.UPDATE,
            payload=payload,
            subscription=subscription,
            requested_by=changed_by,
        )
        # The new plan's terms as the school accepted them: billed from the day it applies.
        PlanChange.objects.create(
            subscription=subscription,
            operation=operation,
            from_plan=subscription.plan,
            to_plan=plan,
            **plan_terms(plan),
        )
        record_event(
            tenant=tenant,
            kind="plan_change_requested",
            message=_("Plan change to %(plan)s requested.") % {"plan": plan.name},
            actor=changed_by,
            operation=operation,
        )
    return operation


def tenant_purge(*, tenant: Tenant) -> Operation | None:
    """After the data-retention deadline: purge through tenant_delete, or mark it purged."""
    with transaction.atomic():
        tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
        if tenant.state != S.DEACTIVATED:
            return None
        if "tenant_delete" in (tenant.service.manifest_data.get("endpoints") or {}):
            states.move(tenant, S.PURGING)
            tenant.save()
            operation = _queue_operation(
                tenant=tenant, kind=Operation.Kind.DELETE, payload=payloads.delete_payload()
            )
            record_event(
                tenant=tenant,
                kind="purge_requested",
                message=_("The data-retention deadline passed: purge requested."),
                operation=operation,
            )
            return operation
        states.move(tenant, S.PURGED)
        tenant.purged_at = timezone.now()
        tenant.save()
        record_event(
            tenant=tenant,
            kind="purged",
            message=_("The data-retention deadline passed; the service declares no tenant_delete."),
        )
        event_record(type="tenant.purged", actor="purge_past_deadline", tenant=tenant)
    return None


def operation_retry_now(
    *, operation: Operation, requested_by: User | None = None, message: str = ""
) -> Operation:
    """Staff: attempt a waiting, failed or attention-needing operation again, now.

    `message` is the history's sentence when someone other than staff asked (a school).
    """
    retryable = (Operation.State.QUEUED, Operation.State.FAILED, Operation.State.NEEDS_ATTENTION)
    if operation.state not in retryable:
        raise LifecycleError(
            _("Only a queued, failed or attention-needing operation can be retried.")
        )
    with transaction.atomic():
        operation_move(operation, Operation.State.QUEUED)
        operation.next_attempt_at = timezone.now()
        operation.first_failure_at = None
        operation.save()
        tenant = operation.tenant
        if tenant.state == S.NEEDS_ATTENTION:
            target = tenant_state_during(operation.kind, tenant.state)
            if target:
                states.move(tenant, target)
                tenant.save()
        record_event(
            tenant=tenant,
            kind="operation_retried",
            message=message or _("Retry requested by staff."),
            actor=requested_by,
            operation=operation,
        )
        dispatch_after_commit(operation)
    return operation


def operation_cancel(*, operation: Operation, cancelled_by: User | None = None) -> Operation:
    """Staff: give up an operation that has not succeeded; the tenant is left for a person."""
    if not (operation.is_open or operation.state == Operation.State.NEEDS_ATTENTION):
        raise LifecycleError(_("Only an unfinished operation can be cancelled."))
    with transaction.atomic():
        updated = operations_move(
            Operation.objects.filter(
                pk=operation.pk,
                state__in=[*Operation.OPEN_STATES, Operation.State.NEEDS_ATTENTION],
            ),
            Operation.State.CANCELLED,
        )
        if not updated:
            raise LifecycleError(_("The operation finished meanwhile; nothing was cancelled."))
        operation.refresh_from_db()
        record_event(
            tenant=operation.tenant,
            kind="operation_cancelled",
            message=_("Cancelled by staff."),
            actor=cancelled_by,
            operation=operation,
        )
    return operation


def subscription_send_expiry_notice(*, subscription: Subscription) -> bool:
    """Send the school its expiry notice unless it was sent already; True when sent now.

    The notice is claimed with one conditional update, so a calendar run twice sends it once.
    The mark and the outbox row commit together: the notice is queued exactly once, and the
    mailer delivers it (with retries) whatever the mail server does meanwhile.
    """
    with transaction.atomic():
        claimed = Subscription.objects.filter(
            pk=subscription.pk, expiry_notice_sent_at__isnull=True
        ).update(expiry_notice_sent_at=timezone.now())
        if claimed:
            emails.send_expiry_notice(subscription)
    return bool(claimed)


def operations_reclaim_stuck(*, now: datetime.datetime) -> int:
    """Operations in flight for too long (a killed worker) are queued again; returns how many.

    The same request id goes out again, so the vendor recognizes a repeat.
    """
    stuck_since = now - datetime.timedelta(seconds=settings.OPERATION_STUCK_AFTER_SECONDS)
    stuck = Operation.objects.filter(state=Operation.State.IN_FLIGHT, started_at__lt=stuck_since)
    reclaimed = 0
    for operation in stuck:
        reclaimed += operations_move(
            Operation.objects.filter(
                pk=operation.pk, state=Operation.State.IN_FLIGHT, started_at=operation.started_at
            ),
            Operation.State.QUEUED,
            next_attempt_at=now,
            started_at=None,
        )
    return reclaimed


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
        dispatch_id_after_commit(operation_id)
    return len(ids)


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


def tenant_record_status(*, tenant: Tenant, response: VendorResponse) -> Tenant:
    """Store the vendor's answer about one tenant and flag drift; the state is never changed."""
    reason = _drift_reason(tenant, response)
    fields = {
        "last_status_at": timezone.now(),
        "drifted": bool(reason),
        "drift_reason": reason[:500],
    }
    if response.ok:
        fields["last_status"] = response.body
    Tenant.objects.filter(pk=tenant.pk).update(**fields)
    # Every drift is recorded: a new one, and one whose difference changed while drifted (the
    # vendor's side moved again); its end too. The same drift seen again hourly is not news.
    if reason != (tenant.drift_reason if tenant.drifted else ""):
        if reason:
            record_event(tenant=tenant, kind="drift_detected", message=reason)
            event_record(type="tenant.drifted", actor="sync_tenant_statuses", tenant=tenant, data={"reason": reason})  # fmt: skip
        else:
            record_event(
                tenant=tenant,
                kind="drift_resolved",
                message=_("The vendor's status agrees with the market again."),
            )
    for name, value in fields.items():
        setattr(tenant, name, value)
    return tenant
