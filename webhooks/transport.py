"""The one function that sends a webhook: through the vendor client's guard.

It uses the market's guarded transport (services/vendor_client: the private-address check at
connect time, a connect timeout, a hard total deadline, a response-size cap, no redirects, no
proxies). When `market/lib/outbound` lands this function becomes a call to its `request()`;
nothing else in the webhooks app talks HTTP.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import requests

from services.vendor_client.guard import BlockedAddress, precheck_url
from services.vendor_client.transport import CallDeadline, GuardedHTTPAdapter
from webhooks import conf

USER_AGENT = "ServiceMarket-Webhooks/1.0"
_READ_CHUNK = 4096


@dataclass(frozen=True)
class SendResult:
    """What one POST gave: ok means a 2xx answer read within the limits."""

    ok: bool
    status: int | None
    content: bytes
    latency_ms: int
    error_kind: str  # "", "blocked", "timeout", "connection", "http", "too_large"
    error: str


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    adapter = GuardedHTTPAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def post(url: str, *, headers: dict, body: bytes) -> SendResult:
    """POST ``body`` to ``url``; every failure is data, never an exception."""
    started = time.perf_counter()

    def result(ok, status, content, kind, error):
        elapsed = int((time.perf_counter() - started) * 1000)
        return SendResult(ok, status, content, elapsed, kind, error[:500])

    try:
        _scheme, host, _port = precheck_url(url)
    except BlockedAddress as exc:
        return result(False, None, b"", "blocked", str(exc))
    cap = conf.max_response_bytes()
    session = _session()
    try:
        with CallDeadline(conf.total_timeout()) as deadline:
            try:
                response = session.post(
                    url,
                    data=body,
                    headers={
                        "User-Agent": USER_AGENT,
                        "Content-Type": "application/json",
                        **headers,
                    },
                    timeout=(
                        min(conf.connect_timeout(), deadline.remaining()),
                        deadline.remaining(),
                    ),
                    allow_redirects=False,
                    stream=True,
                )
                content = bytearray()
                try:
                    for chunk in response.iter_content(chunk_size=_READ_CHUNK):
                        content += chunk
                        if len(content) > cap or deadline.expired:
                            break
                finally:
                    response.close()
            except BlockedAddress as exc:
                return result(False, None, b"", "blocked", str(exc))
            except requests.RequestException as exc:
                if deadline.expired or isinstance(exc, requests.Timeout):
                    return result(
                        False, None, b"", "timeout", f"{host} did not answer within the time limit"
                    )
                return result(False, None, b"", "connection", f"could not talk to {host}: {exc}")
            if deadline.expired:
                return result(
                    False, response.status_code, b"", "timeout", f"{host} answered too slowly"
                )
    finally:
        session.close()
    status = response.status_code
    # The receiver's answer only says whether it took the message: a long one is cut for the
    # log, not held against it.
    if 200 <= status < 300:
        return result(True, status, bytes(content[:cap]), "", "")
    return result(False, status, bytes(content[:cap]), "http", f"HTTP {status}")
