"""``auth.type: oauth2``: a client-credentials token from the vendor's ``token_url``, then bearer.

The kit gets a token the way the market does (RFC 6749 section 4.4): ``POST token_url`` with
``grant_type=client_credentials`` (and ``scope`` when the manifest gives one), the client id
and secret in HTTP Basic authentication (section 2.3.1), and sends it as
``Authorization: Bearer <access_token>`` on every tenant call. The token is reused until 30 s
before ``expires_in`` runs out (300 s when the answer has none) and fetched again after a 401,
so a vendor whose tokens expire during a run is still judged fairly.

The token request goes through the run's transport, so the market's guarded transport covers it
too. A token endpoint that cannot be used stops the run before any check (``TokenError``: the
command line exits 2, "could not run"), since no verdict about the vendor would mean anything.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from urllib.parse import quote_plus, urlencode

from vendorkit.conformance.transport import Transport, TransportError

EXPIRY_MARGIN_SECONDS = 30
DEFAULT_LIFETIME_SECONDS = 300


class TokenError(Exception):
    """The token endpoint gave no usable token (with what it answered)."""


class ClientCredentials:
    """Makes ``{"Authorization": "Bearer ..."}`` headers from a client-credentials token."""

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str = "",
        transport: Transport,
        timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not token_url:
            raise TokenError(
                "auth.type oauth2 needs auth.token_url in the manifest (or --token-url)"
            )
        if not client_secret:
            raise TokenError(
                "auth.type oauth2 needs the client secret your token endpoint gives the market "
                "(--oauth-client-secret)"
            )
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = scope
        self.transport = transport
        self.timeout = timeout
        self.clock = clock
        self.requests = 0
        self._token = ""
        self._expires = 0.0

    def __call__(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    def forget(self) -> None:
        """Drop the cached token (after the vendor answered 401 to it)."""
        self._token, self._expires = "", 0.0

    def token(self) -> str:
        if self._token and self.clock() < self._expires - EXPIRY_MARGIN_SECONDS:
            return self._token
        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        basic = f"{quote_plus(self.client_id)}:{quote_plus(self.client_secret)}"
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
            "Authorization": "Basic " + base64.b64encode(basic.encode()).decode("ascii"),
        }
        what = f"the OAuth2 token request to {self.token_url}"
        self.requests += 1
        try:
            reply = self.transport(
                "POST",
                self.token_url,
                headers=headers,
                body=urlencode(form).encode(),
                timeout=self.timeout,
            )
        except TransportError as error:
            raise TokenError(f"{what} got no answer: {error}") from error
        excerpt = reply.body[:300].decode("utf-8", "replace")
        if reply.status != 200:
            raise TokenError(f"{what} answered HTTP {reply.status}: {excerpt}")
        try:
            answer = json.loads(reply.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as error:
            raise TokenError(f"{what} answered something that is not JSON: {excerpt}") from error
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise TokenError(f"{what} answered without an access_token: {excerpt}")
        token_type = answer.get("token_type", "bearer")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise TokenError(f"{what} gave token_type {token_type!r}, not bearer")
        lifetime = answer.get("expires_in")
        if not isinstance(lifetime, int | float) or isinstance(lifetime, bool) or lifetime <= 0:
            lifetime = DEFAULT_LIFETIME_SECONDS
        self._token, self._expires = token, self.clock() + float(lifetime)
        return token
