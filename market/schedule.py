"""The periodic tasks a fresh database must have, declared in code, and the lanes they run on.

They are created once, when missing, after `migrate`. Existing rows are never overwritten,
so staff edits made in the admin (a different interval, a disabled entry) survive deploys.

A lane is a queue and the workers that serve it. Entries whose timing matters run on the
`probes` lane, which lifecycle work never fills: a backlog of activations on `celery` cannot
delay the health sweep's planning, the reconciler or the calendar. `docs/reliability.md`
("Schedules") says per entry what happens when it starts late.
"""

from collections.abc import Iterable
from dataclasses import dataclass

# queue → what runs there. Every queue a task is routed to must be one of these, and every
# one of these must be served by some worker (the README's Production section says which).
LANES = {
    "celery": "lifecycle calls, usage collection, billing, status sync, mail",
    "probes": "health probes, the sweep's planning, the reconciler, the calendar",
}


@dataclass(frozen=True)
class PeriodicEntry:
    name: str
    task: str
    every_seconds: int | None = None
    crontab: str | None = None  # "minute hour day_of_month month_of_year day_of_week"
    expire_seconds: int | None = None
    queue: str = "celery"
    description: str = ""
    # A keyword argument that receives the moment the entry was sent (see market/celery.py),
    # so a run that starts late still works for the moment it was due, not for when it ran.
    sent_at_kwarg: str | None = None


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
        queue="probes",
        sent_at_kwarg="now",
        description="Probes /mt/health of every listed service; opens incidents after 3 failures.",
    ),
    PeriodicEntry(
        name="Reconcile lifecycle operations (every minute)",
        task="tenants.reconcile_operations",
        every_seconds=60,
        expire_seconds=50,
        queue="probes",
        description="Dispatches operations that are due or stuck, so nothing queued is ever lost.",
    ),
    PeriodicEntry(
        name="Outgoing mail (every minute)",
        task="mailer.send_due_mail",
        every_seconds=60,
        expire_seconds=50,
        description="Sends queued e-mail that is due: retries after a mail outage, lost tasks.",
    ),
    PeriodicEntry(
        name="Subscription expiry (every 15 minutes)",
        task="tenants.process_subscription_dates",
        every_seconds=15 * 60,
        expire_seconds=10 * 60,
        queue="probes",
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


# Tasks that are not beat entries but have a lane of their own.
OTHER_ROUTES = {"monitoring.tasks.probe_chunk": "probes"}


def task_routes() -> dict[str, dict[str, str]]:
    """CELERY_TASK_ROUTES: every task not on the default lane, by name.

    Routing by name (not only by the periodic task row's queue) also moves rows created
    before an entry got its lane, and calls made by hand.
    """
    routes = {entry.task: entry.queue for entry in PERIODIC_TASKS if entry.queue != "celery"}
    routes.update(OTHER_ROUTES)
    return {task: {"queue": queue} for task, queue in routes.items()}


def sent_at_kwargs() -> dict[str, str]:
    """Task name → the keyword argument that gets the moment the task was sent."""
    return {entry.task: entry.sent_at_kwarg for entry in PERIODIC_TASKS if entry.sent_at_kwarg}


def unknown_lanes(queues: Iterable[tuple[str, str]]) -> list[str]:
    """One line per (what, queue) whose queue is no lane: nothing would ever serve it."""
    known = ", ".join(LANES)
    return [
        f"{what} is routed to queue {queue!r}, which no worker serves (lanes: {known})"
        for what, queue in queues
        if queue and queue not in LANES
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
            queue=None if entry.queue == "celery" else entry.queue,
            description=entry.description,
            **schedule,
        )
        created += 1
    return created
