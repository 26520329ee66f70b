"""Filters of GET /api/v1/events."""

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from events.models import Event
from events.registry import EVENT_TYPES
from market.api.filters import IdFilter


class TypeListField(forms.CharField):
    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        names = [part.strip() for part in value.split(",") if part.strip()]
        unknown = [name for name in names if name not in EVENT_TYPES]
        if unknown:
            raise ValidationError(
                _("Unknown event type(s): %(unknown)s. Known types: %(known)s.")
                % {"unknown": ", ".join(unknown), "known": ", ".join(sorted(EVENT_TYPES))}
            )
        return names


class TypeListFilter(django_filters.Filter):
    field_class = TypeListField

    def filter(self, qs, value):
        return qs if not value else qs.filter(type__in=value)


class EventFilter(django_filters.FilterSet):
    type = TypeListFilter(help_text="One type or several, comma-separated.")
    organization = IdFilter(field_name="organization_id", help_text="School id.")
    vendor = IdFilter(field_name="vendor_id", help_text="Vendor id.")
    service = IdFilter(field_name="service_id", help_text="Service id (numeric).")
    subscription = IdFilter(field_name="subscription_id", help_text="Subscription id.")
    tenant = IdFilter(field_name="tenant_id", help_text="Tenant id.")
    since = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", help_text="RFC 3339, inclusive."
    )
    until = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt", help_text="RFC 3339, exclusive."
    )

    class Meta:
        model = Event
        fields = ["type", "organization", "vendor", "service", "subscription", "tenant"]
