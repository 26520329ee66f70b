"""The audit log: one call records who or what did what to a tenant."""

from tenants.models import LifecycleEvent, Operation, Subscription, Tenant

SYSTEM = "system"


def record_event(
    *,
    tenant: Tenant,
    kind: str,
    message: str,
    actor=None,
    actor_label: str = SYSTEM,
    operation: Operation | None = None,
    subscription: Subscription | None = None,
    data: dict | None = None,
) -> LifecycleEvent:
    if actor is not None and actor_label == SYSTEM:
        actor_label = actor.get_username()
    return LifecycleEvent.objects.create(
        tenant=tenant,
        kind=kind,
        message=message,
        actor=actor,
        actor_label=actor_label,
        operation=operation,
        subscription=subscription or (operation.subscription if operation else None),
        data=data or {},
    )
