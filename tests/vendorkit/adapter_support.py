"""Test helpers for the adapter: requests signed by the market's own signing helpers
(``vendorkit.signing``, docs/standard/signing.md) and verified by the adapter with PyPI
``http-message-signatures``, so two implementations agree; and a small in-memory vendor that
counts every call."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from vendorkit import signing
from vendorkit.adapter import (
    Activated,
    Deactivated,
    HttpRequest,
    Pending,
    StandardAdapter,
    TenantPurged,
    TenantStatus,
)

SECRET = "whsec_" + base64.b64encode(b"s" * 32).decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"o" * 32).decode()
API_KEY = "adapter-test-key"


def market_headers(
    method: str,
    url: str,
    body: bytes = b"",
    *,
    secrets: list[str] | None = None,
    request_id: str | None = None,
    created: int | None = None,
    rfc9421: bool = True,
    legacy: bool = True,
    api_key: str | None = API_KEY,
) -> dict[str, str]:
    """Every header the market sends, made by the market's own helpers (vendorkit.signing):
    RFC 9421 + Content-Digest and the legacy pair; either can be left out."""
    secrets = secrets or [SECRET]
    request_id = request_id or str(uuid.uuid4())
    created = int(time.time()) if created is None else created
    headers = {"X-Market-Request-Id": request_id, "Accept": "application/json"}
    if api_key is not None:
        headers["X-Market-API-Key"] = api_key
    if method == "POST":
        headers["Content-Type"] = "application/json"
    if rfc9421:
        headers.update(
            signing.message_signature_headers(
                secrets=secrets,
                method=method,
                url=url,
                request_id=request_id,
                created=created,
                body=body,
            )
        )
    if legacy:
        headers["X-Market-Timestamp"] = str(created)
        headers["X-Market-Signature"] = signing.signature_header(
            secrets=secrets, request_id=request_id, timestamp=created, body=body
        )
    return headers


def signed_request(
    method: str,
    path: str,
    body: Any = None,
    *,
    query: str = "",
    raw: bytes | None = None,
    **options: Any,
) -> HttpRequest:
    payload = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    url = f"http://vendor.test{path}" + (f"?{query}" if query else "")
    headers = market_headers(method, url, payload, **options)
    return HttpRequest(
        method=method, path=path, query=query, headers=headers, body=payload, host="vendor.test"
    )


def activate_body(tenant_id: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "tenant_id": tenant_id,
        "tenant_name": "한림대학교",
        "plan": "premium",
        "features": ["ai_chat"],
        "config": {"max_users": 500, "storage_limit_gb": 100},
        "admin": {"email": "admin@hallym.ac.kr", "name": "홍길동"},
        "reactivation": False,
    }
    body.update(overrides)
    return body


def deactivate_body(tenant_id: str, preserve_data: bool = True) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "reason": "subscription_expired",
        "preserve_data": preserve_data,
        "deactivate_at": "2026-01-03T12:00:00Z",
    }


class CountingVendor:
    """A vendor's data in a dict; ``calls`` counts every vendor function call."""

    def __init__(self, *, slow_seconds: float = 0.0, pending: bool = False) -> None:
        self.tenants: dict[str, dict[str, Any]] = {}
        self.purged: set[str] = set()
        self.calls: Counter = Counter()
        self.slow_seconds = slow_seconds
        self.pending = pending
        self.fail: set[str] = set()
        self.lock = threading.Lock()

    def _enter(self, name: str) -> None:
        with self.lock:
            self.calls[name] += 1
        if name in self.fail:
            raise RuntimeError(f"secret database password in {name} traceback")

    def activate(self, activation):
        self._enter("activate")
        time.sleep(self.slow_seconds)
        with self.lock:
            self.tenants[activation.tenant_id] = {
                "plan": activation.plan,
                "state": "activating" if self.pending else "active",
                "created": datetime.now(UTC),
                "reactivated": activation.reactivation,
            }
            self.purged.discard(activation.tenant_id)
        if self.pending:
            return Pending()
        return Activated(
            access_url=f"https://vendor.test/app/{activation.tenant_id}", temp_password="pw-1"
        )

    def deactivate(self, tenant_id, *, preserve_data, reason, deactivate_at):
        self._enter("deactivate")
        self.tenants[tenant_id].update(state="deactivated", preserved=preserve_data)
        return Deactivated(data_preserved=preserve_data)

    def status(self, tenant_id):
        self._enter("status")
        if tenant_id in self.purged:
            raise TenantPurged
        tenant = self.tenants.get(tenant_id)
        if tenant is None:
            return None
        return TenantStatus(
            status=tenant["state"],
            plan=tenant["plan"],
            created_at=tenant["created"],
            storage_limit_gb=100,
            access_url=f"https://vendor.test/app/{tenant_id}",
            data_preserved=tenant.get("preserved"),
        )

    def usage(self, tenant_id, *, month):
        self._enter("usage")
        return {"api_calls": 10, "ai_tokens": 0, "storage_gb": 1.5, "active_users": 3}

    def update(self, tenant_id, *, plan, features, config):
        self._enter("update")
        self.tenants[tenant_id]["plan"] = plan

    def delete(self, tenant_id, *, reason):
        self._enter("delete")
        self.tenants.pop(tenant_id)
        self.purged.add(tenant_id)

    def adapter(self, **options: Any) -> StandardAdapter:
        options.setdefault("signing_secrets", [SECRET])
        options.setdefault("api_keys", [API_KEY])
        return StandardAdapter(
            activate=self.activate,
            deactivate=self.deactivate,
            status=self.status,
            usage=self.usage,
            update=self.update,
            delete=self.delete,
            **options,
        )


def free_port_env() -> dict[str, str]:
    return dict(os.environ)
