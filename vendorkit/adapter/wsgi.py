"""The adapter in a WSGI application: Flask, Django, Bottle, Pyramid, ...

Flask::

    app.wsgi_app = StandardWSGIMiddleware(app.wsgi_app, adapter)

Django (``wsgi.py``)::

    application = StandardWSGIMiddleware(get_wsgi_application(), adapter)

The standard's routes (``/mt/health``, ``/mt/tenant/...``) are answered by the adapter; every
other request goes to the wrapped application unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from vendorkit.adapter.core import HttpRequest, StandardAdapter

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def raw_path(environ: dict[str, Any]) -> str:
    """The path as sent (percent-encoded): a tenant id may hold ``%2F``, which ``PATH_INFO``
    has already decoded. Servers that keep the raw target expose it as ``RAW_URI`` or
    ``REQUEST_URI`` (gunicorn, Werkzeug, uWSGI); otherwise the decoded path is quoted again."""
    for name in ("RAW_URI", "REQUEST_URI"):
        target = environ.get(name)
        if target:
            return target.split("?", 1)[0]
    path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    return quote(path.encode("latin-1").decode("utf-8", "replace"), safe="/:@!$&'()*+,;=-._~")


def request_from_environ(environ: dict[str, Any], *, max_body_bytes: int) -> HttpRequest:
    headers = {
        name[5:].replace("_", "-").lower(): value
        for name, value in environ.items()
        if name.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    too_large = length > max_body_bytes
    body = b""
    if length > 0 and not too_large:
        body = environ["wsgi.input"].read(length)
    return HttpRequest(
        method=environ.get("REQUEST_METHOD", "GET").upper(),
        path=raw_path(environ),
        query=environ.get("QUERY_STRING", ""),
        headers=headers,
        body=body,
        scheme=environ.get("wsgi.url_scheme", "http"),
        host=environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "localhost"),
        body_too_large=too_large,
    )


class StandardWSGIMiddleware:
    """Serve the standard's routes with ``adapter``; pass everything else to ``app``.

    ``app`` may be None: then every other path answers 404 (a vendor API on its own)."""

    def __init__(self, app: WSGIApp | None, adapter: StandardAdapter) -> None:
        self.app = app
        self.adapter = adapter

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if not self.adapter.matches(raw_path(environ)):
            if self.app is None:
                start_response("404 Not Found", [("Content-Type", "application/json")])
                return [b'{"error":"not_found","message":"no such endpoint"}']
            return self.app(environ, start_response)
        request = request_from_environ(environ, max_body_bytes=self.adapter.max_body_bytes)
        response = self.adapter.handle(request)
        assert response is not None
        start_response(f"{response.status} {_reason(response.status)}", response.header_list())
        return [response.body]


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
