"""An LTI 1.3 tool we did not write the checks of: PyLTI1p3's Flask integration on 127.0.0.1.

The tool validates every launch with ``FlaskMessageLaunch`` (state cookie, nonce in its
session, the id_token's RS256 signature against the market's JWKS, the registration and
deployment, the message type and its required claims) and shows the validated claims. On top
of PyLTI1p3 it remembers the nonces it accepted, as the Security Framework (5.1.3) asks of a
tool, so a replayed id_token is refused even inside the same browser session.

``/register`` is a Dynamic Registration 1.0 tool: it reads ``openid_configuration`` and
``registration_token`` from the query (3.3), fetches the configuration and checks its issuer
(3.4), POSTs its registration (3.5) and posts ``org.imsglobal.lti.close`` to its opener.
"""

from __future__ import annotations

import html
import json
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, request
from pylti1p3.contrib.flask import FlaskMessageLaunch, FlaskOIDCLogin, FlaskRequest
from pylti1p3.exception import LtiException, OIDCException
from pylti1p3.registration import Registration
from pylti1p3.tool_config import ToolConfDict
from werkzeug.serving import make_server

LTI_TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"


def _new_private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@dataclass
class ToolState:
    """What the tool knows about its platform, changed by the tests between launches."""

    issuer: str = ""
    client_id: str = ""
    deployment_ids: list[str] = field(default_factory=list)
    key_set: dict | None = None
    key_set_url: str | None = None
    used_nonces: set[str] = field(default_factory=set)
    launches: list[dict] = field(default_factory=list)
    registrations: list[dict] = field(default_factory=list)
    fetch_members: bool = False
    members: list[list[dict]] = field(default_factory=list)
    private_key_pem: str = field(default_factory=lambda: _new_private_key_pem())

    @property
    def public_key_pem(self) -> str:
        key = serialization.load_pem_private_key(self.private_key_pem.encode(), password=None)
        return (
            key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def tool_conf(self) -> ToolConfDict:
        conf = self._conf()
        conf.set_private_key(self.issuer, self.private_key_pem, client_id=self.client_id)
        conf.set_public_key(self.issuer, self.public_key_pem, client_id=self.client_id)
        return conf

    def jwks(self) -> dict:
        return {"keys": [Registration.get_jwk(self.public_key_pem)]}

    def _conf(self) -> ToolConfDict:
        return ToolConfDict(
            {
                self.issuer: [
                    {
                        "default": True,
                        "client_id": self.client_id,
                        "auth_login_url": f"{self.issuer}/lti/authorize",
                        "auth_token_url": f"{self.issuer}/lti/token",
                        "auth_audience": None,
                        "key_set_url": self.key_set_url,
                        "key_set": self.key_set,
                        "deployment_ids": list(self.deployment_ids),
                    }
                ]
            }
        )


def create_app(state: ToolState) -> Flask:
    app = Flask("lti_test_tool")
    app.secret_key = "test tool session key"  # noqa: S105 - a test tool's cookie signing key

    @app.route("/login", methods=["GET", "POST"])
    def login():
        tool_conf = state.tool_conf()
        flask_request = FlaskRequest()
        target = flask_request.get_param("target_link_uri")
        try:
            return FlaskOIDCLogin(flask_request, tool_conf).redirect(target)
        except (LtiException, OIDCException) as error:
            return f"LTI login refused: {html.escape(str(error))}", 400

    @app.route("/launch", methods=["POST"])
    def launch():
        tool_conf = state.tool_conf()
        try:
            message = FlaskMessageLaunch(FlaskRequest(), tool_conf)
            data = message.get_launch_data()  # runs every validation
        except LtiException as error:
            return f"<p id='refused'>LTI launch refused: {html.escape(str(error))}</p>", 400
        if data["nonce"] in state.used_nonces:
            return "<p id='refused'>LTI launch refused: the id_token was already used</p>", 400
        state.used_nonces.add(data["nonce"])
        state.launches.append(data)
        if state.fetch_members:  # NRPS through PyLTI1p3's own service connector
            state.members.append(message.get_nrps().get_members())
        shown = html.escape(json.dumps(data, indent=2, sort_keys=True))
        return (
            "<!doctype html><html lang='en'><head><title>Test LTI tool</title></head><body>"
            "<h1>Validated LTI launch</h1>"
            f"<p id='context'>{html.escape(data.get('https://purl.imsglobal.org/spec/lti/claim/context', {}).get('title', ''))}</p>"
            f"<pre id='claims'>{shown}</pre></body></html>"
        )

    @app.route("/register", methods=["GET"])
    def register():
        config_url = request.args.get("openid_configuration", "")
        token = request.args.get("registration_token", "")
        config = requests.get(config_url, timeout=10).json()
        if not config_url.startswith(config["issuer"]):
            return "the configuration's issuer does not match its URL", 400
        base = f"http://{request.host}"
        registration = {
            "application_type": "web",
            "response_types": ["id_token"],
            "grant_types": ["implicit", "client_credentials"],
            "initiate_login_uri": f"{base}/login",
            "redirect_uris": [f"{base}/launch"],
            "client_name": "Test LTI tool",
            "jwks_uri": f"{base}/jwks",
            "token_endpoint_auth_method": "private_key_jwt",
            "scope": "",
            LTI_TOOL_CONFIGURATION: {
                "domain": urlsplit(base).netloc,
                "target_link_uri": f"{base}/launch",
                "custom_parameters": {"registered": "dynamically"},
                "claims": ["iss", "sub", "name"],
                "messages": [{"type": "LtiResourceLinkRequest"}],
            },
        }
        answer = requests.post(
            config["registration_endpoint"],
            json=registration,
            headers={"Authorization": f"Bearer {token}"} if token else {},
            timeout=10,
        )
        state.registrations.append({"status": answer.status_code, "body": answer.json()})
        if answer.ok:
            body = answer.json()
            state.issuer = config["issuer"]
            state.client_id = body["client_id"]
            state.key_set_url = config["jwks_uri"]
        return (
            "<!doctype html><html><body>"
            f"<p id='registered'>registration answered {answer.status_code}</p>"
            "<script>(window.opener || window.parent).postMessage("
            "{subject: 'org.imsglobal.lti.close'}, '*');</script></body></html>"
        )

    @app.route("/jwks")
    def jwks():
        return state.jwks()

    return app


class RunningTool:
    """The tool on a free 127.0.0.1 port, in a thread."""

    def __init__(self, state: ToolState | None = None) -> None:
        self.state = state or ToolState()
        self._server = make_server("127.0.0.1", 0, create_app(self.state), threaded=True)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return self.base_url + path

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
