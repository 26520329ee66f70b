"""What each API caller may see of health, incidents, usage reports and statements."""

from django.db.models import OuterRef, QuerySet, Subquery

from market.api.principal import Principal
from monitoring.models import HealthRollup, Incident, Statement, UsageReport
from services.api.selectors import visible_services
from services.models import Service


def health_services(principal: Principal) -> QuerySet[Service]:
    """The catalog's services with the id of their open incident, if any, in one query."""
    open_incident = Incident.objects.filter(service=OuterRef("pk"), closed_at__isnull=True)
    return visible_services(principal).annotate(
        open_incident_id=Subquery(open_incident.values("pk")[:1])
    )


def visible_incidents(principal: Principal) -> QuerySet[Incident]:
    return Incident.objects.filter(service__in=visible_services(principal)).select_related(
        "service"
    )


def service_rollups(service: Service) -> QuerySet[HealthRollup]:
    return HealthRollup.objects.filter(service=service)


def visible_usage_reports(principal: Principal) -> QuerySet[UsageReport]:
    reports = UsageReport.objects.select_related("tenant__service", "tenant__organization")
    if principal.is_staff:
        return reports
    if principal.is_school:
        return reports.filter(tenant__organization_id=principal.organization_id)
    if principal.is_vendor:
        return reports.filter(tenant__service__vendor_id=principal.vendor_id)
    return reports.none()


def visible_statements(principal: Principal) -> QuerySet[Statement]:
    """Staff every statement, a school its own; vendors none (they are schools' bills)."""
    statements = Statement.objects.select_related("organization")
    if principal.is_staff:
        return statements
    if principal.is_school:
        return statements.filter(organization_id=principal.organization_id)
    return statements.none()
