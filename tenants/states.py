"""The tenant state machine, written down in one place (see docs/lifecycle.md).

Every state change goes through `move()`, which refuses a transition not listed here.
"""

from django.utils import timezone
from django.utils.translation import gettext as _

from tenants.errors import LifecycleError
from tenants.models import Tenant, TenantStateChange

S = Tenant.State

TRANSITIONS: dict[str, frozenset[str]] = {
    S.REQUESTED: frozenset({S.ACTIVATING, S.REACTIVATING, S.DEACTIVATED, S.NEEDS_ATTENTION}),
    S.ACTIVATING: frozenset({S.ACTIVE, S.DEACTIVATED, S.NEEDS_ATTENTION}),
    S.ACTIVE: frozenset({S.UPDATING, S.DEACTIVATING, S.NEEDS_ATTENTION}),
    S.UPDATING: frozenset({S.ACTIVE, S.DEACTIVATING, S.NEEDS_ATTENTION}),
    S.DEACTIVATING: frozenset({S.DEACTIVATED, S.NEEDS_ATTENTION}),
    # Data kept: a new subscription reactivates; data dropped: it starts afresh (requested).
    S.DEACTIVATED: frozenset({S.REACTIVATING, S.REQUESTED, S.PURGING, S.PURGED}),
    S.REACTIVATING: frozenset({S.ACTIVE, S.DEACTIVATED, S.NEEDS_ATTENTION}),
    S.PURGING: frozenset({S.PURGED, S.NEEDS_ATTENTION}),
    S.PURGED: frozenset({S.REQUESTED}),
    # A person looked and decided: staff tools may move a tenant anywhere it can sensibly go.
    S.NEEDS_ATTENTION: frozenset(
        {S.ACTIVATING, S.ACTIVE, S.UPDATING, S.DEACTIVATING, S.DEACTIVATED, S.REACTIVATING}
        | {S.PURGING, S.PURGED}
    ),
}

# States in which the school can use the service (or soon will).
LIVE_STATES = frozenset({S.REQUESTED, S.ACTIVATING, S.ACTIVE, S.UPDATING, S.REACTIVATING})


def can_move(current: str, target: str) -> bool:
    return current == target or target in TRANSITIONS.get(current, frozenset())


def move(tenant: Tenant, target: str, *, reason: str = "") -> None:
    """Change the tenant's state (unsaved) and log the change, or raise LifecycleError.

    Call it inside the transaction that saves the tenant, so the log and the state agree.
    """
    if tenant.state == target:
        return
    if not can_move(tenant.state, target):
        raise LifecycleError(
            _("A tenant cannot go from %(current)s to %(target)s.")
            % {"current": Tenant.State(tenant.state).label, "target": Tenant.State(target).label},
            code="illegal_transition",
        )
    previous = tenant.state
    tenant.state = target
    tenant.state_changed_at = timezone.now()
    if tenant.pk is not None:
        # The log bills count delivered days from; a new tenant's first state needs no row.
        TenantStateChange.objects.create(
            tenant=tenant, previous=previous, state=target, at=tenant.state_changed_at
        )
    tenant.attention_reason = reason if target == S.NEEDS_ATTENTION else ""
