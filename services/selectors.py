"""Reads of vendors and services."""

from django.db.models import Prefetch, QuerySet

from services.models import Plan, Service


def listed_services() -> QuerySet[Service]:
    """Services a school may subscribe to, with their active plans, in one query each."""
    return (
        Service.objects.filter(status=Service.Status.LISTED)
        .select_related("vendor")
        .prefetch_related(Prefetch("plans", queryset=Plan.objects.filter(is_active=True)))
        .order_by("name")
    )
