"""One guarded HTTP exchange, the one session policy, and the generic ``request`` entry point.

Every outbound call of the market (vendor calls, the market-side conformance kit, webhooks,
LTI) is made on a ``guarded_session()`` through ``exchange()``:

- the private-address guard, before any look-up (``precheck_url``) and at connect time
  (``GuardedHTTPAdapter``), so the address connected to is the address that was checked;
- a connect timeout and a total deadline (``CallDeadline``) that a dripping server cannot
  stretch;
- a response-size cap (declared ``Content-Length`` and bytes actually read);
- redirects never followed, no proxies, ``.netrc`` or CA bundle from the environment, and no
  cookies kept between calls.

``exchange`` raises ``OutboundError`` (with an ``error_kind``) for what produced no answer;
``request`` turns that into an ``OutboundResult`` and never raises for network faults.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.client import HTTPException
from http.cookiejar import DefaultCookiePolicy
from typing import Literal
from urllib.parse import urlsplit

import requests
import urllib3.exceptions

from market.lib.outbound.guard import Allowlist, BlockedAddress, precheck_url
from market.lib.outbound.transport import CallDeadline, GuardedHTTPAdapter, allowlist_in_force

OutboundErrorKind = Literal["timeout", "connection", "blocked", "too_large", "redirect", "http"]

USER_AGENT = "ServiceMarket/1.0"
_READ_CHUNK = 64 * 1024
# requests wraps almost everything; the raw ones can still escape from a socket shut mid-read.
TRANSPORT_ERRORS = (
    requests.RequestException,
    OSError,
    HTTPException,
    urllib3.exceptions.HTTPError,
)


class OutboundError(Exception):
    """An exchange that produced no usable answer. ``content`` is what was read, if anything."""

    def __init__(
        self,
        kind: OutboundErrorKind,
        message: str,
        *,
        status: int | None = None,
        content: bytes = b"",
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.content = content


@dataclass(frozen=True)
class Reply:
    """An HTTP answer read in full (within the cap and the deadline)."""

    status: int
    headers: Mapping[str, str]
    content: bytes
    truncated: bool = False


def guarded_session(*, accept: str = "application/json") -> requests.Session:
    """The one session policy for outbound calls (see the module docstring)."""
    session = requests.Session()
    # No proxies, .netrc or CA bundle from the environment: what is called is what is checked.
    session.trust_env = False
    # No cookies kept: one session serves many tenants (or subscribers) in turn, and what a
    # server sets while answering about one must not travel with the next.
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    session.headers.update({"User-Agent": USER_AGENT, "Accept": accept})
    adapter = GuardedHTTPAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def root_cause(exc: BaseException) -> str:
    """The most specific human reason inside requests/urllib3's nested exceptions."""
    seen = set()
    current: BaseException | None = exc
    best = str(exc)
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.strerror:
            return current.strerror
        text = str(current)
        if text:
            best = text
        current = getattr(current, "reason", None) or current.__cause__ or current.__context__
        if isinstance(current, str):
            return current
    return best[:300]


def exchange(
    session: requests.Session,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    data: bytes,
    deadline: CallDeadline,
    connect_timeout: float,
    max_bytes: int,
    truncate: bool = False,
    allowlist: Allowlist | None = None,
    finish: Callable[[requests.PreparedRequest], None] | None = None,
) -> Reply:
    """Send one request inside ``deadline`` and read its answer; raises ``OutboundError``.

    A redirect is returned as it is (a 3xx ``Reply``), never followed. An answer over
    ``max_bytes`` raises ``too_large``, or with ``truncate`` comes back cut, marked
    ``truncated``. ``finish`` gets the prepared request (the exact URL and headers that go on
    the wire) to add what depends on them, such as a message signature.
    """
    try:
        _scheme, host, _port = precheck_url(url, allowlist=allowlist)
    except BlockedAddress as exc:
        raise OutboundError("blocked", str(exc)) from exc
    with allowlist_in_force(allowlist):
        try:
            prepared = session.prepare_request(
                requests.Request(method, url, data=data or None, headers=dict(headers))
            )
            if finish is not None:
                finish(prepared)
            send_settings = session.merge_environment_settings(prepared.url, {}, True, None, None)
            response = session.send(
                prepared,
                timeout=(min(connect_timeout, deadline.remaining()), deadline.remaining()),
                allow_redirects=False,
                **send_settings,
            )
        except BlockedAddress as exc:
            raise OutboundError("blocked", str(exc)) from exc
        except TRANSPORT_ERRORS as exc:
            raise _transport_failure(exc, host, deadline) from exc
        try:
            content, truncated = _read_capped(response, deadline, max_bytes, truncate=truncate)
        except TRANSPORT_ERRORS as exc:
            raise _transport_failure(exc, host, deadline) from exc
        finally:
            response.close()
    if deadline.expired:
        # The watchdog shut the socket: what was read is a truncated body, not an answer.
        raise _timeout(host, deadline)
    return Reply(
        status=response.status_code,
        headers=response.headers,
        content=content,
        truncated=truncated,
    )


def _read_capped(
    response: requests.Response, deadline: CallDeadline, cap: int, *, truncate: bool
) -> tuple[bytes, bool]:
    too_large = f"the answer is larger than {cap} bytes"
    declared = response.headers.get("Content-Length", "")
    if not truncate and declared.isdigit() and int(declared) > cap:
        raise OutboundError("too_large", too_large, status=response.status_code)
    content = bytearray()
    for chunk in response.iter_content(chunk_size=_READ_CHUNK):
        content += chunk
        if len(content) > cap:
            if truncate:
                return bytes(content[:cap]), True
            raise OutboundError(
                "too_large", too_large, status=response.status_code, content=bytes(content)
            )
        if deadline.expired:
            break
    return bytes(content), False


def _timeout(host: str, deadline: CallDeadline) -> OutboundError:
    return OutboundError(
        "timeout", f"{host} did not answer completely within {deadline.seconds:g} s"
    )


def _transport_failure(exc: Exception, host: str, deadline: CallDeadline) -> OutboundError:
    if deadline.expired or isinstance(exc, requests.Timeout):
        if isinstance(exc, requests.ConnectTimeout):
            return OutboundError("timeout", f"connecting to {host} timed out")
        return _timeout(host, deadline)
    return OutboundError("connection", f"could not talk to {host}: {root_cause(exc)}")


# --- the generic entry point ------------------------------------------------------------------


@dataclass(frozen=True)
class OutboundResult:
    """The outcome of one ``request``. ``ok`` means a 2xx answer read in full."""

    ok: bool
    status: int | None
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes = b""
    latency_ms: int = 0
    error_kind: OutboundErrorKind | None = None
    error: str | None = None


def request(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
    connect_timeout: float,
    total_timeout: float,
    max_bytes: int,
    allowlist: Allowlist | None = None,
    session: requests.Session | None = None,
) -> OutboundResult:
    """Make one guarded call for a non-vendor caller (webhooks, LTI); never raises for faults.

    ``allowlist`` defaults to ``settings.VENDOR_ALLOWED_PRIVATE_HOSTS``. Pass ``session`` (from
    ``guarded_session()``) to reuse connections across calls; otherwise one is opened and
    closed for this call. Response headers come back with lower-case names.
    """
    started = time.perf_counter()
    own = session is None
    http = guarded_session() if own else session
    try:
        with CallDeadline(float(total_timeout)) as deadline:
            reply = exchange(
                http,
                method.upper(),
                url,
                headers=headers or {},
                data=body,
                deadline=deadline,
                connect_timeout=float(connect_timeout),
                max_bytes=int(max_bytes),
                allowlist=allowlist,
            )
    except OutboundError as failure:
        return OutboundResult(
            ok=False,
            status=failure.status,
            content=failure.content[:max_bytes],
            latency_ms=_elapsed_ms(started),
            error_kind=failure.kind,
            error=failure.message,
        )
    finally:
        if own:
            http.close()
    status = reply.status
    host = urlsplit(url).hostname or url
    kind: OutboundErrorKind | None = None
    error = None
    if 300 <= status < 400:
        location = (reply.headers.get("Location") or "no location")[:300]
        kind, error = (
            "redirect",
            (
                f"{host} answered with a redirect (HTTP {status}) to {location}; "
                "redirects are not followed"
            ),
        )
    elif not 200 <= status < 300:
        kind, error = "http", f"{host} answered HTTP {status}"
    return OutboundResult(
        ok=kind is None,
        status=status,
        headers={name.lower(): value for name, value in reply.headers.items()},
        content=reply.content,
        latency_ms=_elapsed_ms(started),
        error_kind=kind,
        error=error,
    )


def _elapsed_ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
