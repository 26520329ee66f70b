"""Serializers of the market's own resources: API tokens and the market policy."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from market.api.base import RejectUnknownFieldsMixin, StrictSerializer
from market.models import ApiToken, MarketPolicy


class ApiTokenSerializer(serializers.ModelSerializer):
    organization = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True, help_text="The school (school tokens)."
    )
    vendor = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True, help_text="The vendor (vendor tokens)."
    )
    created_by = serializers.CharField(
        source="created_by.username", read_only=True, allow_null=True
    )
    is_active = serializers.BooleanField(
        source="is_usable", read_only=True, help_text="Neither revoked nor expired."
    )

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "scope",
            "organization",
            "vendor",
            "prefix",
            "created_by",
            "created_at",
            "expires_at",
            "revoked_at",
            "last_used_at",
            "is_active",
        ]
        read_only_fields = fields


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    token = serializers.CharField(
        read_only=True,
        help_text="The token itself. Shown only in this response: store it now.",
    )

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


class ApiTokenCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=100, help_text="What will use the token.")
    expires_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="When the token stops working (never if absent)."
    )


class MarketPolicySerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    incident_threshold = serializers.IntegerField(
        min_value=1,
        max_value=1000,
        help_text=MarketPolicy._meta.get_field("incident_threshold").verbose_name,
    )

    class Meta:
        model = MarketPolicy
        fields = [
            "require_staff_approval",
            "require_conformance",
            "usage_reports_mandatory",
            "preserve_data_on_expiry",
            "expiry_notice_days",
            "data_retention_days",
            "isolation_preference",
            "incident_threshold",
            "incident_realert_minutes",
            "credential_overlap_hours",
            "updated_at",
        ]
        read_only_fields = ["updated_at"]
        extra_kwargs = {
            "expiry_notice_days": {"min_value": 0, "max_value": 365},
            "data_retention_days": {"min_value": 0, "max_value": 3650},
            "incident_realert_minutes": {"min_value": 1, "max_value": 100000},
            "credential_overlap_hours": {"min_value": 0, "max_value": 8760},
        }

    def validate(self, attrs):
        if not attrs and self.partial:
            raise serializers.ValidationError(_("Send at least one field to change."))
        return attrs
