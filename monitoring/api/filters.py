"""Query filters of health, incidents, usage reports and statements."""

import django_filters

from market.api.filters import IdFilter, MonthFilter
from monitoring.models import HealthRollup, Incident, Statement, UsageReport
from services.models import Service


class HealthFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(field_name="health", choices=Service.Health.choices)

    class Meta:
        model = Service
        fields = ["state"]


class RollupFilter(django_filters.FilterSet):
    since = django_filters.IsoDateTimeFilter(
        field_name="hour", lookup_expr="gte", help_text="Hours starting at or after this time."
    )
    until = django_filters.IsoDateTimeFilter(
        field_name="hour", lookup_expr="lt", help_text="Hours starting before this time."
    )

    class Meta:
        model = HealthRollup
        fields = ["since", "until"]


class IncidentFilter(django_filters.FilterSet):
    service = django_filters.CharFilter(field_name="service__service_id", help_text="Service id.")
    open = django_filters.BooleanFilter(
        field_name="closed_at", lookup_expr="isnull", help_text="Only open (or closed) incidents."
    )
    opened_after = django_filters.IsoDateTimeFilter(field_name="opened_at", lookup_expr="gte")
    opened_before = django_filters.IsoDateTimeFilter(field_name="opened_at", lookup_expr="lt")

    class Meta:
        model = Incident
        fields = ["service", "open", "opened_after", "opened_before"]


class UsageReportFilter(django_filters.FilterSet):
    tenant = IdFilter(field_name="tenant_id", help_text="Tenant id (the API's numeric id).")
    month = MonthFilter(field_name="month", help_text="YYYY-MM.")
    service = django_filters.CharFilter(
        field_name="tenant__service__service_id", help_text="Service id."
    )
    organization = django_filters.CharFilter(
        field_name="tenant__organization__slug", help_text="The school's tenant id (slug)."
    )
    state = django_filters.ChoiceFilter(choices=UsageReport.State.choices)

    class Meta:
        model = UsageReport
        fields = ["tenant", "month", "service", "organization", "state"]


class StatementFilter(django_filters.FilterSet):
    month = MonthFilter(field_name="month", help_text="YYYY-MM.")
    organization = django_filters.CharFilter(
        field_name="organization__slug", help_text="The school's tenant id (slug)."
    )

    class Meta:
        model = Statement
        fields = ["month", "organization"]
