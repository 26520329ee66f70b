"""Reads for monitoring pages, the metrics endpoint and the background jobs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Exists, Min, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.http import Http404
from django.utils import timezone

from market.lib.months import previous_month
from monitoring.models import (
    HealthRollup,
    Incident,
    MonitoringCounter,
    Statement,
    SweepRun,
    UsageReport,
)
from monitoring.uptime import DayCount, UptimeStrip, uptime_strip
from services.models import Service
from services.standard.metrics import STANDARD_USAGE_METRICS
from tenants.attention import LifecycleAttention, lifecycle_attention
from tenants.models import Operation, Organization, Tenant

UPTIME_DAYS = 90
USAGE_MONTHS = 12

# Tenants a school is using right now: their service is monitored even when unlisted.
LIVE_TENANT_STATES = (Tenant.State.ACTIVE, Tenant.State.UPDATING)


# --- what the sweep probes -------------------------------------------------------------------


def probe_eligible_services() -> QuerySet[Service]:
    """Listed services, plus any service that still hosts a live tenant (unlisted or not)."""
    live_tenant = Tenant.objects.filter(service=OuterRef("pk"), state__in=LIVE_TENANT_STATES)
    return Service.objects.filter(Q(status=Service.Status.LISTED) | Q(Exists(live_tenant)))


# --- uptime ------------------------------------------------------------------------------------


def local_today() -> date:
    return timezone.localdate()


def daily_counts(
    *, service_ids: list[int], last_day: date, days: int = UPTIME_DAYS
) -> dict[int, dict[date, DayCount]]:
    """Checks and failures per service and local day, summed in the database from rollups."""
    tz = ZoneInfo(settings.TIME_ZONE)
    first_day = last_day - timedelta(days=days - 1)
    since = datetime.combine(first_day, datetime.min.time(), tzinfo=tz)
    rows = (
        HealthRollup.objects.filter(service_id__in=service_ids, hour__gte=since)
        .annotate(day=TruncDate("hour", tzinfo=tz))
        .values("service_id", "day")
        .annotate(checks=Sum("checks"), failures=Sum("failures"))
        .order_by()
    )
    result: dict[int, dict[date, DayCount]] = {pk: {} for pk in service_ids}
    for row in rows:
        result[row["service_id"]][row["day"]] = DayCount(row["checks"], row["failures"])
    return result


def uptime_strips(
    *, service_ids: list[int], last_day: date | None = None, days: int = UPTIME_DAYS
) -> dict[int, UptimeStrip]:
    last_day = last_day or local_today()
    counts = daily_counts(service_ids=service_ids, last_day=last_day, days=days)
    return {
        pk: uptime_strip(counts=counts.get(pk, {}), last_day=last_day, days=days)
        for pk in service_ids
    }


# --- status page -------------------------------------------------------------------------------


def status_services() -> QuerySet[Service]:
    """The services on the status page: every probed service, by name."""
    return probe_eligible_services().select_related("vendor").order_by("name", "pk")


def open_incidents() -> QuerySet[Incident]:
    return Incident.objects.filter(closed_at__isnull=True).select_related("service__vendor")


def past_incidents(*, days: int = UPTIME_DAYS, now: datetime | None = None) -> QuerySet[Incident]:
    now = now or timezone.now()
    return Incident.objects.filter(
        closed_at__isnull=False, closed_at__gte=now - timedelta(days=days)
    ).select_related("service__vendor")


def vendor_services(*, vendor_id: int) -> QuerySet[Service]:
    return Service.objects.filter(vendor_id=vendor_id).order_by("name")


# --- one service's history (its vendor and staff) ------------------------------------------------


def service_for_history(*, user, service_id: str) -> Service:
    """The service whose history ``user`` may read: staff any, a vendor only its own; else 404."""
    services = Service.objects.select_related("vendor")
    if not user.is_staff:
        if not getattr(user, "vendor_id", None):
            raise Http404("No such service.")
        services = services.filter(vendor_id=user.vendor_id)
    try:
        return services.get(service_id=service_id)
    except Service.DoesNotExist:
        raise Http404("No such service.") from None


def hourly_rollups(*, service: Service, hours: int = 48, now: datetime | None = None):
    now = now or timezone.now()
    return HealthRollup.objects.filter(
        service=service, hour__gte=now - timedelta(hours=hours)
    ).order_by("-hour")


def service_incidents(*, service: Service, limit: int = 50) -> list[Incident]:
    return list(Incident.objects.filter(service=service).order_by("-opened_at")[:limit])


def service_usage_reports(*, service: Service, limit: int = 100) -> list[UsageReport]:
    return list(
        UsageReport.objects.filter(tenant__service=service)
        .select_related("tenant__organization")
        .order_by("-month", "tenant__tenant_id")[:limit]
    )


# --- staff dashboard ---------------------------------------------------------------------------


# --- a tenant's usage (the school's subscription page) --------------------------------------


def tenant_usage(*, tenant: Tenant, months: int = USAGE_MONTHS, today=None) -> list[UsageReport]:
    """Collected usage reports of the last `months` months, oldest first."""
    today = today or timezone.localdate()
    first = (today.replace(day=1) - timedelta(days=31 * (months - 1))).replace(day=1)
    return list(
        UsageReport.objects.filter(
            tenant=tenant, state=UsageReport.State.COLLECTED, month__gte=first
        ).order_by("month")
    )


def usage_metrics(reports: list[UsageReport]) -> list[str]:
    """Numeric metrics present in the reports: the seed's four first, then any others."""
    seen: dict[str, None] = {}
    for name in STANDARD_USAGE_METRICS:
        if any(isinstance(r.metrics.get(name), int | float) for r in reports):
            seen[name] = None
    for report in reports:
        for name, value in report.metrics.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                seen.setdefault(name, None)
    return list(seen)


@dataclass(frozen=True)
class Dashboard:
    health_counts: dict[str, int]
    services_monitored: int
    attention: list[Service]
    open_incidents: list[Incident]  # the 500 newest; open_incident_count has them all
    open_incident_count: int
    recent_incidents: list[Incident]
    sweeps: list[SweepRun]
    usage_problems: list[UsageReport]
    usage_counts: list[tuple[str, str, int]]  # (state, label, count)
    usage_month: date
    noncompliant: list[Service]
    lifecycle: LifecycleAttention


def dashboard(*, now: datetime | None = None) -> Dashboard:
    now = now or timezone.now()
    monitored = probe_eligible_services()
    counts = dict(monitored.values_list("health").annotate(n=Count("pk")).order_by())
    month = previous_month(timezone.localdate(now))
    usage_counts = dict(
        UsageReport.objects.filter(month=month)
        .values_list("state")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return Dashboard(
        health_counts={state: counts.get(state, 0) for state in Service.Health.values},
        services_monitored=sum(counts.values()),
        attention=list(
            monitored.exclude(health=Service.Health.HEALTHY)
            .select_related("vendor")
            .order_by("-consecutive_failures", "name")[:200]
        ),
        open_incidents=list(open_incidents().order_by("-opened_at")[:500]),
        open_incident_count=Incident.objects.filter(closed_at__isnull=True).count(),
        recent_incidents=list(past_incidents(now=now).order_by("-closed_at")[:20]),
        sweeps=list(SweepRun.objects.order_by("-minute")[:5]),
        usage_problems=list(
            UsageReport.objects.filter(
                state__in=[UsageReport.State.REJECTED, UsageReport.State.FAILED],
                month__gte=month - timedelta(days=62),
            )
            .select_related("tenant__service__vendor", "tenant__organization")
            .order_by("-month", "tenant__service__name")[:200]
        ),
        usage_counts=[
            (state.value, state.label, usage_counts.get(state.value, 0))
            for state in UsageReport.State
        ],
        usage_month=month,
        noncompliant=list(
            Service.objects.filter(usage_noncompliant_since__isnull=False)
            .select_related("vendor")
            .order_by("usage_noncompliant_since")
        ),
        lifecycle=lifecycle_attention(now=now, limit=20),
    )


# --- statements --------------------------------------------------------------------------------


def schools_billed() -> list[tuple[int, str]]:
    """Every school with a subscription, (pk, name) by name: the staff preview's choices."""
    return list(
        Organization.objects.filter(subscriptions__isnull=False)
        .distinct()
        .order_by("name", "pk")
        .values_list("pk", "name")
    )


def statements_visible_to(user) -> QuerySet[Statement]:
    """Staff see every statement, a school admin only its own school's, anyone else none."""
    statements = Statement.objects.select_related("organization")
    if user.is_staff:
        return statements
    if getattr(user, "organization_id", None):
        return statements.filter(organization_id=user.organization_id)
    return statements.none()


def statement_for(*, user, pk: int) -> Statement:
    try:
        return statements_visible_to(user).get(pk=pk)
    except Statement.DoesNotExist:
        raise Http404("No such statement.") from None


def statement_lines(statement: Statement):
    return statement.lines.select_related("subscription__service").order_by("id")


def statement_usage_gaps(statement: Statement) -> list[UsageReport]:
    """This school's usage reports of the month that did not make it into the bill."""
    return list(
        UsageReport.objects.filter(
            tenant__organization_id=statement.organization_id, month=statement.month
        )
        .exclude(state=UsageReport.State.COLLECTED)
        .select_related("tenant__service")
    )


# --- metrics -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricsSnapshot:
    counters: dict[str, int]
    open_incidents: int
    services_by_health: dict[str, int]
    operations_by_state: dict[str, int]
    oldest_queued_operation_age_seconds: float
    last_sweep_finished_at: datetime | None
    usage_reports_by_state: dict[str, int]


def metrics_snapshot(*, now: datetime | None = None) -> MetricsSnapshot:
    now = now or timezone.now()
    health = dict(
        probe_eligible_services().values_list("health").annotate(n=Count("pk")).order_by()
    )
    operations = dict(Operation.objects.values_list("state").annotate(n=Count("pk")).order_by())
    oldest = Operation.objects.filter(state=Operation.State.QUEUED).aggregate(
        oldest=Min("created_at")
    )["oldest"]
    month = previous_month(timezone.localdate(now))
    usage = dict(
        UsageReport.objects.filter(month=month)
        .values_list("state")
        .annotate(n=Count("pk"))
        .order_by()
    )
    last_sweep = (
        SweepRun.objects.filter(finished_at__isnull=False)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    return MetricsSnapshot(
        counters=dict(MonitoringCounter.objects.values_list("name", "value")),
        open_incidents=Incident.objects.filter(closed_at__isnull=True).count(),
        services_by_health={state: health.get(state, 0) for state in Service.Health.values},
        operations_by_state={state: operations.get(state, 0) for state in Operation.State.values},
        oldest_queued_operation_age_seconds=(
            max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
        ),
        last_sweep_finished_at=last_sweep,
        usage_reports_by_state={state: usage.get(state, 0) for state in UsageReport.State.values},
    )
