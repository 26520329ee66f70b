"""Reads of vendors and services."""

from django.db.models import Prefetch, QuerySet

from market.lib.provided import Provided
from services.models import Plan, Service

# Questions about the catalog that only the lifecycle app above can answer; it provides the
# answers in tenants/apps.py (the catalog imports nothing of it).
services_used_by = Provided("services.selectors.services_used_by", provider="tenants")
"""`services_used_by(organization_id=...)`: a filter on Service: it has a tenant of that school."""

plans_in_live_use = Provided("services.selectors.plans_in_live_use", provider="tenants")
"""`plans_in_live_use(service=...)`: the service's plans that live subscriptions are on."""


def listed_services() -> QuerySet[Service]:
    """Services a school may subscribe to, with their active plans, in one query each."""
    return (
        Service.objects.filter(status=Service.Status.LISTED)
        .select_related("vendor")
        .prefetch_related(Prefetch("plans", queryset=Plan.objects.filter(is_active=True)))
        .order_by("name")
    )


def service_categories(service: Service) -> list[str]:
    categories = (service.manifest_data.get("service") or {}).get("categories") or []
    return [str(category) for category in categories if isinstance(category, str)]


def service_features(service: Service) -> list[str]:
    """Every feature any active plan offers, in the order the plans first name them."""
    seen: dict[str, None] = {}
    for plan in service.plans.all():
        if plan.is_active:
            for feature in plan.features or []:
                seen.setdefault(str(feature), None)
    return list(seen)
