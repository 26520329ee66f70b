"""Monthly usage collection: one ``UsageReport`` per tenant and month, asked of the vendor.

Who is asked: every tenant that was live in the month (active now, or deactivated during or
after that month) whose service declares ``endpoints.usage_report`` in its manifest - or every
such tenant of every service while ``MarketPolicy.usage_reports_mandatory`` is on.

A report moves ``pending`` → ``collected`` | ``rejected`` | ``failed``:

- ``collected``: a 2xx answer whose metrics are all non-negative numbers and include the metrics
  the manifest declares (``usage_report.metrics``, default the four of the seed). Only these
  enter a bill.
- ``rejected``: the vendor answered, but the answer is unusable (negative, non-numeric or
  missing metrics, another month, not JSON). Not retried automatically; the reason is shown to
  staff and to the vendor, and staff can collect again on demand.
- ``failed``: no usable answer after every retry (timeouts, 5xx, 429: retried with backoff and
  ``Retry-After``), or an answer that retrying cannot change (404, 401, no usage endpoint).
  Under the mandatory policy a failed report marks its service non-compliant
  (``Service.usage_noncompliant_since``) and the vendor is told once, until a report of that
  service is collected again.

Collection is idempotent per tenant and month (the unique constraint plus a lease: a report is
claimed by moving ``next_attempt_at`` forward before the vendor is called). Calls run on a
thread pool; the threads only do HTTP, every database read and write stays on the caller's
thread.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from market.models import MarketPolicy
from monitoring import alerts, billing
from monitoring.models import Statement, UsageReport
from monitoring.selectors import LIVE_TENANT_STATES
from services.models import Service
from services.vendor_client.client import UnknownEndpoint, VendorResponse
from services.vendor_targets import client_for
from tenants.models import Tenant

logger = logging.getLogger(__name__)

SEED_METRICS = ("api_calls", "ai_tokens", "storage_gb", "active_users")
BACKOFF_MINUTES = (5, 15, 60, 180, 360, 720, 1440)
LEASE = timedelta(minutes=10)
REQUEST_ID_NAMESPACE = uuid.UUID("4d1f6c55-6a43-4c3e-9d3e-5b0f8a3c2e71")
ENDED_TENANT_STATES = (
    Tenant.State.DEACTIVATING,
    Tenant.State.DEACTIVATED,
    Tenant.State.PURGING,
)


def max_attempts() -> int:
    return max(1, int(getattr(settings, "USAGE_MAX_ATTEMPTS", 8)))


def thread_count() -> int:
    return max(1, int(getattr(settings, "USAGE_COLLECTION_THREADS", 32)))


# --- months ------------------------------------------------------------------------------------


def month_first(value: date) -> date:
    return value.replace(day=1)


def month_label(month: date) -> str:
    return f"{month:%Y-%m}"


def month_parse(text: str) -> date:
    """``"2026-03"`` → ``date(2026, 3, 1)``; raises ValueError for anything else."""
    parsed = datetime.strptime(text, "%Y-%m")
    return date(parsed.year, parsed.month, 1)


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The month as [start, end) in the market's time zone."""
    tz = ZoneInfo(settings.TIME_ZONE)
    start = datetime.combine(month_first(month), datetime.min.time(), tzinfo=tz)
    end = datetime.combine(next_month(month), datetime.min.time(), tzinfo=tz)
    return start, end


# --- who reports -------------------------------------------------------------------------------


def service_declares_usage(service: Service) -> bool:
    endpoints = (service.manifest_data or {}).get("endpoints") or {}
    return bool(endpoints.get("usage_report"))


def required_metrics(service: Service) -> tuple[str, ...]:
    """The metrics a report of this service must contain: the manifest's list, else the seed's."""
    declared = ((service.manifest_data or {}).get("usage_report") or {}).get("metrics")
    if isinstance(declared, list) and all(isinstance(m, str) for m in declared) and declared:
        return tuple(declared)
    return SEED_METRICS


def usage_tenants(*, month: date, mandatory: bool | None = None) -> list[Tenant]:
    """Tenants to ask for ``month``: live in that month, of a service that reports usage."""
    if mandatory is None:
        mandatory = MarketPolicy.load().usage_reports_mandatory
    start, end = month_bounds(month)
    tenants = (
        Tenant.objects.filter(created_at__lt=end)
        .filter(
            Q(state__in=LIVE_TENANT_STATES)
            | Q(state__in=ENDED_TENANT_STATES, state_changed_at__gte=start)
        )
        .select_related("service__current_manifest")
        .order_by("pk")
    )
    return [t for t in tenants if mandatory or service_declares_usage(t.service)]


# --- validation --------------------------------------------------------------------------------


def usage_problem(*, body, month: date, required: Sequence[str] = SEED_METRICS) -> str | None:
    """Why a usage answer cannot be billed, or None. Checked again here, whatever the client did.

    Every metric must be a non-negative finite number (booleans are not numbers), the required
    metrics must be present, and the period must be the month asked for.
    """
    if not isinstance(body, dict):
        return "the answer is not a JSON object"
    problems = []
    if body.get("period") != month_label(month):
        problems.append(f"period is {body.get('period')!r}, expected {month_label(month)!r}")
    usage = body.get("usage")
    if not isinstance(usage, dict):
        return "; ".join([*problems, "usage is missing or not an object"])
    for name, value in usage.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(f"metric {name} is not a number ({str(value)[:40]!r})")
        elif not math.isfinite(value):
            problems.append(f"metric {name} is not a finite number")
        elif value < 0:
            problems.append(f"metric {name} is negative ({value})")
    missing = [name for name in required if name not in usage]
    if missing:
        problems.append("missing metric(s): " + ", ".join(missing))
    return "; ".join(problems) or None


# --- preparing and claiming reports ----------------------------------------------------------------


def usage_reports_prepare(*, month: date, now: datetime | None = None) -> list[int]:
    """Create the month's missing reports (idempotent) and return the ids due now."""
    now = now or timezone.now()
    month = month_first(month)
    tenants = usage_tenants(month=month)
    UsageReport.objects.bulk_create(
        [UsageReport(tenant=tenant, month=month, next_attempt_at=now) for tenant in tenants],
        ignore_conflicts=True,
        batch_size=500,
    )
    return usage_reports_due(now=now, month=month)


def usage_reports_due(*, now: datetime | None = None, month: date | None = None) -> list[int]:
    now = now or timezone.now()
    reports = UsageReport.objects.filter(state=UsageReport.State.PENDING, next_attempt_at__lte=now)
    if month is not None:
        reports = reports.filter(month=month_first(month))
    return list(reports.order_by("pk").values_list("pk", flat=True))


def _claim(*, report_ids: Sequence[int], now: datetime) -> list[int]:
    with transaction.atomic():
        ids = list(
            UsageReport.objects.select_for_update(skip_locked=True)
            .filter(
                pk__in=list(report_ids), state=UsageReport.State.PENDING, next_attempt_at__lte=now
            )
            .values_list("pk", flat=True)
        )
        UsageReport.objects.filter(pk__in=ids).update(
            attempts=F("attempts") + 1, next_attempt_at=now + LEASE
        )
    return ids


# --- asking vendors ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CollectResult:
    collected: int
    rejected: int
    failed: int
    retrying: int


def _request_id(report: UsageReport, *, fresh: bool) -> str:
    """The same id on every retry of one report (the vendor's idempotency key)."""
    if fresh:
        return str(uuid.uuid4())
    return str(uuid.uuid5(REQUEST_ID_NAMESPACE, f"usage:{report.pk}:{month_label(report.month)}"))


def _ask(report: UsageReport, *, fresh: bool) -> VendorResponse | str:
    """One vendor call, made on a worker thread; a string is a reason no call could be made."""
    tenant = report.tenant
    try:
        with client_for(tenant.service) as client:
            return client.usage(
                tenant.tenant_id,
                month=month_label(report.month),
                request_id=_request_id(report, fresh=fresh),
            )
    except UnknownEndpoint:
        return "the service declares no usage_report endpoint in its manifest"
    except Exception as exc:  # a bug or bad data for one tenant must not stop the others
        logger.exception("usage call for report %s could not be made", report.pk)
        return f"the call could not be made ({type(exc).__name__}: {str(exc)[:200]})"


def _backoff(attempts: int, retry_after: int | None) -> timedelta:
    minutes = BACKOFF_MINUTES[min(max(attempts, 1), len(BACKOFF_MINUTES)) - 1]
    return max(timedelta(minutes=minutes), timedelta(seconds=retry_after or 0))


def _apply_answer(report: UsageReport, answer: VendorResponse | str, now: datetime) -> None:
    State = UsageReport.State
    report.metrics = {}
    if isinstance(answer, str):
        report.state, report.error = State.FAILED, answer
    elif answer.ok:
        problem = usage_problem(
            body=answer.body, month=report.month, required=required_metrics(report.tenant.service)
        )
        if problem is None:
            report.state, report.error = State.COLLECTED, ""
            report.metrics = dict(answer.body["usage"])
            report.collected_at = now
        else:
            report.state, report.error = State.REJECTED, problem
    elif answer.error_kind == "invalid_body":
        report.state, report.error = State.REJECTED, answer.error or "the answer is unusable"
    elif answer.retryable and report.attempts < max_attempts():
        report.state, report.error = State.PENDING, answer.error or ""
        report.next_attempt_at = now + _backoff(report.attempts, answer.retry_after)
    else:
        report.state, report.error = State.FAILED, answer.error or "no usable answer"
    if report.state != State.PENDING:
        report.next_attempt_at = now
    report.updated_at = now  # bulk_update does not touch auto_now fields


def usage_reports_collect(
    *,
    report_ids: Sequence[int],
    now: datetime | None = None,
    threads: int | None = None,
    fresh_request_ids: bool = False,
) -> CollectResult:
    """Ask the vendors for the due reports among ``report_ids`` and store what they answer."""
    now = now or timezone.now()
    claimed = _claim(report_ids=report_ids, now=now)
    reports = list(
        UsageReport.objects.filter(pk__in=claimed)
        .select_related("tenant__service__current_manifest", "tenant__service__vendor")
        .prefetch_related("tenant__service__credentials")
        .order_by("pk")
    )
    if not reports:
        return CollectResult(0, 0, 0, 0)
    workers = min(threads or thread_count(), len(reports))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="usage") as pool:
        answers = list(pool.map(lambda r: _ask(r, fresh=fresh_request_ids), reports))
    finished_at = timezone.now()
    for report, answer in zip(reports, answers, strict=True):
        _apply_answer(report, answer, finished_at)
    with transaction.atomic():
        UsageReport.objects.bulk_update(
            reports,
            ["state", "metrics", "error", "collected_at", "next_attempt_at", "updated_at"],
            batch_size=500,
        )
    _after_collection(reports, now=finished_at)
    count = {state: 0 for state in UsageReport.State.values}
    for report in reports:
        count[report.state] += 1
    State = UsageReport.State
    return CollectResult(
        collected=count[State.COLLECTED],
        rejected=count[State.REJECTED],
        failed=count[State.FAILED],
        retrying=count[State.PENDING],
    )


def _after_collection(reports: list[UsageReport], *, now: datetime) -> None:
    """Non-compliance under the mandatory policy, and bills that now have their usage."""
    State = UsageReport.State
    answered = {r.tenant.service_id for r in reports if r.state == State.COLLECTED}
    unanswered = {r.tenant.service_id for r in reports if r.state == State.FAILED}
    if answered:
        Service.objects.filter(pk__in=answered - unanswered).update(usage_noncompliant_since=None)
    if unanswered and MarketPolicy.load().usage_reports_mandatory:
        with transaction.atomic():
            newly = list(
                Service.objects.select_for_update()
                .filter(pk__in=unanswered, usage_noncompliant_since__isnull=True)
                .values_list("pk", flat=True)
            )
            Service.objects.filter(pk__in=newly).update(usage_noncompliant_since=now)
        if newly:
            months = sorted({r.month for r in reports if r.tenant.service_id in newly})
            alerts.usage_noncompliance_notify(
                service_ids=newly, month_label=", ".join(month_label(m) for m in months)
            )
    # A report collected after its month was billed completes that bill.
    billed = {(r.tenant.organization_id, r.month) for r in reports if r.state == State.COLLECTED}
    for organization_id, month in sorted(billed):
        if Statement.objects.filter(organization_id=organization_id, month=month).exists():
            billing.statement_generate(organization_id=organization_id, month=month)


def usage_report_request(
    *, tenant_id: int, month: date, force: bool = False, now: datetime | None = None
) -> UsageReport:
    """Ask for one tenant's usage of ``month`` again (on demand): the report becomes due now.

    A collected report is returned unchanged unless ``force``; any other report is reset so the
    next collection asks the vendor with a fresh request id.
    """
    now = now or timezone.now()
    month = month_first(month)
    with transaction.atomic():
        report, _created = UsageReport.objects.select_for_update().get_or_create(
            tenant_id=tenant_id, month=month, defaults={"next_attempt_at": now}
        )
        if report.state == UsageReport.State.COLLECTED and not force:
            return report
        report.state = UsageReport.State.PENDING
        report.attempts = 0
        report.next_attempt_at = now
        report.error = ""
        report.save(update_fields=["state", "attempts", "next_attempt_at", "error", "updated_at"])
    return report


def usage_collect_for_tenant(
    *, tenant_id: int, month: date, force: bool = False, now: datetime | None = None
) -> UsageReport:
    """Collect one tenant's usage for ``month`` now, in this process (staff, on demand)."""
    now = now or timezone.now()
    report = usage_report_request(tenant_id=tenant_id, month=month, force=force, now=now)
    if report.state == UsageReport.State.PENDING:
        usage_reports_collect(report_ids=[report.pk], now=now, threads=1, fresh_request_ids=True)
        report.refresh_from_db()
    return report
