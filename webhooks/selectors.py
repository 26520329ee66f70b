"""Reading webhook endpoints and deliveries, scoped to their owner."""

from django.db.models import QuerySet

from webhooks.models import Delivery, Endpoint


def visible_endpoints(principal) -> QuerySet[Endpoint]:
    """Staff see every endpoint; a school or vendor only its own."""
    if principal.is_staff:
        return Endpoint.objects.all()
    if principal.is_school:
        return Endpoint.objects.filter(organization_id=principal.organization_id)
    if principal.is_vendor:
        return Endpoint.objects.filter(vendor_id=principal.vendor_id)
    return Endpoint.objects.none()


def endpoint_deliveries(endpoint: Endpoint) -> QuerySet[Delivery]:
    return endpoint.deliveries.select_related("event").order_by("-id")
