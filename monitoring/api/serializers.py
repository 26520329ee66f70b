"""Health, incidents, usage reports and statements in the integrator API."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from monitoring.models import HealthRollup, Incident, Statement, StatementLine, UsageReport
from monitoring.uptime import uptime_percent
from services.models import Service


@extend_schema_field({"type": "string", "pattern": r"^[0-9]{4}-[0-9]{2}$", "example": "2026-03"})
class MonthField(serializers.Field):
    """A month as YYYY-MM (stored as its first day)."""

    def to_representation(self, value):
        return f"{value:%Y-%m}"


class HealthStateSerializer(serializers.ModelSerializer):
    state = serializers.CharField(
        source="health", help_text="unknown, healthy, degraded or unhealthy."
    )
    checked_at = serializers.DateTimeField(source="health_checked_at", allow_null=True)
    changed_at = serializers.DateTimeField(source="health_changed_at", allow_null=True)
    latency_ms = serializers.IntegerField(source="health_latency_ms", allow_null=True)
    reason = serializers.CharField(source="health_reason")
    open_incident = serializers.IntegerField(
        source="open_incident_id", allow_null=True, help_text="Id of the open incident, if any."
    )

    class Meta:
        model = Service
        fields = [
            "service_id",
            "name",
            "state",
            "checked_at",
            "changed_at",
            "latency_ms",
            "reason",
            "consecutive_failures",
            "open_incident",
        ]
        read_only_fields = fields


class HealthRollupSerializer(serializers.ModelSerializer):
    uptime_percent = serializers.SerializerMethodField(
        help_text="Share of checks not unhealthy, truncated to 2 decimals; null without checks."
    )

    class Meta:
        model = HealthRollup
        fields = [
            "hour",
            "checks",
            "failures",
            "degraded",
            "latency_p50_ms",
            "latency_p95_ms",
            "uptime_percent",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True))
    def get_uptime_percent(self, rollup) -> str | None:
        percent = uptime_percent(rollup.checks, rollup.failures)
        return None if percent is None else f"{percent:.2f}"


class IncidentSerializer(serializers.ModelSerializer):
    service = serializers.CharField(source="service.service_id")
    is_open = serializers.BooleanField(read_only=True)

    class Meta:
        model = Incident
        fields = ["id", "service", "opened_at", "closed_at", "is_open", "reason", "failed_checks"]
        read_only_fields = fields


class UsageReportSerializer(serializers.ModelSerializer):
    tenant_id = serializers.CharField(source="tenant.tenant_id", help_text="The vendor-side id.")
    service = serializers.CharField(source="tenant.service.service_id")
    organization = serializers.CharField(source="tenant.organization.slug")
    month = MonthField()
    metrics = serializers.JSONField(help_text="Metric name → number, as the vendor reported it.")

    class Meta:
        model = UsageReport
        fields = [
            "id",
            "tenant",
            "tenant_id",
            "service",
            "organization",
            "month",
            "state",
            "metrics",
            "collected_at",
            "attempts",
            "error",
        ]
        read_only_fields = fields


class StatementLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = StatementLine
        fields = ["kind", "description", "subscription", "quantity", "unit_price", "amount"]
        read_only_fields = fields


class PreviewLineSerializer(serializers.Serializer):
    """A line of the upcoming statement (not stored yet)."""

    kind = serializers.CharField(help_text="plan or usage.")
    description = serializers.CharField()
    subscription = serializers.IntegerField(source="subscription_id", allow_null=True)
    quantity = serializers.DecimalField(max_digits=18, decimal_places=4, help_text="Days billed.")
    unit_price = serializers.DecimalField(max_digits=14, decimal_places=4)
    amount = serializers.DecimalField(max_digits=14, decimal_places=0, help_text="Whole KRW.")


class OverLimitSerializer(serializers.Serializer):
    """A metric of the latest collected usage report over the subscription's limit."""

    subscription = serializers.IntegerField(source="subscription_id")
    service = serializers.CharField(source="service_name")
    metric = serializers.CharField(help_text="active_users (vs max_users) or storage_gb.")
    used = serializers.DecimalField(max_digits=18, decimal_places=4)
    limit = serializers.DecimalField(max_digits=18, decimal_places=4)


class StatementPreviewSerializer(serializers.Serializer):
    """The school's current month so far, and the whole month if nothing changes."""

    month = MonthField()
    currency = serializers.SerializerMethodField()
    total = serializers.DecimalField(
        max_digits=14, decimal_places=0, help_text="The days delivered so far, in whole KRW."
    )
    lines = PreviewLineSerializer(many=True)
    estimate_total = serializers.DecimalField(
        max_digits=14,
        decimal_places=0,
        help_text="The whole month if every tenant stays as it is now (usage comes later).",
    )
    estimate_lines = PreviewLineSerializer(many=True)
    over_limits = OverLimitSerializer(many=True)

    def get_currency(self, preview) -> str:
        return "KRW"


class StatementPreviewQuerySerializer(serializers.Serializer):
    organization = serializers.IntegerField(
        required=False, min_value=1, help_text="Staff: the school's id (schools see their own)."
    )


class StatementSerializer(serializers.ModelSerializer):
    organization = serializers.CharField(source="organization.slug")
    month = MonthField()
    csv_url = serializers.SerializerMethodField(help_text="The same statement as CSV.")

    class Meta:
        model = Statement
        fields = ["id", "organization", "month", "currency", "total", "updated_at", "csv_url"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField())
    def get_csv_url(self, statement) -> str:
        return f"/api/v1/statements/{statement.pk}.csv"


class StatementDetailSerializer(StatementSerializer):
    lines = StatementLineSerializer(many=True, read_only=True)

    class Meta(StatementSerializer.Meta):
        fields = [*StatementSerializer.Meta.fields, "lines"]
        read_only_fields = fields


class UsageCollectRequestSerializer(serializers.Serializer):
    """Which month of a tenant's usage to ask the vendor for."""

    month = serializers.RegexField(
        r"^[0-9]{4}-(0[1-9]|1[0-2])$", help_text="The month, as YYYY-MM (e.g. 2026-11)."
    )
    force = serializers.BooleanField(
        default=False, help_text="Ask again even when the month was already collected."
    )
