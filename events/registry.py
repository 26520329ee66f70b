"""The known event types, each with a versioned JSON Schema for its payload.

A payload holds, under one key per object, the objects the event concerns as they were when
it happened (`{"tenant": {...}, "subscription": {...}}`), plus `data` for what the event adds
(a reason, the previous plan). A type's schema is published in the OpenAPI document; a new,
incompatible shape gets a new version, and old events keep theirs.
"""

from __future__ import annotations

from dataclasses import dataclass

_NULLABLE_STRING = {"type": ["string", "null"]}
_NULLABLE_INT = {"type": ["integer", "null"]}

OBJECT_SCHEMAS: dict[str, dict] = {
    "subscription": {
        "type": "object",
        "required": ["id", "organization_id", "service_id", "plan", "status", "ends_on"],
        "properties": {
            "id": {"type": "integer"},
            "organization_id": {"type": "integer"},
            "service_id": {"type": "integer"},
            "tenant_id": _NULLABLE_INT,
            "plan": {"type": "string", "description": "The plan code."},
            "status": {"type": "string", "enum": ["active", "expiring", "ended", "cancelled"]},
            "starts_on": {"type": "string", "format": "date"},
            "ends_on": {"type": "string", "format": "date"},
            "max_users": {"type": "integer"},
            "storage_limit_gb": {"type": "integer"},
        },
    },
    "tenant": {
        "type": "object",
        "required": ["id", "tenant_id", "organization_id", "service_id", "state"],
        "properties": {
            "id": {"type": "integer"},
            "tenant_id": {"type": "string", "description": "The id the vendor knows."},
            "organization_id": {"type": "integer"},
            "service_id": {"type": "integer"},
            "state": {"type": "string"},
            "plan": {"type": "string"},
            "access_url": {"type": "string"},
            "data_preserved": {"type": ["boolean", "null"]},
            "reactivation_deadline": {**_NULLABLE_STRING, "format": "date-time"},
            "attention_reason": {"type": "string"},
            "drift_reason": {"type": "string"},
        },
    },
    "service": {
        "type": "object",
        "required": ["id", "service_id", "vendor_id", "name", "status"],
        "properties": {
            "id": {"type": "integer"},
            "service_id": {"type": "string"},
            "vendor_id": {"type": "integer"},
            "name": {"type": "string"},
            "status": {"type": "string"},
            "base_url": {"type": "string"},
            "manifest_version": _NULLABLE_INT,
        },
    },
    "incident": {
        "type": "object",
        "required": ["id", "service_id", "opened_at"],
        "properties": {
            "id": {"type": "integer"},
            "service_id": {"type": "integer"},
            "opened_at": {"type": "string", "format": "date-time"},
            "closed_at": {**_NULLABLE_STRING, "format": "date-time"},
            "reason": {"type": "string"},
            "failed_checks": {"type": "integer"},
        },
    },
    "usage_report": {
        "type": "object",
        "required": ["id", "tenant_id", "month", "state"],
        "properties": {
            "id": {"type": "integer"},
            "tenant_id": {"type": "integer"},
            "month": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
            "state": {"type": "string"},
            "metrics": {"type": "object"},
            "error": {"type": "string"},
        },
    },
    "statement": {
        "type": "object",
        "required": ["id", "organization_id", "month", "currency", "total"],
        "properties": {
            "id": {"type": "integer"},
            "organization_id": {"type": "integer"},
            "month": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
            "currency": {"type": "string"},
            "total": {"type": "string", "description": "A decimal amount, as a string."},
        },
    },
    "webhook_endpoint": {
        "type": "object",
        "required": ["id", "url", "disabled_reason"],
        "properties": {
            "id": {"type": "integer"},
            "url": {"type": "string"},
            "description": {"type": "string"},
            "disabled_reason": {"type": "string"},
        },
    },
}


@dataclass(frozen=True)
class EventType:
    """A registered type: its name, payload version, what it concerns and a description."""

    name: str
    objects: tuple[str, ...]
    description: str
    version: int = 1
    data: dict | None = None  # the schema of payload["data"], when the type adds data

    def payload_schema(self) -> dict:
        properties = {name: {"$ref": f"#/$defs/{name}"} for name in self.objects}
        required = list(self.objects)
        if self.data is not None:
            properties["data"] = self.data
            required.append("data")
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": f"{self.name} v{self.version}",
            "type": "object",
            "required": required,
            "properties": properties,
            "$defs": {name: OBJECT_SCHEMAS[name] for name in self.objects},
        }


def _reason(description: str) -> dict:
    return {
        "type": "object",
        "required": ["reason"],
        "properties": {"reason": {"type": "string", "description": description}},
    }


_TYPES = [
    EventType("subscription.created", ("subscription",), "A school subscribed to a plan."),
    EventType(
        "subscription.renewed",
        ("subscription",),
        "A live subscription's end date moved later.",
        data={"type": "object", "properties": {"previous_ends_on": {"type": "string"}}},
    ),
    EventType(
        "subscription.plan_changed",
        ("subscription", "tenant"),
        "The vendor applied a plan change.",
    ),
    EventType("subscription.cancelled", ("subscription",), "The school ended it early."),
    EventType("subscription.ended", ("subscription",), "It reached its end date."),
    EventType(
        "tenant.activation_requested",
        ("tenant",),
        "The market queued an activation (or reactivation) call to the vendor.",
        data={
            "type": "object",
            "required": ["reactivation"],
            "properties": {"reactivation": {"type": "boolean"}},
        },
    ),
    EventType("tenant.activated", ("tenant",), "The vendor activated the tenant."),
    EventType("tenant.reactivated", ("tenant",), "The vendor reactivated a kept tenant."),
    EventType(
        "tenant.activation_failed",
        ("tenant",),
        "The vendor refused the activation.",
        data=_reason("The vendor's message."),
    ),
    EventType(
        "tenant.needs_attention",
        ("tenant",),
        "An operation needs a person.",
        data=_reason("Why."),
    ),
    EventType("tenant.deactivated", ("tenant",), "The vendor deactivated the tenant."),
    EventType("tenant.purged", ("tenant",), "The tenant's data is gone."),
    EventType(
        "tenant.drifted",
        ("tenant",),
        "The vendor's status disagrees with the market's.",
        data=_reason("The difference."),
    ),
    EventType("service.registered", ("service",), "A vendor registered a service."),
    EventType("service.listed", ("service",), "The service appears in the catalog."),
    EventType("service.unlisted", ("service",), "The service left the catalog."),
    EventType(
        "service.credentials_rotated",
        ("service",),
        "New credentials were issued; the old ones stay valid for the overlap window.",
        data={
            "type": "object",
            "required": ["overlap_hours"],
            "properties": {"overlap_hours": {"type": "integer"}},
        },
    ),
    EventType("service.manifest_updated", ("service",), "A new manifest version was accepted."),
    EventType("incident.opened", ("incident",), "A service became unhealthy."),
    EventType("incident.resolved", ("incident",), "It is healthy again."),
    EventType("usage.collected", ("usage_report",), "A month's usage was collected."),
    EventType("usage.rejected", ("usage_report",), "The vendor's usage answer was refused."),
    EventType("statement.issued", ("statement",), "A month's statement was issued."),
    EventType(
        "webhook_endpoint.disabled",
        ("webhook_endpoint",),
        "Deliveries kept failing, so the endpoint was disabled.",
    ),
    EventType(
        "webhook.test",
        (),
        "A test event sent on request from the portal, the API or the command line.",
        data={"type": "object", "properties": {"message": {"type": "string"}}},
    ),
]

EVENT_TYPES: dict[str, EventType] = {event_type.name: event_type for event_type in _TYPES}


def event_type(name: str) -> EventType:
    """The registered type called ``name``; raises KeyError naming the known ones otherwise."""
    try:
        return EVENT_TYPES[name]
    except KeyError:
        raise KeyError(
            f"unknown event type {name!r}; known types: {', '.join(sorted(EVENT_TYPES))}"
        ) from None
