"""Signed requests the way the market sends them, each one kept as evidence for the report.

Every request is signed the way the market signs it (standard v1.1, ``vendorkit.signing``):
RFC 9421 (``Content-Digest``, ``Signature-Input``, ``Signature``) and the deprecated
``X-Market-Signature`` beside it. Besides well-formed calls, a check can ask for a deliberately
wrong one: no key, a wrong key, no signature, a signature made with another secret, over other
bytes or for another path, an old timestamp.
Every exchange is recorded so the run can judge properties of *all* answers at the end
(content type, error bodies) and show the request and answer behind every failure.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vendorkit.conformance.oauth2 import TokenError
from vendorkit.conformance.transport import HttpReply, Transport, TransportError
from vendorkit.signing import (
    MARKET_SIGNATURE_HEADERS,
    REQUEST_ID_HEADER,
    TIMESTAMP_HEADER,
    request_signature_headers,
)

USER_AGENT = "ServiceMarketConformance/1.0"
REQUEST_EXCERPT_CHARS = 300
RESPONSE_EXCERPT_CHARS = 600
REDACTED = "[redacted]"
NOT_JSON = object()

AuthHeaders = Callable[[], dict[str, str]]


def encode(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"... [{len(text) - limit} more chars]"


@dataclass
class Exchange:
    """One request and what came back (``reply`` is None when nothing did)."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    reply: HttpReply | None = None
    error: str = ""
    # An exchange that only found out an optional endpoint is not there: it is left out of
    # the checks over every answer (a framework's own 404 page is not the vendor's API).
    probe: bool = False
    _json: Any = field(default=None, repr=False)

    @property
    def status(self) -> int | None:
        return self.reply.status if self.reply else None

    @property
    def json(self) -> Any:
        """The parsed body, or ``NOT_JSON``."""
        if self._json is None:
            self._json = NOT_JSON
            if self.reply is not None:
                try:
                    self._json = json.loads(self.reply.body.decode("utf-8"))
                except (UnicodeDecodeError, ValueError):
                    self._json = NOT_JSON
        return self._json

    @property
    def obj(self) -> dict[str, Any] | None:
        """The body when it is a JSON object."""
        value = self.json
        return value if isinstance(value, dict) else None

    def request_excerpt(self) -> str:
        lines = [f"{self.method} {self.url}"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        if self.body:
            lines.append(_clip(self.body.decode("utf-8", "replace"), REQUEST_EXCERPT_CHARS))
        return "\n".join(lines)

    def response_excerpt(self) -> str:
        if self.reply is None:
            return f"no answer: {self.error}"
        content_type = self.reply.content_type or "(no Content-Type)"
        text = self.reply.body.decode("utf-8", "replace")
        lines = [f"HTTP {self.reply.status}  Content-Type: {content_type}"]
        if text:
            lines.append(_clip(text, RESPONSE_EXCERPT_CHARS))
        return "\n".join(lines)


class SignedSession:
    """Builds the market's headers for each request and records every exchange."""

    def __init__(
        self,
        *,
        transport: Transport,
        api_key: str,
        api_key_header: str,
        signing_secrets: list[str],
        timeout: float,
        auth_headers: AuthHeaders | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.transport = transport
        self.api_key = api_key
        self.api_key_header = api_key_header
        self.signing_secrets = signing_secrets
        self.timeout = timeout
        self.auth_headers = auth_headers
        self.clock = clock
        self.exchanges: list[Exchange] = []

    def _auth(self, mode: str) -> tuple[dict[str, str], dict[str, str]]:
        """(headers sent, headers shown in the report) for ``mode`` ok / missing / wrong."""
        if mode == "missing":
            return {}, {}
        if self.auth_headers is not None:
            if mode == "wrong":
                wrong = {"Authorization": "Bearer conformance-kit-invalid-token"}
                return wrong, dict(wrong)
            sent = self.auth_headers()
            return sent, {name: REDACTED for name in sent}
        if mode == "wrong":
            wrong_key = "conformance-wrong-key-" + uuid.uuid4().hex[:8]
            return {self.api_key_header: wrong_key}, {self.api_key_header: wrong_key}
        return {self.api_key_header: self.api_key}, {self.api_key_header: REDACTED}

    def send(
        self,
        method: str,
        url: str,
        *,
        body: Any = None,
        raw: bytes | None = None,
        request_id: str | None = None,
        timestamp: int | None = None,
        auth: str = "ok",
        signed: bool = True,
        secrets: list[str] | None = None,
        signed_body: bytes | None = None,
        signed_url: str | None = None,
        market_headers: bool = True,
    ) -> Exchange:
        """Send one request. ``auth``: ok / missing / wrong. ``signed_body`` / ``signed_url``:
        sign other bytes / another URL than those sent (a replay elsewhere).
        ``market_headers=False`` sends no market header at all."""
        payload = raw if raw is not None else (b"" if body is None else encode(body))
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if method != "GET":
            headers["Content-Type"] = "application/json"
        shown: dict[str, str] = {}  # what the report shows: the headers that tell the story
        if market_headers:
            request_id = request_id or str(uuid.uuid4())
            moment = int(self.clock()) if timestamp is None else timestamp
            headers[REQUEST_ID_HEADER] = request_id
            headers[TIMESTAMP_HEADER] = str(moment)
            if signed:  # RFC 9421 and the legacy header, as the market signs (signing.md)
                headers.update(
                    request_signature_headers(
                        secrets=secrets or self.signing_secrets,
                        method=method,
                        url=signed_url or url,
                        request_id=request_id,
                        timestamp=moment,
                        body=payload if signed_body is None else signed_body,
                    )
                )
            try:
                sent_auth, shown_auth = self._auth(auth)
            except TokenError as error:
                exchange = Exchange(method=method, url=url, headers=shown, body=payload)
                exchange.error = f"no bearer token: {error}"
                self.exchanges.append(exchange)
                return exchange
            headers.update(sent_auth)
            shown.update({n: v for n, v in headers.items() if n in MARKET_SIGNATURE_HEADERS})
            shown.update(shown_auth)
        exchange = Exchange(method=method, url=url, headers=shown, body=payload)
        try:
            exchange.reply = self.transport(
                method, url, headers=headers, body=payload, timeout=self.timeout
            )
            forget = getattr(self.auth_headers, "forget", None)
            authentic = signed and not (secrets or signed_body or signed_url or timestamp)
            if market_headers and auth == "ok" and authentic and exchange.status == 401 and forget:
                # An OAuth2 token may expire during the run: fetch a new one and try once more,
                # as the market does. (Not for the deliberately wrong requests: their 401 is
                # the answer being checked.)
                forget()
                headers.update(self._auth(auth)[0])
                exchange.reply = self.transport(
                    method, url, headers=headers, body=payload, timeout=self.timeout
                )
        except (TransportError, TokenError) as error:
            exchange.error = str(error)
        self.exchanges.append(exchange)
        return exchange
