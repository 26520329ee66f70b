"""Health probes of many vendors at once: ``GET <health URL>`` over keep-alive HTTP/1.1.

The sweep probes every listed service once a minute, so this is the market's hottest network
path. It is written on asyncio's transports and protocols with ``httptools`` (the llhttp parser
uvicorn uses) instead of a general HTTP client: a health probe is one small GET, and a general
client's per-request machinery (request objects, header multidicts, tracing, cookie handling)
cost three times the CPU of the probe itself (measured in ``bench/``, see
``docs/performance.md``).

Every probe ends as a ``ProbeOutcome`` (healthy / degraded / unhealthy with a reason); nothing
raises. The bounds are the vendor client's: a connect timeout and a total deadline per probe,
a size cap on the body, redirects never followed, and the private-address guard, applied to
the address actually connected to (host names are resolved here and every answer is checked;
a name's answer is kept for one ``probe_all`` run only, so a DNS change between sweeps is seen
and DNS rebinding cannot slip in a private address).

Connections to one origin (scheme, host, port) are kept open between the probes of one run and
reused, as a browser or the ``requests`` session does; a reused connection the vendor closed
meanwhile is retried once on a new one. At most ``concurrency`` connections are open at once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import json
import logging
import os
import socket
import ssl
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, urlsplit

import httptools
from django.conf import settings

from market.lib.outbound.guard import (
    Allowlist,
    BlockedAddress,
    is_localhost_name,
    numeric_host_address,
    resolve_checked,
    split_url,
)
from services.vendor_client.schemas import health_problem

logger = logging.getLogger(__name__)

ProbeState = Literal["healthy", "degraded", "unhealthy"]

USER_AGENT = "ServiceMarket/1.0"
# Compressed answers are not decoded (no decompression bombs), so none is asked for.
_COMMON_HEADERS = (
    f"User-Agent: {USER_AGENT}\r\nAccept: application/json\r\nAccept-Encoding: identity\r\n"
)
# Characters left as they are when a path is put on the request line (RFC 3986 pchar, "/",
# "?" and "%" so an already-encoded URL is not encoded twice).
_PATH_SAFE = "/?%:@!$&'()*+,;=-._~"


@dataclass(frozen=True, slots=True)
class ProbeTarget:
    key: Hashable
    url: str


@dataclass(frozen=True, slots=True)
class ProbeOutcome:
    key: Hashable
    state: ProbeState
    latency_ms: int
    reason: str
    version: str | None = None


@dataclass(frozen=True)
class _ProbeConfig:
    concurrency: int
    per_host: int
    connect_timeout: float
    total_timeout: float
    max_bytes: int

    @classmethod
    def build(cls, **given: float | int | None) -> _ProbeConfig:
        defaults = {
            "concurrency": settings.PROBE_CONCURRENCY,
            "per_host": settings.PROBE_PER_HOST_CONCURRENCY,
            "connect_timeout": settings.PROBE_CONNECT_TIMEOUT,
            "total_timeout": settings.PROBE_TOTAL_TIMEOUT,
            "max_bytes": settings.PROBE_MAX_RESPONSE_BYTES,
        }
        values = {
            name: default if given.get(name) is None else given[name]
            for name, default in defaults.items()
        }
        return cls(
            concurrency=max(1, int(values["concurrency"])),
            per_host=max(0, int(values["per_host"])),
            connect_timeout=float(values["connect_timeout"]),
            total_timeout=float(values["total_timeout"]),
            max_bytes=int(values["max_bytes"]),
        )


class _ProbeFailed(Exception):
    """A probe that ended without a usable answer; the message is the outcome's reason."""


# --- one request ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Request:
    """A target's URL taken apart once: where to connect and the bytes of the GET."""

    origin: tuple[str, str, int]  # (scheme, host, port)
    head: str  # the request line and Host header; the per-attempt headers follow


@functools.lru_cache(maxsize=32768)
def _request_for(url: str) -> _Request:
    """Raises BlockedAddress with a message for people when the URL cannot be called.

    Cached: a worker probes the same URLs every minute.
    """
    scheme, host, port = split_url(url)  # the guard's checks and messages for a bad URL
    parts = urlsplit(url)
    try:
        authority = parts.netloc.rpartition("@")[2].encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise BlockedAddress(f"Refused to call {url!r}: the host is not a valid name.") from exc
    target = quote(parts.path or "/", safe=_PATH_SAFE)
    if parts.query:
        target += "?" + quote(parts.query, safe=_PATH_SAFE)
    return _Request(
        origin=(scheme, host, port),
        head=f"GET {target} HTTP/1.1\r\nHost: {authority}\r\n{_COMMON_HEADERS}",
    )


def _request_bytes(request: _Request, request_id: str) -> bytes:
    return (
        f"{request.head}X-Market-Request-Id: {request_id}\r\n"
        f"X-Market-Timestamp: {int(time.time())}\r\n\r\n"
    ).encode("ascii")


def _request_ids(batch: int = 256) -> Iterator[str]:
    """Random (version 4) UUIDs as text, from one ``os.urandom`` call per ``batch`` of them.

    The same ids as ``str(uuid.uuid4())``, which makes a system call for every id: a sweep
    makes thousands of requests a second.
    """
    while True:
        pool = bytearray(os.urandom(16 * batch))
        for start in range(0, len(pool), 16):
            pool[start + 6] = (pool[start + 6] & 0x0F) | 0x40  # version 4
            pool[start + 8] = (pool[start + 8] & 0x3F) | 0x80  # RFC 4122 variant
            h = pool[start : start + 16].hex()
            yield f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@dataclass(slots=True)
class _Answer:
    status: int
    location: str | None
    body: bytes


class _Probe:
    """One target on its way: its request, its deadline and where it is."""

    __slots__ = (
        "index", "target", "request", "started", "deadline", "finished", "connecting",
        "connection", "retried",
    )  # fmt: skip

    def __init__(self, index: int, target: ProbeTarget, request: _Request) -> None:
        self.index = index
        self.target = target
        self.request = request
        self.started = 0.0
        self.deadline = 0.0  # on the loop's clock
        self.finished = False
        self.connecting: asyncio.Task | None = None
        self.connection: _Connection | None = None
        self.retried = False

    def outcome(self, state: ProbeState, reason: str, version: str | None = None) -> ProbeOutcome:
        latency = int((time.perf_counter() - self.started) * 1000) if self.started else 0
        return ProbeOutcome(self.target.key, state, latency, reason, version)


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection to a vendor, carrying one probe at a time.

    It reports to its prober when the answer is complete (``answered``) or when the request
    cannot be answered any more (``failed``), from asyncio's callbacks: no task per request.
    """

    def __init__(self, prober: _Prober, origin: tuple[str, str, int]) -> None:
        self.origin = origin
        self._prober = prober
        self._max_bytes = prober.config.max_bytes
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self.probe: _Probe | None = None
        self._body = bytearray()
        self._location: str | None = None
        self._received = False
        self._framed = False  # the answer declared its length (Content-Length or chunked)
        self._headers_done = False
        self.closed = False
        self.used = False  # answered a probe before: a failure on it may be a stale socket

    def request(self, probe: _Probe) -> None:
        self.probe = probe
        probe.connection = self
        self._body.clear()
        self._location = None
        self._received = False
        self._framed = False
        self._headers_done = False
        self._transport.write(_request_bytes(probe.request, self._prober.next_request_id()))

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()

    # asyncio.Protocol

    def connection_made(self, transport) -> None:
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._received = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail("the server switched protocols instead of answering")
        except httptools.HttpParserError as exc:
            self._fail(f"the answer is not valid HTTP ({exc})")

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if exc is None and self._headers_done and not self._framed:
            # An answer without a declared length ends when the connection does (HTTP/1.0).
            self._complete()
        elif exc is not None:
            self._fail(f"connection dropped ({getattr(exc, 'strerror', None) or exc})")
        elif self._received:
            self._fail("the answer broke off")
        else:
            self._fail("the server closed the connection without answering")

    # httptools callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        lowered = name.lower()
        if lowered == b"transfer-encoding":
            self._framed = True
        elif lowered == b"content-length":
            self._framed = True
            try:
                declared = int(value)
            except ValueError:
                return  # llhttp refuses a malformed length itself
            if declared > self._max_bytes:
                self._fail(f"body larger than {self._max_bytes} bytes")
        elif lowered == b"location":
            self._location = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self._headers_done = True
        status = self._parser.get_status_code()
        if status < 200 or status in (204, 304):
            self._framed = True  # never a body

    def on_body(self, body: bytes) -> None:
        self._body += body
        if len(self._body) > self._max_bytes:
            self._fail(f"body larger than {self._max_bytes} bytes")

    def on_message_complete(self) -> None:
        self._complete()

    # endings

    def _complete(self) -> None:
        probe = self.probe
        if probe is None:
            return
        self.probe = probe.connection = None
        answer = _Answer(self._parser.get_status_code(), self._location, bytes(self._body))
        if self.closed or not self._parser.should_keep_alive():
            self.close()
        self._prober.answered(probe, self, answer)

    def _fail(self, reason: str) -> None:
        # Whatever ends a request early also ends the connection: the rest of the answer is
        # never read, so the socket cannot carry another request.
        self.close()
        probe = self.probe
        if probe is None:
            return
        self.probe = probe.connection = None
        self._prober.failed(probe, self, reason, answered_nothing=not self._received)


# --- the prober -------------------------------------------------------------------------------


def _judge(status: int, location: str | None, content: bytes):
    """(state, reason, version) for a complete HTTP answer."""
    if 300 <= status < 400:
        return "unhealthy", f"redirect (HTTP {status}) to {location or '?'} was not followed", None
    if status != 200:
        return "unhealthy", f"HTTP {status}", None
    if not content.strip():
        return "unhealthy", "empty body", None
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):
        return "unhealthy", "body is not JSON", None
    problem = health_problem(body)
    if problem is not None:
        return "unhealthy", f"body does not fit the health schema ({problem})", None
    state = body["status"]
    reason = "" if state == "healthy" else f"the service reports {state}"
    return state, reason, body["version"]


Origin = tuple[str, str, int]  # (scheme, host, port)


class _Prober:
    """One ``probe_all`` run, driven by callbacks.

    ``concurrency`` lanes each carry one probe at a time: when a probe ends (answered, failed
    or past its deadline) its lane starts the next target at once, from the callback that
    ended it. A probe on a kept-alive connection costs a write, a parse and a few calls; only
    opening a connection (resolving and checking the address, connecting) runs as a task.
    """

    def __init__(self, targets: list[ProbeTarget], config: _ProbeConfig, allowlist: Allowlist):
        self.config = config
        self.allowlist = allowlist
        self.loop = asyncio.get_running_loop()
        self.outcomes: list[ProbeOutcome | None] = [None] * len(targets)
        self.done = self.loop.create_future()
        self._pending = iter(enumerate(targets))
        self._remaining = len(targets)
        self._addresses: dict[tuple[str, int], asyncio.Future] = {}
        self._idle: dict[Origin, list[_Connection]] = {}
        self._idle_order: OrderedDict[_Connection, Origin] = OrderedDict()
        self._open = 0
        self._busy: Counter[Origin] = Counter()
        self._parked: dict[Origin, deque[_Probe]] = {}
        self._tls: ssl.SSLContext | None = None
        self._ids = _request_ids()
        # Probes by deadline (all have the same timeout, so in the order they began) and the
        # one timer that wakes at the first deadline: no timer per probe.
        self._deadlines: deque[_Probe] = deque()
        self._deadline_timer: asyncio.TimerHandle | None = None

    def next_request_id(self) -> str:
        return next(self._ids)

    async def run(self) -> list[ProbeOutcome]:
        if not self._remaining:
            return []
        for _ in range(min(self.config.concurrency, self._remaining)):
            self._start_next()
        try:
            await self.done
        finally:
            if self._deadline_timer is not None:
                self._deadline_timer.cancel()
            for connection in self._idle_order:
                connection.close()
            self._idle.clear()
            self._idle_order.clear()
        return self.outcomes

    # the lanes

    def _start_next(self) -> None:
        """Start the next target on the lane that just came free (or end the lane)."""
        per_host = self.config.per_host
        for index, target in self._pending:
            try:
                request = _request_for(target.url)
            except BlockedAddress as exc:
                self._record(index, ProbeOutcome(target.key, "unhealthy", 0, str(exc)))
                continue
            probe = _Probe(index, target, request)
            if per_host and self._busy[request.origin] >= per_host:
                # This vendor has its share in flight: the probe waits for one of them to end.
                self._parked.setdefault(request.origin, deque()).append(probe)
                continue
            self._begin(probe)
            return

    def _begin(self, probe: _Probe) -> None:
        origin = probe.request.origin
        self._busy[origin] += 1
        probe.started = time.perf_counter()
        probe.deadline = self.loop.time() + self.config.total_timeout
        self._deadlines.append(probe)
        if self._deadline_timer is None:
            self._deadline_timer = self.loop.call_at(probe.deadline, self._expire_due)
        connection = self._idle_connection(origin)
        if connection is not None:
            connection.request(probe)
        else:
            probe.connecting = self.loop.create_task(self._connect_and_request(probe))

    async def _connect_and_request(self, probe: _Probe) -> None:
        try:
            connection = await self._connect(probe.request.origin)
        except _ProbeFailed as exc:
            probe.connecting = None
            self._finish(probe, probe.outcome("unhealthy", str(exc)))
            return
        probe.connecting = None
        if probe.finished:  # the deadline passed just as the connection was made
            self._release(connection)
            return
        connection.request(probe)

    def _expire_due(self) -> None:
        """End every probe past its deadline; wake again at the next unfinished one's."""
        self._deadline_timer = None
        deadlines = self._deadlines
        now = self.loop.time()
        while deadlines:
            probe = deadlines[0]
            if probe.finished:
                deadlines.popleft()
            elif probe.deadline <= now:
                deadlines.popleft()
                self._expire(probe)
            else:
                self._deadline_timer = self.loop.call_at(probe.deadline, self._expire_due)
                return

    def _expire(self, probe: _Probe) -> None:
        if probe.connecting is not None:
            probe.connecting.cancel()
            probe.connecting = None
        connection = probe.connection
        if connection is not None:
            connection.probe = probe.connection = None
            connection.close()
            self._open -= 1
        reason = f"no complete answer within {self.config.total_timeout:g} s"
        self._finish(probe, probe.outcome("unhealthy", reason))

    # what the connections report

    def answered(self, probe: _Probe, connection: _Connection, answer: _Answer) -> None:
        self._release(connection)
        try:
            state, reason, version = _judge(answer.status, answer.location, answer.body)
        except Exception as exc:  # a bug in judging must not stall the lane
            state, reason, version = "unhealthy", f"probe failed ({type(exc).__name__})", None
        self._finish(probe, probe.outcome(state, reason, version))

    def failed(
        self, probe: _Probe, connection: _Connection, reason: str, *, answered_nothing: bool
    ) -> None:
        self._open -= 1
        if connection.used and answered_nothing and not probe.retried:
            # A kept-alive socket the vendor closed in the meantime: once more on a new one.
            probe.retried = True
            probe.connecting = self.loop.create_task(self._connect_and_request(probe))
            return
        self._finish(probe, probe.outcome("unhealthy", reason))

    def _finish(self, probe: _Probe, outcome: ProbeOutcome) -> None:
        probe.finished = True
        origin = probe.request.origin
        self._busy[origin] -= 1
        self._record(probe.index, outcome)
        parked = self._parked.get(origin)
        if parked:
            self._begin(parked.popleft())
        else:
            self._start_next()

    def _record(self, index: int, outcome: ProbeOutcome) -> None:
        self.outcomes[index] = outcome
        self._remaining -= 1
        if not self._remaining and not self.done.done():
            self.done.set_result(None)

    # connections

    def _idle_connection(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            del self._idle_order[connection]
            if not connection.closed:
                return connection
            self._open -= 1
        return None

    def _release(self, connection: _Connection) -> None:
        if connection.closed:
            self._open -= 1
            return
        connection.used = True
        self._idle.setdefault(connection.origin, []).append(connection)
        self._idle_order[connection] = connection.origin

    async def _connect(self, origin: Origin) -> _Connection:
        scheme, host, port = origin
        addresses = await self._checked_addresses(host, port)
        while self._open >= 2 * self.config.concurrency and self._idle_order:
            oldest, oldest_origin = self._idle_order.popitem(last=False)
            self._idle[oldest_origin].remove(oldest)
            oldest.close()
            self._open -= 1
        tls = self._tls_context() if scheme == "https" else None
        failure: OSError | None = None
        for family, sockaddr in addresses:
            try:
                async with asyncio.timeout(self.config.connect_timeout):
                    sock = socket.socket(family, socket.SOCK_STREAM)
                    try:
                        sock.setblocking(False)
                        await self.loop.sock_connect(sock, sockaddr)
                        _transport, connection = await self.loop.create_connection(
                            lambda: _Connection(self, origin),
                            sock=sock,
                            ssl=tls,
                            server_hostname=host if tls else None,
                        )
                    except BaseException:
                        sock.close()
                        raise
            except TimeoutError:
                raise _ProbeFailed(
                    f"connecting timed out after {self.config.connect_timeout:g} s"
                ) from None
            except ssl.SSLError as exc:
                raise _ProbeFailed(f"TLS handshake failed ({exc.reason or exc})") from None
            except OSError as exc:
                failure = exc
                continue
            self._open += 1
            return connection
        raise _ProbeFailed(f"connection failed ({_os_reason(failure)})")

    async def _checked_addresses(self, host: str, port: int) -> list[tuple]:
        """The guard's checked addresses of ``host``, looked up once per run and origin."""
        key = (host, port)
        pending = self._addresses.get(key)
        if pending is None:
            if _needs_dns(host):
                lookup = functools.partial(resolve_checked, host, port, allowlist=self.allowlist)
                pending = self.loop.run_in_executor(None, lookup)
            else:  # an IP literal or localhost: checked at once, no look-up, no thread
                pending = self.loop.create_future()
                try:
                    pending.set_result(resolve_checked(host, port, allowlist=self.allowlist))
                except BlockedAddress as exc:
                    pending.set_exception(exc)
            self._addresses[key] = pending
        try:
            return await asyncio.shield(pending)
        except BlockedAddress as exc:
            raise _ProbeFailed(str(exc)) from None
        except socket.gaierror as exc:
            raise _ProbeFailed(f"host name does not resolve ({exc.strerror or exc})") from None

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls


def _needs_dns(host: str) -> bool:
    try:
        return numeric_host_address(host) is None and not is_localhost_name(host)
    except BlockedAddress:
        return False  # a disguised literal: resolve_checked refuses it without a look-up


def _os_reason(exc: OSError | None) -> str:
    if exc is None:
        return "no address to connect to"
    return exc.strerror or str(exc) or type(exc).__name__


async def probe_all(
    targets: Iterable[ProbeTarget],
    *,
    concurrency: int | None = None,
    per_host: int | None = None,
    connect_timeout: float | None = None,
    total_timeout: float | None = None,
    max_bytes: int | None = None,
) -> list[ProbeOutcome]:
    """Probe every target and return one outcome per target, in the same order.

    Arguments left as None come from the settings ``PROBE_CONCURRENCY``,
    ``PROBE_PER_HOST_CONCURRENCY`` (0 = unlimited), ``PROBE_CONNECT_TIMEOUT``,
    ``PROBE_TOTAL_TIMEOUT`` and ``PROBE_MAX_RESPONSE_BYTES`` (defaults: README, Configuration).
    """
    targets = list(targets)
    config = _ProbeConfig.build(
        concurrency=concurrency,
        per_host=per_host,
        connect_timeout=connect_timeout,
        total_timeout=total_timeout,
        max_bytes=max_bytes,
    )
    started = time.perf_counter()
    outcomes = await _Prober(targets, config, Allowlist.from_settings()).run()
    if outcomes:
        counts = Counter(outcome.state for outcome in outcomes)
        logger.info(
            "probed %d vendors in %d ms: %d healthy, %d degraded, %d unhealthy",
            len(outcomes),
            int((time.perf_counter() - started) * 1000),
            counts["healthy"],
            counts["degraded"],
            counts["unhealthy"],
        )
    return outcomes


def probe_all_sync(targets: Iterable[ProbeTarget], **kwargs) -> list[ProbeOutcome]:
    """``probe_all`` for synchronous callers (Celery tasks).

    Called from a thread that already runs an event loop (an async view, a test harness), it
    runs the probes on a loop of their own in a helper thread instead of failing.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(probe_all(targets, **kwargs))
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, probe_all(list(targets), **kwargs)).result()
