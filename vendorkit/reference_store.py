"""The reference vendor's tenants, kept in SQLite, and what each standard call does to them.

Every operation returns a ``Response`` (status code and exact body bytes). Writes run under one
process-wide lock on one connection, which makes the idempotency rule atomic: for a request id
already seen on the same operation and tenant, the stored first answer is returned byte for
byte and nothing else happens.

Tenant states: ``active``, ``deactivated`` (data kept or dropped), ``purged`` (a tombstone, so
later calls answer 410), and, only when the vendor runs in async mode, the transitional
``activating`` / ``deactivating`` / ``updating`` which settle by themselves after a delay.
"""

from __future__ import annotations

import functools
import hashlib
import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS tenants (
    tenant_id TEXT PRIMARY KEY,
    state     TEXT NOT NULL,
    data      TEXT NOT NULL,
    pending   TEXT
);
CREATE TABLE IF NOT EXISTS responses (
    request_id TEXT NOT NULL,
    operation  TEXT NOT NULL,
    tenant_id  TEXT NOT NULL,
    status     INTEGER NOT NULL,
    body       BLOB NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (request_id, operation, tenant_id)
);
"""

LIVE_STATES = ("active", "activating", "updating", "deactivating")


@dataclass(frozen=True)
class Response:
    """One HTTP answer: status code, exact body bytes, extra headers."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


def encode_json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_response(status: int, payload: dict[str, Any]) -> Response:
    return Response(status=status, body=encode_json(payload))


def error_response(status: int, code: str, message: str, **extra: Any) -> Response:
    return json_response(status, {"error": code, "message": message, **extra})


def _locked(method: Callable[..., Response]) -> Callable[..., Response]:
    """Run a store operation under the store's lock (re-entrant, so ``once`` can wrap it)."""

    @functools.wraps(method)
    def wrapper(self: TenantStore, **kwargs: Any) -> Response:
        with self.lock:
            return method(self, **kwargs)

    return wrapper


def rfc3339(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fractions(*parts: str) -> list[float]:
    """Eight stable numbers in [0, 1) derived from the parts (same input, same numbers)."""
    digest = hashlib.sha256("|".join(parts).encode("utf-8")).digest()
    return [int.from_bytes(digest[i : i + 4], "big") / 2**32 for i in range(0, 32, 4)]


def reference_usage(*, tenant_id: str, month: str) -> dict[str, int | float]:
    """The usage the reference vendor reports for one tenant and month (deterministic).

    Exposed so tests on the market side can compute the expected numbers.
    """
    f = _fractions("usage", tenant_id, month)
    return {
        "api_calls": 1_000 + int(f[0] * 19_000),
        "ai_tokens": 50_000 + int(f[1] * 950_000),
        "storage_gb": round(0.5 + f[2] * 49.5, 1),
        "active_users": 5 + int(f[3] * 295),
    }


def _reference_occupancy(data: dict[str, Any]) -> dict[str, Any]:
    """Users and storage for the status answer: stable per tenant, within its limits."""
    max_users = int(data.get("max_users") or 0)
    limit_gb = int(data.get("storage_limit_gb") or 0)
    if not data.get("has_data", True):
        return {
            "users": {"total": 0, "active_today": 0},
            "storage": {"used_gb": 0.0, "limit_gb": limit_gb},
        }
    f = _fractions("status", data["tenant_id"], str(data.get("created_at")))
    total = max(1, int(max_users * (0.2 + 0.6 * f[0]))) if max_users else 0
    return {
        "users": {"total": total, "active_today": int(total * (0.1 + 0.4 * f[1]))},
        "storage": {"used_gb": round(limit_gb * (0.05 + 0.5 * f[2]), 1), "limit_gb": limit_gb},
    }


class TenantStore:
    """Tenants and stored first answers in one SQLite file (or ``:memory:``)."""

    def __init__(
        self,
        *,
        db_path: str,
        retention_days: int = 90,
        async_seconds: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        self.retention_days = retention_days
        self.async_seconds = async_seconds
        self.clock = clock
        self.lock = threading.RLock()
        # One connection shared under the lock: simple, thread-safe, and works for :memory:.
        self.connection = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
        if db_path != ":memory:":
            self.connection.execute("PRAGMA journal_mode=WAL")
            self.connection.execute("PRAGMA synchronous=NORMAL")
        self.connection.executescript(SCHEMA)

    def close(self) -> None:
        with self.lock:
            self.connection.close()

    def reset(self) -> None:
        with self.lock:
            self.connection.execute("DELETE FROM tenants")
            self.connection.execute("DELETE FROM responses")

    # -- idempotency ----------------------------------------------------------------------

    def once(
        self,
        *,
        request_id: str,
        operation: str,
        tenant_id: str,
        apply: Callable[[], Response],
    ) -> tuple[Response, bool]:
        """Run ``apply`` once per (request id, operation, tenant); replay its answer afterwards.

        Returns the response and whether it was a replay. The lookup, the change and the stored
        answer happen in one transaction under the lock, so two concurrent deliveries of the
        same request cannot both act.
        """
        with self.lock:
            row = self.connection.execute(
                "SELECT status, body FROM responses"
                " WHERE request_id = ? AND operation = ? AND tenant_id = ?",
                (request_id, operation, tenant_id),
            ).fetchone()
            if row is not None:
                return Response(status=row[0], body=bytes(row[1])), True
            self.connection.execute("BEGIN IMMEDIATE")
            try:
                response = apply()
                self.connection.execute(
                    "INSERT INTO responses VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        request_id,
                        operation,
                        tenant_id,
                        response.status,
                        response.body,
                        rfc3339(self.clock()),
                    ),
                )
                self.connection.execute("COMMIT")
            except BaseException:
                self.connection.execute("ROLLBACK")
                raise
            return response, False

    # -- rows -------------------------------------------------------------------------------

    def _load(self, tenant_id: str, *, settle: bool = False) -> tuple[str, dict[str, Any]] | None:
        """The tenant's state and data, settling a finished async operation first.

        ``settle=True`` finishes a pending operation at once even if its delay has not passed:
        a new operation on the tenant supersedes the wait.
        """
        row = self.connection.execute(
            "SELECT state, data, pending FROM tenants WHERE tenant_id = ?", (tenant_id,)
        ).fetchone()
        if row is None:
            return None
        state, data = row[0], json.loads(row[1])
        if row[2] is not None:
            pending = json.loads(row[2])
            if settle or self.clock() >= pending["until"]:
                state = pending["state"]
                data.update(pending["data"])
                self._save(tenant_id, state, data, None)
        return state, data

    def _save(self, tenant_id: str, state: str, data: dict[str, Any], pending: dict | None) -> None:
        self.connection.execute(
            "INSERT INTO tenants (tenant_id, state, data, pending) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (tenant_id) DO UPDATE"
            " SET state = excluded.state, data = excluded.data, pending = excluded.pending",
            (
                tenant_id,
                state,
                json.dumps(data, ensure_ascii=False),
                None if pending is None else json.dumps(pending, ensure_ascii=False),
            ),
        )

    def _transition(
        self,
        *,
        tenant_id: str,
        final_state: str,
        data: dict[str, Any],
        changes: dict[str, Any],
        transitional_state: str | None,
    ) -> None:
        """Apply ``changes`` now, or (async mode) show ``transitional_state`` until they settle."""
        if transitional_state is None:
            data.update(changes)
            self._save(tenant_id, final_state, data, None)
        else:
            pending = {
                "until": self.clock() + self.async_seconds,
                "state": final_state,
                "data": changes,
            }
            self._save(tenant_id, transitional_state, data, pending)

    # -- operations -------------------------------------------------------------------------

    @_locked
    def activate(
        self,
        *,
        tenant_id: str,
        body: dict[str, Any],
        access_url: str,
        credentials_delivery: str = "response",
        asynchronous: bool = False,
    ) -> Response:
        """Create, or reactivate a deactivated tenant; 409 when it is already live."""
        loaded = self._load(tenant_id, settle=True)
        now = self.clock()
        terms = {
            "tenant_name": body["tenant_name"],
            "plan": body["plan"],
            "features": list(body["features"]),
            "max_users": body["config"]["max_users"],
            "storage_limit_gb": body["config"]["storage_limit_gb"],
            "admin_email": body["admin"]["email"],
            "admin_name": body["admin"]["name"],
            "isolation": body.get("isolation", "DATABASE_PER_TENANT"),
            "subscription_id": body.get("subscription_id"),
            "access_url": access_url,
        }
        if loaded is not None and loaded[0] in LIVE_STATES:
            return error_response(
                409, "tenant_already_exists", f"Tenant {tenant_id} already exists"
            )
        reactivating = loaded is not None and loaded[0] == "deactivated"
        keeps_data = reactivating and loaded[1].get("has_data", False)
        fresh = {"tenant_id": tenant_id, "created_at": rfc3339(now)}
        data = loaded[1] if keeps_data else fresh
        changes = {
            **terms,
            "has_data": True,
            "data_preserved": None,
            "reactivation_deadline": None,
            "deactivated_at": None,
            "deactivate_reason": None,
            "activated_at": rfc3339(now),
        }
        if not keeps_data:
            data.update(changes)  # status must show the plan even while activating
        self._transition(
            tenant_id=tenant_id,
            final_state="active",
            data=data,
            changes=changes,
            transitional_state="activating" if asynchronous else None,
        )
        if asynchronous:
            return json_response(202, {"status": "activating", "tenant_id": tenant_id})
        answer: dict[str, Any] = {
            "status": "activated",
            "tenant_id": tenant_id,
            "access_url": access_url,
        }
        if keeps_data:
            answer["reactivated"] = True
        elif credentials_delivery == "email":
            answer["credentials_delivery"] = "email"
        else:
            answer["admin_credentials"] = {"temp_password": secrets.token_urlsafe(12)}
        return json_response(200, answer)

    @_locked
    def deactivate(
        self, *, tenant_id: str, body: dict[str, Any], asynchronous: bool = False
    ) -> Response:
        """Block access; keep the data until the deadline, or drop it. Repeats answer the same."""
        loaded = self._load(tenant_id, settle=True)
        if loaded is None:
            return error_response(404, "tenant_not_found", f"Tenant {tenant_id} does not exist")
        state, data = loaded
        if state == "purged":
            return error_response(410, "tenant_purged", f"Tenant {tenant_id} has been purged")
        if state == "deactivated":
            return json_response(200, self._deactivated_answer(tenant_id, data))
        now = self.clock()
        preserve = body["preserve_data"]
        deadline = rfc3339(now + timedelta(days=self.retention_days).total_seconds())
        changes = {
            "has_data": preserve,
            "data_preserved": preserve,
            "reactivation_deadline": deadline if preserve else None,
            "deactivated_at": rfc3339(now),
            "deactivate_reason": body["reason"],
            "deactivate_at": body.get("deactivate_at"),
        }
        self._transition(
            tenant_id=tenant_id,
            final_state="deactivated",
            data=data,
            changes=changes,
            transitional_state="deactivating" if asynchronous else None,
        )
        if asynchronous:
            return json_response(202, {"status": "deactivating", "tenant_id": tenant_id})
        return json_response(200, self._deactivated_answer(tenant_id, data))

    @staticmethod
    def _deactivated_answer(tenant_id: str, data: dict[str, Any]) -> dict[str, Any]:
        return {
            "status": "deactivated",
            "tenant_id": tenant_id,
            "data_preserved": bool(data.get("data_preserved")),
            "reactivation_deadline": data.get("reactivation_deadline"),
        }

    @_locked
    def update(
        self, *, tenant_id: str, body: dict[str, Any], asynchronous: bool = False
    ) -> Response:
        """Change plan, features and limits of a live tenant."""
        loaded = self._load(tenant_id, settle=True)
        if loaded is None:
            return error_response(404, "tenant_not_found", f"Tenant {tenant_id} does not exist")
        state, data = loaded
        if state == "purged":
            return error_response(410, "tenant_purged", f"Tenant {tenant_id} has been purged")
        if state != "active":
            return error_response(
                409,
                "tenant_not_active",
                f"Tenant {tenant_id} is {state}; activate it before changing its plan",
            )
        changes: dict[str, Any] = {"plan": body["plan"]}
        if "features" in body:
            changes["features"] = list(body["features"])
        if "config" in body:
            changes["max_users"] = body["config"]["max_users"]
            changes["storage_limit_gb"] = body["config"]["storage_limit_gb"]
        self._transition(
            tenant_id=tenant_id,
            final_state="active",
            data=data,
            changes=changes,
            transitional_state="updating" if asynchronous else None,
        )
        if asynchronous:
            return json_response(202, {"status": "updating", "tenant_id": tenant_id})
        return json_response(
            200, {"status": "updated", "tenant_id": tenant_id, "plan": body["plan"]}
        )

    @_locked
    def delete(self, *, tenant_id: str, body: dict[str, Any]) -> Response:
        """Purge every trace of the tenant's data; a tombstone remains so later calls get 410."""
        loaded = self._load(tenant_id, settle=True)
        if loaded is None:
            return error_response(404, "tenant_not_found", f"Tenant {tenant_id} does not exist")
        if loaded[0] == "purged":
            return error_response(410, "tenant_purged", f"Tenant {tenant_id} has been purged")
        tombstone = {
            "tenant_id": tenant_id,
            "purged_at": rfc3339(self.clock()),
            "purge_reason": body["reason"],
        }
        self._save(tenant_id, "purged", tombstone, None)
        return json_response(200, {"status": "deleted", "tenant_id": tenant_id})

    @_locked
    def status(self, *, tenant_id: str) -> Response:
        loaded = self._load(tenant_id)
        if loaded is None:
            return error_response(404, "tenant_not_found", f"Tenant {tenant_id} does not exist")
        state, data = loaded
        if state == "purged":
            return error_response(410, "tenant_purged", f"Tenant {tenant_id} has been purged")
        answer: dict[str, Any] = {
            "tenant_id": tenant_id,
            "status": state,
            "plan": data["plan"],
            "created_at": data["created_at"],
            **_reference_occupancy(data),
            "features": data.get("features", []),
            # Additive: lets the market learn the URL after a 409 or an async activation.
            "access_url": data.get("access_url"),
        }
        if state == "deactivated":
            answer["data_preserved"] = bool(data.get("data_preserved"))
            answer["reactivation_deadline"] = data.get("reactivation_deadline")
        return json_response(200, answer)

    @_locked
    def usage(self, *, tenant_id: str, month: str) -> Response:
        loaded = self._load(tenant_id)
        if loaded is None:
            return error_response(404, "tenant_not_found", f"Tenant {tenant_id} does not exist")
        if loaded[0] == "purged":
            return error_response(410, "tenant_purged", f"Tenant {tenant_id} has been purged")
        return json_response(
            200,
            {
                "tenant_id": tenant_id,
                "period": month,
                "usage": reference_usage(tenant_id=tenant_id, month=month),
            },
        )

    def tenant_view(self, *, tenant_id: str) -> tuple[str, dict[str, Any]] | None:
        """State and data for the user-facing page (no answer formatting)."""
        with self.lock:
            return self._load(tenant_id)
