"""The reference vendor: a small service that implements the market's standard v1 exactly.

Run it::

    python -m vendorkit.reference_vendor --port 9001 --api-key KEY --signing-secret SECRET \\
        --db var/reference_vendor.sqlite3

It is the worked example a vendor reads, what the demo and the integration tests talk to, and
what the conformance kit must pass against. Standard library only (PyJWT is used when present,
to verify launch tokens); it never imports the market.

Besides the standard's routes it serves, for tests and benchmarks only and only to 127.0.0.1:
``GET /_stats`` (request counters) and ``POST /_reset`` (forget all tenants and counters).
"""

from __future__ import annotations

import argparse
import contextlib
import hmac
import html
import json
import os
import re
import signal
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from vendorkit import reference_validation as checks
from vendorkit.reference_store import (
    Response,
    TenantStore,
    error_response,
    json_response,
    rfc3339,
)
from vendorkit.signing import (
    DEFAULT_TOLERANCE_SECONDS,
    REQUEST_ID_HEADER,
    SignatureError,
    verify_request,
)

VERSION = "1.0.0"
DEFAULT_PORT = 9001
DEFAULT_API_KEY = "dev-reference-api-key"
DEFAULT_SIGNING_SECRET = "dev-reference-signing-secret"
DEFAULT_DB = "var/reference_vendor.sqlite3"
DEFAULT_ACCESS_URL_TEMPLATE = "http://127.0.0.1:{port}/app/{tenant_id}"
MAX_BODY_BYTES = 1024 * 1024
LOCAL_CLIENTS = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})

TENANT_OPERATIONS = ("activate", "deactivate", "status", "usage", "update", "delete")
POST_OPERATIONS = frozenset({"activate", "deactivate", "update", "delete"})
ALL_OPERATIONS = ("health", *TENANT_OPERATIONS, "app")
TENANT_ROUTE = re.compile(r"^/mt/tenant/([^/]+)/(" + "|".join(TENANT_OPERATIONS) + r")$")
APP_ROUTE = re.compile(r"^/app/([^/]+)/?$")
LAUNCH_TOKEN_IN_QUERY = re.compile(r"([?&])launch_token=[^&]*")


def split_list(value: str | Iterable[str]) -> list[str]:
    """``"a, b"`` or ``["a", "b"]`` → ``["a", "b"]`` (several keys are valid while rotating)."""
    items = value.split(",") if isinstance(value, str) else list(value)
    return [item.strip() for item in items if item and item.strip()]


@dataclass
class VendorOptions:
    """Everything the reference vendor can be told at start."""

    api_keys: list[str]
    signing_secrets: list[str]
    api_key_header: str = "X-Market-API-Key"
    delay_ms: int = 0
    asynchronous: bool = False
    async_seconds: float = 1.0
    retention_days: int = 90
    access_url_template: str = DEFAULT_ACCESS_URL_TEMPLATE
    credentials_delivery: str = "response"  # or "email"
    health_status: str = "healthy"
    service_id: str = "reference_tutor"
    launch_jwks_url: str | None = None
    launch_issuer: str | None = None
    tolerance: int = DEFAULT_TOLERANCE_SECONDS
    log_requests: bool = True


@dataclass
class VendorStats:
    """Counters that let tests prove "exactly once at the vendor"."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: Counter = field(default_factory=Counter)
    request_ids: dict[str, set[str]] = field(default_factory=dict)
    applied: Counter = field(default_factory=Counter)
    replays: Counter = field(default_factory=Counter)
    in_flight: int = 0
    max_concurrent: int = 0

    def begin(self, operation: str) -> None:
        with self.lock:
            self.requests[operation] += 1
            self.in_flight += 1
            self.max_concurrent = max(self.max_concurrent, self.in_flight)

    def end(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def saw_request_id(self, operation: str, request_id: str) -> None:
        with self.lock:
            self.request_ids.setdefault(operation, set()).add(request_id)

    def answered(self, operation: str, *, replayed: bool, status: int) -> None:
        """Count replays, and first answers that changed something (2xx)."""
        with self.lock:
            if replayed:
                self.replays[operation] += 1
            elif 200 <= status < 300:
                self.applied[operation] += 1

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.request_ids.clear()
            self.applied.clear()
            self.replays.clear()
            self.max_concurrent = self.in_flight

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": {op: self.requests[op] for op in ALL_OPERATIONS},
                "distinct_request_ids": {
                    op: len(self.request_ids.get(op, ())) for op in TENANT_OPERATIONS
                },
                "applied": {op: self.applied[op] for op in sorted(POST_OPERATIONS)},
                "replays": {op: self.replays[op] for op in sorted(POST_OPERATIONS)},
                "max_concurrent": self.max_concurrent,
                "in_flight": self.in_flight,
            }


class ReferenceVendorServer(ThreadingHTTPServer):
    """A threading HTTP/1.1 server holding the vendor's options, tenants and counters."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], *, options: VendorOptions, store: TenantStore):
        super().__init__(address, ReferenceVendorHandler)
        self.options = options
        self.store = store
        self.stats = VendorStats()
        self.used_nonces: set[str] = set()
        self.nonce_lock = threading.Lock()
        self._jwks_client: Any = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._stopped = False

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End idle keep-alive connections, so a stopped vendor really is unreachable."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def base_url(self) -> str:
        host = self.server_address[0]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    def access_url(self, tenant_id: str) -> str:
        return self.options.access_url_template.format(
            port=self.port,
            host=self.server_address[0],
            tenant_id=quote(tenant_id, safe=""),
        )

    def wait_idle(self, *, timeout: float) -> None:
        """Give in-flight requests up to ``timeout`` seconds to finish (graceful shutdown)."""
        deadline = time.monotonic() + timeout
        while self.stats.in_flight > 0 and time.monotonic() < deadline:
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop serving, let in-flight requests finish, close connections and the database.

        Safe to call twice.
        """
        if self._stopped:
            return
        self._stopped = True
        self.shutdown()
        self.wait_idle(timeout=5)
        self.server_close()
        self.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.store.close()


class ReferenceVendorHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the market reuses connections
    server_version = "ReferenceVendor/" + VERSION
    disable_nagle_algorithm = True  # TCP_NODELAY on every accepted socket
    wbufsize = 64 * 1024  # headers and body leave in one write; flushed after each request
    timeout = 60  # an idle keep-alive connection is closed after this many seconds
    server: ReferenceVendorServer

    # -- plumbing ---------------------------------------------------------------------------

    def version_string(self) -> str:
        return self.server_version  # no Python version in the Server header

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        # http.server's own messages (timeouts, bad request lines) are noise here; our one line
        # per request is written by _log().
        return

    def _log(self, method: str, status: int, started: float, note: str) -> None:
        if not self.server.options.log_requests:
            return
        elapsed_ms = (time.perf_counter() - started) * 1000
        # A launch token is a credential for a few minutes: keep it out of the log.
        path = LAUNCH_TOKEN_IN_QUERY.sub(r"\1launch_token=[redacted]", self.path)
        sys.stderr.write(
            f'{rfc3339(time.time())} {self.client_address[0]} "{method} {path}" '
            f"{status} {elapsed_ms:.1f}ms{note}\n"
        )
        sys.stderr.flush()

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", f"{response.content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(response.body)

    def _read_body(self) -> bytes | Response:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            return error_response(411, "invalid_request", "send the body with Content-Length")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            return error_response(400, "invalid_request", "Content-Length is not a number")
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            return error_response(
                413, "invalid_request", f"the body is larger than {MAX_BODY_BYTES} bytes"
            )
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self, method: str) -> None:
        started = time.perf_counter()
        url = urlsplit(self.path)
        body = self._read_body()
        note = ""
        if isinstance(body, Response):
            response = body
        else:
            try:
                response, note = self._route(method, url.path, parse_qs(url.query), body)
            except Exception as error:  # a bug must still give the market a clear 5xx
                response = error_response(500, "internal_error", f"{type(error).__name__}")
                note = f" error={error!r}"
        self._send(response)
        self._log(method, response.status, started, note)

    # -- routing ----------------------------------------------------------------------------

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: bytes
    ) -> tuple[Response, str]:
        if path == "/mt/health":
            return self._timed("health", method, "GET", lambda: self._health()), ""
        if path in ("/_stats", "/_reset"):
            return self._internal(method, path), ""
        match = APP_ROUTE.match(path)
        if match:
            tenant_id = unquote(match.group(1))
            if method == "POST":  # the market's launch form posts launch_token in the body
                query = {**query, **parse_qs(body.decode("utf-8", "replace"))}
            expected = "POST" if method == "POST" else "GET"
            return self._timed("app", method, expected, lambda: self._app(tenant_id, query)), ""
        match = TENANT_ROUTE.match(path)
        if not match:
            return error_response(404, "not_found", f"no such endpoint: {path}"), ""
        tenant_id, operation = unquote(match.group(1)), match.group(2)
        expected = "POST" if operation in POST_OPERATIONS else "GET"
        outcome: dict[str, str] = {}

        def run() -> Response:
            return self._tenant_call(operation, tenant_id, query, body, outcome)

        response = self._timed(operation, method, expected, run)
        rid = self.headers.get(REQUEST_ID_HEADER, "-")
        return response, f" op={operation} tenant={tenant_id} rid={rid}{outcome.get('note', '')}"

    def _timed(self, operation: str, method: str, expected: str, call: Any) -> Response:
        """Count the call, apply the configured delay, check the method, then answer."""
        stats = self.server.stats
        stats.begin(operation)
        try:
            if self.server.options.delay_ms:
                time.sleep(self.server.options.delay_ms / 1000)
            if method != expected:
                refused = error_response(405, "method_not_allowed", f"use {expected}")
                return replace(refused, headers={"Allow": expected})
            return call()
        finally:
            stats.end()

    def _health(self) -> Response:
        return json_response(
            200,
            {
                "status": self.server.options.health_status,
                "version": VERSION,
                "timestamp": rfc3339(time.time()),
            },
        )

    def _internal(self, method: str, path: str) -> Response:
        if self.client_address[0] not in LOCAL_CLIENTS:
            return error_response(403, "forbidden", "only available from 127.0.0.1")
        if path == "/_stats" and method == "GET":
            return json_response(200, self.server.stats.snapshot())
        if path == "/_reset" and method == "POST":
            self.server.store.reset()
            self.server.stats.reset()
            self.server.used_nonces.clear()
            return json_response(200, {"reset": True})
        expected = "GET" if path == "/_stats" else "POST"
        return error_response(405, "method_not_allowed", f"use {expected}")

    # -- the standard's tenant calls --------------------------------------------------------

    def _authenticate(self, body: bytes) -> Response | None:
        options = self.server.options
        presented = self.headers.get(options.api_key_header, "")
        # Compare against every key so the time taken does not tell which one (if any) matched.
        matched = False
        for key in options.api_keys:
            matched |= hmac.compare_digest(presented.encode(), key.encode())
        if not presented or not matched:
            return error_response(
                401, "unauthorized", f"missing or wrong {options.api_key_header} header"
            )
        try:
            # RFC 9421 (standard v1.1): the method, path, query, body digest and request id
            # are signed, so a request replayed to another path, tenant or method is refused.
            # The legacy X-Market-Signature alone is not accepted: it binds none of those.
            verify_request(
                secrets=options.signing_secrets,
                method=self.command,
                target=self.path,
                headers=self.headers,
                body=body,
                tolerance=options.tolerance,
            )
        except SignatureError as error:
            return error_response(401, error.code, error.message)
        return None

    def _tenant_call(
        self,
        operation: str,
        tenant_id: str,
        query: dict[str, list[str]],
        body: bytes,
        outcome: dict[str, str],
    ) -> Response:
        refused = self._authenticate(body)
        if refused is not None:
            return refused
        request_id = self.headers[REQUEST_ID_HEADER]
        self.server.stats.saw_request_id(operation, request_id)
        store = self.server.store
        if operation == "status":
            return store.status(tenant_id=tenant_id)
        if operation == "usage":
            return self._usage(tenant_id, query)
        payload = _parse_json_object(body)
        if isinstance(payload, Response):
            return payload
        problems = _check(operation, payload, tenant_id)
        if problems:
            return _invalid(problems)
        response, replayed = store.once(
            request_id=request_id,
            operation=operation,
            tenant_id=tenant_id,
            apply=lambda: self._apply(operation, tenant_id, payload),
        )
        self.server.stats.answered(operation, replayed=replayed, status=response.status)
        if replayed:
            outcome["note"] = " replay"
            return Response(
                status=response.status,
                body=response.body,
                headers={"Idempotent-Replayed": "true"},
            )
        return response

    def _apply(self, operation: str, tenant_id: str, payload: dict[str, Any]) -> Response:
        options = self.server.options
        store = self.server.store
        if operation == "activate":
            return store.activate(
                tenant_id=tenant_id,
                body=payload,
                access_url=self.server.access_url(tenant_id),
                credentials_delivery=options.credentials_delivery,
                asynchronous=options.asynchronous,
            )
        if operation == "deactivate":
            return store.deactivate(
                tenant_id=tenant_id, body=payload, asynchronous=options.asynchronous
            )
        if operation == "update":
            return store.update(
                tenant_id=tenant_id, body=payload, asynchronous=options.asynchronous
            )
        return store.delete(tenant_id=tenant_id, body=payload)

    def _usage(self, tenant_id: str, query: dict[str, list[str]]) -> Response:
        problems = checks.check_usage_query(query)
        if problems:
            return _invalid(problems)
        month = query.get("month", [time.strftime("%Y-%m", time.gmtime())])[-1]
        return self.server.store.usage(tenant_id=tenant_id, month=month)

    # -- where users go ---------------------------------------------------------------------

    def _app(self, tenant_id: str, query: dict[str, list[str]]) -> Response:
        loaded = self.server.store.tenant_view(tenant_id=tenant_id)
        if loaded is None or loaded[0] == "purged":
            return _page(404, "Not found", f"There is no tenant {tenant_id} here.")
        state, data = loaded
        if state == "deactivated":
            return _page(403, "Deactivated", f"Tenant {tenant_id} is deactivated.")
        lines = [
            f"Tenant: {tenant_id} ({data.get('tenant_name', '')})",
            f"Plan: {data.get('plan', '')}",
            f"Status: {state}",
        ]
        token = query.get("launch_token", [""])[-1]
        if token:
            verdict = self._check_launch_token(token, tenant_id)
            if verdict.startswith("rejected"):
                return _page(401, "Launch refused", f"Launch token {verdict}.")
            lines.append(f"Launched: {verdict}")
        return _page(200, "Reference Tutor", *lines)

    def _check_launch_token(self, token: str, tenant_id: str) -> str:
        """Verify an RS256 launch token when PyJWT and a JWKS URL are available."""
        options = self.server.options
        if not options.launch_jwks_url:
            return "launched (token not verified: no --launch-jwks-url)"
        try:
            import jwt  # optional: the reference vendor runs without it
        except ImportError:
            return "launched (token not verified: PyJWT is not installed)"
        try:
            if self.server._jwks_client is None:
                self.server._jwks_client = jwt.PyJWKClient(options.launch_jwks_url)
            key = self.server._jwks_client.get_signing_key_from_jwt(token).key
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience=options.service_id,
                issuer=options.launch_issuer,
                options={"require": ["exp", "sub", "nonce", "tenant_id", "role"]},
            )
        except Exception as error:  # PyJWT raises many types; all mean "do not trust it"
            return f"rejected: {error}"
        if claims.get("token_use", "launch") != "launch":
            return "rejected: not a launch token"
        if claims["tenant_id"] != tenant_id:
            return "rejected: the token is for another tenant"
        if claims["exp"] > time.time() + 300 + 30:
            return "rejected: the token lives longer than 5 minutes"
        with self.server.nonce_lock:
            if claims["nonce"] in self.server.used_nonces:
                return "rejected: the token was already used"
            self.server.used_nonces.add(claims["nonce"])
        return f"launched as {claims['sub']} ({claims['role']})"


def _parse_json_object(body: bytes) -> dict[str, Any] | Response:
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return error_response(400, "invalid_request", "the body is not valid JSON")
    if not isinstance(payload, dict):
        return _invalid([checks.FieldError("(body)", "must be a JSON object")])
    return payload


def _check(operation: str, payload: dict[str, Any], tenant_id: str) -> list[checks.FieldError]:
    if operation == "activate":
        return checks.check_activate(payload, path_tenant_id=tenant_id)
    # v1.1 bodies name their tenant; one about another tenant than the path's is refused.
    errors = checks.check_body_tenant(payload, path_tenant_id=tenant_id)
    if operation == "deactivate":
        return errors + checks.check_deactivate(payload)
    if operation == "update":
        return errors + checks.check_update(payload)
    return errors + checks.check_delete(payload)


def _invalid(problems: list[checks.FieldError]) -> Response:
    message = "; ".join(f"{problem.field}: {problem.message}" for problem in problems)
    return error_response(
        422,
        "invalid_request",
        message,
        field=problems[0].field,
        errors=[problem.as_dict() for problem in problems],
    )


def _page(status: int, title: str, *lines: str) -> Response:
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{paragraphs}</body></html>"
    )
    return Response(status=status, body=document.encode(), content_type="text/html")


def build_server(
    *, host: str = "127.0.0.1", port: int = 0, db_path: str, options: VendorOptions
) -> ReferenceVendorServer:
    store = TenantStore(
        db_path=db_path,
        retention_days=options.retention_days,
        async_seconds=options.async_seconds,
    )
    try:
        return ReferenceVendorServer((host, port), options=options, store=store)
    except BaseException:
        store.close()
        raise


def serve_in_thread(
    *,
    port: int = 0,
    api_keys: str | list[str],
    signing_secrets: str | list[str],
    db_path: str,
    host: str = "127.0.0.1",
    **options: Any,
) -> tuple[ReferenceVendorServer, str]:
    """Start the reference vendor in a background thread; returns (server, base_url).

    ``options`` are ``VendorOptions`` fields (``delay_ms``, ``asynchronous``, ``async_seconds``,
    ``retention_days``, ``access_url_template``, ``credentials_delivery``, ``health_status``,
    ``launch_jwks_url``, ...). Request logging is off unless ``log_requests=True``. Stop it
    with ``server.stop()``.
    """
    options.setdefault("log_requests", False)
    vendor_options = VendorOptions(
        api_keys=split_list(api_keys), signing_secrets=split_list(signing_secrets), **options
    )
    server = build_server(host=host, port=port, db_path=db_path, options=vendor_options)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.1},
        name=f"reference-vendor-{server.port}",
        daemon=True,
    )
    server._thread = thread
    thread.start()
    return server, server.base_url


def _parser() -> argparse.ArgumentParser:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="python -m vendorkit.reference_vendor",
        description="The Service Market's reference vendor (standard v1).",
    )
    parser.add_argument("--host", default=env("REFERENCE_VENDOR_HOST", "127.0.0.1"))
    parser.add_argument(
        "--port", type=int, default=int(env("REFERENCE_VENDOR_PORT", str(DEFAULT_PORT)))
    )
    parser.add_argument(
        "--api-key",
        default=env("REFERENCE_VENDOR_API_KEY", DEFAULT_API_KEY),
        help="API key(s) the market must send; comma-separated while rotating",
    )
    parser.add_argument(
        "--signing-secret",
        default=env("REFERENCE_VENDOR_SIGNING_SECRET", DEFAULT_SIGNING_SECRET),
        help="signing secret(s); comma-separated while rotating",
    )
    parser.add_argument("--db", default=env("REFERENCE_VENDOR_DB", DEFAULT_DB))
    parser.add_argument("--api-key-header", default="X-Market-API-Key")
    parser.add_argument("--delay-ms", type=int, default=0, help="sleep before each answer")
    parser.add_argument(
        "--async",
        dest="asynchronous",
        action="store_true",
        help="answer activate/deactivate/update with 202 and finish after --async-seconds",
    )
    parser.add_argument("--async-seconds", type=float, default=1.0)
    parser.add_argument("--retention-days", type=int, default=90)
    parser.add_argument(
        "--access-url-template",
        default=env("REFERENCE_VENDOR_ACCESS_URL_TEMPLATE", DEFAULT_ACCESS_URL_TEMPLATE),
        help="fields: {port}, {host}, {tenant_id}",
    )
    parser.add_argument("--credentials-delivery", choices=("response", "email"), default="response")
    parser.add_argument(
        "--health-status", choices=("healthy", "degraded", "unhealthy"), default="healthy"
    )
    parser.add_argument("--service-id", default="reference_tutor")
    parser.add_argument(
        "--launch-jwks-url",
        default=env("REFERENCE_VENDOR_LAUNCH_JWKS_URL"),
        help="market JWKS URL; when set (and PyJWT is installed) launch tokens are verified",
    )
    parser.add_argument("--launch-issuer", default=env("REFERENCE_VENDOR_LAUNCH_ISSUER"))
    parser.add_argument("--quiet", action="store_true", help="no per-request log lines")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    options = VendorOptions(
        api_keys=split_list(args.api_key),
        signing_secrets=split_list(args.signing_secret),
        api_key_header=args.api_key_header,
        delay_ms=args.delay_ms,
        asynchronous=args.asynchronous,
        async_seconds=args.async_seconds,
        retention_days=args.retention_days,
        access_url_template=args.access_url_template,
        credentials_delivery=args.credentials_delivery,
        health_status=args.health_status,
        service_id=args.service_id,
        launch_jwks_url=args.launch_jwks_url,
        launch_issuer=args.launch_issuer,
        log_requests=not args.quiet,
    )
    if not options.api_keys or not options.signing_secrets:
        print("an API key and a signing secret are required", file=sys.stderr)
        return 2
    server = build_server(host=args.host, port=args.port, db_path=args.db, options=options)

    def stop(signum: int, _frame: Any) -> None:
        # shutdown() waits for serve_forever() to return, which runs in this (main) thread, so it
        # must be called from another one.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    mode = f"async {options.async_seconds:g}s" if options.asynchronous else "sync"
    print(
        f"reference vendor {VERSION} listening on {server.base_url} "
        f"(db {args.db}, {mode}, delay {options.delay_ms} ms)",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.wait_idle(timeout=5)
        server.server_close()
        server.close_connections()
        server.store.close()
        print("reference vendor stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
