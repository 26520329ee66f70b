"""Webhook endpoint and delivery API shapes."""

from rest_framework import serializers

from market.api.base import StrictSerializer
from webhooks.models import Delivery, DeliveryAttempt, Endpoint
from webhooks.services import SUBSCRIBABLE


class EndpointSerializer(serializers.ModelSerializer):
    event_types = serializers.ListField(child=serializers.CharField())
    owner_kind = serializers.CharField(help_text="staff, organization or vendor.")

    class Meta:
        model = Endpoint
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "owner_kind",
            "organization_id",
            "vendor_id",
            "is_active",
            "disabled_at",
            "disabled_reason",
            "consecutive_failures",
            "last_success_at",
            "previous_secret_expires_at",
            "created_at",
        ]
        read_only_fields = fields


class EndpointWithSecretSerializer(EndpointSerializer):
    secret = serializers.CharField(
        help_text="The `whsec_` signing secret; pass it to standardwebhooks.Webhook(secret)."
    )

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class EndpointCreateSerializer(StrictSerializer):
    url = serializers.CharField(max_length=500, help_text="https:// (http only in development).")
    event_types = serializers.ListField(
        child=serializers.CharField(max_length=64),
        help_text='Event types to receive, or ["*"]. Known: ' + ", ".join(SUBSCRIBABLE),
    )
    description = serializers.CharField(
        max_length=200, required=False, default="", allow_blank=True
    )


class EndpointUpdateSerializer(StrictSerializer):
    url = serializers.CharField(max_length=500, required=False)
    event_types = serializers.ListField(child=serializers.CharField(max_length=64), required=False)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False, help_text="true enables it again.")


class RotateSecretSerializer(StrictSerializer):
    overlap_hours = serializers.IntegerField(
        required=False, min_value=0, max_value=168, help_text="How long the old secret also signs."
    )


class TestEventSerializer(StrictSerializer):
    message = serializers.CharField(required=False, default="", allow_blank=True)


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = [
            "number",
            "manual",
            "started_at",
            "request_headers",
            "request_body",
            "status_code",
            "response_body",
            "latency_ms",
            "error_kind",
            "error",
        ]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    event_type = serializers.CharField(source="event.type")
    webhook_id = serializers.CharField(source="message_id")
    attempt_log = AttemptSerializer(many=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "webhook_id",
            "event_id",
            "event_type",
            "state",
            "attempts",
            "next_attempt_at",
            "finished_at",
            "last_error",
            "created_at",
            "attempt_log",
        ]
        read_only_fields = fields
