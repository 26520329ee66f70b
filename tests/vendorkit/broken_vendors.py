"""Deliberately broken variants of the reference vendor, one fault each, for the kit's tests.

Each variant changes the reference vendor in the smallest way that breaks one rule of the
standard: a handler subclass (authentication, health, answers after the fact) or a store
subclass (idempotency, conflicts, repeats). ``BROKEN_VENDORS`` says which checks each one
must fail; the kit's tests prove it fails exactly those and passes the rest.
"""

from __future__ import annotations

import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from vendorkit.reference_store import Response, TenantStore, error_response
from vendorkit.reference_vendor import (
    ReferenceVendorHandler,
    ReferenceVendorServer,
    VendorOptions,
)
from vendorkit.signing import (
    REQUEST_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureError,
    verify,
)

# -- handler faults ---------------------------------------------------------------------------


class IgnoresApiKey(ReferenceVendorHandler):
    """Checks the signature but never the API key."""

    def _authenticate(self, body: bytes) -> Response | None:
        try:
            verify(
                secrets=self.server.options.signing_secrets,
                request_id=self.headers.get(REQUEST_ID_HEADER, ""),
                timestamp_header=self.headers.get(TIMESTAMP_HEADER, ""),
                signature_header=self.headers.get(SIGNATURE_HEADER, ""),
                body=body,
                tolerance=self.server.options.tolerance,
            )
        except SignatureError as error:
            return error_response(401, error.code, error.message)
        return None


class IgnoresSignature(ReferenceVendorHandler):
    """Checks the API key and the clock, never the signature."""

    def _authenticate(self, body: bytes) -> Response | None:
        options = self.server.options
        presented = self.headers.get(options.api_key_header, "")
        if not any(hmac.compare_digest(presented.encode(), k.encode()) for k in options.api_keys):
            return error_response(401, "unauthorized", "missing or wrong API key")
        stamp = self.headers.get(TIMESTAMP_HEADER, "")
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > options.tolerance:
            return error_response(401, "stale_timestamp", "the timestamp is too far off")
        return None


class WrongHealthShape(ReferenceVendorHandler):
    """Answers health with its own idea of a body."""

    def _health(self) -> Response:
        return Response(status=200, body=b'{"ok":true,"uptime_s":42}')


class _Rewrites(ReferenceVendorHandler):
    """Changes the reference vendor's answers to tenant calls after they are made."""

    def rewrite(self, operation: str, response: Response) -> Response:
        return response

    def _tenant_call(self, operation, tenant_id, query, body, outcome) -> Response:
        response = super()._tenant_call(operation, tenant_id, query, body, outcome)
        return self.rewrite(operation, response)


def _edit_json(response: Response, edit: Callable[[dict[str, Any]], None]) -> Response:
    payload = json.loads(response.body)
    edit(payload)
    return replace(response, body=json.dumps(payload).encode())


class StatusWithoutPlan(_Rewrites):
    def rewrite(self, operation: str, response: Response) -> Response:
        if operation == "status" and response.status == 200:
            return _edit_json(response, lambda body: body.pop("plan", None))
        return response


class DeactivateWithoutDeadline(_Rewrites):
    def rewrite(self, operation: str, response: Response) -> Response:
        if operation == "deactivate" and response.status == 200:
            return _edit_json(response, lambda body: body.pop("reactivation_deadline", None))
        return response


class NegativeUsage(_Rewrites):
    def rewrite(self, operation: str, response: Response) -> Response:
        if operation == "usage" and response.status == 200:
            return _edit_json(response, lambda body: body["usage"].update(api_calls=-5))
        return response


class UsageIgnoresMonth(_Rewrites):
    def rewrite(self, operation: str, response: Response) -> Response:
        if operation == "usage" and response.status == 200:
            return _edit_json(response, lambda body: body.update(period="1999-01"))
        return response


class ServerErrorOnUnknownTenant(_Rewrites):
    def rewrite(self, operation: str, response: Response) -> Response:
        if response.status == 404:
            return error_response(500, "internal_error", "KeyError")
        return response


class HtmlErrorOnUnknownTenant(_Rewrites):
    """A framework's HTML 404 page instead of the standard error body."""

    def rewrite(self, operation: str, response: Response) -> Response:
        if response.status == 404:
            page = b"<!doctype html><html><body><h1>Not Found</h1></body></html>"
            return Response(status=404, body=page, content_type="text/html")
        return response


class TextPlainAnswers(ReferenceVendorHandler):
    """Right bodies, wrong Content-Type."""

    def _send(self, response: Response) -> None:
        super()._send(replace(response, content_type="text/plain"))


class NoOptionalEndpoints(ReferenceVendorHandler):
    """Implements only the required endpoints: usage, update and delete are 404 routes."""

    def _route(self, method, path, query, body):
        if path.rsplit("/", 1)[-1] in ("usage", "update", "delete"):
            return error_response(404, "not_found", f"no such endpoint: {path}"), ""
        return super()._route(method, path, query, body)


# -- store faults -----------------------------------------------------------------------------


class ForgetfulStore(TenantStore):
    """Keeps no answers: every delivery of a request acts again."""

    def once(self, *, request_id, operation, tenant_id, apply):
        return apply(), False


class OverwritingStore(TenantStore):
    """Activate of an active tenant creates it again instead of answering 409."""

    def activate(self, **kwargs: Any) -> Response:
        with self.lock:
            self.connection.execute(
                "DELETE FROM tenants WHERE tenant_id = ? AND state = 'active'",
                (kwargs["tenant_id"],),
            )
            return super().activate(**kwargs)


class ForgetfulOverwritingStore(ForgetfulStore, OverwritingStore):
    """A replayed activate creates the tenant a second time (new password, new created_at)."""


class NoReactivationStore(TenantStore):
    def activate(self, **kwargs: Any) -> Response:
        with self.lock:
            loaded = self._load(kwargs["tenant_id"])
            if loaded is not None and loaded[0] == "deactivated":
                return error_response(409, "tenant_already_exists", "deactivated, not reopened")
            return super().activate(**kwargs)


class DeactivateConflictStore(TenantStore):
    """A second deactivate answers 409 instead of the first body again."""

    def deactivate(self, **kwargs: Any) -> Response:
        with self.lock:
            loaded = self._load(kwargs["tenant_id"])
            if loaded is not None and loaded[0] == "deactivated":
                return error_response(409, "tenant_not_active", "already deactivated")
            return super().deactivate(**kwargs)


# -- the catalogue of broken vendors ----------------------------------------------------------


@dataclass(frozen=True)
class BrokenVendor:
    """A fault, how to build it, and the checks it must fail (and, for some, skip)."""

    name: str
    fails: frozenset[str]
    handler: type[ReferenceVendorHandler] = ReferenceVendorHandler
    store: type[TenantStore] = TenantStore
    options: dict[str, Any] = field(default_factory=dict)
    skips: frozenset[str] = frozenset()


BROKEN_VENDORS = [
    BrokenVendor(
        "ignores_api_key",
        frozenset({"auth.missing_key", "auth.wrong_key", "auth.status_requires_key"}),
        handler=IgnoresApiKey,
    ),
    BrokenVendor(
        "ignores_signature",
        frozenset({"auth.missing_signature", "auth.bad_signature", "auth.tampered_body"}),
        handler=IgnoresSignature,
    ),
    BrokenVendor(
        "accepts_stale_timestamps",
        frozenset({"auth.stale_timestamp", "auth.future_timestamp"}),
        options={"tolerance": 10**9},
    ),
    BrokenVendor(
        "replay_answers_409",
        frozenset({"activate.replay"}),
        store=ForgetfulStore,
    ),
    BrokenVendor(
        "replay_creates_second_tenant",
        frozenset({"activate.replay", "activate.conflict"}),
        store=ForgetfulOverwritingStore,
    ),
    BrokenVendor(
        "no_conflict_on_active_tenant",
        frozenset({"activate.conflict"}),
        store=OverwritingStore,
    ),
    BrokenVendor(
        "wrong_health_shape",
        frozenset({"health.shape"}),
        handler=WrongHealthShape,
        skips=frozenset({"health.status", "health.timestamp"}),
    ),
    BrokenVendor("unhealthy", frozenset({"health.status"}), options={"health_status": "unhealthy"}),
    BrokenVendor(
        "status_without_plan",
        frozenset({"status.after_activate", "update.status_shows_plan"}),
        handler=StatusWithoutPlan,
    ),
    BrokenVendor(
        "deactivate_without_deadline",
        frozenset({"deactivate.preserve_data"}),
        handler=DeactivateWithoutDeadline,
    ),
    BrokenVendor(
        "deactivate_twice_conflicts",
        frozenset({"deactivate.repeat"}),
        store=DeactivateConflictStore,
    ),
    BrokenVendor("no_reactivation", frozenset({"activate.reactivate"}), store=NoReactivationStore),
    BrokenVendor("negative_usage", frozenset({"usage.metrics"}), handler=NegativeUsage),
    BrokenVendor("usage_ignores_month", frozenset({"usage.period"}), handler=UsageIgnoresMonth),
    BrokenVendor(
        "server_error_on_unknown_tenant",
        frozenset({"tenant.unknown_status", "tenant.unknown_deactivate"}),
        handler=ServerErrorOnUnknownTenant,
    ),
    BrokenVendor(
        "html_error_on_unknown_tenant",
        frozenset(
            {
                "tenant.unknown_status",
                "tenant.unknown_deactivate",
                "errors.body_shape",
                "http.content_type",
            }
        ),
        handler=HtmlErrorOnUnknownTenant,
    ),
    BrokenVendor("text_plain_answers", frozenset({"http.content_type"}), handler=TextPlainAnswers),
]


def start_vendor(
    *,
    db_path: Path | str,
    api_key: str,
    signing_secret: str,
    handler: type[ReferenceVendorHandler] = ReferenceVendorHandler,
    store: type[TenantStore] = TenantStore,
    **options: Any,
) -> ReferenceVendorServer:
    """A (possibly broken) reference vendor serving on 127.0.0.1:<free port> in a thread."""
    vendor_options = VendorOptions(
        api_keys=[api_key], signing_secrets=[signing_secret], log_requests=False, **options
    )
    tenant_store = store(
        db_path=str(db_path),
        retention_days=vendor_options.retention_days,
        async_seconds=vendor_options.async_seconds,
    )
    server = ReferenceVendorServer(("127.0.0.1", 0), options=vendor_options, store=tenant_store)
    # Swapped before the first request is accepted, so every request meets the fault.
    server.RequestHandlerClass = handler
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    server._thread = thread
    thread.start()
    return server
