"""How the kit sends one HTTP request: the standard library's ``http.client``, nothing else.

A transport is any callable ``(method, url, *, headers, body, timeout) -> HttpReply`` that
raises ``TransportError`` when no HTTP answer came back. The kit ships one built on
``http.client`` so a vendor needs no third-party package; the market passes its own (guarded
against private addresses) when it runs the kit against a registered service.

Redirects are never followed: the market does not follow them either, so a 3xx is what the
vendor answered and is judged as such.
"""

from __future__ import annotations

import http.client
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

MAX_RESPONSE_BYTES = 1024 * 1024


class TransportError(Exception):
    """No HTTP answer: the connection failed, timed out, or the address was refused."""


@dataclass(frozen=True)
class HttpReply:
    """One HTTP answer as received: status, headers (lower-case names) and body bytes."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    truncated: bool = False

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


Transport = Callable[..., HttpReply]


def http_client_transport(
    method: str, url: str, *, headers: dict[str, str], body: bytes, timeout: float
) -> HttpReply:
    """Send one request with ``http.client`` and read at most ``MAX_RESPONSE_BYTES``."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TransportError(f"not an http(s) URL: {url!r}")
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        # A POST always carries a body (possibly empty) so Content-Length is always sent.
        payload = body if (body or method != "GET") else None
        connection.request(method, target, body=payload, headers=headers)
        response = connection.getresponse()
        data = response.read(MAX_RESPONSE_BYTES + 1)
        reply_headers = {name.lower(): value for name, value in response.getheaders()}
    except (OSError, http.client.HTTPException) as error:
        raise TransportError(f"{type(error).__name__}: {error}") from error
    finally:
        connection.close()
    return HttpReply(
        status=response.status,
        headers=reply_headers,
        body=data[:MAX_RESPONSE_BYTES],
        truncated=len(data) > MAX_RESPONSE_BYTES,
    )
