"""Query filters of subscriptions, tenants and operations."""

import django_filters

from market.api.filters import IdFilter
from tenants.models import Operation, Subscription, Tenant


class SubscriptionFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Subscription.Status.choices)
    service = django_filters.CharFilter(field_name="service__service_id", help_text="Service id.")
    organization = django_filters.CharFilter(
        field_name="organization__slug", help_text="The school's tenant id (slug)."
    )
    plan = django_filters.CharFilter(field_name="plan__code", help_text="Plan code.")
    ends_after = django_filters.DateFilter(field_name="ends_on", lookup_expr="gte")
    ends_before = django_filters.DateFilter(field_name="ends_on", lookup_expr="lte")

    class Meta:
        model = Subscription
        fields = ["status", "service", "organization", "plan", "ends_after", "ends_before"]


class TenantFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=Tenant.State.choices)
    service = django_filters.CharFilter(field_name="service__service_id", help_text="Service id.")
    organization = django_filters.CharFilter(
        field_name="organization__slug", help_text="The school's tenant id (slug)."
    )
    drifted = django_filters.BooleanFilter(help_text="The vendor's status disagrees with ours.")

    class Meta:
        model = Tenant
        fields = ["state", "service", "organization", "drifted"]


class OperationFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=Operation.State.choices)
    kind = django_filters.ChoiceFilter(choices=Operation.Kind.choices)
    tenant = IdFilter(field_name="tenant_id", help_text="Tenant id (the API's numeric id).")
    subscription = IdFilter(field_name="subscription_id", help_text="Subscription id.")
    service = django_filters.CharFilter(
        field_name="tenant__service__service_id", help_text="Service id."
    )
    organization = django_filters.CharFilter(
        field_name="tenant__organization__slug", help_text="The school's tenant id (slug)."
    )

    class Meta:
        model = Operation
        fields = ["state", "kind", "tenant", "subscription", "service", "organization"]
