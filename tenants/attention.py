"""Staff reads: the lifecycle's rows that need a person now (failed, needs attention, stuck,
drifted), for the staff overview (portal) and the monitoring dashboard's lifecycle section.

Each list holds at most `limit` rows, newest trouble first; its counter is the full count, so a
page shows "N of M" when there are more than it lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from tenants.models import Operation, Tenant

OS = Operation.State
LIMIT = 100
# A queued or polling operation this far past its due time means no worker is taking it.
OVERDUE_AFTER = timedelta(minutes=10)


def stuck_after() -> timedelta:
    """An attempt in flight longer than this lost its worker (the reconciler's own limit)."""
    return timedelta(seconds=settings.OPERATION_STUCK_AFTER_SECONDS)


@dataclass(frozen=True)
class Rows:
    """Up to `limit` rows of one kind of trouble, and how many there are in all."""

    rows: list
    count: int

    @property
    def more(self) -> int:
        return self.count - len(self.rows)

    def __len__(self) -> int:
        return self.count

    def __iter__(self):
        return iter(self.rows)

    def __bool__(self) -> bool:
        return self.count > 0


@dataclass(frozen=True)
class LifecycleAttention:
    failed: Rows
    needs_attention: Rows
    stuck: Rows
    drifted: Rows
    open_by_state: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return (
            self.failed.count + self.needs_attention.count + self.stuck.count + self.drifted.count
        )


def _rows(queryset: QuerySet, limit: int) -> Rows:
    rows = list(queryset[:limit])
    count = len(rows) if len(rows) < limit else queryset.count()
    return Rows(rows, count)


def _operations() -> QuerySet[Operation]:
    return Operation.objects.select_related(
        "tenant__organization", "tenant__service", "subscription"
    )


def unresolved(state: str) -> QuerySet[Operation]:
    """Operations in `state` that are still their tenant's last word (nothing newer followed)."""
    newer = Operation.objects.filter(
        tenant=OuterRef("tenant"), created_at__gt=OuterRef("created_at")
    )
    return _operations().filter(state=state).filter(~Exists(newer))


def stuck_operations(*, now=None) -> QuerySet[Operation]:
    """In flight past the worker's limit, or due long ago and never taken (or waiting for a slot)."""
    now = now or timezone.now()
    overdue = now - OVERDUE_AFTER
    return _operations().filter(
        Q(state=OS.IN_FLIGHT, started_at__lt=now - stuck_after())
        | Q(state__in=[OS.QUEUED, OS.POLLING], next_attempt_at__lt=overdue)
        | Q(state=OS.QUEUED, waiting_for_slot_since__lt=overdue)
    )


def lifecycle_attention(*, now=None, limit: int = LIMIT) -> LifecycleAttention:
    now = now or timezone.now()
    open_counts = dict(
        Operation.objects.filter(state__in=Operation.OPEN_STATES)
        .values_list("state")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return LifecycleAttention(
        failed=_rows(unresolved(OS.FAILED).order_by("-finished_at", "-pk"), limit),
        needs_attention=_rows(
            unresolved(OS.NEEDS_ATTENTION).order_by("-finished_at", "-pk"), limit
        ),
        stuck=_rows(stuck_operations(now=now).order_by("next_attempt_at", "pk"), limit),
        drifted=_rows(
            Tenant.objects.filter(drifted=True)
            .select_related("organization", "service")
            .order_by("-last_status_at", "pk"),
            limit,
        ),
        open_by_state={state: open_counts.get(state, 0) for state in Operation.OPEN_STATES},
    )
