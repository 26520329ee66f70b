"""The operation state machine, written down in one place (like `tenants/states.py` for tenants).

Every write of `Operation.state` goes through `operation_move()` (one row in memory) or
`operations_move()` (a conditional UPDATE), which refuse a transition not listed here.
"""

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from tenants import states as tenant_states
from tenants.errors import LifecycleError
from tenants.models import Operation, Tenant

OS = Operation.State
K = Operation.Kind

TRANSITIONS: dict[str, frozenset[str]] = {
    # Claimed by a worker, or cancelled (by staff, or because its tenant's deactivation came
    # before the vendor was ever called).
    OS.QUEUED: frozenset({OS.IN_FLIGHT, OS.CANCELLED}),
    # The vendor accepted with 202: each status poll is claimed like an attempt.
    OS.POLLING: frozenset({OS.IN_FLIGHT, OS.CANCELLED}),
    # The outcome table (apply.py): settled, refused, a person needed, accepted (202), retried
    # later (queued); reclaimed as stuck (queued); or cancelled by staff meanwhile.
    OS.IN_FLIGHT: frozenset(
        {OS.SUCCEEDED, OS.FAILED, OS.NEEDS_ATTENTION, OS.POLLING, OS.QUEUED, OS.CANCELLED}
    ),
    # Staff may attempt again what failed or needed a person, or give it up.
    OS.FAILED: frozenset({OS.QUEUED}),
    OS.NEEDS_ATTENTION: frozenset({OS.QUEUED, OS.CANCELLED}),
    OS.SUCCEEDED: frozenset(),
    OS.CANCELLED: frozenset(),
}

# States after which the operation is finished (`finished_at` set); the others clear it.
FINISHED_STATES = frozenset({OS.SUCCEEDED, OS.FAILED, OS.NEEDS_ATTENTION, OS.CANCELLED})

# The state a tenant shows while an operation of this kind is at the vendor. It is taken only
# where the tenant's own table allows it (from active, say, or when a person looked), so a
# reactivation stays "reactivating" and a deactivation of a tenant never activated moves nothing.
TENANT_STATE_DURING: dict[str, str] = {
    K.ACTIVATE: Tenant.State.ACTIVATING,
    K.DEACTIVATE: Tenant.State.DEACTIVATING,
    K.UPDATE: Tenant.State.UPDATING,
    K.DELETE: Tenant.State.PURGING,
}


def can_move(current: str, target: str) -> bool:
    return current == target or target in TRANSITIONS.get(current, frozenset())


def sources_of(target: str) -> list[str]:
    """The states from which an operation may move to `target` (not `target` itself)."""
    return [state for state, targets in TRANSITIONS.items() if target in targets]


def operation_move(operation: Operation, target: str) -> None:
    """Change the operation's state (unsaved) or raise LifecycleError for an illegal move."""
    if not can_move(operation.state, target):
        raise LifecycleError(
            _("An operation cannot go from %(current)s to %(target)s.")
            % {"current": OS(operation.state).label, "target": OS(target).label},
            code="illegal_transition",
        )
    operation.state = target
    operation.finished_at = timezone.now() if target in FINISHED_STATES else None


def operations_move(queryset: QuerySet, target: str, **fields) -> int:
    """Move every operation of `queryset` whose state allows it to `target`, in one UPDATE.

    Rows in a state that may not go to `target` are left alone; returns how many moved.
    """
    now = timezone.now()
    fields.setdefault("finished_at", now if target in FINISHED_STATES else None)
    fields.setdefault("updated_at", now)
    return queryset.filter(state__in=sources_of(target)).update(state=target, **fields)


def tenant_state_during(kind: str, current: str) -> str | None:
    """The state the tenant moves to while an operation of `kind` runs, or None to stay put."""
    target = TENANT_STATE_DURING.get(kind)
    if target is None or target == current or not tenant_states.can_move(current, target):
        return None
    return target
