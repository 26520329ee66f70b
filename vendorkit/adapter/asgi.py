"""The adapter in an ASGI application: Starlette, FastAPI, Quart, Django's ASGI handler, ...

Starlette / FastAPI::

    app = StandardASGIMiddleware(app, adapter)         # or app.add_middleware(...)

The vendor's functions are plain (blocking) functions; they run in a worker thread so they
never block the event loop, and the adapter's per-tenant lock keeps one operation per tenant.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from vendorkit.adapter.core import HttpRequest, StandardAdapter, error

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _raw_path(scope: Scope) -> str:
    raw = scope.get("raw_path")
    if raw:
        return raw.decode("latin-1").split("?", 1)[0]
    from urllib.parse import quote

    return quote(scope.get("root_path", "") + scope.get("path", ""), safe="/:@!$&'()*+,;=-._~")


class StandardASGIMiddleware:
    """Serve the standard's routes with ``adapter``; pass everything else to ``app``."""

    def __init__(self, app: ASGIApp | None, adapter: StandardAdapter) -> None:
        self.app = app
        self.adapter = adapter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.adapter.matches(_raw_path(scope)):
            if self.app is None:
                response = error(404, "not_found", "no such endpoint")
                await _send(send, response.status, response.header_list(), response.body)
                return
            await self.app(scope, receive, send)
            return
        body, too_large = await _read_body(receive, self.adapter.max_body_bytes)
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in scope["headers"]
        }
        host = headers.get("host") or "localhost"
        request = HttpRequest(
            method=scope["method"].upper(),
            path=_raw_path(scope),
            query=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            body=body,
            scheme=scope.get("scheme", "http"),
            host=host,
            body_too_large=too_large,
        )
        response = await asyncio.to_thread(self.adapter.handle, request)
        assert response is not None
        await _send(send, response.status, response.header_list(), response.body)


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks), size > limit


async def _send(send: Send, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
