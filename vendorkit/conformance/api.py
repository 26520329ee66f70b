"""``run_checks``: the kit's Python entry point (the command line and the market use it)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from vendorkit.conformance.context import RunContext
from vendorkit.conformance.expect import rfc3339
from vendorkit.conformance.oauth2 import ClientCredentials, TokenError
from vendorkit.conformance.report import Report
from vendorkit.conformance.runner import run_all
from vendorkit.conformance.session import AuthHeaders, SignedSession
from vendorkit.conformance.target import ManifestLoadError, build_profile, load_manifest
from vendorkit.conformance.transport import Transport, http_client_transport

DEFAULT_TENANT_PREFIX = "conformance_"
DEFAULT_TIMEOUT_SECONDS = 10.0


class RunError(ManifestLoadError):
    """The run cannot be made (the command line exits 2): an unusable manifest, options or
    OAuth2 token endpoint. Subclasses ``ManifestLoadError`` so kit 1.0 callers still catch it."""


def run_checks(
    *,
    base_url: str | None,
    api_key: str,
    signing_secret: str | list[str],
    manifest: dict[str, Any] | str | Path | None = None,
    tenant_prefix: str = DEFAULT_TENANT_PREFIX,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    transport: Transport | None = None,
    auth_headers: AuthHeaders | None = None,
    oauth_client_secret: str = "",
    oauth_client_id: str = "",
    token_url: str = "",
    bearer_token: str = "",
    lti_issuer: str = "",
    lti_client_id: str = "",
    lti_authorization_endpoint: str = "",
) -> Report:
    """Run every check against the vendor at ``base_url`` and return the report.

    ``manifest`` is the vendor's manifest (a mapping, or a path to a YAML/JSON file); without
    it the standard's default paths are used and optional endpoints are probed. ``base_url``
    overrides the manifest's ``endpoints.base_url``. ``signing_secret`` may be a list while two
    secrets are valid. ``transport`` replaces the standard-library HTTP transport (the market
    passes one guarded against private addresses).

    Authentication follows the manifest's ``auth.type``:

    - ``api_key``: ``api_key`` in the manifest's ``auth.header``;
    - ``oauth2``: a client-credentials token from ``auth.token_url`` (``token_url`` overrides
      it) for ``oauth_client_id`` (default: ``auth.client_id``, else ``service.id``) and
      ``oauth_client_secret``, sent as a bearer token;
    - ``jwt``: ``bearer_token`` (a token your test set-up issued), or ``auth_headers``.

    ``auth_headers`` (a callable giving fresh headers per request) overrides all of them; the
    market passes one that issues its own RS256 service tokens.

    When the manifest declares an ``lti`` block the kit starts an LTI login as the platform
    ``lti_issuer`` with ``lti_client_id`` (the values the tool is configured with) and expects
    the redirect to ``lti_authorization_endpoint`` (default ``<lti_issuer>/lti/authorize``).

    Raises ``RunError`` (a ``ManifestLoadError``) when the manifest cannot be read, no base URL
    is known, or an OAuth2 token cannot be had.
    """
    if isinstance(manifest, str | Path):
        manifest = load_manifest(manifest)
    profile = build_profile(base_url=base_url, manifest=manifest)
    secrets = [signing_secret] if isinstance(signing_secret, str) else list(signing_secret)
    send = transport or http_client_transport
    if auth_headers is None:
        auth_headers = _auth_for(
            profile.auth_type,
            token_url=token_url or profile.token_url,
            client_id=oauth_client_id or profile.oauth_client_id,
            client_secret=oauth_client_secret,
            scope=profile.oauth_scope,
            bearer_token=bearer_token,
            api_key=api_key,
            transport=send,
            timeout=timeout,
        )
    session = SignedSession(
        transport=send,
        api_key=api_key,
        api_key_header=profile.api_key_header,
        signing_secrets=secrets,
        timeout=timeout,
        auth_headers=auth_headers,
    )
    report = Report(base_url=profile.base_url, started_at=rfc3339(time.time()))
    context = RunContext(profile=profile, session=session, tenant_prefix=tenant_prefix)
    context.lti_issuer = lti_issuer or context.lti_issuer
    context.lti_client_id = lti_client_id or context.lti_client_id
    context.lti_authorization_endpoint = lti_authorization_endpoint
    report.reachable = run_all(context)
    context.report(report)
    report.finished_at = rfc3339(time.time())
    return report


def _auth_for(
    auth_type: str,
    *,
    token_url: str,
    client_id: str,
    client_secret: str,
    scope: str,
    bearer_token: str,
    api_key: str,
    transport: Transport,
    timeout: float,
) -> AuthHeaders | None:
    """Fresh authentication headers per request for bearer schemes; None for an API key."""
    if auth_type == "oauth2":
        try:
            credentials = ClientCredentials(
                token_url=token_url,
                client_id=client_id,
                client_secret=client_secret,
                scope=scope,
                transport=transport,
                timeout=timeout,
            )
            credentials.token()  # fail before the first check when no token can be had
        except TokenError as error:
            raise RunError(str(error)) from error
        return credentials
    if auth_type == "jwt":
        if not bearer_token:
            raise RunError(
                "auth.type jwt needs a bearer token: pass one your test set-up issued "
                "(--bearer-token), or run the kit from the market, which signs its own"
            )
        return lambda: {"Authorization": f"Bearer {bearer_token}"}
    if auth_type != "api_key":
        raise RunError(f"auth.type must be api_key, oauth2 or jwt, not {auth_type!r}")
    if not api_key:
        raise RunError("auth.type api_key needs the API key the market issued (--api-key)")
    return None
