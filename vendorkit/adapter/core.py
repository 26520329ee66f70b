"""The standard's endpoints around a vendor's plain functions, independent of any framework.

``StandardAdapter.handle(request)`` takes a framework-neutral ``HttpRequest`` and returns an
``HttpResponse`` for the standard's routes (``None`` for every other path, which the vendor's
own application serves). ``vendorkit.adapter.wsgi`` and ``vendorkit.adapter.asgi`` plug it into
Flask, Django, Starlette, FastAPI or any WSGI/ASGI application.

For each tenant call, in this order, before any vendor function runs: the route and method;
the body size; authentication; the signature and timestamp; JSON and field checks; the request
id (a repeat gets the first answer byte for byte, nothing is done again); the tenant's state
(404, 410, 409 come from ``status``). Only then is the vendor's function called. An exception in
it becomes ``500 internal_error`` (logged, never shown), and the request id is released so the
market's retry acts again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote

from vendorkit import reference_validation as checks
from vendorkit.adapter.results import (
    TENANT_STATES,
    Activated,
    Activation,
    Deactivated,
    Pending,
    TenantPurged,
    TenantStatus,
    VendorRefusal,
)
from vendorkit.adapter.stores import DEFAULT_TTL_SECONDS, IdempotencyStore, MemoryStore
from vendorkit.adapter.verify import (
    BearerVerifier,
    Refused,
    SignedRequest,
    check_api_key,
    check_bearer,
    check_signature,
)

logger = logging.getLogger("vendorkit.adapter")

DEFAULT_MAX_BODY_BYTES = 256 * 1024
DEFAULT_TOLERANCE_SECONDS = 300
DEFAULT_RETENTION_DAYS = 90
WAIT_FOR_FIRST_ATTEMPT_SECONDS = 8.0
TENANT_LOCK_STRIPES = 64
OPERATIONS = ("activate", "deactivate", "status", "usage", "update", "delete")
POST_OPERATIONS = frozenset({"activate", "deactivate", "update", "delete"})
TENANT_ROUTE = re.compile(r"^/mt/tenant/([^/]+)/(" + "|".join(OPERATIONS) + r")$")


@dataclass
class HttpRequest:
    """One request as it arrived. ``path`` is the raw, still percent-encoded path."""

    method: str
    path: str
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    scheme: str = "http"
    host: str = "localhost"
    body_too_large: bool = False

    def __post_init__(self) -> None:
        self.headers = {name.lower(): value for name, value in self.headers.items()}

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}{self.path}" + (f"?{self.query}" if self.query else "")


@dataclass
class HttpResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def content_type(self) -> str:
        return "application/json; charset=utf-8"

    def header_list(self) -> list[tuple[str, str]]:
        return [
            ("Content-Type", self.content_type),
            ("Content-Length", str(len(self.body))),
            *self.headers.items(),
        ]


def encode(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def answer(status: int, body: dict[str, Any], **headers: str) -> HttpResponse:
    return HttpResponse(status, encode(body), {k.replace("_", "-"): v for k, v in headers.items()})


def error(status: int, code: str, message: str, **extra: Any) -> HttpResponse:
    return answer(status, {"error": code, "message": message, **extra})


def rfc3339(value: datetime | str | None) -> str | None:
    """``2026-01-03T12:00:00Z`` from a datetime or an ISO 8601 string (naive means UTC)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _invalid(problems: list[checks.FieldError]) -> HttpResponse:
    message = "; ".join(f"{problem.field}: {problem.message}" for problem in problems)
    return error(
        422,
        "invalid_request",
        message,
        field=problems[0].field,
        errors=[problem.as_dict() for problem in problems],
    )


class StandardAdapter:
    """The standard's vendor API around the vendor's functions.

    Required functions (keyword arguments as shown):

    - ``activate(activation: Activation) -> Activated | Pending``
    - ``deactivate(tenant_id, *, preserve_data, reason, deactivate_at) -> Deactivated | Pending``
    - ``status(tenant_id) -> TenantStatus | None`` (raise ``TenantPurged`` for a purged tenant)
    - ``usage(tenant_id, *, month) -> dict[str, number]``

    Optional: ``update(tenant_id, *, plan, features, config) -> None | Pending``,
    ``delete(tenant_id, *, reason) -> None``, ``health() -> "healthy" | "degraded" | "unhealthy"``.

    Authentication: ``api_keys`` (sent in ``api_key_header``; several while rotating), or
    ``bearer_verifier`` for ``auth.type: jwt`` / ``oauth2`` (see ``jwt_bearer_verifier``).
    """

    def __init__(
        self,
        *,
        activate: Callable[[Activation], Activated | Pending],
        deactivate: Callable[..., Deactivated | Pending],
        status: Callable[[str], TenantStatus | None],
        usage: Callable[..., dict[str, float]],
        update: Callable[..., Pending | None] | None = None,
        delete: Callable[..., None] | None = None,
        health: Callable[[], str] | None = None,
        signing_secrets: list[str] | str,
        api_keys: list[str] | str | None = None,
        api_key_header: str = "X-Market-API-Key",
        bearer_verifier: BearerVerifier | None = None,
        store: IdempotencyStore | None = None,
        answer_ttl_seconds: float = DEFAULT_TTL_SECONDS,
        tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
        accept_legacy_signatures: bool = True,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        asynchronous: bool = False,
        retention_days: int = DEFAULT_RETENTION_DAYS,
        version: str = "1.0.0",
        prefix: str = "",
    ) -> None:
        if (api_keys is None) == (bearer_verifier is None):
            raise ValueError("give either api_keys (auth.type api_key) or bearer_verifier")
        self.functions = {
            "activate": activate,
            "deactivate": deactivate,
            "status": status,
            "usage": usage,
            "update": update,
            "delete": delete,
        }
        self.health_function = health
        self.signing_secrets = (
            [signing_secrets] if isinstance(signing_secrets, str) else list(signing_secrets)
        )
        if not self.signing_secrets:
            raise ValueError("at least one signing secret is needed")
        self.api_keys = [api_keys] if isinstance(api_keys, str) else api_keys
        self.api_key_header = api_key_header
        self.bearer_verifier = bearer_verifier
        self.store = store if store is not None else MemoryStore()
        self.answer_ttl_seconds = answer_ttl_seconds
        self.tolerance_seconds = tolerance_seconds
        self.accept_legacy_signatures = accept_legacy_signatures
        self.max_body_bytes = max_body_bytes
        self.asynchronous = asynchronous
        self.retention_days = retention_days
        self.version = version
        self.prefix = prefix.rstrip("/")
        # One operation per tenant at a time in this process (striped: memory stays bounded).
        # Across processes the market itself sends one operation per tenant at a time, and the
        # store's atomic claim keeps one request id from acting twice.
        self._tenant_locks = [threading.Lock() for _ in range(TENANT_LOCK_STRIPES)]

    # -- routing ----------------------------------------------------------------------------

    def matches(self, path: str) -> bool:
        """Whether ``path`` (raw) is one of the standard's routes under the prefix."""
        local = self._local_path(path)
        return local is not None and (local == "/mt/health" or local.startswith("/mt/tenant/"))

    def _local_path(self, path: str) -> str | None:
        if not self.prefix:
            return path
        if path.startswith(self.prefix + "/"):
            return path[len(self.prefix) :]
        return None

    def handle(self, request: HttpRequest) -> HttpResponse | None:
        """Answer a request for one of the standard's routes; ``None`` for any other path."""
        if not self.matches(request.path):
            return None
        local = self._local_path(request.path) or ""
        try:
            if local == "/mt/health":
                return self._only(request, "GET") or self._health()
            match = TENANT_ROUTE.match(local)
            if not match:
                return error(404, "not_found", f"no such endpoint: {request.path}")
            tenant_id, operation = unquote(match.group(1)), match.group(2)
            if self.functions[operation] is None:
                return error(404, "not_found", f"this service does not offer {operation}")
            expected = "POST" if operation in POST_OPERATIONS else "GET"
            return self._only(request, expected) or self._tenant_call(request, tenant_id, operation)
        except Exception:  # the adapter's own last line: a 5xx the market retries, no traceback
            logger.exception("vendorkit adapter: %s %s failed", request.method, request.path)
            return error(500, "internal_error", "the service failed to answer; try again later")

    @staticmethod
    def _only(request: HttpRequest, method: str) -> HttpResponse | None:
        if request.method == method:
            return None
        refused = error(405, "method_not_allowed", f"use {method}")
        refused.headers["Allow"] = method
        return refused

    def _health(self) -> HttpResponse:
        state = "healthy"
        if self.health_function is not None:
            try:
                state = self.health_function()
            except Exception:
                logger.exception("vendorkit adapter: health function failed")
                state = "unhealthy"
            if state not in ("healthy", "degraded", "unhealthy"):
                state = "unhealthy"
        return answer(
            200,
            {"status": state, "version": self.version, "timestamp": rfc3339(datetime.now(UTC))},
        )

    # -- the checks every tenant call gets --------------------------------------------------

    def _authenticate(self, request: HttpRequest) -> None:
        if self.bearer_verifier is not None:
            check_bearer(
                authorization=request.headers.get("authorization", ""),
                verifier=self.bearer_verifier,
            )
        else:
            check_api_key(
                presented=request.headers.get(self.api_key_header.lower(), ""),
                keys=self.api_keys or [],
                header=self.api_key_header,
            )
        check_signature(
            SignedRequest(request.method, request.url, request.headers, request.body),
            secrets=self.signing_secrets,
            tolerance=self.tolerance_seconds,
            accept_legacy=self.accept_legacy_signatures,
        )

    def _tenant_call(self, request: HttpRequest, tenant_id: str, operation: str) -> HttpResponse:
        if request.body_too_large or len(request.body) > self.max_body_bytes:
            return error(
                413, "invalid_request", f"the body is larger than {self.max_body_bytes} bytes"
            )
        try:
            self._authenticate(request)
        except Refused as refused:
            return error(401, refused.code, refused.message)
        if operation == "status":
            return self._guarded(lambda: self._status(tenant_id))
        if operation == "usage":
            return self._usage(tenant_id, parse_qs(request.query))
        payload = self._payload(request.body)
        if isinstance(payload, HttpResponse):
            return payload
        problems = self._check(operation, payload, tenant_id)
        if problems:
            return _invalid(problems)
        request_id = request.headers["x-market-request-id"]
        # Per tenant and endpoint (section 5), hashed so any tenant id fits the store's key.
        scope = hashlib.sha256(f"{tenant_id}\n{request_id}".encode()).hexdigest()
        return self._once(
            key=f"{operation}:{scope}",
            fingerprint=hashlib.sha256(request.body).hexdigest(),
            tenant_id=tenant_id,
            act=lambda: self._apply(operation, tenant_id, payload),
        )

    @staticmethod
    def _payload(body: bytes) -> dict[str, Any] | HttpResponse:
        try:
            payload = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return error(400, "invalid_request", "the body is not valid JSON")
        if not isinstance(payload, dict):
            return _invalid([checks.FieldError("(body)", "must be a JSON object")])
        return payload

    @staticmethod
    def _check(operation: str, payload: dict[str, Any], tenant_id: str) -> list[checks.FieldError]:
        if operation == "activate":
            problems = checks.check_activate(payload, path_tenant_id=tenant_id)
            if "reactivation" in payload and not isinstance(payload["reactivation"], bool):
                problems.append(checks.FieldError("reactivation", "must be true or false"))
            return problems
        problems = {
            "deactivate": checks.check_deactivate,
            "update": checks.check_update,
            "delete": checks.check_delete,
        }[operation](payload)
        # Standard v1.1 puts tenant_id in every lifecycle body: a body signed for one tenant
        # cannot be replayed against another tenant's path.
        if "tenant_id" in payload and payload["tenant_id"] != tenant_id:
            problems.append(
                checks.FieldError("tenant_id", "must equal the tenant id in the URL path")
            )
        return problems

    # -- exactly once -----------------------------------------------------------------------

    def _tenant_lock(self, tenant_id: str) -> threading.Lock:
        digest = hashlib.blake2b(tenant_id.encode(), digest_size=4).digest()
        return self._tenant_locks[int.from_bytes(digest, "big") % TENANT_LOCK_STRIPES]

    def _once(
        self, *, key: str, fingerprint: str, tenant_id: str, act: Callable[[], HttpResponse]
    ) -> HttpResponse:
        deadline = time.monotonic() + WAIT_FOR_FIRST_ATTEMPT_SECONDS
        while True:
            held = self.store.claim(key, fingerprint=fingerprint, ttl=self.answer_ttl_seconds)
            if held is None:
                break
            if held.fingerprint and held.fingerprint != fingerprint:
                return error(
                    422,
                    "invalid_request",
                    "this X-Market-Request-Id was already used for a different body",
                )
            if held.status is not None:
                return HttpResponse(held.status, held.body, {"Idempotent-Replayed": "true"})
            if time.monotonic() > deadline:  # the first attempt is still acting
                refused = error(503, "request_in_progress", "the same request is being handled")
                refused.headers["Retry-After"] = "2"
                return refused
            time.sleep(0.05)
        try:
            with self._tenant_lock(tenant_id):
                response = self._guarded(act)
        except BaseException:
            self.store.release(key)
            raise
        if response.status >= 500:
            self.store.release(key)  # not an answer: the retry must act
        else:
            self.store.complete(
                key, status=response.status, body=response.body, ttl=self.answer_ttl_seconds
            )
        return response

    @staticmethod
    def _guarded(call: Callable[[], HttpResponse]) -> HttpResponse:
        try:
            return call()
        except VendorRefusal as refusal:
            return error(refusal.status, refusal.error, refusal.message)
        except Exception:
            logger.exception("vendorkit adapter: a vendor function failed")
            return error(500, "internal_error", "the service failed; the market will try again")

    # -- the operations ---------------------------------------------------------------------

    def _state(self, tenant_id: str) -> TenantStatus | str | None:
        """The vendor's status of the tenant, or ``"purged"``, or None (unknown)."""
        try:
            current = self.functions["status"](tenant_id)
        except TenantPurged:
            return "purged"
        if current is not None and current.status not in TENANT_STATES:
            raise ValueError(f"status() returned an unknown state {current.status!r}")
        return current

    @staticmethod
    def _gone(tenant_id: str, state: TenantStatus | str | None) -> HttpResponse | None:
        if state is None:
            return error(404, "tenant_not_found", f"Tenant {tenant_id} does not exist")
        if state == "purged":
            return error(410, "tenant_purged", f"Tenant {tenant_id} was purged")
        return None

    def _pending(self, operation: str, tenant_id: str) -> HttpResponse:
        if not self.asynchronous:
            raise ValueError(
                f"{operation}() returned Pending but the adapter is not asynchronous=True "
                "(the manifest needs operations.async: true)"
            )
        word = {"activate": "activating", "deactivate": "deactivating", "update": "updating"}
        return answer(202, {"status": word[operation], "tenant_id": tenant_id})

    def _apply(self, operation: str, tenant_id: str, payload: dict[str, Any]) -> HttpResponse:
        state = self._state(tenant_id)
        if operation == "activate":
            return self._activate(tenant_id, payload, state)
        gone = self._gone(tenant_id, state)
        if gone is not None:
            return gone
        assert isinstance(state, TenantStatus)
        if operation == "deactivate":
            return self._deactivate(tenant_id, payload, state)
        if operation == "update":
            if state.status != "active":
                return error(
                    409, "tenant_not_active", f"Tenant {tenant_id} is {state.status}, not active"
                )
            result = self.functions["update"](
                tenant_id,
                plan=payload["plan"],
                features=payload["features"],
                config=payload["config"],
            )
            if isinstance(result, Pending):
                return self._pending("update", tenant_id)
            return answer(
                200, {"status": "updated", "tenant_id": tenant_id, "plan": payload["plan"]}
            )
        self.functions["delete"](tenant_id, reason=payload["reason"])
        return answer(200, {"status": "deleted", "tenant_id": tenant_id})

    def _activate(
        self, tenant_id: str, payload: dict[str, Any], state: TenantStatus | str | None
    ) -> HttpResponse:
        if isinstance(state, TenantStatus) and state.status != "deactivated":
            return error(
                409, "tenant_already_exists", f"Tenant {tenant_id} already exists ({state.status})"
            )
        activation = Activation(
            tenant_id=tenant_id,
            tenant_name=payload["tenant_name"],
            plan=payload["plan"],
            features=list(payload["features"]),
            config=dict(payload["config"]),
            admin=dict(payload["admin"]),
            reactivation=isinstance(state, TenantStatus),
            isolation=payload.get("isolation"),
            subscription_id=payload.get("subscription_id"),
            body=payload,
        )
        result = self.functions["activate"](activation)
        if isinstance(result, Pending):
            return self._pending("activate", tenant_id)
        if not isinstance(result, Activated):
            raise TypeError("activate() must return Activated or Pending")
        body: dict[str, Any] = {
            "status": "activated",
            "tenant_id": tenant_id,
            "access_url": result.access_url,
        }
        if result.credentials_delivery:
            body["credentials_delivery"] = result.credentials_delivery
        elif result.temp_password:
            body["admin_credentials"] = {"temp_password": result.temp_password}
        return answer(200, body)

    def _deactivated_body(
        self, tenant_id: str, data_preserved: bool, deadline: datetime | str | None
    ) -> dict[str, Any]:
        if data_preserved and deadline is None:
            deadline = datetime.now(UTC) + timedelta(days=self.retention_days)
        return {
            "status": "deactivated",
            "tenant_id": tenant_id,
            "data_preserved": data_preserved,
            "reactivation_deadline": rfc3339(deadline) if data_preserved else None,
        }

    def _deactivate(
        self, tenant_id: str, payload: dict[str, Any], state: TenantStatus
    ) -> HttpResponse:
        if state.status == "deactivated":  # already done: the same body as the first time
            preserved = bool(state.data_preserved)
            return answer(
                200, self._deactivated_body(tenant_id, preserved, state.reactivation_deadline)
            )
        result = self.functions["deactivate"](
            tenant_id,
            preserve_data=payload["preserve_data"],
            reason=payload["reason"],
            deactivate_at=payload["deactivate_at"],
        )
        if isinstance(result, Pending):
            return self._pending("deactivate", tenant_id)
        if not isinstance(result, Deactivated):
            raise TypeError("deactivate() must return Deactivated or Pending")
        return answer(
            200,
            self._deactivated_body(tenant_id, result.data_preserved, result.reactivation_deadline),
        )

    def _status(self, tenant_id: str) -> HttpResponse:
        state = self._state(tenant_id)
        gone = self._gone(tenant_id, state)
        if gone is not None:
            return gone
        assert isinstance(state, TenantStatus)
        body: dict[str, Any] = {
            "tenant_id": tenant_id,
            "status": state.status,
            "plan": state.plan,
            "created_at": rfc3339(state.created_at),
            "users": {"total": state.users_total, "active_today": state.users_active_today},
            "storage": {"used_gb": state.storage_used_gb, "limit_gb": state.storage_limit_gb},
        }
        if state.access_url:
            body["access_url"] = state.access_url
        if state.status == "deactivated":
            body["data_preserved"] = bool(state.data_preserved)
            body["reactivation_deadline"] = rfc3339(state.reactivation_deadline)
        body.update(state.extra)
        return answer(200, body)

    def _usage(self, tenant_id: str, query: dict[str, list[str]]) -> HttpResponse:
        problems = checks.check_usage_query(query)
        if problems:
            return _invalid(problems)
        month = query.get("month", [time.strftime("%Y-%m", time.gmtime())])[-1]

        def report() -> HttpResponse:
            gone = self._gone(tenant_id, self._state(tenant_id))
            if gone is not None:
                return gone
            usage = dict(self.functions["usage"](tenant_id, month=month))
            for metric, value in usage.items():
                if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                    raise ValueError(f"usage() returned {metric}={value!r}: numbers >= 0 only")
            return answer(200, {"tenant_id": tenant_id, "period": month, "usage": usage})

        return self._guarded(report)
