"""Which services an API caller may see (the catalog) and which it may manage."""

from django.db.models import Prefetch, Q, QuerySet

from market.api.principal import Principal
from services.models import Manifest, Plan, Service
from services.selectors import services_used_by


def visible_services(principal: Principal, services: QuerySet[Service] | None = None):
    """Listed services for everyone, plus a vendor's own and the services a school already uses."""
    services = Service.objects.all() if services is None else services
    if principal.is_staff:
        return services
    listed = Q(status=Service.Status.LISTED)
    if principal.is_vendor:
        return services.filter(listed | Q(vendor_id=principal.vendor_id))
    if principal.is_school:
        used = services_used_by(organization_id=principal.organization_id)
        return services.filter(listed | used)
    return services.none()


def catalog_services(principal: Principal) -> QuerySet[Service]:
    """The visible services with vendor, current manifest and active plans loaded."""
    services = (
        Service.objects.select_related("vendor", "current_manifest")
        .defer("current_manifest__raw_text")
        .prefetch_related(
            Prefetch(
                "plans",
                queryset=Plan.objects.filter(is_active=True).order_by("position", "code"),
            )
        )
    )
    return visible_services(principal, services)


def managed_services(principal: Principal) -> QuerySet[Service]:
    """Services whose manifests and history the caller may read: staff all, a vendor its own."""
    services = Service.objects.select_related("vendor")
    if principal.is_staff:
        return services
    if principal.is_vendor:
        return services.filter(vendor_id=principal.vendor_id)
    return services.none()


def manifest_history(service: Service) -> QuerySet[Manifest]:
    return service.manifests.select_related("submitted_by").order_by("-number")
