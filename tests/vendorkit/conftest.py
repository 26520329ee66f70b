"""Fixtures for the vendor kit: a reference vendor on 127.0.0.1 and a client that signs like the
market does. Plain pytest; nothing here touches the market's database."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from vendorkit.reference_vendor import ReferenceVendorServer, serve_in_thread
from vendorkit.signing import request_signature_headers

API_KEY = "test-api-key"
SIGNING_SECRET = "test-signing-secret"
REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = REPO_ROOT / "docs" / "standard" / "schemas"


def activate_body(tenant_id: str = "hallym_univ", **overrides: Any) -> dict[str, Any]:
    """The founding document's activate body."""
    body = {
        "tenant_id": tenant_id,
        "tenant_name": "한림대학교",
        "plan": "premium",
        "features": ["ai_chat", "rag", "quiz"],
        "config": {"max_users": 500, "storage_limit_gb": 100},
        "admin": {"email": "admin@hallym.ac.kr", "name": "홍길동"},
    }
    body.update(overrides)
    return body


def deactivate_body(*, preserve_data: bool = True, **overrides: Any) -> dict[str, Any]:
    body = {
        "reason": "subscription_expired",
        "preserve_data": preserve_data,
        "deactivate_at": "2026-01-03T12:00:00Z",
    }
    body.update(overrides)
    return body


class SignedClient:
    """Sends requests the way the market does: API key, request id, RFC 9421 and legacy signatures."""

    def __init__(self, base_url: str, *, api_key: str = API_KEY, secrets: list[str] | None = None):
        self.base_url = base_url
        self.api_key = api_key
        self.secrets = secrets or [SIGNING_SECRET]
        self.session = requests.Session()

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        request_id: str | None = None,
        timestamp: int | None = None,
        api_key: str | None = None,
        secrets: list[str] | None = None,
        signed_body: bytes | None = None,
        headers: dict[str, str | None] | None = None,
    ) -> requests.Response:
        """One signed call. ``signed_body`` signs other bytes than those sent (tampering)."""
        if raw is None:
            # A GET has no body: its signed body is the empty string.
            no_body = body is None or method == "GET"
            raw = b"" if no_body else json.dumps(body, ensure_ascii=False).encode()
        request_id = request_id or str(uuid.uuid4())
        timestamp = int(time.time()) if timestamp is None else timestamp
        sent_headers: dict[str, str | None] = {
            "X-Market-API-Key": self.api_key if api_key is None else api_key,
            **request_signature_headers(
                secrets=secrets or self.secrets,
                method=method,
                url=self.base_url + path,
                request_id=request_id,
                timestamp=timestamp,
                body=raw if signed_body is None else signed_body,
            ),
            "Accept": "application/json",
            "User-Agent": "ServiceMarket/1.0",
        }
        if method == "POST":
            sent_headers["Content-Type"] = "application/json"
        sent_headers.update(headers or {})
        cleaned = {name: value for name, value in sent_headers.items() if value is not None}
        return self.session.request(
            method,
            self.base_url + path,
            data=raw if method == "POST" else None,
            headers=cleaned,
            timeout=10,
        )

    def activate(self, tenant_id: str = "hallym_univ", body: Any = None, **kwargs: Any):
        body = activate_body(tenant_id) if body is None else body
        return self.call("POST", f"/mt/tenant/{tenant_id}/activate", body, **kwargs)

    def deactivate(self, tenant_id: str = "hallym_univ", body: Any = None, **kwargs: Any):
        body = deactivate_body() if body is None else body
        return self.call("POST", f"/mt/tenant/{tenant_id}/deactivate", body, **kwargs)

    def status(self, tenant_id: str = "hallym_univ", **kwargs: Any):
        return self.call("GET", f"/mt/tenant/{tenant_id}/status", **kwargs)

    def usage(self, tenant_id: str = "hallym_univ", query: str = "period=monthly", **kwargs: Any):
        return self.call("GET", f"/mt/tenant/{tenant_id}/usage?{query}", **kwargs)

    def update(self, tenant_id: str = "hallym_univ", body: Any = None, **kwargs: Any):
        body = (
            {
                "plan": "standard",
                "features": ["ai_chat", "file_upload", "rag", "discussion"],
                "config": {"max_users": 300, "storage_limit_gb": 50},
            }
            if body is None
            else body
        )
        return self.call("POST", f"/mt/tenant/{tenant_id}/update", body, **kwargs)

    def delete(self, tenant_id: str = "hallym_univ", body: Any = None, **kwargs: Any):
        body = {"reason": "retention_expired"} if body is None else body
        return self.call("POST", f"/mt/tenant/{tenant_id}/delete", body, **kwargs)

    def stats(self) -> dict[str, Any]:
        return self.session.get(self.base_url + "/_stats", timeout=10).json()


@pytest.fixture
def start_vendor(tmp_path) -> Iterator[Callable[..., tuple[ReferenceVendorServer, SignedClient]]]:
    """Start a reference vendor with the given options; every one started is stopped after."""
    servers: list[ReferenceVendorServer] = []

    def start(
        *,
        api_keys: str | list[str] = API_KEY,
        signing_secrets: str | list[str] = SIGNING_SECRET,
        **options: Any,
    ) -> tuple[ReferenceVendorServer, SignedClient]:
        db_path = str(tmp_path / f"vendor-{len(servers)}.sqlite3")
        server, base_url = serve_in_thread(
            api_keys=api_keys, signing_secrets=signing_secrets, db_path=db_path, **options
        )
        servers.append(server)
        return server, SignedClient(base_url)

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def vendor(start_vendor) -> SignedClient:
    """A reference vendor with default options, and a signed client for it."""
    return start_vendor()[1]


def load_schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))


def assert_matches_schema(body: Any, schema_name: str) -> None:
    """Validate ``body`` against one of the published schemas (tests may use jsonschema)."""
    import jsonschema

    jsonschema.Draft202012Validator(
        load_schema(schema_name), format_checker=jsonschema.FormatChecker()
    ).validate(body)
