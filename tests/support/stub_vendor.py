"""A programmable stub vendor on 127.0.0.1 for lifecycle and fault tests.

It implements enough of the standard v1 (health, activate, deactivate, status, update, delete,
usage) to be a correct vendor, keeps its tenants in memory and answers a repeated
``X-Market-Request-Id`` with its first answer, like a real vendor must. On top of that a test
scripts faults per endpoint::

    stub.script("activate", error(500), rate_limited(retry_after=120))  # then normal again
    stub.always("status", hang(5))                                      # until stub.clear()
    stub.down(); ...; stub.up()                                         # refuse connections

Every request is recorded (method, path, headers, body, request id); ``stats()`` has the shape
of the reference vendor's ``/_stats`` (``requests`` and ``distinct_request_ids`` per endpoint).
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ENDPOINTS = ("health", "activate", "deactivate", "status", "update", "delete", "usage")
TENANT_PATH = re.compile(r"^/mt/tenant/(?P<tenant_id>[^/]+)/(?P<action>[a-z_]+)$")
ACTIONS = {
    ("POST", "activate"): "activate",
    ("POST", "deactivate"): "deactivate",
    ("GET", "status"): "status",
    ("POST", "update"): "update",
    ("POST", "delete"): "delete",
    ("GET", "usage"): "usage",
}
RETENTION = timedelta(days=90)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the stub received it."""

    method: str
    path: str
    endpoint: str
    tenant_id: str | None
    headers: dict[str, str]
    body: bytes
    request_id: str

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Answer:
    """A complete answer the normal vendor logic produced (stored per request id for replays)."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class Exchange:
    """What a behaviour works with: the HTTP handler, the request, and the stub's normal logic."""

    def __init__(self, stub: StubVendor, handler: BaseHTTPRequestHandler, request: RecordedRequest):
        self.stub = stub
        self.handler = handler
        self.request = request

    @property
    def stopping(self) -> threading.Event:
        return self.stub._stopping

    def normal(self) -> Answer:
        """What a correct vendor answers (and does) for this request."""
        return self.stub._normal(self.request)

    def send(self, answer: Answer) -> None:
        self.send_raw(
            answer.status,
            b"" if answer.body is None else json.dumps(answer.body).encode(),
            headers=answer.headers,
        )

    def send_raw(
        self,
        status: int,
        content: bytes,
        *,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        h = self.handler
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(content)))
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(content)
        h.wfile.flush()

    def close(self) -> None:
        self.handler.close_connection = True


Behaviour = Callable[[Exchange], None]


# --- behaviours -------------------------------------------------------------------------------


def normally() -> Behaviour:
    """Behave as a correct vendor (useful inside a script to let one request through)."""
    return lambda exchange: exchange.send(exchange.normal())


def reply(
    status: int,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
) -> Behaviour:
    """Answer with this status, JSON body (or raw bytes) and headers; nothing changes."""

    def behave(exchange: Exchange) -> None:
        content = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        exchange.send_raw(status, content, headers=headers)

    return behave


def failure(status: int, code: str, message: str, *, headers=None) -> Behaviour:
    """A standard error body: ``{"error": code, "message": message}``."""
    return reply(status, {"error": code, "message": message}, headers=headers)


def error(status: int = 500) -> Behaviour:
    return failure(status, "internal_error", f"Stub vendor failure (HTTP {status})")


def unavailable(*, retry_after: int | str = 30) -> Behaviour:
    return failure(
        503, "unavailable", "Down for maintenance", headers={"Retry-After": str(retry_after)}
    )


def rate_limited(*, retry_after: int | str = 120) -> Behaviour:
    return failure(
        429, "rate_limited", "Too many requests", headers={"Retry-After": str(retry_after)}
    )


def conflict(message: str = "Tenant already exists") -> Behaviour:
    return failure(409, "tenant_already_exists", message)


def not_found() -> Behaviour:
    return failure(404, "tenant_not_found", "Tenant does not exist")


def gone() -> Behaviour:
    return failure(410, "tenant_purged", "Tenant has been purged")


def refuse(status: int = 422, message: str = "The vendor refuses this request") -> Behaviour:
    code = {401: "unauthorized", 404: "tenant_not_found", 410: "tenant_purged"}.get(
        status, "invalid_request"
    )
    return failure(status, code, message)


def malformed() -> Behaviour:
    return reply(200, raw=b'{"status": "activated", "tenant_id": ')


def empty() -> Behaviour:
    return reply(200, raw=b"")


def redirect(location: str, *, status: int = 302) -> Behaviour:
    return reply(status, raw=b"", headers={"Location": location})


def huge(size: int = 10 * 1024 * 1024) -> Behaviour:
    """A 200 with a declared body of ``size`` bytes, written until the client goes away."""

    def behave(exchange: Exchange) -> None:
        h = exchange.handler
        exchange.close()
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(size))
        h.end_headers()
        chunk = b" " * 65536
        sent = 0
        try:
            while sent < size and not exchange.stopping.is_set():
                h.wfile.write(chunk[: size - sent])
                sent += len(chunk)
        except OSError:
            pass

    return behave


def endless_chunked() -> Behaviour:
    """A 200 whose chunked body never ends."""

    def behave(exchange: Exchange) -> None:
        h = exchange.handler
        exchange.close()
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        chunk = b"[" * 4096
        try:
            while not exchange.stopping.is_set():
                h.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:
            pass

    return behave


def drip(interval: float = 1.0) -> Behaviour:
    """Headers at once, then one body byte per ``interval`` seconds, forever."""

    def behave(exchange: Exchange) -> None:
        h = exchange.handler
        exchange.close()
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", "100000")
        h.end_headers()
        try:
            h.wfile.flush()
            while not exchange.stopping.wait(interval):
                h.wfile.write(b" ")
                h.wfile.flush()
        except OSError:
            pass

    return behave


def hang(seconds: float, *, then_normal: bool = False) -> Behaviour:
    """Say nothing for ``seconds``; then close, or (``then_normal``) act and answer normally.

    ``then_normal`` is a vendor that did the work but whose answer nobody heard: the client
    timed out or was killed meanwhile.
    """

    def behave(exchange: Exchange) -> None:
        exchange.close()
        exchange.stopping.wait(seconds)
        if then_normal and not exchange.stopping.is_set():
            answer = exchange.normal()
            with contextlib.suppress(OSError):  # the client may be gone: that is the point
                exchange.send(answer)

    return behave


def delayed(seconds: float) -> Behaviour:
    """Answer normally, but only after ``seconds`` (a slow yet correct vendor)."""

    def behave(exchange: Exchange) -> None:
        exchange.stopping.wait(seconds)
        exchange.send(exchange.normal())

    return behave


def reset() -> Behaviour:
    """Close the TCP connection with a RST instead of answering."""

    def behave(exchange: Exchange) -> None:
        exchange.close()
        connection = exchange.handler.connection
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.close()

    return behave


def accepted(*, settle_after_polls: int = 0) -> Behaviour:
    """202 now; the change shows in ``status`` once ``settle_after_polls`` polls have passed."""

    def behave(exchange: Exchange) -> None:
        exchange.send(exchange.stub._accept(exchange.request, settle_after_polls))

    return behave


# --- the server -------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True


class StubVendor:
    """A correct in-memory vendor whose answers a test can script, per endpoint."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        temp_password: str = "stub-Temp-Pa55word",
        port: int = 0,
    ) -> None:
        self.api_key = api_key
        self.temp_password = temp_password
        self.requests: list[RecordedRequest] = []
        self.tenants: dict[str, dict[str, Any]] = {}
        self.applied: Counter[str] = Counter()
        self.replays: Counter[str] = Counter()
        self._answers: dict[tuple[str, str], Answer] = {}
        self._scripts: dict[str, list[Behaviour]] = {}
        self._always: dict[str, Behaviour] = {}
        self._lock = threading.RLock()
        self._arrived = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.port = port
        self._listen()

    # --- lifecycle of the server --------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _listen(self) -> None:
        self._server = _Server(("127.0.0.1", self.port), self._handler_class())
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True, name="stub-vendor"
        )
        self._thread.start()

    def _close_listener(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def down(self) -> None:
        """An outage: stop listening (connections are refused) and cut open connections."""
        self._close_listener()

    def up(self) -> None:
        """Back from the outage, on the same port."""
        if self._server is None:
            self._listen()

    @property
    def is_up(self) -> bool:
        return self._server is not None

    def stop(self) -> None:
        self._stopping.set()
        self._close_listener()

    def __enter__(self) -> StubVendor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- scripting ----------------------------------------------------------------------------

    def script(self, endpoint: str, *behaviours: Behaviour) -> StubVendor:
        """The next requests to ``endpoint`` get these behaviours in turn, then normal answers."""
        self._check_endpoint(endpoint)
        with self._lock:
            self._scripts.setdefault(endpoint, []).extend(behaviours)
        return self

    def always(self, endpoint: str, behaviour: Behaviour) -> StubVendor:
        """Every request to ``endpoint`` gets this behaviour until ``clear()``."""
        self._check_endpoint(endpoint)
        with self._lock:
            self._always[endpoint] = behaviour
        return self

    def clear(self, endpoint: str | None = None) -> None:
        """Forget scripted and permanent behaviours (of one endpoint, or all)."""
        with self._lock:
            for table in (self._scripts, self._always):
                if endpoint is None:
                    table.clear()
                else:
                    table.pop(endpoint, None)

    def seed_tenant(self, tenant_id: str, *, status: str = "active", plan: str = "basic") -> None:
        """A tenant the vendor already has (for 409 and drift scenarios)."""
        with self._lock:
            self.tenants[tenant_id] = self._new_tenant(tenant_id, plan=plan) | {"status": status}

    @staticmethod
    def _check_endpoint(endpoint: str) -> None:
        if endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; use one of {ENDPOINTS}")

    # --- what happened ------------------------------------------------------------------------

    def requests_to(self, endpoint: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.endpoint == endpoint]

    def request_ids(self, endpoint: str) -> set[str]:
        return {r.request_id for r in self.requests_to(endpoint)}

    def stats(self) -> dict[str, Any]:
        with self._lock:
            counts = Counter(r.endpoint for r in self.requests)
            ids: dict[str, set[str]] = {}
            for r in self.requests:
                ids.setdefault(r.endpoint, set()).add(r.request_id)
            return {
                "requests": {e: counts[e] for e in ENDPOINTS},
                "distinct_request_ids": {e: len(ids.get(e, ())) for e in ENDPOINTS},
                "applied": dict(self.applied),
                "replays": dict(self.replays),
            }

    def wait_for_requests(self, endpoint: str, count: int = 1, *, timeout: float = 30) -> None:
        """Block until ``count`` requests reached ``endpoint`` (AssertionError after timeout)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len([r for r in self.requests if r.endpoint == endpoint]) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{endpoint} was not called {count} time(s)")
                self._arrived.wait(remaining)

    # --- HTTP ---------------------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in separate writes: without this, Nagle's algorithm
                # and delayed ACKs add ~40-100 ms to every answer.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with stub._lock:
                    stub._connections.add(self.connection)

            def finish(self) -> None:
                with contextlib.suppress(OSError):  # a reset or cut connection
                    super().finish()
                with stub._lock:
                    stub._connections.discard(self.connection)

            def _serve(self) -> None:
                stub._serve(self)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        return Handler

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        path = handler.path.split("?", 1)[0]
        tenant_id = None
        if path == "/mt/health":
            endpoint = "health" if handler.command == "GET" else ""
        else:
            match = TENANT_PATH.match(path)
            endpoint = ""
            if match:
                tenant_id = match["tenant_id"]
                endpoint = ACTIONS.get((handler.command, match["action"]), "")
        request = RecordedRequest(
            method=handler.command,
            path=handler.path,
            endpoint=endpoint or "unknown",
            tenant_id=tenant_id,
            headers=dict(handler.headers.items()),
            body=body,
            request_id=handler.headers.get("X-Market-Request-Id", ""),
        )
        with self._arrived:
            self.requests.append(request)
            self._arrived.notify_all()
            behaviour = self._always.get(endpoint)
            script = self._scripts.get(endpoint)
            if behaviour is None and script:
                behaviour = script.pop(0)
        exchange = Exchange(self, handler, request)
        if not endpoint:
            exchange.send(Answer(404, {"error": "not_found", "message": f"No route {path}"}))
            return
        (behaviour or normally())(exchange)

    # --- the standard, done correctly ---------------------------------------------------------

    def _new_tenant(self, tenant_id: str, *, plan: str) -> dict[str, Any]:
        return {
            "tenant_id": tenant_id,
            "status": "active",
            "plan": plan,
            "created_at": rfc3339(datetime.now(UTC)),
            "data_preserved": None,
            "reactivation_deadline": None,
            "pending": None,
        }

    def _unauthorized(self, request: RecordedRequest) -> Answer | None:
        if request.endpoint == "health" or self.api_key is None:
            return None
        if request.headers.get("X-Market-API-Key") != self.api_key:
            return Answer(401, {"error": "unauthorized", "message": "Missing or wrong API key"})
        return None

    def _normal(self, request: RecordedRequest) -> Answer:
        with self._lock:
            refusal = self._unauthorized(request)
            if refusal is not None:
                return refusal
            if request.endpoint == "health":
                return Answer(
                    200,
                    {
                        "status": "healthy",
                        "version": "1.0.0",
                        "timestamp": rfc3339(datetime.now(UTC)),
                    },
                )
            key = (request.endpoint, request.request_id)
            if request.method == "POST" and key in self._answers:
                self.replays[request.endpoint] += 1
                return self._answers[key]
            answer = getattr(self, f"_do_{request.endpoint}")(request.tenant_id, request.json())
            if request.method == "POST":
                self._answers[key] = answer
                if 200 <= answer.status < 300:
                    self.applied[request.endpoint] += 1
            return answer

    def _accept(self, request: RecordedRequest, settle_after_polls: int) -> Answer:
        """The async path: remember the change, show it after some polls; replays return 202."""
        with self._lock:
            key = (request.endpoint, request.request_id)
            if key in self._answers:
                self.replays[request.endpoint] += 1
                return self._answers[key]
            tenant_id = request.tenant_id
            before = dict(self.tenants[tenant_id]) if tenant_id in self.tenants else None
            self._normal(request)  # apply, then hide the result behind "pending"
            after = self.tenants.get(tenant_id)
            if after is not None:
                after["pending"] = {"polls_left": settle_after_polls, "before": before}
            transitional = {"activate": "activating", "deactivate": "deactivating"}
            answer = Answer(
                202,
                {
                    "status": transitional.get(request.endpoint, "updating"),
                    "tenant_id": tenant_id,
                },
            )
            self._answers[key] = answer
            return answer

    def _visible(self, tenant_id: str) -> dict[str, Any] | None:
        """The tenant as status shows it: a pending async change stays hidden for a few polls."""
        tenant = self.tenants.get(tenant_id)
        if tenant is None or tenant["pending"] is None:
            return tenant
        pending = tenant["pending"]
        if pending["polls_left"] <= 0:
            tenant["pending"] = None
            return tenant
        pending["polls_left"] -= 1
        return pending["before"]

    def _do_activate(self, tenant_id: str, body: dict) -> Answer:
        tenant = self.tenants.get(tenant_id)
        plan = (body or {}).get("plan", "basic")
        if tenant is not None and tenant["status"] in ("active", "suspended"):
            return Answer(
                409,
                {"error": "tenant_already_exists", "message": f"Tenant {tenant_id} already exists"},
            )
        if tenant is not None and tenant["status"] == "deactivated" and tenant["data_preserved"]:
            tenant.update(status="active", plan=plan, data_preserved=None)
            tenant["reactivation_deadline"] = None
        else:
            self.tenants[tenant_id] = self._new_tenant(tenant_id, plan=plan)
        return Answer(
            200,
            {
                "status": "activated",
                "tenant_id": tenant_id,
                "access_url": f"{self.base_url}/app/{tenant_id}",
                "admin_credentials": {"temp_password": self.temp_password},
            },
        )

    def _do_deactivate(self, tenant_id: str, body: dict) -> Answer:
        tenant = self.tenants.get(tenant_id)
        if tenant is None:
            return Answer(404, {"error": "tenant_not_found", "message": "Unknown tenant"})
        if tenant["status"] == "purged":
            return Answer(410, {"error": "tenant_purged", "message": "Tenant purged"})
        if tenant["status"] != "deactivated":
            preserved = bool((body or {}).get("preserve_data", True))
            deadline = datetime.now(UTC) + RETENTION
            tenant.update(
                status="deactivated",
                data_preserved=preserved,
                reactivation_deadline=rfc3339(deadline) if preserved else None,
            )
        return Answer(
            200,
            {
                "status": "deactivated",
                "tenant_id": tenant_id,
                "data_preserved": tenant["data_preserved"],
                "reactivation_deadline": tenant["reactivation_deadline"],
            },
        )

    def _do_status(self, tenant_id: str, body: Any) -> Answer:
        tenant = self._visible(tenant_id)
        if tenant is None:
            return Answer(404, {"error": "tenant_not_found", "message": "Unknown tenant"})
        if tenant["status"] == "purged":
            return Answer(410, {"error": "tenant_purged", "message": "Tenant purged"})
        return Answer(
            200,
            {
                "tenant_id": tenant_id,
                "status": tenant["status"],
                "plan": tenant["plan"],
                "created_at": tenant["created_at"],
                "users": {"total": 0, "active_today": 0},
                "storage": {"used_gb": 0, "limit_gb": 10},
            },
        )

    def _do_update(self, tenant_id: str, body: dict) -> Answer:
        tenant = self.tenants.get(tenant_id)
        if tenant is None or tenant["status"] == "purged":
            return Answer(404, {"error": "tenant_not_found", "message": "Unknown tenant"})
        tenant["plan"] = (body or {}).get("plan", tenant["plan"])
        return Answer(200, {"status": "updated", "tenant_id": tenant_id, "plan": tenant["plan"]})

    def _do_delete(self, tenant_id: str, body: Any) -> Answer:
        tenant = self.tenants.get(tenant_id)
        if tenant is None:
            return Answer(404, {"error": "tenant_not_found", "message": "Unknown tenant"})
        if tenant["status"] == "purged":
            return Answer(410, {"error": "tenant_purged", "message": "Tenant purged"})
        tenant["status"] = "purged"
        return Answer(200, {"status": "deleted", "tenant_id": tenant_id})

    def _do_usage(self, tenant_id: str, body: Any) -> Answer:
        tenant = self.tenants.get(tenant_id)
        if tenant is None:
            return Answer(404, {"error": "tenant_not_found", "message": "Unknown tenant"})
        month = datetime.now(UTC).strftime("%Y-%m")
        usage = {"api_calls": 0, "ai_tokens": 0, "storage_gb": 0, "active_users": 0}
        return Answer(200, {"tenant_id": tenant_id, "period": month, "usage": usage})


# --- the market side ------------------------------------------------------------------------


def register_stub_service(stub: StubVendor, *, service_id: str = "stub_tutor", **overrides):
    """Register the reference manifest pointed at the stub, through the real registration flow.

    ``overrides`` replace top-level manifest sections, e.g.
    ``operations={"async": True, "poll_interval_seconds": 1, "timeout_seconds": 60}``.
    """
    from tests.factories import VendorFactory
    from tests.support.vendors import register_reference_service

    return register_reference_service(
        vendor=VendorFactory(), base_url=stub.base_url, service_id=service_id, **overrides
    )
