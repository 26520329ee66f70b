"""Health probes of many vendors at once: ``GET <health URL>`` on one aiohttp session.

Every probe ends as a ``ProbeOutcome`` (healthy / degraded / unhealthy with a reason); nothing
raises. The same guard as the synchronous client applies: IP-literal hosts are checked before
any connection and host names through ``GuardedResolver``, whose checked answer is the address
aiohttp connects to.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import socket
import time
import uuid
from collections import Counter
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Literal

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from django.conf import settings

from services.vendor_client.guard import (
    Allowlist,
    BlockedAddress,
    blocked_reason,
    is_localhost_name,
    numeric_host_address,
    precheck_url,
)
from services.vendor_client.schemas import health_problem

logger = logging.getLogger(__name__)

ProbeState = Literal["healthy", "degraded", "unhealthy"]

USER_AGENT = "ServiceMarket/1.0"
_READ_CHUNK = 64 * 1024


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


class _GuardRefusal(OSError):
    """Raised by the resolver; an OSError so aiohttp reports it as a DNS failure."""

    def __init__(self, blocked: BlockedAddress) -> None:
        super().__init__(str(blocked))
        self.blocked = blocked


class GuardedResolver(AbstractResolver):
    """Resolves with the system resolver and refuses the host if any address is not allowed."""

    def __init__(self, allowlist: Allowlist) -> None:
        self._allowlist = allowlist
        self._inner = aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            literal = numeric_host_address(host)
        except BlockedAddress as exc:
            raise _GuardRefusal(exc) from exc
        if literal is not None or is_localhost_name(host):
            address = str(literal) if literal is not None else "127.0.0.1"
            results = [
                ResolveResult(
                    hostname=host,
                    host=address,
                    port=port,
                    family=socket.AF_INET if ":" not in address else socket.AF_INET6,
                    proto=0,
                    flags=socket.AI_NUMERICHOST,
                )
            ]
        else:
            results = await self._inner.resolve(host, port, family)
        for result in results:
            message = blocked_reason(host, result["host"], port, self._allowlist)
            if message is not None:
                raise _GuardRefusal(BlockedAddress(message))
        return results

    async def close(self) -> None:
        await self._inner.close()


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
            "concurrency": getattr(settings, "PROBE_CONCURRENCY", 1000),
            "per_host": getattr(settings, "PROBE_PER_HOST_CONCURRENCY", 0),
            "connect_timeout": getattr(settings, "PROBE_CONNECT_TIMEOUT", 3.0),
            "total_timeout": getattr(settings, "PROBE_TOTAL_TIMEOUT", 5.0),
            "max_bytes": getattr(settings, "PROBE_MAX_RESPONSE_BYTES", 16384),
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


def _precheck(url: str, allowlist: Allowlist) -> str | None:
    # aiohttp connects to IP literals without asking the resolver, so they are checked here.
    try:
        precheck_url(url, allowlist=allowlist)
    except BlockedAddress as exc:
        return str(exc)
    return None


async def _read_capped(response: aiohttp.ClientResponse, max_bytes: int) -> bytes | None:
    """The body, or None when it is larger than ``max_bytes``."""
    if response.content_length is not None and response.content_length > max_bytes:
        return None
    content = bytearray()
    while True:
        chunk = await response.content.read(_READ_CHUNK)
        if not chunk:
            return bytes(content)
        content += chunk
        if len(content) > max_bytes:
            return None


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


def _failure_reason(exc: BaseException, config: _ProbeConfig) -> str:
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        if isinstance(exc.os_error, _GuardRefusal):
            return str(exc.os_error.blocked)
        return f"host name does not resolve ({exc.os_error.strerror or exc.os_error})"
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return f"connecting timed out after {config.connect_timeout:g} s"
    if isinstance(exc, TimeoutError):
        return f"no complete answer within {config.total_timeout:g} s"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"connection failed ({exc.os_error.strerror or exc.os_error})"
    if isinstance(exc, aiohttp.ClientOSError):
        return f"connection dropped ({exc.strerror or exc})"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection without answering"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "the answer broke off"
    if isinstance(exc, aiohttp.ClientError):
        return f"request failed ({type(exc).__name__}: {str(exc)[:200]})"
    return f"probe failed ({type(exc).__name__}: {str(exc)[:200]})"


async def _probe_one(
    session: aiohttp.ClientSession,
    target: ProbeTarget,
    *,
    semaphore: asyncio.Semaphore,
    allowlist: Allowlist,
    config: _ProbeConfig,
) -> ProbeOutcome:
    refusal = _precheck(target.url, allowlist)
    if refusal is not None:
        return ProbeOutcome(target.key, "unhealthy", 0, refusal)
    async with semaphore:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(config.total_timeout):
                headers = {
                    "X-Market-Request-Id": str(uuid.uuid4()),
                    "X-Market-Timestamp": str(int(time.time())),
                }
                async with session.get(
                    target.url, headers=headers, allow_redirects=False
                ) as response:
                    content = await _read_capped(response, config.max_bytes)
                    status = response.status
                    location = response.headers.get("Location")
        except Exception as exc:  # every failure is an outcome, never an exception
            latency = int((time.perf_counter() - started) * 1000)
            return ProbeOutcome(target.key, "unhealthy", latency, _failure_reason(exc, config))
        latency = int((time.perf_counter() - started) * 1000)
    if content is None:
        reason = f"body larger than {config.max_bytes} bytes"
        return ProbeOutcome(target.key, "unhealthy", latency, reason)
    state, reason, version = _judge(status, location, content)
    return ProbeOutcome(target.key, state, latency, reason, version)


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

    Arguments left as None come from the settings ``PROBE_CONCURRENCY`` (1000),
    ``PROBE_PER_HOST_CONCURRENCY`` (0 = unlimited), ``PROBE_CONNECT_TIMEOUT`` (3.0 s),
    ``PROBE_TOTAL_TIMEOUT`` (5.0 s) and ``PROBE_MAX_RESPONSE_BYTES`` (16384).
    """
    targets = list(targets)
    if not targets:
        return []
    config = _ProbeConfig.build(
        concurrency=concurrency,
        per_host=per_host,
        connect_timeout=connect_timeout,
        total_timeout=total_timeout,
        max_bytes=max_bytes,
    )
    allowlist = Allowlist.from_settings()
    connector = aiohttp.TCPConnector(
        limit=config.concurrency,
        limit_per_host=config.per_host,
        resolver=GuardedResolver(allowlist),
    )
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=config.connect_timeout)
    semaphore = asyncio.Semaphore(config.concurrency)
    async with aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        headers={
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            # Compressed answers are not decoded (no decompression bombs); ask for none.
            "Accept-Encoding": "identity",
        },
        auto_decompress=False,
        trust_env=False,
        cookie_jar=aiohttp.DummyCookieJar(),
    ) as session:
        started = time.perf_counter()
        outcomes = list(
            await asyncio.gather(
                *(
                    _probe_one(
                        session, target, semaphore=semaphore, allowlist=allowlist, config=config
                    )
                    for target in targets
                )
            )
        )
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
