"""An OAuth2 token endpoint (client-credentials grant, RFC 6749 section 4.4) and a reference
vendor with ``auth.type: oauth2`` that accepts only the bearer tokens that endpoint issued.
For the kit's oauth2 tests, and the market's."""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote_plus

from vendorkit.reference_store import Response, error_response
from vendorkit.reference_vendor import ReferenceVendorHandler
from vendorkit.signing import SignatureError, verify_request


class TokenHandler(BaseHTTPRequestHandler):
    server: TokenServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        return

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        server = self.server
        with server.lock:
            server.requests.append({"form": form, "authorization": self.headers["Authorization"]})
        basic = (self.headers.get("Authorization") or "").removeprefix("Basic ")
        try:
            client_id, _, client_secret = base64.b64decode(basic).decode().partition(":")
        except ValueError:
            client_id = client_secret = ""
        if (unquote_plus(client_id), unquote_plus(client_secret)) != (
            server.client_id,
            server.client_secret,
        ):
            self._answer(401, {"error": "invalid_client"})
            return
        if form.get("grant_type") != "client_credentials":
            self._answer(400, {"error": "unsupported_grant_type"})
            return
        if server.scope and form.get("scope") != server.scope:
            self._answer(400, {"error": "invalid_scope"})
            return
        token = secrets.token_urlsafe(24)
        with server.lock:
            server.issued[token] = 0
        self._answer(
            200, {"access_token": token, "token_type": "Bearer", "expires_in": server.expires_in}
        )


class TokenServer(ThreadingHTTPServer):
    """``POST /oauth/token``. ``uses_per_token``: the vendor refuses a token after that many
    uses (a token that expires during a run)."""

    daemon_threads = True

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        scope: str = "",
        expires_in: int = 3600,
        uses_per_token: int | None = None,
    ) -> None:
        super().__init__(("127.0.0.1", 0), TokenHandler)
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = scope
        self.expires_in = expires_in
        self.uses_per_token = uses_per_token
        self.issued: dict[str, int] = {}
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def token_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/oauth/token"

    def accepts(self, token: str) -> bool:
        with self.lock:
            if token not in self.issued:
                return False
            self.issued[token] += 1
            return self.uses_per_token is None or self.issued[token] <= self.uses_per_token

    def start(self) -> TokenServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)


def bearer_vendor_handler(accepts: Callable[[str], bool]) -> type[ReferenceVendorHandler]:
    """The reference vendor with a bearer scheme (``auth.type`` oauth2 or jwt): a token that
    ``accepts``, then the market's signature and clock, as the standard asks of such a vendor."""

    class BearerVendor(ReferenceVendorHandler):
        def _authenticate(self, body: bytes) -> Response | None:
            header = self.headers.get("Authorization", "")
            if not header.startswith("Bearer ") or not accepts(header[len("Bearer ") :]):
                return error_response(401, "unauthorized", "missing, unknown or expired token")
            try:
                verify_request(
                    secrets=self.server.options.signing_secrets,
                    method=self.command,
                    target=self.path,
                    headers=self.headers,
                    body=body,
                    tolerance=self.server.options.tolerance,
                )
            except SignatureError as error:
                return error_response(401, error.code, error.message)
            return None

    return BearerVendor


def oauth2_vendor_handler(tokens: TokenServer) -> type[ReferenceVendorHandler]:
    """A vendor with ``auth.type: oauth2`` that accepts only the tokens ``tokens`` issued."""
    return bearer_vendor_handler(tokens.accepts)
