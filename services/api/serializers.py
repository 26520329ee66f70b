"""Catalog and manifest representations of the integrator API."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from services.models import Manifest, Plan, Service, Vendor
from services.selectors import service_categories, service_features


class VendorRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Vendor
        fields = ["slug", "name"]


class PlanSerializer(serializers.ModelSerializer):
    features = serializers.ListField(child=serializers.CharField())
    allowed_changes = serializers.ListField(
        child=serializers.CharField(),
        help_text="Plan codes this plan may change to (all if empty).",
    )
    unit_prices = serializers.DictField(
        child=serializers.CharField(),
        help_text='Price per unit of a usage metric, as decimal strings, e.g. {"ai_tokens": "0.004"}.',
    )

    class Meta:
        model = Plan
        fields = [
            "code",
            "name",
            "features",
            "price",
            "currency",
            "billing_period",
            "max_users",
            "storage_limit_gb",
            "unit_prices",
            "allowed_changes",
        ]
        read_only_fields = fields


class ServiceHealthSerializer(serializers.ModelSerializer):
    state = serializers.CharField(
        source="health", help_text="unknown, healthy, degraded or unhealthy."
    )
    checked_at = serializers.DateTimeField(source="health_checked_at", allow_null=True)
    changed_at = serializers.DateTimeField(source="health_changed_at", allow_null=True)
    latency_ms = serializers.IntegerField(source="health_latency_ms", allow_null=True)
    reason = serializers.CharField(source="health_reason")

    class Meta:
        model = Service
        fields = ["state", "checked_at", "changed_at", "latency_ms", "reason"]
        read_only_fields = fields


class ManifestSummarySerializer(serializers.ModelSerializer):
    version = serializers.CharField(source="declared_version", help_text="service.version.")
    submitted_at = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Manifest
        fields = ["number", "version", "submitted_at"]
        read_only_fields = fields


class ManifestSerializer(ManifestSummarySerializer):
    data = serializers.JSONField(help_text="The parsed manifest.")

    class Meta(ManifestSummarySerializer.Meta):
        fields = [*ManifestSummarySerializer.Meta.fields, "data"]
        read_only_fields = fields


class ManifestVersionSerializer(ManifestSerializer):
    """One submitted version in full, for the service's vendor and staff."""

    data = serializers.JSONField(
        allow_null=True, help_text="The parsed manifest; null for a version that was refused."
    )
    raw_text = serializers.CharField(help_text="The text exactly as submitted.")
    submitted_by = serializers.CharField(
        source="submitted_by.username", allow_null=True, read_only=True
    )
    is_valid = serializers.BooleanField(help_text="False for an update that was refused.")
    errors = serializers.JSONField(
        help_text="Why a refused version was refused: pointer, message, message_ko, line."
    )

    class Meta(ManifestSerializer.Meta):
        fields = [*ManifestSerializer.Meta.fields, "raw_text", "submitted_by", "is_valid", "errors"]
        read_only_fields = fields


class ServiceSerializer(serializers.ModelSerializer):
    vendor = VendorRefSerializer(read_only=True)
    health = ServiceHealthSerializer(source="*", read_only=True)
    plans = PlanSerializer(many=True, read_only=True, help_text="The active plans.")
    features = serializers.SerializerMethodField(help_text="Every feature any plan offers.")
    categories = serializers.SerializerMethodField()
    manifest = ManifestSummarySerializer(source="current_manifest", read_only=True, allow_null=True)

    class Meta:
        model = Service
        fields = [
            "service_id",
            "name",
            "description",
            "vendor",
            "status",
            "categories",
            "features",
            "plans",
            "health",
            "manifest",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_features(self, service) -> list[str]:
        return service_features(service)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_categories(self, service) -> list[str]:
        return service_categories(service)


class ServiceDetailSerializer(ServiceSerializer):
    manifest = ManifestSerializer(source="current_manifest", read_only=True, allow_null=True)


class CredentialsSerializer(serializers.Serializer):
    api_key = serializers.CharField(help_text="Sent by the market in your auth header.")
    signing_secret = serializers.CharField(
        help_text="whsec_<base64>: verifies the RFC 9421 Signature (and the legacy X-Market-Signature)."
    )


class ServiceRegisteredSerializer(serializers.Serializer):
    service = ServiceDetailSerializer()
    credentials = CredentialsSerializer(help_text="Shown only in this response: store them now.")


class ManifestSubmittedSerializer(serializers.Serializer):
    manifest = ManifestVersionSerializer()
    diff = serializers.CharField(
        allow_blank=True, help_text="Unified diff from the previous version."
    )


class ManifestValidSerializer(serializers.Serializer):
    valid = serializers.BooleanField(help_text="Always true here; an invalid manifest is a 422.")
    manifest = serializers.JSONField(help_text="The manifest as the market parsed it.")


MANIFEST_REQUEST_BODY = {
    "application/yaml": {"type": "string", "description": "manifest.yaml as is."},
    "text/yaml": {"type": "string"},
    "text/plain": {"type": "string"},
    "application/json": OpenApiTypes.OBJECT,
}
