"""Market-wide reads for the dashboards: counts across every app."""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count
from django.utils import timezone

from monitoring.models import Incident
from services.models import Service, Vendor
from tenants.models import Operation, Organization, Subscription, Tenant


@dataclass(frozen=True)
class MarketOverview:
    schools: int
    vendors: int
    services_listed: int
    tenants_by_state: dict[str, int]
    open_incidents: list
    operations_needing_attention: list
    subscriptions_expiring: list


def market_overview(*, today=None) -> MarketOverview:
    today = today or timezone.localdate()
    states = dict(Tenant.objects.values_list("state").annotate(n=Count("id")).order_by())
    return MarketOverview(
        schools=Organization.objects.count(),
        vendors=Vendor.objects.count(),
        services_listed=Service.objects.filter(status=Service.Status.LISTED).count(),
        tenants_by_state=states,
        open_incidents=list(
            Incident.objects.filter(closed_at__isnull=True).select_related("service")[:50]
        ),
        operations_needing_attention=list(
            Operation.objects.filter(state=Operation.State.NEEDS_ATTENTION).select_related(
                "tenant__organization", "tenant__service"
            )[:50]
        ),
        subscriptions_expiring=list(
            Subscription.objects.filter(
                status=Subscription.Status.ACTIVE,
                ends_on__gte=today,
                ends_on__lte=today + timedelta(days=7),
            ).select_related("organization", "service", "plan")[:100]
        ),
    )
