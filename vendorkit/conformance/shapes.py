"""Small predicates for the standard's bodies, hand-written so the kit needs no jsonschema.

Each ``problems_*`` function returns a list of human sentences (empty when the body is fine);
they mirror ``docs/standard/schemas/*.response.schema.json``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9_]*$")
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
ACCESS_URL = re.compile(r"^https?://\S+$")


def parse_rfc3339(value: Any) -> datetime | None:
    """The moment an RFC 3339 date-time names, or None when ``value`` is not one."""
    if not isinstance(value, str) or not RFC3339.match(value):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def is_int(value: Any) -> bool:
    # JSON true/false are not numbers, but Python's bool is an int.
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def problems_error_body(body: Any, *, expected_code: str | None = None) -> list[str]:
    """The standard error body: ``{"error": "<snake_case>", "message": "<text>"}``."""
    if not isinstance(body, dict):
        return [f"the body is not a JSON object (got {type_name(body)})"]
    problems = []
    code = body.get("error")
    if not isinstance(code, str) or not SNAKE_CASE.match(code):
        problems.append(f"'error' must be a snake_case string, got {code!r}")
    if not isinstance(body.get("message"), str):
        problems.append(f"'message' must be a string, got {body.get('message')!r}")
    if expected_code and isinstance(code, str) and code != expected_code:
        problems.append(f"'error' must be {expected_code!r}, got {code!r}")
    return problems


def problems_status_shape(body: dict[str, Any]) -> list[str]:
    """``created_at``, ``users`` and ``storage`` of a status answer."""
    problems = []
    if parse_rfc3339(body.get("created_at")) is None:
        problems.append(
            f"'created_at' must be an RFC 3339 date-time, got {body.get('created_at')!r}"
        )
    users = body.get("users")
    if not isinstance(users, dict):
        problems.append(f"'users' must be an object, got {users!r}")
    else:
        for key in ("total", "active_today"):
            value = users.get(key)
            if not is_int(value) or value < 0:
                problems.append(f"'users.{key}' must be an integer >= 0, got {value!r}")
    storage = body.get("storage")
    if not isinstance(storage, dict):
        problems.append(f"'storage' must be an object, got {storage!r}")
    else:
        for key in ("used_gb", "limit_gb"):
            value = storage.get(key)
            if not is_number(value) or value < 0:
                problems.append(f"'storage.{key}' must be a number >= 0, got {value!r}")
    return problems


def problems_usage_metrics(usage: dict[str, Any], *, declared: list[str]) -> list[str]:
    """Every metric a non-negative number; every declared metric present."""
    problems = []
    for name in declared:
        if name not in usage:
            problems.append(f"the declared metric {name!r} is missing")
    for name, value in usage.items():
        if not SNAKE_CASE.match(str(name)):
            problems.append(f"metric name {name!r} is not snake_case")
        if not is_number(value):
            problems.append(f"metric {name!r} must be a number, got {value!r}")
        elif value < 0:
            problems.append(f"metric {name!r} must not be negative, got {value!r}")
    return problems
