"""Monthly usage collection: one ``UsageReport`` per tenant and month, asked of the vendor.

Who is asked: every tenant that was live in the month (active now, or deactivated during or
after that month) whose service declares ``endpoints.usage_report`` in its manifest - or every
such tenant of every service while ``MarketPolicy.usage_reports_mandatory`` is on. A service
that declares no ``usage_report`` is then called at the founding document's standard path,
``/mt/tenant/{tenant_id}/usage?period=monthly&month=YYYY-MM`` (``STANDARD_USAGE_PATH``): the
policy needs no change at the service.

A report moves ``pending`` → ``collected`` | ``rejected`` | ``failed``:

- ``collected``: a 2xx answer whose metrics are all non-negative numbers and include the metrics
  the manifest declares (``usage_report.metrics``, default the four of the seed). Only these
  enter a bill.
- ``rejected``: the vendor answered, but the answer is unusable (negative, non-numeric or
  missing metrics, another month, not JSON). Not retried automatically; the reason is shown to
  staff and to the vendor, and staff can collect again on demand.
- ``failed``: no usable answer after every retry (timeouts, 5xx, 429: retried with backoff and
  ``Retry-After``), or an answer that retrying cannot change (401, 403, 404...).

A report that is not collected says what went wrong (``UsageReport.failure``): ``refused`` (an
HTTP 4xx), ``malformed`` (an answer that is not a usable report: the reason is in ``error``),
``missing`` (nothing usable after every retry), ``not_called`` (the market could not make the
call: its own fault, never the vendor's). A 404 ``tenant_not_found`` or 410 ``tenant_purged``
is only noted (no report for that tenant). Under the mandatory policy a refused, malformed or
missing report - and nothing else - marks its service non-compliant
(``Service.usage_noncompliant_since``) and the vendor is told once, in a mail that says which
of the three happened, until a report of that service is collected again.

Collection is idempotent per tenant and month (the unique constraint plus a lease: a report is
claimed by moving ``next_attempt_at`` forward before the vendor is called). Calls run on a
thread pool; the threads only do HTTP, every database read and write stays on the caller's
thread. A chunk of reports costs a fixed number of queries however many reports it holds, and
each thread keeps to one service at a time with one ``VendorClient`` (one session, its
connection kept alive) for the reports of that service it takes.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from events.services import event_record_many
from market.errors import DomainError
from market.lib.months import month_bounds, month_first, month_label, month_out_of_range
from market.models import MarketPolicy
from monitoring import alerts, billing
from monitoring.bulk import rows_update
from monitoring.models import Statement, UsageReport
from monitoring.selectors import LIVE_TENANT_STATES
from services.models import Service
from services.standard.metrics import STANDARD_USAGE_METRICS
from services.vendor_client.client import (
    UnknownEndpoint,
    VendorClient,
    VendorResponse,
    VendorTarget,
)
from services.vendor_client.urls import STANDARD_USAGE_PATH
from services.vendor_targets import vendor_target
from tenants.models import Tenant

logger = logging.getLogger(__name__)

BACKOFF_MINUTES = (5, 15, 60, 180, 360, 720, 1440)
LEASE = timedelta(minutes=10)
REQUEST_ID_NAMESPACE = uuid.UUID("4d1f6c55-6a43-4c3e-9d3e-5b0f8a3c2e71")
ENDED_TENANT_STATES = (
    Tenant.State.DEACTIVATING,
    Tenant.State.DEACTIVATED,
    Tenant.State.PURGING,
)


def max_attempts() -> int:
    return max(1, int(settings.USAGE_MAX_ATTEMPTS))


def thread_count() -> int:
    return max(1, int(settings.USAGE_COLLECTION_THREADS))


# --- who reports -------------------------------------------------------------------------------


def service_declares_usage(service: Service) -> bool:
    endpoints = (service.manifest_data or {}).get("endpoints") or {}
    return bool(endpoints.get("usage_report"))


def required_metrics(service: Service) -> tuple[str, ...]:
    """The metrics a report of this service must contain: the manifest's list, else the seed's."""
    declared = ((service.manifest_data or {}).get("usage_report") or {}).get("metrics")
    if isinstance(declared, list) and all(isinstance(m, str) for m in declared) and declared:
        return tuple(declared)
    return STANDARD_USAGE_METRICS


def usage_tenant_ids(*, month: date, mandatory: bool | None = None) -> list[int]:
    """Tenants to ask for ``month``: live in that month, of a service that reports usage.

    Each service's manifest is read once, not once per tenant (a month holds thousands).
    """
    if mandatory is None:
        mandatory = MarketPolicy.load().usage_reports_mandatory
    start, end = month_bounds(month)
    tenants = list(
        Tenant.objects.filter(created_at__lt=end)
        .filter(
            Q(state__in=LIVE_TENANT_STATES)
            | Q(state__in=ENDED_TENANT_STATES, state_changed_at__gte=start)
        )
        .order_by("pk")
        .values_list("pk", "service_id")
    )
    if mandatory:
        return [pk for pk, _service_id in tenants]
    services = Service.objects.filter(pk__in={service_id for _pk, service_id in tenants})
    reporting = {
        service.pk
        for service in services.select_related("current_manifest")
        if service_declares_usage(service)
    }
    return [pk for pk, service_id in tenants if service_id in reporting]


# --- validation --------------------------------------------------------------------------------


def usage_problem(
    *, body, month: date, required: Sequence[str] = STANDARD_USAGE_METRICS
) -> str | None:
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


class UsageMonthError(DomainError):
    """A usage month outside 2000-01 .. this month: nothing is stored for it."""

    slug = "usage-month-out-of-range"

    def __init__(self, message: str):
        super().__init__(message, field="month")


def _check_month(month: date, *, now: datetime) -> None:
    reason = month_out_of_range(month, today=timezone.localdate(now))
    if reason:
        raise UsageMonthError(reason)


# --- preparing and claiming reports ----------------------------------------------------------------


def usage_reports_prepare(*, month: date, now: datetime | None = None) -> list[int]:
    """Create the month's missing reports (idempotent) and return the ids due now."""
    now = now or timezone.now()
    _check_month(month, now=now)
    month = month_first(month)
    UsageReport.objects.bulk_create(
        [
            UsageReport(tenant_id=tenant_id, month=month, next_attempt_at=now)
            for tenant_id in usage_tenant_ids(month=month)
        ],
        ignore_conflicts=True,
        batch_size=500,
    )
    return usage_reports_due(now=now, month=month)


def usage_reports_due(*, now: datetime | None = None, month: date | None = None) -> list[int]:
    """The ids of the reports due now.

    One service's reports come together, so that a chunk holds few services and its calls share
    connections.
    """
    now = now or timezone.now()
    reports = UsageReport.objects.filter(state=UsageReport.State.PENDING, next_attempt_at__lte=now)
    if month is not None:
        reports = reports.filter(month=month_first(month))
    return list(reports.order_by("tenant__service_id", "pk").values_list("pk", flat=True))


def usage_chains(
    *, report_ids: Sequence[int], chunk_size: int, now: datetime | None = None
) -> tuple[list[list[list[int]]], datetime]:
    """The due reports as one chain of chunks per vendor, leased for the chains' run.

    A vendor's chunks run one after another (monitoring/tasks.py sends the next when one ends),
    so a vendor that hangs holds one worker slot for usage, never all of them (the bulkhead,
    docs/reliability.md). The lease keeps the 5-minute retry task from starting a second chain
    of the same reports; a chain broken by a dead worker is picked up once the lease ends.
    Returns the chains and the lease's end, which the chunks claim up to.
    """
    now = now or timezone.now()
    leased_until = now + LEASE
    with transaction.atomic():
        rows = list(
            UsageReport.objects.select_for_update(skip_locked=True)
            .filter(
                pk__in=list(report_ids), state=UsageReport.State.PENDING, next_attempt_at__lte=now
            )
            .order_by("tenant__service__vendor_id", "tenant__service_id", "pk")
            .values_list("pk", "tenant__service__vendor_id")
        )
        UsageReport.objects.filter(pk__in=[pk for pk, _vendor in rows]).update(
            next_attempt_at=leased_until
        )
    by_vendor: dict[int, list[int]] = defaultdict(list)
    for pk, vendor_id in rows:
        by_vendor[vendor_id].append(pk)
    size = max(1, chunk_size)
    chains = [
        [ids[start : start + size] for start in range(0, len(ids), size)]
        for ids in by_vendor.values()
    ]
    return chains, leased_until


def _claim(
    *, report_ids: Sequence[int], now: datetime, leased_until: datetime | None = None
) -> list[int]:
    with transaction.atomic():
        ids = list(
            UsageReport.objects.select_for_update(skip_locked=True)
            .filter(
                pk__in=list(report_ids),
                state=UsageReport.State.PENDING,
                next_attempt_at__lte=max(now, leased_until or now),
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


def _not_callable(exc: Exception) -> str:
    return f"the call could not be made ({type(exc).__name__}: {str(exc)[:200]})"


def usage_target(target: VendorTarget, *, mandatory: bool) -> VendorTarget:
    """The target with the standard usage path when the policy is mandatory and none is declared."""
    if not mandatory or target.endpoints.get("usage_report"):
        return target
    return dataclasses.replace(
        target, endpoints={**target.endpoints, "usage_report": STANDARD_USAGE_PATH}
    )


def _targets(services: Iterable[Service], *, mandatory: bool) -> dict[int, VendorTarget | str]:
    """Each service's vendor target (credentials decrypted once per chunk), or why there is none."""
    targets: dict[int, VendorTarget | str] = {}
    for service in services:
        try:
            targets[service.pk] = usage_target(vendor_target(service), mandatory=mandatory)
        except Exception as exc:  # bad data of one service must not stop the others
            logger.exception("usage calls to service %s could not be prepared", service.pk)
            targets[service.pk] = _not_callable(exc)
    return targets


def _open_client(target: VendorTarget | str) -> VendorClient | str:
    if isinstance(target, str):
        return target
    try:
        return VendorClient(target)
    except Exception as exc:  # as above: one service's problem is that service's reports'
        logger.exception("no vendor client for service %s", target.service_id)
        return _not_callable(exc)


def _ask(report: UsageReport, client: VendorClient, *, fresh: bool) -> VendorResponse | str:
    """One vendor call, made on a worker thread; a string is a reason no call could be made."""
    try:
        return client.usage(
            report.tenant.tenant_id,
            month=month_label(report.month),
            request_id=_request_id(report, fresh=fresh),
        )
    except UnknownEndpoint:
        return "the service declares no usage_report endpoint in its manifest"
    except Exception as exc:  # a bug or bad data for one tenant must not stop the others
        logger.exception("usage call for report %s could not be made", report.pk)
        return _not_callable(exc)


class _ServiceQueues:
    """A chunk's reports waiting for their call, one queue per service, shared by the threads.

    A thread asks for work naming the service it called last and gets another report of that
    service while there is one, so one client (one session, its connection kept alive) serves
    them all; once that queue is empty it moves to the service with the most reports left per
    thread already on it. So a slow service never leaves threads idle, and the calls of a
    chunk open about one connection per thread, not one per report.
    """

    def __init__(self, reports: Sequence[UsageReport]) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[int, deque[int]] = defaultdict(deque)
        for index, report in enumerate(reports):
            self._waiting[report.tenant.service_id].append(index)
        self._threads_on: Counter[int] = Counter()

    def take(self, service_id: int | None) -> tuple[int, int] | None:
        """``(service id, index of the report)`` to call next; None once every one is taken."""
        with self._lock:
            waiting = self._waiting.get(service_id) if service_id is not None else None
            if waiting:
                return service_id, waiting.popleft()
            if service_id is not None:
                self._threads_on[service_id] -= 1
            left = [s for s, queue in self._waiting.items() if queue]
            if not left:
                return None
            chosen = max(
                left, key=lambda s: (len(self._waiting[s]) / (self._threads_on[s] + 1), -s)
            )
            self._threads_on[chosen] += 1
            return chosen, self._waiting[chosen].popleft()


def _ask_all(
    reports: Sequence[UsageReport],
    *,
    targets: dict[int, VendorTarget | str],
    threads: int,
    fresh: bool,
) -> list[VendorResponse | str]:
    """Every report's answer, in the order of ``reports``, asked on up to ``threads`` threads."""
    answers: list[VendorResponse | str] = [""] * len(reports)
    queues = _ServiceQueues(reports)

    def run() -> None:
        service_id: int | None = None
        client: VendorClient | str = ""
        try:
            while (taken := queues.take(service_id)) is not None:
                if taken[0] != service_id:
                    if isinstance(client, VendorClient):
                        client.close()
                    service_id, client = taken[0], _open_client(targets[taken[0]])
                report = reports[taken[1]]
                answers[taken[1]] = (
                    client if isinstance(client, str) else _ask(report, client, fresh=fresh)
                )
        finally:
            if isinstance(client, VendorClient):
                client.close()

    workers = max(1, min(threads, len(reports)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="usage") as pool:
        for future in [pool.submit(run) for _ in range(workers)]:
            future.result()
    return answers


def _backoff(attempts: int, retry_after: int | None) -> timedelta:
    minutes = BACKOFF_MINUTES[min(max(attempts, 1), len(BACKOFF_MINUTES)) - 1]
    return max(timedelta(minutes=minutes), timedelta(seconds=retry_after or 0))


NOTED_CODES = frozenset({(404, "tenant_not_found"), (410, "tenant_purged")})
NONCOMPLIANT_FAILURES = frozenset(
    {UsageReport.Failure.REFUSED, UsageReport.Failure.MALFORMED, UsageReport.Failure.MISSING}
)


def _error_code(answer: VendorResponse) -> str | None:
    body = answer.body
    return body.get("error") if isinstance(body, dict) else None


def _apply_answer(report: UsageReport, answer: VendorResponse | str, now: datetime) -> None:
    State, Failure = UsageReport.State, UsageReport.Failure
    report.metrics = {}
    report.failure = Failure.NONE
    if isinstance(answer, str):
        report.state, report.error = State.FAILED, answer
        report.failure = Failure.NOT_CALLED
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
            report.failure = Failure.MALFORMED
    elif answer.error_kind == "invalid_body":
        report.state, report.error = State.REJECTED, answer.error or "the answer is unusable"
        report.failure = Failure.MALFORMED
    elif answer.retryable and report.attempts < max_attempts():
        report.state, report.error = State.PENDING, answer.error or ""
        report.next_attempt_at = now + _backoff(report.attempts, answer.retry_after)
    else:
        report.state, report.error = State.FAILED, answer.error or "no usable answer"
        status = answer.status_code
        if status is not None and (status, _error_code(answer)) in NOTED_CODES:
            report.failure = Failure.NONE  # no report for that tenant: noted, not a fault
        elif answer.error_kind == "http" and status is not None and 400 <= status < 500:
            report.failure = Failure.REFUSED
        else:
            report.failure = Failure.MISSING
    if report.state != State.PENDING:
        report.next_attempt_at = now
    report.updated_at = now  # rows_update does not touch auto_now fields


def _reports_with_services(report_ids: Sequence[int]) -> list[UsageReport]:
    """The reports, each with its tenant and the tenant's service (manifest and credentials).

    Four queries for any number of reports; each service is loaded once, not once per report.
    """
    reports = list(UsageReport.objects.filter(pk__in=list(report_ids)).order_by("pk"))
    if not reports:
        return []
    tenants = {
        tenant.pk: tenant
        for tenant in Tenant.objects.filter(pk__in={r.tenant_id for r in reports}).only(
            "tenant_id", "organization", "service"
        )
    }
    services = {
        service.pk: service
        for service in Service.objects.filter(pk__in={t.service_id for t in tenants.values()})
        .select_related("current_manifest")
        .prefetch_related("credentials")
    }
    for tenant in tenants.values():
        tenant.service = services[tenant.service_id]
    for report in reports:
        report.tenant = tenants[report.tenant_id]
    return reports


def usage_reports_collect(
    *,
    report_ids: Sequence[int],
    now: datetime | None = None,
    threads: int | None = None,
    fresh_request_ids: bool = False,
    leased_until: datetime | None = None,
) -> CollectResult:
    """Ask the vendors for the due reports among ``report_ids`` and store what they answer.

    ``leased_until``: the reports were leased to a chain up to then (``usage_chains``).
    """
    now = now or timezone.now()
    reports = _reports_with_services(
        _claim(report_ids=report_ids, now=now, leased_until=leased_until)
    )
    if not reports:
        return CollectResult(0, 0, 0, 0)
    mandatory = MarketPolicy.load().usage_reports_mandatory
    targets = _targets({report.tenant.service for report in reports}, mandatory=mandatory)
    answers = _ask_all(
        reports, targets=targets, threads=threads or thread_count(), fresh=fresh_request_ids
    )
    finished_at = timezone.now()
    for report, answer in zip(reports, answers, strict=True):
        _apply_answer(report, answer, finished_at)
    with transaction.atomic():
        rows_update(
            objects=reports,
            fields=[
                "state",
                "metrics",
                "error",
                "failure",
                "collected_at",
                "next_attempt_at",
                "updated_at",
            ],
        )
        event_record_many(type="usage.collected", actor="usage_collection", items=[{"usage_report": r, "tenant": r.tenant} for r in reports if r.state == UsageReport.State.COLLECTED])  # fmt: skip
        event_record_many(type="usage.rejected", actor="usage_collection", items=[{"usage_report": r, "tenant": r.tenant} for r in reports if r.state == UsageReport.State.REJECTED])  # fmt: skip
    _after_collection(reports, now=finished_at, mandatory=mandatory)
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


def _after_collection(reports: list[UsageReport], *, now: datetime, mandatory: bool) -> None:
    """Non-compliance under the mandatory policy, and bills that now have their usage."""
    State = UsageReport.State
    answered = {r.tenant.service_id for r in reports if r.state == State.COLLECTED}
    faulty = [r for r in reports if r.failure in NONCOMPLIANT_FAILURES]
    unanswered = {r.tenant.service_id for r in faulty}
    if answered:
        Service.objects.filter(pk__in=answered - unanswered).update(usage_noncompliant_since=None)
    if unanswered and mandatory:
        with transaction.atomic():
            newly = list(
                Service.objects.select_for_update()
                .filter(pk__in=unanswered, usage_noncompliant_since__isnull=True)
                .values_list("pk", flat=True)
            )
            Service.objects.filter(pk__in=newly).update(usage_noncompliant_since=now)
            if newly:  # queued with the mark, so the vendor is told exactly once
                months = sorted({r.month for r in reports if r.tenant.service_id in newly})
                reasons: dict[int, dict[str, str]] = {}
                for report in faulty:  # the first faulty report of each service says what happened
                    reasons.setdefault(
                        report.tenant.service_id,
                        {"failure": str(report.failure), "error": report.error[:300]},
                    )
                alerts.usage_noncompliance_notify(
                    service_ids=newly,
                    month_label=", ".join(month_label(m) for m in months),
                    reasons=reasons,
                )
    # A report collected after its month was billed completes that bill.
    collected = {(r.tenant.organization_id, r.month) for r in reports if r.state == State.COLLECTED}
    if not collected:
        return
    billed = collected & set(
        Statement.objects.filter(
            organization_id__in={organization_id for organization_id, _month in collected},
            month__in={month for _organization_id, month in collected},
        ).values_list("organization_id", "month")
    )
    schools_by_month: dict[date, list[int]] = defaultdict(list)
    for organization_id, month in sorted(billed):
        schools_by_month[month].append(organization_id)
    for month, organization_ids in sorted(schools_by_month.items()):
        billing.statements_generate(organization_ids=organization_ids, month=month)


def usage_report_request(
    *, tenant_id: int, month: date, force: bool = False, now: datetime | None = None
) -> UsageReport:
    """Ask for one tenant's usage of ``month`` again (on demand): the report becomes due now.

    A collected report is returned unchanged unless ``force``; any other report is reset so the
    next collection asks the vendor with a fresh request id.
    """
    now = now or timezone.now()
    _check_month(month, now=now)
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
        report.failure = UsageReport.Failure.NONE
        report.save(
            update_fields=["state", "attempts", "next_attempt_at", "error", "failure", "updated_at"]
        )
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
