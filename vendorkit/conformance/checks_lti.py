"""The LTI 1.3 tool endpoints, checked only when the manifest declares an ``lti`` block.

The kit plays the platform for one step: it starts an OIDC third-party initiated login
(Security Framework 1.0 §5.1.1.1) and reads the tool's answer, the authentication request
(§5.1.1.2), without following it. It also reads the tool's JWKS (§6.3). These requests are not
the market's signed API calls, so they are not recorded with the run's answers (an HTML login
page is not judged by ``errors.body_shape``).
"""

from __future__ import annotations

import json
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from vendorkit.conformance.context import RunContext
from vendorkit.conformance.session import Exchange
from vendorkit.conformance.transport import TransportError

CHECKS = ("lti.jwks", "lti.login_redirect")
PRIVATE_JWK_MEMBERS = ("d", "p", "q", "dp", "dq", "qi")


def check_lti(run: RunContext) -> None:
    lti = run.profile.lti
    if lti is None:
        run.skip(CHECKS, "the manifest declares no lti block (the service is not an LTI tool)")
        return
    _check_jwks(run, lti)
    _check_login(run, lti)


def _send(run: RunContext, method: str, url: str, **kwargs: Any) -> Exchange:
    headers = kwargs.get("headers", {})
    body = kwargs.get("body", b"")
    exchange = Exchange(method=method, url=url, headers=headers, body=body)
    try:
        exchange.reply = run.session.transport(
            method, url, headers=headers, body=body, timeout=run.session.timeout
        )
    except TransportError as error:
        exchange.error = str(error)
    return exchange


def _check_jwks(run: RunContext, lti: dict[str, Any]) -> None:
    url = lti.get("jwks_url")
    if not isinstance(url, str) or not url:
        run.skip(["lti.jwks"], "the manifest's lti block declares no jwks_url")
        return
    exchange = _send(run, "GET", url, headers={"Accept": "application/json"})
    run.verdict("lti.jwks", jwks_problems(exchange), exchange)


def jwks_problems(exchange: Exchange) -> list[str]:
    if exchange.reply is None:
        return [f"no answer from the JWKS URL: {exchange.error}"]
    if exchange.status != 200:
        return [f"the JWKS URL must answer 200, got HTTP {exchange.status}"]
    try:
        body = json.loads(exchange.reply.body)
    except ValueError:
        return ["the JWKS URL must answer a JSON JWK Set, the body is not JSON"]
    keys = body.get("keys") if isinstance(body, dict) else None
    if not isinstance(keys, list) or not keys:
        return ["the JWK Set must have a non-empty 'keys' list (RFC 7517 §5)"]
    problems = []
    for index, key in enumerate(keys):
        where = f"keys[{index}]"
        if not isinstance(key, dict):
            problems.append(f"{where} must be a JSON object")
            continue
        if key.get("kty") != "RSA":
            problems.append(f"{where}.kty must be 'RSA', got {key.get('kty')!r}")
        for member in ("n", "e", "kid"):
            if not isinstance(key.get(member), str) or not key.get(member):
                problems.append(f"{where} must have a non-empty string {member!r}")
        leaked = [m for m in PRIVATE_JWK_MEMBERS if m in key]
        if leaked:
            problems.append(f"{where} publishes private key members {leaked}: remove them")
    return problems


def _check_login(run: RunContext, lti: dict[str, Any]) -> None:
    login_url = lti.get("login_initiation_url")
    target = lti.get("target_link_uri")
    if not isinstance(login_url, str) or not login_url:
        run.verdict("lti.login_redirect", ["the lti block needs a login_initiation_url"], None)
        return
    redirect_uris = lti.get("redirect_uris") or ([target] if target else [])
    sent = {
        "iss": run.lti_issuer,
        "login_hint": f"kit-user-{secrets.token_hex(4)}",
        "target_link_uri": target or "",
        "client_id": run.lti_client_id,
        "lti_message_hint": f"kit-launch-{secrets.token_hex(8)}",
        "lti_deployment_id": "conformance-kit-deployment",
    }
    body = urlencode(sent).encode()
    exchange = _send(
        run,
        "POST",
        login_url,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=body,
    )
    authorize = run.lti_authorization_endpoint or f"{run.lti_issuer.rstrip('/')}/lti/authorize"
    run.verdict(
        "lti.login_redirect",
        login_problems(exchange, sent=sent, authorize=authorize, redirect_uris=redirect_uris),
        exchange,
    )


def login_problems(
    exchange: Exchange, *, sent: dict[str, str], authorize: str, redirect_uris: list[str]
) -> list[str]:
    if exchange.reply is None:
        return [f"no answer from the login initiation URL: {exchange.error}"]
    if exchange.status not in (302, 303):
        return [
            f"the login initiation URL must redirect (302/303) to the platform's authorization "
            f"endpoint, got HTTP {exchange.status} (is the tool configured with issuer "
            f"{sent['iss']!r} and client_id {sent['client_id']!r}?)"
        ]
    location = exchange.reply.headers.get("location", "")
    parts = urlsplit(location)
    where = f"{parts.scheme}://{parts.netloc}{parts.path}"
    problems = []
    if where != authorize:
        problems.append(f"the redirect must go to {authorize!r}, got {where!r}")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    fixed = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": sent["client_id"],
        "login_hint": sent["login_hint"],
        "lti_message_hint": sent["lti_message_hint"],
    }
    for name, wanted in fixed.items():
        if query.get(name) != wanted:
            problems.append(f"'{name}' must be {wanted!r}, got {query.get(name)!r}")
    for name in ("nonce", "state"):
        if not query.get(name):
            problems.append(f"a non-empty '{name}' is required")
    if query.get("redirect_uri") not in redirect_uris:
        problems.append(
            f"'redirect_uri' must be one of the manifest's redirect_uris {redirect_uris}, "
            f"got {query.get('redirect_uri')!r}"
        )
    return problems
