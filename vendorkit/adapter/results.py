"""What a vendor's functions receive and return, and the errors they may raise.

The vendor writes plain functions over its own data; the adapter turns these values into the
standard's exact bodies (docs/standard/README.md section 3), so no vendor assembles JSON by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

TENANT_STATES = ("active", "suspended", "deactivated", "activating", "deactivating", "updating")
LIVE_STATES = frozenset({"active", "suspended", "activating", "updating"})


class TenantPurged(Exception):  # noqa: N818 (a state, not a failure of the code)
    """Raise from ``status`` when the tenant existed and was purged (answers 410)."""


class VendorRefusal(Exception):  # noqa: N818
    """Raise from a vendor function to refuse with a standard error body and a 4xx status.

    ``VendorRefusal(409, "tenant_not_active", "Tenant x is suspended")``.
    """

    def __init__(self, status: int, error: str, message: str) -> None:
        if not 400 <= status < 500:
            raise ValueError("a refusal is a 4xx answer; raise any other exception for a 5xx")
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message


@dataclass(frozen=True)
class Activation:
    """The activate body, checked: ``tenant_id`` equals the path, every required field is there."""

    tenant_id: str
    tenant_name: str
    plan: str
    features: list[str]
    config: dict[str, Any]
    admin: dict[str, Any]
    reactivation: bool
    isolation: str | None = None
    subscription_id: str | None = None
    body: dict[str, Any] = field(default_factory=dict)  # the whole body, unknown fields included


@dataclass(frozen=True)
class Activated:
    """``activate`` finished: the tenant is usable at ``access_url``."""

    access_url: str
    temp_password: str | None = None
    credentials_delivery: str | None = None  # "email" when the vendor mails them itself


@dataclass(frozen=True)
class Deactivated:
    """``deactivate`` finished. Without ``reactivation_deadline`` while keeping data the adapter
    answers ``now + retention_days``."""

    data_preserved: bool
    reactivation_deadline: datetime | str | None = None


@dataclass(frozen=True)
class Pending:
    """The operation goes on in the background: the adapter answers 202 (only when the adapter
    was built with ``asynchronous=True``, matching the manifest's ``operations.async``).
    ``status`` must show the transitional state until it is done."""


@dataclass(frozen=True)
class TenantStatus:
    """What ``status`` returns for a known tenant (``None`` means unknown: 404)."""

    status: str  # one of TENANT_STATES
    plan: str
    created_at: datetime | str
    users_total: int = 0
    users_active_today: int = 0
    storage_used_gb: float = 0
    storage_limit_gb: float | None = None
    access_url: str | None = None
    data_preserved: bool | None = None
    reactivation_deadline: datetime | str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # more fields for the body
