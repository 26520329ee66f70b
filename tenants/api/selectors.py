"""What each API caller may see of schools, subscriptions, tenants, operations and events."""

from django.db.models import Prefetch, QuerySet

from market.api.principal import Principal
from market.models import User
from tenants.display import tenants_with_display, with_last_operation
from tenants.models import LifecycleEvent, Operation, Organization, Subscription, Tenant


def visible_organizations(principal: Principal) -> QuerySet[Organization]:
    organizations = Organization.objects.prefetch_related(
        Prefetch("admins", queryset=User.objects.filter(is_active=True).order_by("username"))
    )
    if principal.is_staff:
        return organizations
    if principal.is_school:
        return organizations.filter(pk=principal.organization_id)
    return organizations.none()


def _scoped(queryset: QuerySet, principal: Principal, *, organization: str, vendor: str):
    if principal.is_staff:
        return queryset
    if principal.is_school:
        return queryset.filter(**{organization: principal.organization_id})
    if principal.is_vendor:
        return queryset.filter(**{vendor: principal.vendor_id})
    return queryset.none()


def visible_subscriptions(principal: Principal) -> QuerySet[Subscription]:
    subscriptions = with_last_operation(
        Subscription.objects.select_related("organization", "service", "plan", "tenant")
    )
    return _scoped(
        subscriptions, principal, organization="organization_id", vendor="service__vendor_id"
    )


def visible_tenants(principal: Principal) -> QuerySet[Tenant]:
    tenants = tenants_with_display(Tenant.objects.select_related("organization", "service"))
    return _scoped(tenants, principal, organization="organization_id", vendor="service__vendor_id")


def visible_operations(principal: Principal) -> QuerySet[Operation]:
    operations = Operation.objects.select_related("tenant__organization", "tenant__service")
    return _scoped(
        operations,
        principal,
        organization="tenant__organization_id",
        vendor="tenant__service__vendor_id",
    )


def tenant_events(tenant: Tenant) -> QuerySet[LifecycleEvent]:
    return LifecycleEvent.objects.filter(tenant=tenant)


def activation_of(subscription: Subscription) -> Operation | None:
    """The activation the subscription queued (the first, should it ever have been retried)."""
    return (
        subscription.operations.filter(kind=Operation.Kind.ACTIVATE)
        .select_related("tenant__organization", "tenant__service")
        .order_by("created_at", "id")
        .first()
    )


def deactivation_of(subscription: Subscription) -> Operation | None:
    return (
        subscription.operations.filter(kind=Operation.Kind.DEACTIVATE)
        .select_related("tenant__organization", "tenant__service")
        .order_by("-created_at", "-id")
        .first()
    )
