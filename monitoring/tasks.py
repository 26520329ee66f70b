"""Celery tasks of monitoring: thin wrappers that take ids and call one service function.

Beat entries (declared in ``market/schedule.py``): ``monitoring.health_sweep`` (every minute),
``monitoring.collect_monthly_usage`` (1st, 03:00), ``monitoring.retry_usage_collection`` (every
5 minutes), ``monitoring.generate_monthly_statements`` (1st, 06:00), ``monitoring.prune_rollups``
(daily). ``monitoring.tasks.probe_chunk`` goes to the ``probes`` queue (``CELERY_TASK_ROUTES``).
"""

from __future__ import annotations

from datetime import datetime

from celery import shared_task
from django.conf import settings

from market.lib.months import month_parse, previous_month
from monitoring import billing, health, usage


def _parse_moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@shared_task(name="monitoring.health_sweep", ignore_result=True)
def health_sweep(
    now: str | None = None, spread_seconds: float | None = None, chunk_size: int | None = None
) -> int:
    """Plan this minute's sweep (once, however often called) and send its chunks off.

    The arguments are for operators and tests; beat sends none (settings decide).
    """
    plan = health.sweep_plan_create(now=_parse_moment(now), size=chunk_size, spread=spread_seconds)
    if plan is None:
        return 0
    for chunk in plan.chunks:
        probe_chunk.apply_async(
            kwargs={"service_ids": chunk.service_ids, "sweep_id": plan.sweep_id},
            countdown=chunk.countdown,
            expires=chunk.expires_in,
        )
    return len(plan.chunks)


@shared_task(name="monitoring.tasks.probe_chunk", ignore_result=True)
def probe_chunk(service_ids: list[int], sweep_id: int | None = None) -> int:
    return health.sweep_chunk_run(service_ids=service_ids, sweep_id=sweep_id).probed


def _dispatch_usage(report_ids: list[int]) -> int:
    """Send one chain of chunks per vendor: its first chunk now, each next one when it ends."""
    chains, leased_until = usage.usage_chains(
        report_ids=report_ids, chunk_size=int(settings.USAGE_CHUNK_SIZE)
    )
    for chain in chains:
        collect_usage_chunk.delay(
            report_ids=chain[0], following=chain[1:], leased_until=leased_until.isoformat()
        )
    return sum(len(chain) for chain in chains)


@shared_task(name="monitoring.collect_monthly_usage", ignore_result=True)
def collect_monthly_usage(month: str | None = None) -> int:
    """Create last month's usage reports (or ``month``, ``YYYY-MM``) and start collecting."""
    target = month_parse(month) if month else previous_month()
    return _dispatch_usage(usage.usage_reports_prepare(month=target))


@shared_task(name="monitoring.collect_usage_chunk", ignore_result=True)
def collect_usage_chunk(
    report_ids: list[int], following: list[list[int]] | None = None, leased_until: str | None = None
) -> int:
    """Collect one chunk, then send the next chunk of the same vendor's chain (if any)."""
    try:
        return usage.usage_reports_collect(
            report_ids=report_ids, leased_until=_parse_moment(leased_until)
        ).collected
    finally:
        if following:
            collect_usage_chunk.delay(
                report_ids=following[0], following=following[1:], leased_until=leased_until
            )


@shared_task(name="monitoring.retry_usage_collection", ignore_result=True)
def retry_usage_collection() -> int:
    return _dispatch_usage(usage.usage_reports_due())


@shared_task(name="monitoring.generate_monthly_statements", ignore_result=True)
def generate_monthly_statements(month: str | None = None) -> int:
    target = month_parse(month) if month else previous_month()
    return billing.statements_generate_month(month=target)


@shared_task(name="monitoring.prune_rollups", ignore_result=True)
def prune_rollups() -> int:
    return health.rollups_prune().rollups
