"""The event payload schemas in OpenAPI 3.0 form (inlined, `nullable` instead of type lists)."""

from events.registry import EVENT_TYPES, OBJECT_SCHEMAS, EventType


def _to_openapi(schema):
    if isinstance(schema, list):
        return [_to_openapi(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, list):
            kinds = [kind for kind in value if kind != "null"]
            out["type"] = kinds[0]
            if "null" in value:
                out["nullable"] = True
        elif key in ("$schema", "$defs"):
            continue
        elif key == "$ref" and value.startswith("#/$defs/"):
            return _to_openapi(OBJECT_SCHEMAS[value.removeprefix("#/$defs/")])
        else:
            out[key] = _to_openapi(value)
    return out


def payload_schema(event_type: EventType) -> dict:
    schema = _to_openapi(event_type.payload_schema())
    schema["title"] = f"{event_type.name} (v{event_type.version})"
    schema["description"] = event_type.description
    return schema


def payload_one_of() -> dict:
    return {
        "description": (
            "The objects the event concerns as they then were, plus `data` for what the type "
            "adds. One schema per type (the title names it); `schema_version` says which."
        ),
        "oneOf": [payload_schema(t) for t in EVENT_TYPES.values()],
    }
