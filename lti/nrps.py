"""LTI Advantage Names and Role Provisioning Services 2.0 and the token endpoint it needs.

- ``access_token_issue``: the OAuth 2 client_credentials grant with a signed JWT assertion
  (1EdTech Security Framework 1.0, 4.1; RFC 7523): the tool signs ``iss`` = ``sub`` = its
  client_id, ``aud`` = the token endpoint, with a key from its registered ``jwks_url``, which
  the market fetches through the guarded outbound client. Each assertion (``jti``) is
  accepted once.
- ``memberships``: the context membership of one deployment (NRPS 2.0, 2.x): the school's
  market users with their LIS roles. A token works only for its own tool's deployments, so a
  tool sees the members of the schools it is deployed in, one school per URL, and never
  another tool's.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from datetime import timedelta

import jwt
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from lti import claims as c
from lti.errors import LtiError
from lti.models import AccessToken, Deployment, Tool
from lti.platform import absolute, issuer
from market.lib.outbound.http import request as outbound_request
from market.models import User

logger = logging.getLogger(__name__)

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
SUPPORTED_SCOPES = (NRPS_SCOPE,)
ACCESS_TOKEN_TTL = timedelta(hours=1)
MEMBERSHIP_MEDIA_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
MAX_JWKS_BYTES = 64 * 1024


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def memberships_url(deployment: Deployment) -> str:

    return issuer() + reverse("lti-nrps-memberships", args=[deployment.deployment_id])


def nrps_claim(deployment: Deployment) -> dict:
    """The launch claim that tells the tool where the school's members are (NRPS 2.0)."""
    return {"context_memberships_url": memberships_url(deployment), "service_versions": ["2.0"]}


def _refuse(message: str, *, code: str, status: int = 400) -> LtiError:
    logger.warning("LTI token request refused (%s): %s", code, message)
    return LtiError(message, code=code, status=status)


def _tool_keys(tool: Tool) -> jwt.PyJWKSet:
    """The tool's public keys, fetched from its jwks_url through the guarded client."""
    if not tool.jwks_url:
        raise _refuse(
            "The tool registered no jwks_url, so its client assertion cannot be checked: add "
            "lti.jwks_url to the manifest (or jwks_uri to the registration).",
            code="invalid_client",
            status=401,
        )
    answer = outbound_request(
        "GET",
        tool.jwks_url,
        headers={"Accept": "application/json"},
        connect_timeout=settings.VENDOR_CONNECT_TIMEOUT,
        total_timeout=settings.VENDOR_TOTAL_TIMEOUT,
        max_bytes=MAX_JWKS_BYTES,
    )
    if not answer.ok:
        raise _refuse(
            f"The tool's jwks_url could not be read: {answer.error}",
            code="invalid_client",
            status=401,
        )
    try:
        return jwt.PyJWKSet.from_dict(json.loads(answer.content))
    except (ValueError, jwt.PyJWTError) as error:
        raise _refuse(
            f"The tool's jwks_url does not hold a JSON Web Key Set: {error}",
            code="invalid_client",
            status=401,
        ) from None


def access_token_issue(*, params: dict[str, str]) -> dict:
    """Answer a token request (RFC 6749 4.4 with an RFC 7523 assertion), or raise LtiError."""

    if params.get("grant_type") != "client_credentials":
        raise _refuse(
            "Only grant_type=client_credentials is supported.", code="unsupported_grant_type"
        )
    if params.get("client_assertion_type") != ASSERTION_TYPE:
        raise _refuse(f"client_assertion_type must be {ASSERTION_TYPE}.", code="invalid_request")
    assertion = params.get("client_assertion", "")
    try:
        unverified = jwt.decode(assertion, options={"verify_signature": False})
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError:
        raise _refuse("client_assertion is not a JWT.", code="invalid_client", status=401) from None
    client_id = str(unverified.get("sub", ""))
    tool = Tool.objects.filter(client_id=client_id).first()
    if tool is None or unverified.get("iss") != client_id:
        raise _refuse(
            "The assertion's iss and sub must both be a client_id the market issued.",
            code="invalid_client",
            status=401,
        )
    keys = _tool_keys(tool)
    candidates = [key for key in keys.keys if header.get("kid") in (None, key.key_id)]
    claims = None
    for key in candidates:
        try:
            claims = jwt.decode(
                assertion,
                key.key,
                algorithms=["RS256"],
                audience=absolute("lti-token"),
                issuer=client_id,
                options={"require": ["exp", "iat", "jti", "sub", "iss", "aud"]},
            )
            break
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError as error:
            raise _refuse(
                f"The client assertion does not check out: {error}",
                code="invalid_client",
                status=401,
            ) from None
    if claims is None:
        raise _refuse(
            "The client assertion is not signed by a key at the tool's jwks_url.",
            code="invalid_client",
            status=401,
        )
    requested = params.get("scope", "").split()
    granted = [scope for scope in requested if scope in SUPPORTED_SCOPES]
    if not granted:
        raise _refuse(
            f"None of the requested scopes is offered; the market offers {' '.join(SUPPORTED_SCOPES)}.",
            code="invalid_scope",
        )
    token = secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            AccessToken.objects.create(
                tool=tool,
                token_hash=_hash(token),
                scopes=granted,
                assertion_jti=str(claims["jti"])[:255],
                expires_at=timezone.now() + ACCESS_TOKEN_TTL,
            )
    except IntegrityError:
        raise _refuse(
            "This client assertion (jti) was already used: sign a new one.",
            code="invalid_grant",
        ) from None
    AccessToken.objects.filter(expires_at__lt=timezone.now() - timedelta(days=1)).delete()
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": int(ACCESS_TOKEN_TTL.total_seconds()),
        "scope": " ".join(granted),
    }


def memberships(*, deployment_id: str, bearer: str) -> dict:
    """The membership container of one deployment's school (NRPS 2.0)."""
    row = (
        AccessToken.objects.select_related("tool")
        .filter(token_hash=_hash(bearer or ""), expires_at__gt=timezone.now())
        .first()
    )
    if row is None or NRPS_SCOPE not in row.scopes:
        raise LtiError(
            "Send a valid access token for the NRPS scope (from the token endpoint).",
            code="invalid_token",
            status=401,
        )
    deployment = (
        Deployment.objects.select_related("tenant__organization")
        .filter(deployment_id=deployment_id, tool=row.tool)
        .first()
    )
    if deployment is None:
        logger.warning("NRPS refused: %s asked for deployment %s", row.tool, deployment_id)
        raise LtiError("No deployment of this tool has that id.", code="not_found", status=404)
    organization = deployment.tenant.organization
    members = [
        {
            "status": "Active",
            "user_id": str(user.pk),
            "name": user.get_full_name() or user.get_username(),
            "email": user.email,
            "roles": c.lis_roles(user),
        }
        for user in User.objects.filter(organization=organization, is_active=True).order_by("pk")
    ]
    return {
        "id": memberships_url(deployment),
        "context": {
            "id": deployment.tenant.tenant_id,
            "label": organization.slug,
            "title": organization.name,
        },
        "members": members,
    }
