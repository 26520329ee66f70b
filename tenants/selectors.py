"""Reads for the school portal: the catalog, a school's subscriptions and what happened to them.

Every function that returns a school's data takes the organization and filters by it, so a view
can never show one school another school's rows by forgetting a filter.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from services.labels import label_book
from services.models import Plan, Service
from services.selectors import listed_services, service_categories, service_features
from tenants.display import Display, display_state, with_last_operation
from tenants.models import Organization, Subscription, Tenant

# --- catalog ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogEntry:
    service: Service
    categories: list[tuple[str, str]]
    """(code, label) pairs, as every list of codes here: the label is what a school reads."""
    features: list[tuple[str, str]]
    lowest_price: Plan | None


@dataclass(frozen=True)
class Catalog:
    entries: list[CatalogEntry]
    categories: list[tuple[str, str]]
    features: list[tuple[str, str]]


def catalog(*, query: str = "", category: str = "", feature: str = "") -> Catalog:
    """Listed services matching a search (name, description, category and feature, codes and
    labels in the reader's language) and a category and feature filter.

    The facets (all categories and features) come from every listed service, so a filter that
    matches nothing can still be changed from the same page.
    """
    services = list(listed_services().select_related("current_manifest"))
    book = label_book(services)
    all_categories: dict[str, str] = {}
    all_features: dict[str, str] = {}
    entries = []
    query = query.strip().casefold()
    for service in services:
        categories = [(code, book.category(code)) for code in service_categories(service)]
        features = [(code, book.feature(code)) for code in service_features(service)]
        all_categories.update(categories)
        all_features.update(features)
        searched = "\n".join(
            [
                service.name,
                service.description,
                *(part for pair in categories + features for part in pair),
            ]
        )
        if query and query not in searched.casefold():
            continue
        if category and category not in dict(categories):
            continue
        if feature and feature not in dict(features):
            continue
        plans = [plan for plan in service.plans.all() if plan.is_active]
        cheapest = min(plans, key=lambda plan: plan.price, default=None)
        entries.append(CatalogEntry(service, categories, features, cheapest))
    by_label = lambda pair: pair[1].casefold()  # noqa: E731
    return Catalog(
        entries,
        sorted(all_categories.items(), key=by_label),
        sorted(all_features.items(), key=by_label),
    )


def labelled_categories(service: Service) -> list[tuple[str, str]]:
    """The service's categories as (code, label) pairs in the reader's language."""
    book = label_book([service])
    return [(code, book.category(code)) for code in service_categories(service)]


def catalog_service(*, service_id: str) -> Service:
    """A listed service by its service id, or 404 (unlisted services take no new schools)."""
    service = listed_services().select_related("current_manifest").filter(service_id=service_id)
    found = service.first()
    if found is None:
        raise Http404("No listed service has this id.")
    return found


def active_plans(service: Service) -> list[Plan]:
    return list(service.plans.filter(is_active=True).order_by("position", "code"))


@dataclass(frozen=True)
class PlanComparison:
    plans: list[Plan]
    feature_rows: list[tuple[str, list[bool]]]
    """(the feature's label, whether each plan has it)."""
    unit_price_rows: list[tuple[str, list[str | None]]]


def plan_comparison(service: Service) -> PlanComparison:
    """Features as rows and plans as columns, built from the plans the manifest declares."""
    plans = active_plans(service)
    features: dict[str, None] = {}
    metrics: dict[str, None] = {}
    for plan in plans:
        features.update(dict.fromkeys(str(f) for f in plan.features or []))
        metrics.update(dict.fromkeys(plan.unit_prices or {}))
    book = label_book([service])
    feature_rows = [
        (book.feature(feature), [feature in (plan.features or []) for plan in plans])
        for feature in features
    ]
    unit_price_rows = [
        (metric, [(plan.unit_prices or {}).get(metric) for plan in plans]) for metric in metrics
    ]
    return PlanComparison(plans, feature_rows, unit_price_rows)


# --- what the catalog asks of the lifecycle (provided in tenants/apps.py) --------------------


def services_used_by(*, organization_id: int) -> Q:
    """A filter on Service: the school has a tenant of it (listed or not)."""
    used = Tenant.objects.filter(service=OuterRef("pk"), organization_id=organization_id)
    return Q(Exists(used))


def plans_in_live_use(*, service: Service) -> QuerySet[Plan]:
    """The service's plans that live subscriptions are on."""
    live = Subscription.objects.filter(service=service, status__in=Subscription.LIVE_STATUSES)
    return Plan.objects.filter(subscriptions__in=live).distinct()


# --- a school's subscriptions ----------------------------------------------------------------


def school_subscriptions(*, organization: Organization) -> QuerySet[Subscription]:
    """The school's subscriptions, each ready for `tenants.display.display_state`."""
    return with_last_operation(
        Subscription.objects.filter(organization=organization)
        .select_related("service", "service__vendor", "plan", "tenant")
        .order_by("-created_at")
    )


def school_live_subscription(
    *, organization: Organization, service: Service
) -> Subscription | None:
    return (
        school_subscriptions(organization=organization)
        .filter(service=service, status__in=Subscription.LIVE_STATUSES)
        .first()
    )


def school_subscription(*, organization: Organization, pk: int) -> Subscription:
    """One of this school's subscriptions, or 404 (another school's id looks like a missing one)."""
    subscription = school_subscriptions(organization=organization).filter(pk=pk).first()
    if subscription is None:
        raise Http404("No such subscription.")
    return subscription


def newer_subscription(subscription: Subscription) -> Subscription | None:
    """The subscription that took over this one's tenant, when this one has ended."""
    if subscription.is_live or subscription.tenant_id is None:
        return None
    return (
        Subscription.objects.filter(
            tenant_id=subscription.tenant_id,
            organization_id=subscription.organization_id,
            created_at__gt=subscription.created_at,
        )
        .order_by("-created_at")
        .first()
    )


def is_usable(tenant: Tenant | None) -> bool:
    """The school can open the service (for a live subscription: `display_state(...).usable`)."""
    return tenant is not None and tenant.state in (Tenant.State.ACTIVE, Tenant.State.UPDATING)


def changeable_plans(subscription: Subscription) -> list[Plan]:
    """Plans the school may switch to: the manifest's allowed changes, else every other plan."""
    allowed = subscription.plan.allowed_changes or []
    plans = [plan for plan in active_plans(subscription.service) if plan.pk != subscription.plan_id]
    if allowed:
        plans = [plan for plan in plans if plan.code in allowed]
    return plans


def supports_plan_change(service: Service) -> bool:
    return "tenant_update" in (service.manifest_data.get("endpoints") or {})


# --- dashboard -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SchoolDashboard:
    live: list[Subscription]
    attention: list[Subscription]
    expiring: list[Subscription]
    recent_services: list[Service]


def school_dashboard(*, organization: Organization, today=None) -> SchoolDashboard:
    today = today or timezone.localdate()
    live = list(
        school_subscriptions(organization=organization).filter(
            status__in=Subscription.LIVE_STATUSES
        )
    )
    attention = [
        s for s in live if display_state(s).code in (Display.FAILED, Display.NEEDS_ATTENTION)
    ]
    expiring = [s for s in live if s.is_expiring(within_days=30, today=today)]
    subscribed = {s.service_id for s in live}
    recent = [s for s in listed_services().order_by("-created_at")[:12] if s.pk not in subscribed]
    return SchoolDashboard(live, attention, expiring, recent[:6])


def school_admins(*, organization: Organization):
    return organization.admins.order_by("date_joined", "pk")
