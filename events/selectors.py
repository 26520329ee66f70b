"""Reading the event log: what a caller may see, and the staff activity search."""

from django.db.models import QuerySet

from events.models import Event


def visible_events(principal) -> QuerySet[Event]:
    """Staff see every event; a school only its own; a vendor only its services'."""
    if principal.is_staff:
        return Event.objects.all()
    if principal.is_school:
        return Event.objects.filter(organization_id=principal.organization_id)
    if principal.is_vendor:
        return Event.objects.filter(vendor_id=principal.vendor_id)
    return Event.objects.none()


def activity_search(
    *,
    actor: str = "",
    organization_ids=None,
    service_ids=None,
    types=None,
) -> QuerySet[Event]:
    """Staff's activity page: newest first, narrowed by actor label, school, service and type."""
    events = Event.objects.all()
    if actor:
        events = events.filter(actor_label__icontains=actor)
    if organization_ids is not None:
        events = events.filter(organization_id__in=list(organization_ids))
    if service_ids is not None:
        events = events.filter(service_id__in=list(service_ids))
    if types:
        events = events.filter(type__in=list(types))
    return events.order_by("-id")
