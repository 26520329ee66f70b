"""Field checks for the bodies the market sends to a vendor (standard v1).

Hand-written rather than JSON Schema so the reference vendor stays standard-library only; they
mirror ``docs/standard/schemas/*.request.schema.json``. Each check returns a list of
``FieldError`` (empty when the body is acceptable). Unknown extra fields are accepted: the
standard only ever adds optional fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

ISOLATION_LEVELS = ("DATABASE_PER_TENANT", "SCHEMA_PER_TENANT", "DOCKER_PER_TENANT", "SHARED")
DEACTIVATE_REASONS = ("subscription_expired", "admin_request", "violation")
DELETE_REASONS = ("retention_expired", "admin_request", "violation")
MONTH_PATTERN = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
# RFC 3339 date-time: a date, "T" (or a space is NOT allowed), a time, and a zone.
RFC3339_PATTERN = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)


@dataclass(frozen=True)
class FieldError:
    """One problem with one field, named by its dotted path in the body."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


def _is_int(value: Any) -> bool:
    # bool is a subclass of int in Python, but true/false is not a number in JSON.
    return isinstance(value, int) and not isinstance(value, bool)


def _nonempty_string(body: dict, field: str, errors: list[FieldError], *, prefix: str = "") -> None:
    name = prefix + field
    if field not in body:
        errors.append(FieldError(name, "is required"))
    elif not isinstance(body[field], str) or not body[field].strip():
        errors.append(FieldError(name, "must be a non-empty string"))


def _string_list(body: dict, field: str, errors: list[FieldError], *, required: bool) -> None:
    if field not in body:
        if required:
            errors.append(FieldError(field, "is required"))
        return
    value = body[field]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        errors.append(FieldError(field, "must be a list of strings"))


def _config(body: dict, errors: list[FieldError], *, required: bool) -> None:
    if "config" not in body:
        if required:
            errors.append(FieldError("config", "is required"))
        return
    config = body["config"]
    if not isinstance(config, dict):
        errors.append(FieldError("config", "must be an object"))
        return
    for key, minimum in (("max_users", 1), ("storage_limit_gb", 0)):
        name = f"config.{key}"
        if key not in config:
            errors.append(FieldError(name, "is required"))
        elif not _is_int(config[key]) or config[key] < minimum:
            errors.append(FieldError(name, f"must be an integer >= {minimum}"))


def _enum(
    body: dict, field: str, allowed: tuple[str, ...], errors: list[FieldError], *, required: bool
) -> None:
    if field not in body:
        if required:
            errors.append(FieldError(field, f"is required (one of {', '.join(allowed)})"))
        return
    if body[field] not in allowed:
        errors.append(FieldError(field, f"must be one of {', '.join(allowed)}"))


def is_rfc3339(value: Any) -> bool:
    if not isinstance(value, str) or not RFC3339_PATTERN.match(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return True


def check_activate(body: dict, *, path_tenant_id: str) -> list[FieldError]:
    """The seed's activate body, plus the optional ``isolation`` and ``subscription_id``."""
    errors: list[FieldError] = []
    _nonempty_string(body, "tenant_id", errors)
    if isinstance(body.get("tenant_id"), str) and body["tenant_id"] != path_tenant_id:
        errors.append(FieldError("tenant_id", "must equal the tenant id in the URL path"))
    _nonempty_string(body, "tenant_name", errors)
    _nonempty_string(body, "plan", errors)
    _string_list(body, "features", errors, required=True)
    _config(body, errors, required=True)
    admin = body.get("admin")
    if "admin" not in body:
        errors.append(FieldError("admin", "is required"))
    elif not isinstance(admin, dict):
        errors.append(FieldError("admin", "must be an object"))
    else:
        _nonempty_string(admin, "email", errors, prefix="admin.")
        if isinstance(admin.get("email"), str) and "@" not in admin["email"]:
            errors.append(FieldError("admin.email", "must be an e-mail address"))
        _nonempty_string(admin, "name", errors, prefix="admin.")
    _enum(body, "isolation", ISOLATION_LEVELS, errors, required=False)
    if "subscription_id" in body and not isinstance(body["subscription_id"], str):
        errors.append(FieldError("subscription_id", "must be a string"))
    errors += check_activate_reactivation(body)
    return errors


def check_body_tenant(body: dict, *, path_tenant_id: str) -> list[FieldError]:
    """``tenant_id`` in a deactivate, update or delete body (v1.1; optional before) is the path's."""
    if "tenant_id" not in body:
        return []
    if not isinstance(body["tenant_id"], str) or body["tenant_id"] != path_tenant_id:
        return [FieldError("tenant_id", "must equal the tenant id in the URL path")]
    return []


def check_activate_reactivation(body: dict) -> list[FieldError]:
    if "reactivation" in body and not isinstance(body["reactivation"], bool):
        return [FieldError("reactivation", "must be true or false")]
    return []


def check_deactivate(body: dict) -> list[FieldError]:
    errors: list[FieldError] = []
    _enum(body, "reason", DEACTIVATE_REASONS, errors, required=True)
    if "preserve_data" not in body:
        errors.append(FieldError("preserve_data", "is required"))
    elif not isinstance(body["preserve_data"], bool):
        errors.append(FieldError("preserve_data", "must be true or false"))
    if "deactivate_at" not in body:
        errors.append(FieldError("deactivate_at", "is required (RFC 3339 date-time)"))
    elif not is_rfc3339(body["deactivate_at"]):
        errors.append(FieldError("deactivate_at", "must be an RFC 3339 date-time"))
    return errors


def check_update(body: dict) -> list[FieldError]:
    errors: list[FieldError] = []
    _nonempty_string(body, "plan", errors)
    _string_list(body, "features", errors, required=True)
    _config(body, errors, required=True)
    return errors


def check_delete(body: dict) -> list[FieldError]:
    errors: list[FieldError] = []
    _enum(body, "reason", DELETE_REASONS, errors, required=True)
    return errors


def check_usage_query(query: dict[str, list[str]]) -> list[FieldError]:
    errors: list[FieldError] = []
    period = query.get("period", ["monthly"])[-1]
    if period != "monthly":
        errors.append(FieldError("period", "must be 'monthly'"))
    if "month" in query and not MONTH_PATTERN.match(query["month"][-1]):
        errors.append(FieldError("month", "must be YYYY-MM"))
    return errors
