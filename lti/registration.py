"""LTI Dynamic Registration 1.0: the platform's configuration and the tool's registration.

The market's side of the flow (specification sections in brackets):

- the vendor gives the market its tool's registration initiation URL; the market opens it in
  the vendor's browser with ``openid_configuration`` and a one-time ``registration_token``
  [3.3];
- the tool fetches ``openid_configuration`` [3.4] and POSTs its registration to
  ``registration_endpoint`` with the token as a bearer token [3.5];
- the market validates the request (RFC 7591 errors on refusal), stores the tool for the
  vendor's service and answers with the client_id [3.5]; the tool then closes itself with
  ``org.imsglobal.lti.close`` [3.6]. Deployments are one per school (made when the school's
  tenant exists), so the answer carries no deployment_id.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.utils.translation import gettext as _

from lti import claims as c
from lti.errors import LtiError
from lti.models import Tool
from lti.nrps import NRPS_SCOPE
from lti.platform import absolute, issuer
from market.lib.outbound.guard import BlockedAddress, check_url
from services.standard.manifest import http_url_allowed

MAX_REDIRECT_URIS = 10
MAX_CUSTOM_PARAMETERS = 30


def openid_configuration() -> dict:
    """The platform's OpenID configuration (Dynamic Registration 3.4)."""

    return {
        "issuer": issuer(),
        "authorization_endpoint": absolute("lti-authorize"),
        "registration_endpoint": absolute("lti-register"),
        "jwks_uri": absolute("jwks"),
        "token_endpoint": absolute("lti-token"),
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", NRPS_SCOPE],
        "response_types_supported": ["id_token"],
        "response_modes_supported": ["form_post"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": ["iss", "aud", "sub", "name", "email", "locale"],
        c.PLATFORM_CONFIGURATION: {
            "product_family_code": "service-market",
            "version": "1",
            "messages_supported": [{"type": c.RESOURCE_LINK_REQUEST}],
            "variables": [],
        },
    }


def _invalid(message: str, *, code: str = "invalid_client_metadata") -> LtiError:
    return LtiError(message, code=code, status=400)


def check_tool_url(url: object, *, field: str, code: str = "invalid_client_metadata") -> str:
    """An absolute https URL (http only on allowed development hosts) on a public address."""
    if not isinstance(url, str) or not url:
        raise _invalid(_("%(field)s must be an absolute https URL.") % {"field": field}, code=code)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a bad port)
    except ValueError:
        parts = None
    if parts is None or not parts.hostname or parts.username or parts.fragment or len(url) > 500:
        raise _invalid(
            _("%(field)s %(url)s is not a valid absolute URL (no user info, no #fragment).")
            % {"field": field, "url": url[:500]},
            code=code,
        )
    if parts.scheme != "https" and not http_url_allowed(url):
        raise _invalid(
            _("%(field)s %(url)s must use https.") % {"field": field, "url": url}, code=code
        )
    try:
        check_url(url)
    except BlockedAddress as error:
        raise _invalid(f"{field}: {error}", code=code) from None
    return url


def registration_values(body: object) -> dict:
    """The Tool fields of a registration request, or LtiError with an RFC 7591 error."""
    if not isinstance(body, dict):
        raise _invalid(_("The registration must be a JSON object."))
    if body.get("application_type", "web") != "web":
        raise _invalid(_('application_type must be "web".'))
    for name, needed in (("grant_types", "implicit"), ("response_types", "id_token")):
        values = body.get(name)
        if not isinstance(values, list) or needed not in values:
            raise _invalid(
                _("%(name)s must be a list that contains %(needed)s.")
                % {"name": name, "needed": needed}
            )
    method = body.get("token_endpoint_auth_method", "private_key_jwt")
    if method != "private_key_jwt":
        raise _invalid(_('token_endpoint_auth_method must be "private_key_jwt".'))
    redirect_uris = body.get("redirect_uris")
    if not isinstance(redirect_uris, list) or not 1 <= len(redirect_uris) <= MAX_REDIRECT_URIS:
        raise _invalid(
            _("redirect_uris must list 1 to %(n)d URLs.") % {"n": MAX_REDIRECT_URIS},
            code="invalid_redirect_uri",
        )
    for uri in redirect_uris:
        check_tool_url(uri, field="redirect_uris", code="invalid_redirect_uri")
    login_url = check_tool_url(body.get("initiate_login_uri"), field="initiate_login_uri")
    jwks_url = check_tool_url(body.get("jwks_uri"), field="jwks_uri")
    name = body.get("client_name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise _invalid(_("client_name must be the tool's name (1 to 200 characters)."))
    config = body.get(c.TOOL_CONFIGURATION)
    if not isinstance(config, dict):
        raise _invalid(
            _("The registration needs the %(claim)s object.") % {"claim": c.TOOL_CONFIGURATION}
        )
    domain = config.get("domain")
    if not isinstance(domain, str) or not domain:
        raise _invalid(_("%(claim)s.domain is required.") % {"claim": c.TOOL_CONFIGURATION})
    target = config.get("target_link_uri") or redirect_uris[0]
    check_tool_url(target, field="target_link_uri")
    custom = config.get("custom_parameters") or {}
    if (
        not isinstance(custom, dict)
        or len(custom) > MAX_CUSTOM_PARAMETERS
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in custom.items())
    ):
        raise _invalid(
            _("custom_parameters must map at most %(n)d names to text values.")
            % {"n": MAX_CUSTOM_PARAMETERS}
        )
    messages = config.get("messages") or []
    if not isinstance(messages, list) or any(
        not isinstance(m, dict) or m.get("type") != c.RESOURCE_LINK_REQUEST for m in messages
    ):
        raise _invalid(
            _("The market supports only %(type)s messages.") % {"type": c.RESOURCE_LINK_REQUEST}
        )
    return {
        "name": name.strip(),
        "login_initiation_url": login_url,
        "target_link_uri": target,
        "redirect_uris": list(redirect_uris),
        "jwks_url": jwks_url,
        "custom": dict(custom),
        "registration": body,
    }


def registration_response(tool: Tool) -> dict:
    """The registration answer (3.5): the request as stored, with the issued client_id."""
    body = dict(tool.registration or {})
    config = dict(body.get(c.TOOL_CONFIGURATION) or {})
    config.setdefault("target_link_uri", tool.target_link_uri)
    return {
        **body,
        "client_id": tool.client_id,
        "application_type": "web",
        "response_types": ["id_token"],
        "token_endpoint_auth_method": "private_key_jwt",
        "redirect_uris": tool.redirect_uris,
        "initiate_login_uri": tool.login_initiation_url,
        "jwks_uri": tool.jwks_url,
        "client_name": tool.name,
        c.TOOL_CONFIGURATION: config,
    }
