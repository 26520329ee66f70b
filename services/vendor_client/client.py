"""The one client through which the market calls vendor services (standard v1).

Every call is signed, authenticated per the manifest, guarded against private addresses,
bounded by a connect timeout, a total deadline and a response-size cap, never follows
redirects, and ends as a ``VendorResponse``: the caller never sees an exception from the
network, only an outcome with an ``error_kind`` and whether trying again could help.
"""

from __future__ import annotations

import base64
import email.utils
import json
import logging
import math
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote_plus, urlencode, urlsplit

from django.conf import settings

from market.lib.outbound.http import OutboundError, Reply, exchange, guarded_session
from market.lib.outbound.transport import CallDeadline
from market.lib.text import strip_bidi_controls, strip_bidi_in
from services.vendor_client import jwt_keys
from services.vendor_client.answer_urls import answer_url_problem
from services.vendor_client.schemas import ENDPOINT_SCHEMAS, validation_problem
from services.vendor_client.signing import sign_prepared, signing_keys
from services.vendor_client.urls import standard_url
from vendorkit.signing import (
    REQUEST_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signature_header,
)

logger = logging.getLogger(__name__)

ErrorKind = Literal[
    "timeout", "connection", "blocked", "redirect", "http", "too_large", "invalid_body"
]

DEFAULT_API_KEY_HEADER = "X-Market-API-Key"
EXCERPT_CHARS = 2000
RETRYABLE_STATUSES = frozenset({408, 425, 429})
RETRY_AFTER_STATUSES = frozenset({429, 503})
MAX_RETRY_AFTER_SECONDS = 24 * 3600
OAUTH_EXPIRY_MARGIN_SECONDS = 30
OAUTH_DEFAULT_LIFETIME_SECONDS = 300
_MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
_RETRYABLE_KINDS = frozenset({"timeout", "connection", "too_large", "invalid_body"})


@dataclass(frozen=True)
class VendorTarget:
    """Where and how to call one vendor service; built by the caller from the database."""

    service_id: str
    base_url: str
    endpoints: dict[str, str]
    auth_type: str = "api_key"
    auth_header: str = DEFAULT_API_KEY_HEADER
    token_url: str = ""
    oauth_client_id: str = ""
    api_key: str = field(default="", repr=False)
    signing_secrets: list[str] = field(default_factory=list, repr=False)
    oauth_client_secret: str = field(default="", repr=False)
    oauth_scope: str = ""


@dataclass(frozen=True)
class VendorResponse:
    """The outcome of one vendor call. ``ok`` means a 2xx whose body fits the standard."""

    ok: bool
    status_code: int | None
    body: Any
    body_excerpt: str
    latency_ms: int
    error_kind: ErrorKind | None
    error: str | None
    retryable: bool
    retry_after: int | None
    request_id: str


class UnknownEndpoint(LookupError):
    """The manifest declares no such endpoint (for example an optional one it left out)."""


class _CallFailed(Exception):
    """A call that produced no usable HTTP answer (or an unusable one) - becomes a response."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        retryable: bool | None = None,
        status_code: int | None = None,
        retry_after: int | None = None,
        excerpt: str = "",
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retryable = kind in _RETRYABLE_KINDS if retryable is None else retryable
        self.status_code = status_code
        self.retry_after = retry_after
        self.excerpt = excerpt


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> int | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or HTTP date), capped at 1 day."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit() and text.isascii():
        return min(int(text), MAX_RETRY_AFTER_SECONDS)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(0, math.ceil(seconds)), MAX_RETRY_AFTER_SECONDS)


# A JSON member whose name suggests a secret (temp_password, client_secret, access_token,
# api_key...), with its string value, whole or cut off by the excerpt's end.
_SECRET_MEMBER = re.compile(
    r'("[^"\\]*(?:password|secret|token|api_key|apikey|credential)[^"\\]*"\s*:\s*)'
    r'"(?:[^"\\]|\\.)*(?:"|$)',
    re.IGNORECASE,
)


def _excerpt(content: bytes) -> str:
    """The start of a vendor's answer, for people to read, with secret-looking values redacted.

    Excerpts are stored on operations and shown to staff and vendors; an activation's
    temporary password must reach only the encrypted column and the one reveal.
    """
    text = content[: EXCERPT_CHARS * 4].decode("utf-8", errors="replace")
    return _SECRET_MEMBER.sub(r'\1"[redacted]"', text)[:EXCERPT_CHARS]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _parse_json(content: bytes) -> tuple[Any, str | None]:
    if not content.strip():
        return None, "the body is empty"
    try:
        return json.loads(content, parse_constant=_reject_constant), None
    except (ValueError, RecursionError) as exc:
        return None, f"the body is not JSON ({str(exc)[:200]})"


# In-process OAuth2 token cache: (token_url, client_id, scope) -> (token, expires at, monotonic).
_oauth_tokens: dict[tuple[str, str, str], tuple[str, float]] = {}
_oauth_lock = threading.Lock()


def clear_oauth_token_cache() -> None:
    with _oauth_lock:
        _oauth_tokens.clear()


def lifecycle_body(tenant_id: str, payload: dict) -> dict:
    """A lifecycle body as standard v1.1 sends it: ``tenant_id`` first, times in whole seconds.

    Applied at send time, so an operation queued before v1.1 goes out in the new shape too.
    The tenant id in the body names the tenant the signed path names: a vendor can refuse a
    body that is about another tenant.
    """
    body = {"tenant_id": tenant_id, **{k: v for k, v in payload.items() if k != "tenant_id"}}
    if isinstance(body.get("deactivate_at"), str):
        body["deactivate_at"] = whole_seconds(body["deactivate_at"])
    return body


def whole_seconds(value: str) -> str:
    """An RFC 3339 time without its fraction of a second (``...12:00:00.123456Z`` -> ``...:00Z``)."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    text = moment.replace(microsecond=0).isoformat()
    return text.replace("+00:00", "Z")


class VendorClient:
    """Calls one vendor service. Not thread-safe: use one client per thread or task."""

    def __init__(self, target: VendorTarget) -> None:
        self.target = target
        # The one session policy: no proxies or cookies, every connection guarded.
        self._session = guarded_session()

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> VendorClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- the standard's endpoints ---------------------------------------------------------

    def health(self, *, request_id: str | None = None) -> VendorResponse:
        return self.send("GET", "health", request_id=request_id or str(uuid.uuid4()))

    def activate(self, tenant_id: str, payload: dict, *, request_id: str) -> VendorResponse:
        body = lifecycle_body(tenant_id, payload)
        body.setdefault("reactivation", False)
        return self.send(
            "POST", "tenant_activate", tenant_id=tenant_id, body=body, request_id=request_id
        )

    def deactivate(self, tenant_id: str, payload: dict, *, request_id: str) -> VendorResponse:
        body = lifecycle_body(tenant_id, payload)
        return self.send(
            "POST", "tenant_deactivate", tenant_id=tenant_id, body=body, request_id=request_id
        )

    def status(self, tenant_id: str, *, request_id: str) -> VendorResponse:
        return self.send("GET", "tenant_status", tenant_id=tenant_id, request_id=request_id)

    def usage(self, tenant_id: str, *, month: str, request_id: str) -> VendorResponse:
        if not _MONTH.match(month):
            raise ValueError(f"month must be YYYY-MM, got {month!r}")
        return self.send(
            "GET",
            "usage_report",
            tenant_id=tenant_id,
            request_id=request_id,
            query={"period": "monthly", "month": month},
        )

    def update(self, tenant_id: str, payload: dict, *, request_id: str) -> VendorResponse:
        body = lifecycle_body(tenant_id, payload)
        return self.send(
            "POST", "tenant_update", tenant_id=tenant_id, body=body, request_id=request_id
        )

    def delete(
        self, tenant_id: str, payload: dict | None = None, *, request_id: str
    ) -> VendorResponse:
        body = lifecycle_body(tenant_id, payload or {"reason": "retention_expired"})
        return self.send(
            "POST", "tenant_delete", tenant_id=tenant_id, body=body, request_id=request_id
        )

    # --- the general call -----------------------------------------------------------------

    def url_for(
        self, endpoint_name: str, *, tenant_id: str | None = None, query: dict | None = None
    ) -> str:
        """The full URL of a manifest endpoint, ``{tenant_id}`` expanded and URL-quoted."""
        template = self.target.endpoints.get(endpoint_name)
        if not template:
            raise UnknownEndpoint(
                f"service {self.target.service_id} declares no {endpoint_name!r} endpoint"
            )
        if "{tenant_id}" in template and tenant_id is None:
            raise ValueError(f"endpoint {endpoint_name!r} needs a tenant_id")
        return standard_url(self.target.base_url, template, tenant_id=tenant_id, query=query)

    def send(
        self,
        method: str,
        endpoint_name: str,
        *,
        tenant_id: str | None = None,
        body: Any = None,
        request_id: str,
        query: dict | None = None,
    ) -> VendorResponse:
        """Call one endpoint and return its outcome; never raises for network or vendor faults."""
        method = method.upper()
        url = self.url_for(endpoint_name, tenant_id=tenant_id, query=query)
        raw = b""
        if body is not None:
            raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        started = time.perf_counter()
        try:
            with CallDeadline(float(settings.VENDOR_TOTAL_TIMEOUT)) as deadline:
                timestamp = int(time.time())
                headers = self._headers(
                    method=method,
                    request_id=request_id,
                    timestamp=timestamp,
                    raw=raw,
                    with_auth=endpoint_name != "health",
                    deadline=deadline,
                )
                reply = self._exchange(
                    method,
                    url,
                    headers=headers,
                    data=raw,
                    deadline=deadline,
                    finish=self._signer(timestamp=timestamp, raw=raw),
                )
        except _CallFailed as failure:
            result = self._failed(failure, request_id=request_id, started=started)
        else:
            if reply.status == 401 and self.target.auth_type == "oauth2":
                self._forget_oauth_token()
            result = self._interpret(
                reply,
                schema=ENDPOINT_SCHEMAS.get(endpoint_name),
                tenant_id=tenant_id,
                request_id=request_id,
                started=started,
            )
        logger.info(
            "vendor call %s %s -> %s in %d ms (%s)",
            method,
            url,
            result.status_code if result.status_code is not None else "-",
            result.latency_ms,
            result.error_kind or "ok",
        )
        return result

    # --- building the request -------------------------------------------------------------

    def _headers(
        self,
        *,
        method: str,
        request_id: str,
        timestamp: int,
        raw: bytes,
        with_auth: bool,
        deadline: CallDeadline,
    ) -> dict[str, str]:
        headers = {REQUEST_ID_HEADER: request_id, TIMESTAMP_HEADER: str(timestamp)}
        if self.target.signing_secrets:
            try:
                signing_keys(list(self.target.signing_secrets))
            except ValueError as exc:
                raise _CallFailed(
                    "http",
                    f"the signing secret of {self.target.service_id} is unusable ({exc}): "
                    "rotate the service's credentials",
                    retryable=False,
                ) from exc
            # Deprecated v1.0 header, sent until LEGACY_SIGNATURE_END (docs/standard/signing.md).
            headers[SIGNATURE_HEADER] = signature_header(
                secrets=list(self.target.signing_secrets),
                request_id=request_id,
                timestamp=timestamp,
                body=raw,
            )
        if method != "GET":
            headers["Content-Type"] = "application/json"
        if with_auth:
            headers.update(self._auth_headers(deadline))
        return headers

    def _signer(self, *, timestamp: int, raw: bytes):
        """The RFC 9421 signature, added to the prepared request just before it is sent."""
        secrets = list(self.target.signing_secrets)
        if not secrets:
            return None

        def finish(prepared) -> None:
            sign_prepared(prepared, secrets=secrets, created=timestamp, body=raw)

        return finish

    def _auth_headers(self, deadline: CallDeadline) -> dict[str, str]:
        auth_type = self.target.auth_type
        if auth_type == "api_key":
            if not self.target.api_key:
                return {}
            return {self.target.auth_header or DEFAULT_API_KEY_HEADER: self.target.api_key}
        if auth_type == "jwt":
            token = jwt_keys.issue_service_token(self.target.service_id)
            return {"Authorization": f"Bearer {token}"}
        if auth_type == "oauth2":
            return {"Authorization": f"Bearer {self._oauth_token(deadline)}"}
        return {}

    def _oauth_key(self) -> tuple[str, str, str]:
        t = self.target
        return (t.token_url, t.oauth_client_id, t.oauth_scope)

    def _forget_oauth_token(self) -> None:
        with _oauth_lock:
            _oauth_tokens.pop(self._oauth_key(), None)

    def _oauth_token(self, deadline: CallDeadline) -> str:
        """A client-credentials token from ``token_url``, reused until 30 s before it expires."""
        key = self._oauth_key()
        with _oauth_lock:
            cached = _oauth_tokens.get(key)
        if cached and cached[1] - OAUTH_EXPIRY_MARGIN_SECONDS > time.monotonic():
            return cached[0]
        t = self.target
        if not t.token_url:
            raise _CallFailed("http", "auth type oauth2 needs a token_url", retryable=False)
        form = {"grant_type": "client_credentials"}
        if t.oauth_scope:
            form["scope"] = t.oauth_scope
        credentials = f"{quote_plus(t.oauth_client_id)}:{quote_plus(t.oauth_client_secret)}"
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": "Basic " + base64.b64encode(credentials.encode()).decode("ascii"),
        }
        reply = self._exchange(
            "POST", t.token_url, headers=headers, data=urlencode(form).encode(), deadline=deadline
        )
        what = f"OAuth2 token request to {t.token_url}"
        if reply.status != 200:
            raise _CallFailed(
                "http",
                f"{what} answered HTTP {reply.status}",
                retryable=_status_retryable(reply.status),
                status_code=reply.status,
                retry_after=_retry_after(reply),
                excerpt=_excerpt(reply.content),
            )
        parsed, problem = _parse_json(reply.content)
        token = parsed.get("access_token") if isinstance(parsed, dict) else None
        token_type = parsed.get("token_type", "bearer") if isinstance(parsed, dict) else None
        lifetime = parsed.get("expires_in") if isinstance(parsed, dict) else None
        if problem or not isinstance(token, str) or not token:
            problem = problem or "it has no access_token"
        elif not isinstance(token_type, str) or token_type.lower() != "bearer":
            problem = f"token_type is {token_type!r}, not bearer"
        if problem:
            raise _CallFailed(
                "invalid_body",
                f"{what} gave an unusable answer: {problem}",
                excerpt=_excerpt(reply.content),
            )
        if not isinstance(lifetime, int | float) or isinstance(lifetime, bool) or lifetime <= 0:
            lifetime = OAUTH_DEFAULT_LIFETIME_SECONDS
        with _oauth_lock:
            _oauth_tokens[key] = (token, time.monotonic() + float(lifetime))
        return token

    # --- sending --------------------------------------------------------------------------

    def _exchange(
        self,
        method: str,
        url: str,
        *,
        headers: dict,
        data: bytes,
        deadline: CallDeadline,
        finish=None,
    ) -> Reply:
        try:
            return exchange(
                self._session,
                method,
                url,
                headers=headers,
                data=data,
                deadline=deadline,
                finish=finish,
                connect_timeout=float(settings.VENDOR_CONNECT_TIMEOUT),
                max_bytes=int(settings.VENDOR_MAX_RESPONSE_BYTES),
            )
        except OutboundError as failure:
            raise _CallFailed(
                failure.kind,
                failure.message,
                status_code=failure.status,
                excerpt=_excerpt(failure.content) if failure.content else "",
            ) from failure

    # --- reading the answer ---------------------------------------------------------------

    def _failed(self, failure: _CallFailed, *, request_id: str, started: float) -> VendorResponse:
        return VendorResponse(
            ok=False,
            status_code=failure.status_code,
            body=None,
            body_excerpt=strip_bidi_controls(failure.excerpt),
            latency_ms=_elapsed_ms(started),
            error_kind=failure.kind,
            error=failure.message,
            retryable=failure.retryable,
            retry_after=failure.retry_after,
            request_id=request_id,
        )

    def _interpret(
        self,
        reply: Reply,
        *,
        schema: str | None,
        tenant_id: str | None,
        request_id: str,
        started: float,
    ) -> VendorResponse:
        status = reply.status
        host = urlsplit(self.target.base_url).hostname or self.target.base_url
        parsed, parse_problem = _parse_json(reply.content)

        def outcome(kind: ErrorKind | None, error: str | None, retryable: bool, body: Any):
            # Vendor text reaches pages and CSV: no bidirectional controls (market.lib.text).
            return VendorResponse(
                ok=kind is None,
                status_code=status,
                body=strip_bidi_in(body),
                body_excerpt=strip_bidi_controls(_excerpt(reply.content)),
                latency_ms=_elapsed_ms(started),
                error_kind=kind,
                error=strip_bidi_controls(error) if error else error,
                retryable=retryable,
                retry_after=_retry_after(reply),
                request_id=request_id,
            )

        if 300 <= status < 400:
            location = (reply.headers.get("Location") or "no location")[:300]
            return outcome(
                "redirect",
                f"{host} answered with a redirect (HTTP {status}) to {location}; "
                "vendor endpoints must answer directly, redirects are not followed",
                False,
                None,
            )
        if not 200 <= status < 300:
            body = parsed if parse_problem is None else None
            return outcome(
                "http", _http_error_text(host, status, body), _status_retryable(status), body
            )
        if parse_problem is None and schema is not None:
            problem = validation_problem(schema, parsed)
            if problem:
                parse_problem = f"the body does not fit the {schema} response schema ({problem})"
        if parse_problem is None and tenant_id is not None and isinstance(parsed, dict):
            echoed = parsed.get("tenant_id", tenant_id)
            if echoed != tenant_id:
                parse_problem = f"the answer is about tenant {echoed!r}, not {tenant_id!r}"
        if parse_problem is None:
            # Vendor answers are data, never markup: every URL they carry, on every path.
            url_problem = answer_url_problem(parsed)
            if url_problem:
                parse_problem = f"its {url_problem}"
        if parse_problem is not None:
            return outcome(
                "invalid_body", f"{host} answered HTTP {status} but {parse_problem}", True, None
            )
        return outcome(None, None, False, parsed)


def _status_retryable(status: int) -> bool:
    return status in RETRYABLE_STATUSES or status >= 500


def _retry_after(reply: Reply) -> int | None:
    if reply.status not in RETRY_AFTER_STATUSES:
        return None
    return parse_retry_after(reply.headers.get("Retry-After"))


def _http_error_text(host: str, status: int, body: Any) -> str:
    text = f"{host} answered HTTP {status}"
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        detail = body["error"]
        if isinstance(body.get("message"), str):
            detail += f": {body['message']}"
        text += f" ({detail[:300]})"
    return text


def _elapsed_ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
