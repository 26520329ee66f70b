"""Deliberately faulty variants of the reference vendor, one fault each, for the kit's tests.

Each variant changes the reference vendor in the smallest way that breaks one rule: a handler
subclass (authentication, health, answers after the fact) or a store subclass (idempotency,
conflicts, repeats). Two lists:

- ``BROKEN_VENDORS`` break a rule of the founding document (or a security refusal): each fails
  at least one **required** check, so the kit exits 1.
- ``IMPRECISE_VENDORS`` break only the standard's extra precision (idempotency by request id,
  exact 404 codes, the month parameter, the content type): they pass every required check,
  exit 0, and the kit prints the named **recommended** checks as warnings.

For each, ``fails`` are the required checks it must fail and ``warns`` the recommended ones it
must warn about; the kit's tests prove it gets exactly those and passes the rest.
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
    verify_request,
)

# -- handler faults ---------------------------------------------------------------------------


class IgnoresApiKey(ReferenceVendorHandler):
    """Checks the signature but never the API key."""

    def _authenticate(self, body: bytes) -> Response | None:
        try:
            verify_request(
                secrets=self.server.options.signing_secrets,
                method=self.command,
                target=self.path,
                headers=self.headers,
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


class LegacySignatureOnly(ReferenceVendorHandler):
    """A v1.0 vendor: checks the key and the deprecated X-Market-Signature, which binds no
    method or path, and ignores the RFC 9421 signature."""

    def _authenticate(self, body: bytes) -> Response | None:
        options = self.server.options
        presented = self.headers.get(options.api_key_header, "")
        if not any(hmac.compare_digest(presented.encode(), k.encode()) for k in options.api_keys):
            return error_response(401, "unauthorized", "missing or wrong API key")
        try:
            verify(
                secrets=options.signing_secrets,
                request_id=self.headers.get(REQUEST_ID_HEADER, ""),
                timestamp_header=self.headers.get(TIMESTAMP_HEADER, ""),
                signature_header=self.headers.get(SIGNATURE_HEADER, ""),
                body=body,
                tolerance=options.tolerance,
            )
        except SignatureError as error:
            return error_response(401, error.code, error.message)
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


class HealthNeedsKey(ReferenceVendorHandler):
    """Protects health like a tenant route: the market's monitor sends no key."""

    def _health(self) -> Response:
        if not self.headers.get(self.server.options.api_key_header):
            return error_response(401, "unauthorized", "missing API key")
        return super()._health()


class ActivateWithoutAccessUrl(_Rewrites):
    def rewrite(self, operation: str, response: Response) -> Response:
        if operation == "activate" and response.status == 200:
            return _edit_json(response, lambda body: body.pop("access_url", None))
        return response


class StatusWithoutUsers(_Rewrites):
    def rewrite(self, operation: str, response: Response) -> Response:
        if operation == "status" and response.status == 200:
            return _edit_json(response, lambda body: body.pop("users", None))
        return response


class HealthTimestampNotRfc3339(ReferenceVendorHandler):
    def _health(self) -> Response:
        body = {"status": "healthy", "version": "1.0.0", "timestamp": "2026-01-03 12:00"}
        return Response(status=200, body=json.dumps(body).encode())


class UsageWithoutPeriod(_Rewrites):
    def rewrite(self, operation: str, response: Response) -> Response:
        if operation == "usage" and response.status == 200:
            return _edit_json(response, lambda body: body.pop("period", None))
        return response


class StatusNeverDeactivated(_Rewrites):
    """Deactivates, but status goes on saying the tenant is active."""

    def rewrite(self, operation: str, response: Response) -> Response:
        if operation == "status" and response.status == 200:
            return _edit_json(
                response,
                lambda body: body.update(status="active") if body.get("status") else None,
            )
        return response


class StatusNeverDeactivatedNoDelete(StatusNeverDeactivated):
    """The same, without a delete endpoint: the run's tenants cannot be cleaned up."""

    def _route(self, method, path, query, body):
        if path.rsplit("/", 1)[-1] == "delete":
            return error_response(404, "not_found", f"no such endpoint: {path}"), ""
        return super()._route(method, path, query, body)


class AlwaysKeepsData(_Rewrites):
    """Answers every deactivation as if the data were kept (preserve_data false ignored)."""

    def rewrite(self, operation: str, response: Response) -> Response:
        if operation == "deactivate" and response.status == 200:
            return _edit_json(
                response,
                lambda body: body.update(
                    data_preserved=True, reactivation_deadline="2099-01-01T00:00:00Z"
                ),
            )
        return response


# -- the catalogue ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BrokenVendor:
    """A fault, how to build it, the required checks it fails, the recommended checks it warns
    about, and the checks it makes the kit skip."""

    name: str
    fails: frozenset[str]
    handler: type[ReferenceVendorHandler] = ReferenceVendorHandler
    store: type[TenantStore] = TenantStore
    options: dict[str, Any] = field(default_factory=dict)
    skips: frozenset[str] = frozenset()
    warns: frozenset[str] = frozenset()


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
        warns=frozenset({"auth.replayed_path"}),
    ),
    BrokenVendor(
        "accepts_stale_timestamps",
        frozenset({"auth.stale_timestamp", "auth.future_timestamp"}),
        options={"tolerance": 10**9},
    ),
    BrokenVendor(
        "replay_creates_second_tenant",
        frozenset({"activate.conflict"}),
        store=ForgetfulOverwritingStore,
        warns=frozenset({"activate.replay"}),
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
        skips=frozenset({"health.status", "health.timestamp", "health.clock"}),
    ),
    BrokenVendor("unhealthy", frozenset({"health.status"}), options={"health_status": "unhealthy"}),
    BrokenVendor("health_needs_key", frozenset({"health.no_auth"}), handler=HealthNeedsKey),
    BrokenVendor(
        "health_timestamp_not_rfc3339",
        frozenset({"health.timestamp"}),
        handler=HealthTimestampNotRfc3339,
        skips=frozenset({"health.clock"}),
    ),
    BrokenVendor(
        "activate_without_access_url",
        frozenset({"activate.shape", "activate.reactivate"}),
        handler=ActivateWithoutAccessUrl,
    ),
    BrokenVendor(
        "status_without_plan",
        frozenset({"status.after_activate"}),
        handler=StatusWithoutPlan,
        warns=frozenset({"update.status_shows_plan"}),
    ),
    BrokenVendor("status_without_users", frozenset({"status.shape"}), handler=StatusWithoutUsers),
    BrokenVendor(
        "deactivate_without_deadline",
        frozenset({"deactivate.preserve_data"}),
        handler=DeactivateWithoutDeadline,
    ),
    BrokenVendor("always_keeps_data", frozenset({"deactivate.drop_data"}), handler=AlwaysKeepsData),
    BrokenVendor("no_reactivation", frozenset({"activate.reactivate"}), store=NoReactivationStore),
    BrokenVendor("negative_usage", frozenset({"usage.metrics"}), handler=NegativeUsage),
    BrokenVendor(
        "usage_without_period",
        frozenset({"usage.shape"}),
        handler=UsageWithoutPeriod,
        skips=frozenset({"usage.period"}),
    ),
    BrokenVendor(
        "status_never_deactivated",
        frozenset({"status.after_deactivate"}),
        handler=StatusNeverDeactivated,
        skips=frozenset({"status.deactivated_details"}),
    ),
    BrokenVendor(
        "status_never_deactivated_no_delete",
        frozenset({"status.after_deactivate", "cleanup.tenants"}),
        handler=StatusNeverDeactivatedNoDelete,
        skips=frozenset({"status.deactivated_details", "delete.gone"}),
        warns=frozenset({"delete.purge"}),
    ),
]

IMPRECISE_VENDORS = [
    BrokenVendor(
        "verifies_only_the_legacy_signature",
        frozenset(),
        handler=LegacySignatureOnly,
        warns=frozenset({"auth.replayed_path"}),
    ),
    BrokenVendor(
        "replay_answers_409",
        frozenset(),
        store=ForgetfulStore,
        warns=frozenset({"activate.replay"}),
    ),
    BrokenVendor(
        "deactivate_twice_conflicts",
        frozenset(),
        store=DeactivateConflictStore,
        warns=frozenset({"deactivate.repeat"}),
    ),
    BrokenVendor(
        "usage_ignores_month",
        frozenset(),
        handler=UsageIgnoresMonth,
        warns=frozenset({"usage.period"}),
    ),
    BrokenVendor(
        "server_error_on_unknown_tenant",
        frozenset(),
        handler=ServerErrorOnUnknownTenant,
        warns=frozenset({"tenant.unknown_status", "tenant.unknown_deactivate"}),
    ),
    BrokenVendor(
        "html_error_on_unknown_tenant",
        frozenset(),
        handler=HtmlErrorOnUnknownTenant,
        warns=frozenset(
            {
                "tenant.unknown_status",
                "tenant.unknown_deactivate",
                "errors.body_shape",
                "http.content_type",
            }
        ),
    ),
    BrokenVendor(
        "text_plain_answers",
        frozenset(),
        handler=TextPlainAnswers,
        warns=frozenset({"http.content_type"}),
    ),
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
