"""Carry out one operation: claim it (claim.py), call the vendor (call.py), apply the outcome.

The outcome table (docs/standard/outcomes.md) is implemented here and nowhere else:
- activate 200: active, access URL and credentials stored;
- activate 409 tenant_already_exists: ask status; active on the same plan is a success,
  anything else needs a person;
- 202 when the manifest allows async operations: poll tenant_status until settled or too long;
- another 4xx: failed, the vendor's message kept for staff and the school;
- timeout, connection error, 5xx, 429, a 2xx whose body breaks the schema: retried, never final;
- deactivate 200: data_preserved and reactivation_deadline stored; deactivate 404 or 410: done;
- delete 200, 404 or 410: purged.
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from events.services import event_record
from market.models import MarketPolicy
from services.models import Plan, Service
from services.vendor_client.client import VendorResponse
from services.vendor_client.urls import standard_url
from tenants import emails, states
from tenants.events import record_event
from tenants.models import Operation, PlanChange, Subscription, Tenant
from tenants.operations import retry
from tenants.operations.call import Attempt, error_code, vendor_call
from tenants.operations.claim import hand_slot_on, operation_claim
from tenants.operations.dispatch import dispatch_after_commit
from tenants.operations.states import operation_move

S = Tenant.State
K = Operation.Kind
OS = Operation.State
EXCERPT_LIMIT = 2000


def operation_execute(*, operation_id: int) -> str:
    """Run one attempt of an operation if it is due; returns what happened, for logs and tests."""
    claimed = operation_claim(operation_id)
    if isinstance(claimed, str):
        return claimed
    attempt = vendor_call(claimed)
    return _apply(claimed, attempt)


def _vendor_message(response: VendorResponse) -> str:
    if isinstance(response.body, dict) and response.body.get("message"):
        return str(response.body["message"])[:500]
    return response.error or _("HTTP %(code)s") % {"code": response.status_code}


def _apply(claimed: Operation, attempt: Attempt) -> str:
    response = attempt.response
    with transaction.atomic():
        operation = (
            # of=: the operation and its tenant are locked. The subscription is a nullable
            # (outer) join, which PostgreSQL refuses to lock, and the service must not be.
            Operation.objects.select_for_update(of=("self", "tenant"))
            .select_related("tenant__service", "subscription")
            .get(pk=claimed.pk)
        )
        if operation.state != OS.IN_FLIGHT or operation.started_at != claimed.started_at:
            return "superseded"  # cancelled by staff or reclaimed as stuck meanwhile
        operation.last_status_code = response.status_code
        operation.last_body_excerpt = response.body_excerpt[:EXCERPT_LIMIT]
        operation.last_latency_ms = response.latency_ms
        operation.last_error_kind = response.error_kind or ""
        operation.last_error = response.error or ""
        tenant = operation.tenant
        if attempt.polled:
            outcome = _apply_poll(operation, tenant, response)
        else:
            outcome = _apply_answer(operation, tenant, attempt)
        operation.save()
        tenant.save()
        if operation.state not in Operation.OPEN_STATES:
            _dispatch_next_for_tenant(tenant)
        # The slot is free once this commits; then it goes to the longest-waiting operation.
        service_id, vendor_id = tenant.service_id, tenant.service.vendor_id
        transaction.on_commit(lambda: hand_slot_on(service_id, vendor_id=vendor_id))
    return outcome


def _apply_answer(operation: Operation, tenant: Tenant, attempt: Attempt) -> str:
    response = attempt.response
    code = response.status_code
    kind = operation.kind
    if code == 202 and _async_allowed(tenant.service):
        operation_move(operation, OS.POLLING)
        operation.polling_since = operation.polling_since or timezone.now()
        _schedule_poll(operation, tenant.service)
        record_event(
            tenant=tenant,
            kind=f"{kind}_accepted",
            message=_("The vendor accepted the request and is working on it."),
            operation=operation,
        )
        return "polling"
    if response.ok and code != 202:
        return _succeed(operation, tenant, response.body or {})
    if kind == K.ACTIVATE and code == 409 and error_code(response) == "tenant_already_exists":
        return _apply_conflict(operation, tenant, attempt.status)
    if kind in (K.DEACTIVATE, K.DELETE) and code in (404, 410):
        return _succeed(operation, tenant, {"gone": code})
    # A redirect is an unclear answer in the outcome table (never followed, never final), even
    # though the client marks it not retryable at once.
    if response.retryable or code == 202 or response.error_kind == "redirect":
        return _schedule_retry(operation, tenant, response)
    return _fail(operation, tenant, _vendor_message(response))


def _apply_conflict(operation: Operation, tenant: Tenant, status: VendorResponse | None) -> str:
    body = status.body if status is not None and status.ok else None
    expected_plan = operation.payload.get("plan")
    if body and body.get("status") == "active" and body.get("plan") == expected_plan:
        record_event(
            tenant=tenant,
            kind="activation_confirmed",
            message=_("The vendor already had this tenant, active on the same plan."),
            operation=operation,
        )
        return _succeed(operation, tenant, {"status": "activated", **body})
    if status is not None and status.retryable:
        return _schedule_retry(operation, tenant, status)
    reason = _(
        "The vendor says the tenant already exists, but its status is %(status)s on plan %(plan)s "
        "(expected active on %(expected)s)."
    ) % {
        "status": (body or {}).get("status", "unknown"),
        "plan": (body or {}).get("plan", "unknown"),
        "expected": expected_plan,
    }
    return _needs_attention(operation, tenant, reason)


def _apply_poll(operation: Operation, tenant: Tenant, response: VendorResponse) -> str:
    body = response.body if response.ok and isinstance(response.body, dict) else {}
    settled = {
        K.ACTIVATE: body.get("status") == "active",
        K.DEACTIVATE: body.get("status") == "deactivated",
        K.UPDATE: body.get("status") == "active"
        and body.get("plan") == operation.payload.get("plan"),
        K.DELETE: response.status_code in (404, 410),
    }.get(operation.kind, False)
    if settled:
        return _succeed(operation, tenant, body)
    if timezone.now() - operation.polling_since > _poll_timeout(tenant.service):
        return _needs_attention(
            operation, tenant, _("The vendor accepted the request but never finished it.")
        )
    operation_move(operation, OS.POLLING)
    _schedule_poll(operation, tenant.service)
    return "polling"


def _schedule_poll(operation: Operation, service: Service) -> None:
    # Hand the next poll to a worker at the manifest's interval; the once-a-minute reconciler
    # alone would poll far less often than the vendor asked.
    interval = _poll_interval(service)
    operation.next_attempt_at = timezone.now() + interval
    if interval.total_seconds() <= 60:
        dispatch_after_commit(operation, countdown=interval.total_seconds())


def _succeed(operation: Operation, tenant: Tenant, body: dict) -> str:
    now = timezone.now()
    operation_move(operation, OS.SUCCEEDED)
    kind = operation.kind
    if kind == K.ACTIVATE:
        reactivated = tenant.state == S.REACTIVATING
        states.move(tenant, S.ACTIVE)
        tenant.plan_code = operation.payload.get("plan", tenant.plan_code)
        access_url = body.get("access_url") or tenant.access_url or _manifest_access_url(tenant)
        tenant.access_url = str(access_url)[:500]
        credentials = body.get("admin_credentials") or {}
        if credentials.get("temp_password"):
            tenant.temp_password = str(credentials["temp_password"])
            tenant.credentials_revealed_at = None
        tenant.credentials_emailed_by_vendor = body.get("credentials_delivery") == "email"
        tenant.data_preserved = None
        tenant.reactivation_deadline = None
        tenant.drifted = False
        tenant.drift_reason = ""
        message = _("Reactivated by the vendor.") if reactivated else _("Activated by the vendor.")
        _send_service_ready_after_commit(operation)
        event_record(
            type="tenant.reactivated" if reactivated else "tenant.activated", tenant=tenant
        )
    elif kind == K.DEACTIVATE:
        states.move(tenant, S.DEACTIVATED)
        gone = body.get("gone")
        if gone:
            tenant.data_preserved = False if gone == 410 else tenant.data_preserved
            message = _("The vendor no longer knows this tenant (HTTP %(code)s): deactivated.") % {
                "code": gone
            }
        else:
            tenant.data_preserved = bool(body.get("data_preserved"))
            tenant.reactivation_deadline = _deadline(body, tenant.data_preserved)
            message = _("Deactivated by the vendor.")
        event_record(type="tenant.deactivated", tenant=tenant)
        _maybe_send_renewal_notice(operation)
    elif kind == K.UPDATE:
        states.move(tenant, S.ACTIVE)
        tenant.plan_code = operation.payload.get("plan", tenant.plan_code)
        subscription = operation.subscription
        if subscription is not None:
            plan = Plan.objects.filter(service_id=tenant.service_id, code=tenant.plan_code).first()
            if plan is not None:
                Subscription.objects.filter(pk=subscription.pk).update(plan=plan)
                event_record(type="subscription.plan_changed", subscription=Subscription.objects.get(pk=subscription.pk), tenant=tenant)  # fmt: skip
        PlanChange.objects.filter(operation=operation, effective_at__isnull=True).update(
            effective_at=now
        )
        message = _("Plan changed to %(plan)s.") % {"plan": tenant.plan_code}
    elif kind == K.DELETE:
        states.move(tenant, S.PURGED)
        tenant.purged_at = now
        message = _("Purged by the vendor.")
        event_record(type="tenant.purged", tenant=tenant)
    else:
        message = _("The vendor answered.")  # a status read changes no state
    record_event(tenant=tenant, kind=f"{kind}_succeeded", message=message, operation=operation)
    return "succeeded"


def _manifest_access_url(tenant: Tenant) -> str:
    """The manifest's user_access URL: after a 409 or an async activation no answer carries one."""
    endpoints = tenant.service.manifest_data.get("endpoints") or {}
    template = endpoints.get("user_access")
    if not template:
        return ""
    return standard_url(endpoints.get("base_url", ""), template, tenant_id=tenant.tenant_id)


def _deadline(body: dict, preserved: bool):
    if not preserved:
        return None
    parsed = parse_datetime(str(body.get("reactivation_deadline") or ""))
    if parsed is not None:
        return parsed
    return timezone.now() + timedelta(days=MarketPolicy.load().data_retention_days)


def _maybe_send_renewal_notice(operation: Operation) -> None:
    subscription = operation.subscription
    if subscription is None or operation.payload.get("reason") != "subscription_expired":
        return
    claimed = Subscription.objects.filter(
        pk=subscription.pk, renewal_notice_sent_at__isnull=True
    ).update(renewal_notice_sent_at=timezone.now())
    if claimed:
        # Queued in the same transaction as the mark: both commit, or neither.
        emails.send_renewal_notice(
            Subscription.objects.select_related("organization", "service", "tenant").get(
                pk=subscription.pk
            )
        )


def _send_service_ready_after_commit(operation: Operation) -> None:
    if operation.subscription_id is None:
        return
    subscription_id = operation.subscription_id
    transaction.on_commit(
        lambda: emails.send_service_ready(
            Subscription.objects.select_related("organization", "service", "plan", "tenant").get(
                pk=subscription_id
            )
        )
    )


def _alert_staff_after_commit(operation: Operation) -> None:
    operation_id = operation.pk
    transaction.on_commit(
        lambda: emails.send_staff_attention_alert(
            Operation.objects.select_related("tenant__service").get(pk=operation_id)
        )
    )


def _fail(operation: Operation, tenant: Tenant, message: str) -> str:
    operation_move(operation, OS.FAILED)
    if operation.kind == K.UPDATE:
        states.move(tenant, S.ACTIVE)  # the plan stays as it was
    else:
        states.move(tenant, S.NEEDS_ATTENTION, reason=message)
        _alert_staff_after_commit(operation)  # the school is told staff knows: make it true
    record_event(
        tenant=tenant,
        kind=f"{operation.kind}_failed",
        message=_("The vendor refused: %(message)s") % {"message": message},
        operation=operation,
    )
    if operation.kind != K.UPDATE:  # a refused plan change leaves the tenant as it was
        event_record(type="tenant.activation_failed" if operation.kind == K.ACTIVATE else "tenant.needs_attention", tenant=tenant, data={"reason": message})  # fmt: skip
    return "failed"


def _needs_attention(operation: Operation, tenant: Tenant, reason: str) -> str:
    operation_move(operation, OS.NEEDS_ATTENTION)
    operation.last_error = reason
    states.move(tenant, S.NEEDS_ATTENTION, reason=reason)
    record_event(
        tenant=tenant, kind=f"{operation.kind}_needs_attention", message=reason, operation=operation
    )
    event_record(type="tenant.needs_attention", tenant=tenant, data={"reason": reason})
    emails.send_staff_attention_alert(operation)
    return "needs-attention"


def _schedule_retry(operation: Operation, tenant: Tenant, response: VendorResponse) -> str:
    now = timezone.now()
    operation.first_failure_at = operation.first_failure_at or now
    when = retry.next_attempt_at(
        attempts=operation.attempts,
        first_failure_at=operation.first_failure_at,
        now=now,
        retry_after_seconds=response.retry_after,
    )
    if when is None:
        return _needs_attention(
            operation,
            tenant,
            _("The vendor did not answer clearly for 72 hours: %(error)s")
            % {"error": response.error or response.status_code},
        )
    operation_move(operation, OS.POLLING if operation.polling_since else OS.QUEUED)
    operation.next_attempt_at = when
    delay = (when - now).total_seconds()
    if delay <= 60:
        dispatch_after_commit(operation, countdown=delay)
    return "retry-scheduled"


def _dispatch_next_for_tenant(tenant: Tenant) -> None:
    following = (
        Operation.objects.filter(
            tenant=tenant, state=OS.QUEUED, next_attempt_at__lte=timezone.now()
        )
        .order_by("pk")
        .first()
    )
    if following is not None:
        dispatch_after_commit(following)


def _manifest_operations(service: Service) -> dict:
    return service.manifest_data.get("operations") or {}


def _async_allowed(service: Service) -> bool:
    return bool(_manifest_operations(service).get("async"))


def _poll_interval(service: Service) -> timedelta:
    return timedelta(seconds=_manifest_operations(service).get("poll_interval_seconds") or 5)


def _poll_timeout(service: Service) -> timedelta:
    return timedelta(seconds=_manifest_operations(service).get("timeout_seconds") or 3600)
