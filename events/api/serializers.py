"""Event log API shapes."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from events.models import Event
from events.openapi import payload_one_of
from events.registry import EVENT_TYPES


@extend_schema_field(payload_one_of())
class PayloadField(serializers.JSONField):
    pass


class ActorSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Event.ActorKind.choices, source="actor_kind")
    label = serializers.CharField(source="actor_label")
    user_id = serializers.IntegerField(source="actor_user_id", allow_null=True)
    token_id = serializers.IntegerField(source="actor_token_id", allow_null=True)


class EventSerializer(serializers.ModelSerializer):
    type = serializers.ChoiceField(choices=sorted(EVENT_TYPES))
    actor = ActorSerializer(source="*")
    payload = PayloadField()

    class Meta:
        model = Event
        fields = [
            "id",
            "type",
            "schema_version",
            "created_at",
            "actor",
            "organization_id",
            "vendor_id",
            "service_id",
            "subscription_id",
            "tenant_id",
            "payload",
        ]
        read_only_fields = fields


class EventTypeSerializer(serializers.Serializer):
    name = serializers.CharField()
    version = serializers.IntegerField()
    description = serializers.CharField()
    payload_schema = serializers.JSONField(help_text="JSON Schema (draft 2020-12).")
