"""A reference LTI 1.3 tool: what a vendor's side of an LTI launch looks like, in one file.

Run it next to the market (``make run`` starts it on port 9002)::

    python -m vendorkit.reference_lti_tool --port 9002 --state var/reference_lti_tool.json

then register it from the market's vendor page *LTI 1.3* with the registration initiation URL
``http://127.0.0.1:9002/lti/register`` (LTI Dynamic Registration 1.0). It implements:

- ``GET /lti/register``: Dynamic Registration (reads ``openid_configuration`` and
  ``registration_token``, checks the configuration's issuer, POSTs its registration, keeps the
  client_id it is given, and posts ``org.imsglobal.lti.close`` to the window that opened it);
- ``GET|POST /lti/login``: the OIDC third-party initiated login (Security Framework 5.1.1.1):
  stores a random ``state`` (also in a cookie) and ``nonce``, then redirects the browser to the
  platform's authorization endpoint (5.1.1.2);
- ``GET /lti/jwks``: the tool's public key as a JWK Set (Security Framework 6.3), the key it
  would sign its own messages and client assertions with;
- ``POST /lti/launch``: the id_token form_post (5.1.1.3), validated as 5.1.3 asks: the state
  cookie, the RS256 signature with the platform's JWKS, ``iss``, ``aud``, ``exp``, the nonce
  (once), the message type, the version and the deployment; then a page with the claims.

Deployments are accepted on first sight per client_id (the market makes one per school) and
remembered. Standard library plus PyJWT (only to verify the id_token); it never imports the
market.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import secrets
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

DEFAULT_PORT = 9002
STATE_TTL = 300
MAX_BODY_BYTES = 64 * 1024
CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"


@dataclass
class Platform:
    """One registration: the platform's issuer and endpoints, and the client_id it issued."""

    issuer: str
    client_id: str
    authorization_endpoint: str
    jwks_uri: str
    deployment_ids: list[str] = field(default_factory=list)


@dataclass
class ToolState:
    """What the tool remembers; registrations survive a restart when ``path`` is given."""

    path: Path | None = None
    platforms: dict[str, Platform] = field(default_factory=dict)  # by client_id
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)  # by state
    used_nonces: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def load(self) -> None:
        if self.path and self.path.exists():
            for item in json.loads(self.path.read_text(encoding="utf-8")):
                platform = Platform(**item)
                self.platforms[platform.client_id] = platform

    def save(self) -> None:
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            data = [vars(p) for p in self.platforms.values()]
            self.path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def _http_json(url: str, *, body: dict | None = None, token: str = "") -> tuple[int, Any]:
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310 - http(s) only
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"not an http(s) URL: {url}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read(MAX_BODY_BYTES) or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read(MAX_BODY_BYTES) or b"null")


class ToolHandler(BaseHTTPRequestHandler):
    server: ToolServer
    server_version = "ReferenceLtiTool/1.0"

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.log_requests:
            # Only the path: query strings may hold a registration token.
            sys.stderr.write(
                f"{self.command} {urlsplit(self.path).path} {args[1] if len(args) > 1 else ''}\n"
            )

    # -- plumbing ---------------------------------------------------------------------------

    def _params(self) -> dict[str, str]:
        query = parse_qs(urlsplit(self.path).query)
        if self.command == "POST":
            length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY_BYTES)
            query.update(parse_qs(self.rfile.read(length).decode("utf-8", "replace")))
        return {key: values[-1] for key, values in query.items()}

    def _page(self, status: int, title: str, body: str, headers: dict | None = None) -> None:
        content = (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
            f"{body}</body></html>"
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(content)))
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(content)

    def _refuse(self, reason: str) -> None:
        self._page(400, "LTI launch refused", f"<p id='refused'>{html.escape(reason)}</p>")

    def do_GET(self) -> None:
        self._route()

    def do_POST(self) -> None:
        self._route()

    def _route(self) -> None:
        path = urlsplit(self.path).path
        if path == "/lti/register" and self.command == "GET":
            return self._register()
        if path == "/lti/login":
            return self._login()
        if path == "/lti/launch" and self.command == "POST":
            return self._launch()
        if path == "/lti/jwks" and self.command == "GET":
            return self._jwks()
        if path == "/":
            count = len(self.server.state.platforms)
            return self._page(200, "Reference LTI tool", f"<p>{count} registration(s).</p>")
        return self._page(404, "Not found", "<p>No such page.</p>")

    def _jwks(self) -> None:
        content = json.dumps({"keys": [self.server.public_jwk]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    # -- Dynamic Registration ---------------------------------------------------------------

    def _register(self) -> None:
        params = self._params()
        config_url = params.get("openid_configuration", "")
        token = params.get("registration_token", "")
        status, config = _http_json(config_url)
        if status != 200 or not isinstance(config, dict):
            return self._refuse(f"the openid_configuration answered {status}")
        issuer = str(config.get("issuer", ""))
        if not issuer or not config_url.startswith(issuer):
            return self._refuse("the configuration's issuer does not match its URL")
        base = self.server.public_url
        registration = {
            "application_type": "web",
            "response_types": ["id_token"],
            "grant_types": ["implicit", "client_credentials"],
            "initiate_login_uri": f"{base}/lti/login",
            "redirect_uris": [f"{base}/lti/launch"],
            "client_name": "Reference LTI tool",
            "jwks_uri": f"{base}/lti/jwks",
            "token_endpoint_auth_method": "private_key_jwt",
            "scope": "",
            TOOL_CONFIGURATION: {
                "domain": urlsplit(base).netloc,
                "target_link_uri": f"{base}/lti/launch",
                "custom_parameters": {"tool": "reference"},
                "claims": ["iss", "sub", "name", "email"],
                "messages": [{"type": "LtiResourceLinkRequest"}],
            },
        }
        status, answer = _http_json(config["registration_endpoint"], body=registration, token=token)
        if status != 200 or not isinstance(answer, dict) or "client_id" not in answer:
            detail = answer.get("error_description", "") if isinstance(answer, dict) else ""
            return self._refuse(f"the registration answered {status}: {detail}")
        state = self.server.state
        with state.lock:
            state.platforms[answer["client_id"]] = Platform(
                issuer=issuer,
                client_id=answer["client_id"],
                authorization_endpoint=config["authorization_endpoint"],
                jwks_uri=config["jwks_uri"],
            )
            state.save()
        self._page(
            200,
            "Registered",
            f"<p id='registered'>Registered with {html.escape(issuer)} as "
            f"{html.escape(answer['client_id'])}.</p>"
            "<script>(window.opener || window.parent).postMessage("
            "{subject: 'org.imsglobal.lti.close'}, '*');</script>",
        )

    # -- the launch -------------------------------------------------------------------------

    def _login(self) -> None:
        params = self._params()
        platform = self.server.state.platforms.get(params.get("client_id", ""))
        if platform is None or platform.issuer != params.get("iss"):
            return self._refuse("this tool is not registered with that issuer and client_id")
        state_value = secrets.token_urlsafe(24)
        nonce = secrets.token_urlsafe(24)
        with self.server.state.lock:
            self.server.state.pending[state_value] = {
                "nonce": nonce,
                "client_id": platform.client_id,
                "expires": time.time() + STATE_TTL,
            }
        query = urlencode(
            {
                "scope": "openid",
                "response_type": "id_token",
                "response_mode": "form_post",
                "prompt": "none",
                "client_id": platform.client_id,
                "redirect_uri": f"{self.server.public_url}/lti/launch",
                "login_hint": params.get("login_hint", ""),
                "lti_message_hint": params.get("lti_message_hint", ""),
                "state": state_value,
                "nonce": nonce,
            }
        )
        self.send_response(302)
        self.send_header("Location", f"{platform.authorization_endpoint}?{query}")
        self.send_header(
            "Set-Cookie", f"lti_state={state_value}; Path=/lti; HttpOnly; Max-Age={STATE_TTL}"
        )
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _launch(self) -> None:
        params = self._params()
        state_value = params.get("state", "")
        cookie = SimpleCookie(self.headers.get("Cookie", ""))
        if "lti_state" not in cookie or cookie["lti_state"].value != state_value:
            return self._refuse("the state does not match this browser's login")
        with self.server.state.lock:
            pending = self.server.state.pending.pop(state_value, None)
        if pending is None or pending["expires"] < time.time():
            return self._refuse("the login expired or was already used")
        platform = self.server.state.platforms[pending["client_id"]]
        try:
            claims = _verified(params.get("id_token", ""), platform)
        except Exception as error:  # PyJWT raises many types; all mean "do not trust it"
            return self._refuse(f"the id_token does not verify: {error}")
        with self.server.state.lock:
            if (
                claims["nonce"] != pending["nonce"]
                or claims["nonce"] in self.server.state.used_nonces
            ):
                return self._refuse("the nonce is not the one this login sent, or was used")
            self.server.state.used_nonces.add(claims["nonce"])
        problem = _message_problem(claims)
        if problem:
            return self._refuse(problem)
        deployment = claims[CLAIM + "deployment_id"]
        with self.server.state.lock:
            if deployment not in platform.deployment_ids:
                platform.deployment_ids.append(deployment)  # first sight: a new school
                self.server.state.save()
        context = claims.get(CLAIM + "context", {})
        shown = html.escape(json.dumps(claims, indent=2, sort_keys=True, ensure_ascii=False))
        self._page(
            200,
            "Launch verified",
            f"<p id='who'>{html.escape(str(claims.get('name', claims['sub'])))} from "
            f"<span id='context'>{html.escape(str(context.get('title', '')))}</span></p>"
            f"<pre id='claims'>{shown}</pre>",
        )


def _verified(token: str, platform: Platform) -> dict:
    import jwt  # PyJWT: the one dependency, only for RS256 and JWKS

    key = jwt.PyJWKClient(platform.jwks_uri).get_signing_key_from_jwt(token).key
    return jwt.decode(
        token,
        key,
        algorithms=["RS256"],
        audience=platform.client_id,
        issuer=platform.issuer,
        options={"require": ["exp", "iat", "nonce", "sub"]},
    )


def _message_problem(claims: dict) -> str:
    if claims.get(CLAIM + "message_type") != "LtiResourceLinkRequest":
        return "not an LtiResourceLinkRequest"
    if claims.get(CLAIM + "version") != "1.3.0":
        return "not LTI 1.3.0"
    if not claims.get(CLAIM + "deployment_id"):
        return "no deployment_id"
    if not (claims.get(CLAIM + "resource_link") or {}).get("id"):
        return "no resource_link id"
    if not claims.get(CLAIM + "target_link_uri"):
        return "no target_link_uri"
    if not isinstance(claims.get(CLAIM + "roles"), list):
        return "no roles"
    return ""


def _new_public_jwk() -> dict[str, str]:
    """A fresh RSA key for this run; only its public half is ever published."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    jwk.update({"kid": secrets.token_hex(8), "alg": "RS256", "use": "sig"})
    return jwk


class ToolServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int, *, state: ToolState, public_url: str = "") -> None:
        super().__init__((host, port), ToolHandler)
        self.state = state
        self.public_url = (public_url or f"http://{host}:{self.server_address[1]}").rstrip("/")
        self.log_requests = False
        self.public_jwk = _new_public_jwk()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def serve_in_thread(
    *, port: int = 0, state_path: str | None = None, platforms: list[Platform] | None = None
) -> ToolServer:
    """Start the tool on 127.0.0.1 in a background thread (``server.public_url``, ``stop()``).

    ``platforms`` are registrations configured by hand (the manifest way of registering)."""
    state = ToolState(path=Path(state_path) if state_path else None)
    state.load()
    for platform in platforms or []:
        state.platforms[platform.client_id] = platform
    server = ToolServer("127.0.0.1", port, state=state)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--public-url", default="", help="how browsers reach this tool")
    parser.add_argument("--state", default="var/reference_lti_tool.json")
    args = parser.parse_args(argv)
    state = ToolState(path=Path(args.state))
    state.load()
    server = ToolServer(args.host, args.port, state=state, public_url=args.public_url)
    server.log_requests = True
    print(f"reference LTI tool on {server.public_url} (register: {server.public_url}/lti/register)")
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
