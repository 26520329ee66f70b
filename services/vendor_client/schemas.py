"""The standard's response schemas, loaded and compiled once per process."""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from django.conf import settings
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

RESPONSE_SCHEMAS = (
    "health",
    "activate",
    "deactivate",
    "status",
    "usage",
    "update",
    "delete",
    "error",
)

# Manifest endpoint name -> response schema name.
ENDPOINT_SCHEMAS = {
    "health": "health",
    "tenant_activate": "activate",
    "tenant_deactivate": "deactivate",
    "tenant_status": "status",
    "usage_report": "usage",
    "tenant_update": "update",
    "tenant_delete": "delete",
}

HEALTH_STATES = frozenset({"healthy", "degraded", "unhealthy"})


def schema_dir():
    return settings.BASE_DIR / "docs" / "standard" / "schemas"


@functools.cache
def response_schema(name: str) -> dict[str, Any]:
    if name not in RESPONSE_SCHEMAS:
        raise KeyError(f"no response schema named {name!r}")
    path = schema_dir() / f"{name}.response.schema.json"
    return json.loads(path.read_text(encoding="utf-8"))


@functools.cache
def response_validator(name: str) -> Draft202012Validator:
    schema = response_schema(name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def validation_problem(name: str, body: Any) -> str | None:
    """A one-line description of why ``body`` breaks schema ``name``, or None if it fits."""
    error = best_match(response_validator(name).iter_errors(body))
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path) or "(root)"
    return f"{where}: {error.message}"


@functools.cache
def _timestamp_pattern() -> re.Pattern[str]:
    return re.compile(response_schema("health")["properties"]["timestamp"]["pattern"])


def health_problem(body: Any) -> str | None:
    """Like ``validation_problem("health", body)``, with a fast path for the usual shape.

    Probes check thousands of bodies a minute; the plain three-field answer is checked by hand
    (with the schema's own timestamp pattern) and anything else goes to the full validator.
    """
    if type(body) is dict and len(body) == 3:
        status = body.get("status")
        version = body.get("version")
        timestamp = body.get("timestamp")
        if (
            type(status) is str
            and status in HEALTH_STATES
            and type(version) is str
            and version
            and type(timestamp) is str
            and _timestamp_pattern().search(timestamp)
        ):
            return None
    return validation_problem("health", body)
