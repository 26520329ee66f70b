"""Query filters of the catalog."""

import django_filters

from services.models import Service


class ServiceFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Service.Status.choices)
    health = django_filters.ChoiceFilter(choices=Service.Health.choices)
    vendor = django_filters.CharFilter(field_name="vendor__slug", help_text="The vendor's slug.")

    class Meta:
        model = Service
        fields = ["status", "health", "vendor"]
