"""The health sweep and the incident state machine.

Once a minute the beat task asks ``sweep_plan_create`` for a plan: the minute's ``SweepRun`` row
is inserted first and its unique minute is the lock (a second beat, or a sweep triggered twice,
gets an IntegrityError and probes nothing). The plan cuts the probed services into chunks that
start at offsets spread over the minute. Each chunk (``sweep_chunk_run``) claims its services,
probes them concurrently through the vendor client's ``probe_all`` and records the outcomes in
one transaction: the current state on the service rows (one bulk update, ``monitoring.bulk``),
one rollup row per service and hour, and incidents.

Decisions (written down here because the issue left them open):

- Only ``unhealthy`` counts toward ``MarketPolicy.incident_threshold``. Any answer that is not
  unhealthy (``healthy`` or ``degraded``) resets ``consecutive_failures`` to 0 and closes an
  open incident: the incident means "down", a degraded service is up and shown as degraded.
- An incident is opened on the threshold-th consecutive unhealthy check; its ``opened_at`` is
  when the service turned unhealthy (``health_changed_at``), not when the threshold was hit.
- Alerts are rate-limited per service: an incident opened less than
  ``incident_realert_minutes`` after the service's last alert opens silently; if it is still
  open once the window has passed, the alert goes out then. A recovery is announced only for
  incidents whose opening was announced. A long incident sends no reminders.
- A service is never probed twice within ``MONITORING_MIN_PROBE_GAP_SECONDS`` (30 s): a chunk
  claims its services by stamping ``health_checked_at`` first, so two overlapping sweeps (two
  beats whose minutes differ, a late chunk) cannot both probe one service.
- A ``healthy`` answer slower than ``PROBE_DEGRADED_AFTER_MS`` (2 s) but complete within the
  probe's limit (``PROBE_TOTAL_TIMEOUT_MS``, 5 s) counts as ``degraded`` (``outcomes_timed``):
  slow is shown, but is not "down". The limit stays below the lifecycle calls' 10 s because a
  chunk waits out the limit of its slowest endpoint and the sweep must fit in its minute.
- Rollup latency percentiles describe answered probes (healthy or degraded); a timeout or a
  refused connection is counted as a failure, not as a latency.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.utils import timezone

from events.services import event_record_many
from market.models import MarketPolicy
from monitoring import alerts, selectors
from monitoring.alerts import IncidentEvent
from monitoring.bulk import rows_update, rows_upsert
from monitoring.latency import histogram_add, histogram_percentile
from monitoring.models import HealthRollup, Incident, MonitoringCounter, SweepRun
from services.models import Service
from services.vendor_client.probe import ProbeOutcome, ProbeTarget, probe_all_sync
from services.vendor_client.urls import endpoint_url
from tenants.operations.services import operations_wake_for_service

logger = logging.getLogger(__name__)

DEFAULT_HEALTH_PATH = "/mt/health"
PROBES_COUNTER = "health_probes"
FAILURES_COUNTER = "health_probe_failures"
SERVICE_HEALTH_FIELDS = [
    "health",
    "health_checked_at",
    "health_changed_at",
    "health_latency_ms",
    "health_reason",
    "consecutive_failures",
]


def chunk_size() -> int:
    return max(1, int(settings.MONITORING_PROBE_CHUNK_SIZE))


def spread_seconds() -> float:
    return max(0.0, float(settings.MONITORING_SWEEP_SPREAD_SECONDS))


def min_probe_gap() -> timedelta:
    return timedelta(seconds=float(settings.MONITORING_MIN_PROBE_GAP_SECONDS))


# A chunk that has not started this long after its planned start is dropped: by then the next
# minute's chunk for the same services is about to run.
CHUNK_EXPIRY_SECONDS = 50


# --- planning a sweep ------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepChunk:
    service_ids: list[int]
    countdown: float
    expires_in: float


@dataclass(frozen=True)
class SweepPlan:
    sweep_id: int
    minute: datetime
    chunks: list[SweepChunk]


def sweep_minute(moment: datetime) -> datetime:
    """The UTC minute a moment belongs to: the key of the sweep lock."""
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def sweep_plan_create(
    *,
    now: datetime | None = None,
    size: int | None = None,
    spread: float | None = None,
) -> SweepPlan | None:
    """Claim this minute's sweep and cut the services into chunks; None if already swept.

    The ``SweepRun`` insert is the lock: its minute is unique, so of two callers for one minute
    exactly one gets the row, on SQLite and PostgreSQL alike, in one process or many.
    """
    now = now or timezone.now()
    minute = sweep_minute(now)
    try:
        with transaction.atomic():
            run = SweepRun.objects.create(minute=minute, started_at=now)
    except IntegrityError:
        logger.info("health sweep for %s already ran; skipping", minute.isoformat())
        return None
    ids = list(selectors.probe_eligible_services().order_by("pk").values_list("pk", flat=True))
    size = size or chunk_size()
    spread = spread_seconds() if spread is None else max(0.0, spread)
    groups = [ids[start : start + size] for start in range(0, len(ids), size)]
    chunks = []
    for index, group in enumerate(groups):
        countdown = round(index * spread / len(groups), 3)
        chunks.append(
            SweepChunk(
                service_ids=group,
                countdown=countdown,
                expires_in=countdown + CHUNK_EXPIRY_SECONDS,
            )
        )
    run.services = len(ids)
    run.chunks = len(chunks)
    run.finished_at = None if chunks else now
    run.save(update_fields=["services", "chunks", "finished_at"])
    return SweepPlan(sweep_id=run.pk, minute=minute, chunks=chunks)


# --- running one chunk -----------------------------------------------------------------------


@dataclass(frozen=True)
class ChunkResult:
    probed: int
    failures: int
    events: list[IncidentEvent]


def health_targets(service_ids: Sequence[int]) -> list[ProbeTarget]:
    """The probe targets of these services: the manifest's health path under its base URL.

    A service without a manifest (or whose manifest names no health endpoint) is probed at the
    standard's default path under its base URL. The two manifest values are read by the
    database (no manifest is loaded or parsed): a chunk builds thousands of these a minute.
    """
    rows = Service.objects.filter(pk__in=list(service_ids)).values_list(
        "pk",
        "base_url",
        KeyTextTransform("base_url", KeyTransform("endpoints", "current_manifest__data")),
        KeyTextTransform("health", KeyTransform("endpoints", "current_manifest__data")),
    )
    return [
        ProbeTarget(key=pk, url=endpoint_url(base or fallback, path or DEFAULT_HEALTH_PATH))
        for pk, fallback, base, path in rows
    ]


def services_claim(*, service_ids: Sequence[int], now: datetime) -> list[int]:
    """Stamp and return the services of ``service_ids`` not probed within the minimum gap.

    The stamp happens before probing, so a second chunk holding the same services (an
    overlapping sweep) finds them claimed and leaves them alone.
    """
    cutoff = now - min_probe_gap()
    with transaction.atomic():
        ids = list(
            selectors.probe_eligible_services()
            .select_for_update()
            .filter(pk__in=list(service_ids))
            .filter(Q(health_checked_at__isnull=True) | Q(health_checked_at__lte=cutoff))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if ids:
            Service.objects.filter(pk__in=ids).update(health_checked_at=now)
    return ids


def sweep_chunk_run(
    *,
    service_ids: Sequence[int],
    sweep_id: int | None = None,
    now: datetime | None = None,
    probe_options: dict | None = None,
) -> ChunkResult:
    """Claim, probe (concurrently) and record one chunk of services, then send its alerts."""
    claimed = services_claim(service_ids=service_ids, now=now or timezone.now())
    targets = health_targets(claimed) if claimed else []
    outcomes = probe_all_sync(targets, **(probe_options or {})) if targets else []
    events = probe_outcomes_handle(outcomes=outcomes, now=timezone.now())
    failures = sum(1 for outcome in outcomes if outcome.state == Service.Health.UNHEALTHY)
    if sweep_id is not None:
        _sweep_progress(sweep_id=sweep_id, probed=len(outcomes), failures=failures)
    return ChunkResult(probed=len(outcomes), failures=failures, events=events)


def probe_outcomes_handle(
    *, outcomes: Sequence[ProbeOutcome], now: datetime | None = None
) -> list[IncidentEvent]:
    """Record outcomes; the e-mail about incidents opened or closed is queued with them."""
    return outcomes_record(outcomes=outcomes_timed(outcomes=outcomes), now=now)


def degraded_after_ms() -> int:
    return int(settings.PROBE_DEGRADED_AFTER_MS)


def outcomes_timed(*, outcomes: Sequence[ProbeOutcome]) -> list[ProbeOutcome]:
    """A healthy answer slower than PROBE_DEGRADED_AFTER_MS is degraded: up, but slow.

    Only an answer past the probe's limit (PROBE_TOTAL_TIMEOUT_MS) counts as unhealthy, so a
    vendor that answers slowly is shown as degraded instead of opening an incident.
    """
    threshold = degraded_after_ms()
    timed = []
    for outcome in outcomes:
        if outcome.state == Service.Health.HEALTHY and outcome.latency_ms > threshold:
            outcome = replace(
                outcome,
                state=Service.Health.DEGRADED,
                reason=f"answered healthy in {outcome.latency_ms} ms, slower than {threshold} ms",
            )
        timed.append(outcome)
    return timed


def _sweep_progress(*, sweep_id: int, probed: int, failures: int) -> None:
    SweepRun.objects.filter(pk=sweep_id).update(
        chunks_done=F("chunks_done") + 1,
        probes=F("probes") + probed,
        failures=F("failures") + failures,
    )
    SweepRun.objects.filter(
        pk=sweep_id, chunks_done__gte=F("chunks"), finished_at__isnull=True
    ).update(finished_at=timezone.now())


# --- recording outcomes: state, rollups, incidents --------------------------------------------


def outcomes_record(
    *, outcomes: Sequence[ProbeOutcome], now: datetime | None = None
) -> list[IncidentEvent]:
    """Apply probe outcomes (keyed by service pk) in one transaction; return what to announce.

    Writes: each service's current state (one bulk update), the hour's rollup of each
    service, incidents opened, updated and closed, and the probe counters. Never one row per
    probe.
    """
    if not outcomes:
        return []
    now = now or timezone.now()
    policy = MarketPolicy.load()
    by_service = {outcome.key: outcome for outcome in outcomes}
    with transaction.atomic():
        # Locking the service rows serialises every writer of these services' rollups and
        # incidents (ordered by pk so two chunks can never deadlock).
        services = [
            ServiceHealth(*row)
            for row in Service.objects.select_for_update()
            .filter(pk__in=list(by_service))
            .order_by("pk")
            .values_list("pk", *SERVICE_HEALTH_FIELDS)
        ]
        recovered = []
        for service in services:
            if (
                service.health == Service.Health.UNHEALTHY
                and by_service[service.pk].state != Service.Health.UNHEALTHY
            ):
                recovered.append(service)
            _apply_outcome(service, by_service[service.pk], now)
        rows_update(model=Service, objects=services, fields=SERVICE_HEALTH_FIELDS)
        for service in recovered:
            # Operations that backed off while the service was down go out now, not at their
            # next scheduled retry.
            operations_wake_for_service(service=service.pk)
        _rollups_add(services=services, outcomes=by_service, now=now)
        events = _incidents_update(services=services, outcomes=by_service, now=now, policy=policy)
        # The alerts commit with the incidents they announce (the mail outbox).
        alerts.incident_events_notify(events=events)
        failures = sum(1 for s in services if s.health == Service.Health.UNHEALTHY)
        counter_add(name=PROBES_COUNTER, amount=len(services))
        counter_add(name=FAILURES_COUNTER, amount=failures)
    return events


@dataclass(slots=True)
class ServiceHealth:
    """The health columns of one service row, as the sweep reads and writes them."""

    pk: int
    health: str
    health_checked_at: datetime | None
    health_changed_at: datetime | None
    health_latency_ms: int | None
    health_reason: str
    consecutive_failures: int


@dataclass(slots=True)
class _Rollup:
    service_id: int
    hour: datetime
    checks: int = 0
    failures: int = 0
    degraded: int = 0
    latency_p50_ms: int | None = None
    latency_p95_ms: int | None = None
    latency_histogram: dict = dataclass_field(default_factory=dict)


ROLLUP_FIELDS = [
    "checks",
    "failures",
    "degraded",
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_histogram",
]


def _apply_outcome(service: ServiceHealth, outcome: ProbeOutcome, now: datetime) -> None:
    if service.health != outcome.state:
        service.health_changed_at = now
    service.health = outcome.state
    service.health_checked_at = now
    service.health_latency_ms = max(0, int(outcome.latency_ms))
    service.health_reason = (outcome.reason or "")[:500]
    if outcome.state == Service.Health.UNHEALTHY:
        service.consecutive_failures += 1
    else:
        service.consecutive_failures = 0


def rollup_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _rollups_add(*, services: list[ServiceHealth], outcomes: dict, now: datetime) -> None:
    """Count each outcome into its service's rollup of the hour: one read, one upsert."""
    hour = rollup_hour(now)
    rollups = {
        row[0]: _Rollup(row[0], hour, *row[1:])
        for row in HealthRollup.objects.filter(
            service_id__in=[service.pk for service in services], hour=hour
        ).values_list("service_id", *ROLLUP_FIELDS)
    }
    for service in services:
        outcome = outcomes[service.pk]
        rollup = rollups.get(service.pk)
        if rollup is None:
            rollup = rollups[service.pk] = _Rollup(service.pk, hour)
        rollup.checks += 1
        if outcome.state == Service.Health.UNHEALTHY:
            rollup.failures += 1
        else:
            if outcome.state == Service.Health.DEGRADED:
                rollup.degraded += 1
            rollup.latency_histogram = histogram_add(rollup.latency_histogram, [outcome.latency_ms])
            rollup.latency_p50_ms = histogram_percentile(rollup.latency_histogram, 0.50)
            rollup.latency_p95_ms = histogram_percentile(rollup.latency_histogram, 0.95)
    rows_upsert(
        model=HealthRollup,
        objects=list(rollups.values()),
        unique_fields=["service", "hour"],
        fields=ROLLUP_FIELDS,
    )


def _incidents_update(
    *, services: list[ServiceHealth], outcomes: dict, now: datetime, policy: MarketPolicy
) -> list[IncidentEvent]:
    ids = [service.pk for service in services]
    open_incidents = {
        incident.service_id: incident
        for incident in Incident.objects.filter(service_id__in=ids, closed_at__isnull=True)
    }
    threshold = max(1, policy.incident_threshold)
    to_create: list[Incident] = []
    to_update: list[Incident] = []
    unannounced: list[Incident] = []
    events: list[IncidentEvent] = []
    for service in services:
        incident = open_incidents.get(service.pk)
        if service.health == Service.Health.UNHEALTHY:
            if incident is not None:
                incident.failed_checks += 1
                to_update.append(incident)
            elif service.consecutive_failures >= threshold:
                incident = Incident(
                    service_id=service.pk,
                    opened_at=min(service.health_changed_at or now, now),
                    reason=(outcomes[service.pk].reason or "unhealthy")[:500],
                    failed_checks=service.consecutive_failures,
                )
                to_create.append(incident)
            if incident is not None and incident.last_alert_at is None:
                unannounced.append(incident)
        elif incident is not None:
            incident.closed_at = now
            to_update.append(incident)
            if incident.last_alert_at is not None:
                events.append(IncidentEvent("closed", incident.pk))
    # Closing first: the open-incident constraint must never see two open rows of one service.
    Incident.objects.bulk_update(to_update, ["failed_checks", "closed_at"], batch_size=500)
    Incident.objects.bulk_create(to_create, batch_size=500)
    event_record_many(type="incident.opened", actor="health_sweep", items=[{"incident": i} for i in to_create])  # fmt: skip
    event_record_many(type="incident.resolved", actor="health_sweep", items=[{"incident": i} for i in to_update if i.closed_at])  # fmt: skip
    announce = _alerts_allowed(unannounced, now=now, policy=policy)
    for incident in announce:
        incident.last_alert_at = now
        events.append(IncidentEvent("opened", incident.pk))
    Incident.objects.bulk_update(announce, ["last_alert_at"], batch_size=500)
    return events


def _alerts_allowed(
    incidents: list[Incident], *, now: datetime, policy: MarketPolicy
) -> list[Incident]:
    """The incidents whose service has not been alerted about within the re-alert window."""
    if not incidents:
        return []
    window_start = now - timedelta(minutes=policy.incident_realert_minutes)
    recently_alerted = set(
        Incident.objects.filter(
            service_id__in=[incident.service_id for incident in incidents],
            last_alert_at__gt=window_start,
        ).values_list("service_id", flat=True)
    )
    return [incident for incident in incidents if incident.service_id not in recently_alerted]


def counter_add(*, name: str, amount: int) -> None:
    """Add to a monotonic counter row, creating it on first use."""
    if amount <= 0:
        return
    if MonitoringCounter.objects.filter(name=name).update(value=F("value") + amount):
        return
    try:
        with transaction.atomic():
            MonitoringCounter.objects.create(name=name, value=amount)
    except IntegrityError:
        MonitoringCounter.objects.filter(name=name).update(value=F("value") + amount)


# --- keeping storage small --------------------------------------------------------------------


@dataclass(frozen=True)
class PruneResult:
    rollups: int
    sweeps: int


def rollups_prune(*, now: datetime | None = None, keep_days: int | None = None) -> PruneResult:
    """Delete hourly rollups older than the retention (90 days) and sweep markers older than 2."""
    now = now or timezone.now()
    keep_days = keep_days or int(settings.MONITORING_ROLLUP_RETENTION_DAYS)
    rollups, _ = HealthRollup.objects.filter(hour__lt=now - timedelta(days=keep_days)).delete()
    sweeps, _ = SweepRun.objects.filter(minute__lt=now - timedelta(days=2)).delete()
    return PruneResult(rollups=rollups, sweeps=sweeps)
