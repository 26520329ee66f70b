"""A vendor written only from the founding document's section 3.2 shapes, for the kit's tests.

It is what a vendor builds from ``seed-en.md`` alone, the way a small web framework would have
it, and nothing of the standard's extra precision:

- health, activate, deactivate, status and usage with exactly the founding document's bodies;
  409 ``tenant_already_exists`` on an active tenant (the document's own answer); activate of a
  deactivated tenant brings it back (its data was kept "until the reactivation deadline");
- bad authentication refused with 401 and **its own** error body (``{"detail": ...}``, as
  FastAPI or Django REST framework would write it), not the standard's error codes; the
  request is checked with the API key and the market's signature (``vendorkit.signing``);
- no ``X-Market-Request-Id`` memory (a repeated activate is a 409), no ``month`` parameter (the
  current month is reported), no type checks (``max_users: "many"`` is stored as given), no
  required ``preserve_data`` (absent means keep the data), a fresh deadline on every
  deactivation, unknown tenants a framework's ``{"detail": "Not found."}`` 404;
- no update or delete endpoint (the framework's 404).

The kit must find it conformant (every required check passes, exit 0) and print warnings for
the recommended checks it misses.
"""

from __future__ import annotations

import hmac
import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from vendorkit.signing import (
    REQUEST_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureError,
    verify,
)

RETENTION = timedelta(days=90)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class FoundingVendorHandler(BaseHTTPRequestHandler):
    server: FoundingVendorServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        return

    # -- plumbing -------------------------------------------------------------------------------

    def _answer(self, status: int, body: Any) -> None:
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _refused(self, body: bytes) -> str | None:
        """Why the request is refused, or None. Key, then the market's signature and clock."""
        key = self.headers.get("X-Market-API-Key", "")
        if not key or not hmac.compare_digest(key.encode(), self.server.api_key.encode()):
            return "Invalid API key."
        try:
            verify(
                secrets=[self.server.signing_secret],
                request_id=self.headers.get(REQUEST_ID_HEADER, ""),
                timestamp_header=self.headers.get(TIMESTAMP_HEADER, ""),
                signature_header=self.headers.get(SIGNATURE_HEADER, ""),
                body=body,
            )
        except SignatureError:
            return "Request signature rejected."
        return None

    def _route(self) -> tuple[str, str | None]:
        """(endpoint, tenant id) of the request path, or ("", None)."""
        path = urlsplit(self.path).path
        if path == "/mt/health":
            return "health", None
        parts = path.split("/")
        if len(parts) == 5 and parts[1] == "mt" and parts[2] == "tenant":
            return parts[4], unquote(parts[3])
        return "", None

    def do_GET(self) -> None:
        endpoint, tenant_id = self._route()
        if endpoint == "health":
            self._answer(
                200, {"status": "healthy", "version": "1.0.0", "timestamp": _stamp(_now())}
            )
            return
        if endpoint not in ("status", "usage"):
            self._answer(404, {"detail": "Not found."})
            return
        refused = self._refused(b"")
        if refused:
            self._answer(401, {"detail": refused})
            return
        with self.server.lock:
            tenant = self.server.tenants.get(tenant_id)
            if tenant is None:
                self._answer(404, {"detail": "Not found."})
            elif endpoint == "status":
                self._answer(200, self._status(tenant_id, tenant))
            else:
                self._answer(
                    200,
                    {
                        "tenant_id": tenant_id,
                        "period": _now().strftime("%Y-%m"),
                        "usage": {
                            "api_calls": 15000,
                            "ai_tokens": 500000,
                            "storage_gb": 25.5,
                            "active_users": 150,
                        },
                    },
                )

    def do_POST(self) -> None:
        endpoint, tenant_id = self._route()
        raw = self._body()
        if endpoint not in ("activate", "deactivate"):
            self._answer(404, {"detail": "Not found."})
            return
        refused = self._refused(raw)
        if refused:
            self._answer(401, {"detail": refused})
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._answer(400, {"detail": "JSON parse error."})
            return
        if not isinstance(body, dict):
            self._answer(400, {"detail": "Expected a JSON object."})
            return
        with self.server.lock:
            if endpoint == "activate":
                self._activate(tenant_id, body)
            else:
                self._deactivate(tenant_id, body)

    # -- the founding document's endpoints ------------------------------------------------------

    def _status(self, tenant_id: str, tenant: dict[str, Any]) -> dict[str, Any]:
        limit = (tenant.get("config") or {}).get("storage_limit_gb", 0)
        return {
            "tenant_id": tenant_id,
            "status": tenant["status"],
            "plan": tenant["plan"],
            "created_at": tenant["created_at"],
            "users": {"total": 1, "active_today": 0},
            "storage": {"used_gb": 0.0, "limit_gb": limit if isinstance(limit, int) else 0},
        }

    def _activate(self, tenant_id: str, body: dict[str, Any]) -> None:
        tenant = self.server.tenants.get(tenant_id)
        if tenant is not None and tenant["status"] == "active":
            self._answer(
                409,
                {"error": "tenant_already_exists", "message": f"Tenant {tenant_id} already exists"},
            )
            return
        if tenant is None:
            tenant = {"created_at": _stamp(_now())}
            self.server.tenants[tenant_id] = tenant
        tenant.update(status="active", plan=body.get("plan"), config=body.get("config"))
        self._answer(
            200,
            {
                "status": "activated",
                "tenant_id": tenant_id,
                "access_url": f"https://{tenant_id}.founding.example",
                "admin_credentials": {"temp_password": "founding-temp-password"},
            },
        )

    def _deactivate(self, tenant_id: str, body: dict[str, Any]) -> None:
        tenant = self.server.tenants.get(tenant_id)
        if tenant is None:
            self._answer(404, {"detail": "Not found."})
            return
        keep = body.get("preserve_data", True) is not False
        tenant["status"] = "deactivated"
        deadline = _stamp(_now() + RETENTION) if keep else None
        self._answer(
            200,
            {
                "status": "deactivated",
                "tenant_id": tenant_id,
                "data_preserved": keep,
                "reactivation_deadline": deadline,
            },
        )


class FoundingVendorServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, *, api_key: str, signing_secret: str) -> None:
        super().__init__(("127.0.0.1", 0), FoundingVendorHandler)
        self.api_key = api_key
        self.signing_secret = signing_secret
        self.tenants: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FoundingVendorServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)


# The founding document's section 3.1 manifest for this vendor (its plans as `features`).
def founding_manifest(base_url: str) -> dict[str, Any]:
    return {
        "version": "1.0",
        "service": {
            "id": "founding_tutor",
            "name": "FOUNDING TUTOR",
            "description": "AI-based learning tutor",
            "version": "1.0.0",
            "vendor": "K-University AI Lab",
        },
        "endpoints": {
            "base_url": base_url,
            "health": "/mt/health",
            "tenant_activate": "/mt/tenant/{tenant_id}/activate",
            "tenant_deactivate": "/mt/tenant/{tenant_id}/deactivate",
            "tenant_status": "/mt/tenant/{tenant_id}/status",
            "usage_report": "/mt/tenant/{tenant_id}/usage",
            "user_access": "/app/{tenant_id}",
        },
        "auth": {"type": "api_key", "header": "X-Market-API-Key"},
        "isolation": {
            "supported": ["DATABASE_PER_TENANT", "DOCKER_PER_TENANT"],
            "default": "DATABASE_PER_TENANT",
        },
        "features": {
            "basic": ["ai_chat", "file_upload"],
            "standard": ["ai_chat", "file_upload", "rag", "discussion"],
            "premium": ["ai_chat", "file_upload", "rag", "discussion", "quiz", "api_integration"],
        },
        "resources": {"min_memory": "2GB", "min_cpu": "1 core", "storage": "10GB per tenant"},
    }
