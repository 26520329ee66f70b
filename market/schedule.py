"""The periodic tasks a fresh database must have, declared in code.

They are created once, when missing, after `migrate`. Existing rows are never overwritten,
so staff edits made in the admin (a different interval, a disabled entry) survive deploys.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class PeriodicEntry:
    name: str
    task: str
    every_seconds: int | None = None
    crontab: str | None = None  # "minute hour day_of_month month_of_year day_of_week"
    expire_seconds: int | None = None
    description: str = ""


PERIODIC_TASKS = [
    PeriodicEntry(
        name="Webhook deliveries (every minute)",
        task="webhooks.sweep",
        every_seconds=60,
        expire_seconds=50,
        description="Fans out events not yet published, sends due retries, reclaims lost ones.",
    ),
    PeriodicEntry(
        name="Health sweep (every minute)",
        task="monitoring.health_sweep",
        every_seconds=60,
        expire_seconds=50,
        description="Probes /mt/health of every listed service; opens incidents after 3 failures.",
    ),
    PeriodicEntry(
        name="Reconcile lifecycle operations (every minute)",
        task="tenants.reconcile_operations",
        every_seconds=60,
        expire_seconds=50,
        description="Dispatches operations that are due or stuck, so nothing queued is ever lost.",
    ),
    PeriodicEntry(
        name="Subscription expiry (every 15 minutes)",
        task="tenants.process_subscription_dates",
        every_seconds=15 * 60,
        expire_seconds=10 * 60,
        description="Sends 7-day notices, deactivates ended subscriptions, purges past deadlines.",
    ),
    PeriodicEntry(
        name="Tenant status sync (hourly)",
        task="tenants.sync_tenant_statuses",
        every_seconds=60 * 60,
        expire_seconds=30 * 60,
        description="Asks every live tenant's status and flags drift.",
    ),
    PeriodicEntry(
        name="Monthly usage collection (1st, 03:00)",
        task="monitoring.collect_monthly_usage",
        crontab="0 3 1 * *",
        description="Collects last month's usage from every service that reports it.",
    ),
    PeriodicEntry(
        name="Usage retries (every 5 minutes)",
        task="monitoring.retry_usage_collection",
        every_seconds=5 * 60,
        expire_seconds=4 * 60,
        description="Retries usage reports that are due.",
    ),
    PeriodicEntry(
        name="Monthly statements (1st, 06:00)",
        task="monitoring.generate_monthly_statements",
        crontab="0 6 1 * *",
        description="Bills every school for last month.",
    ),
    PeriodicEntry(
        name="Prune health rollups (daily)",
        task="monitoring.prune_rollups",
        crontab="30 4 * * *",
        description="Keeps 90 days of hourly health rollups.",
    ),
]


def ensure_periodic_tasks(sender=None, **kwargs) -> int:
    """Create the declared periodic tasks that are missing; return how many were created."""
    from django.conf import settings
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    created = 0
    for entry in PERIODIC_TASKS:
        if PeriodicTask.objects.filter(name=entry.name).exists():
            continue
        schedule = {}
        if entry.every_seconds:
            schedule["interval"], _ = IntervalSchedule.objects.get_or_create(
                every=entry.every_seconds, period=IntervalSchedule.SECONDS
            )
        else:
            minute, hour, day_of_month, month_of_year, day_of_week = entry.crontab.split()
            schedule["crontab"], _ = CrontabSchedule.objects.get_or_create(
                minute=minute,
                hour=hour,
                day_of_month=day_of_month,
                month_of_year=month_of_year,
                day_of_week=day_of_week,
                timezone=settings.TIME_ZONE,
            )
        PeriodicTask.objects.create(
            name=entry.name,
            task=entry.task,
            expire_seconds=entry.expire_seconds,
            description=entry.description,
            **schedule,
        )
        created += 1
    return created
