"""The market as an LTI 1.3 platform (1EdTech LTI 1.3 Core, Security Framework 1.0).

A launch has three legs, all in the user's browser, and no token ever travels in a URL:

1. ``launch_start``: the market answers the school page's "open" button with an
   auto-submitting form that POSTs the third-party initiated login (Security Framework 5.1.1.1)
   to the tool: ``iss``, ``login_hint``, ``lti_message_hint``, ``target_link_uri``,
   ``client_id``, ``lti_deployment_id``. ``lti_message_hint`` is an opaque, single-use handle
   of a ``Login`` row bound to the user, the tenant and the tool; it expires after
   ``LOGIN_TTL``.
2. The tool redirects the browser to the market's authorization endpoint (5.1.1.2);
   ``lti_authorize`` checks client_id, redirect_uri, the response type and mode, nonce, that the
   signed-in user is the one the login was made for, that the login is fresh and unused, and
   that the nonce was never seen for this tool.
3. The market answers with an auto-submitting form that POSTs ``id_token`` and ``state`` to the
   redirect_uri (5.1.1.3): the resource link launch message (LTI 1.3 Core 5.3 and 5.4).

Services without an ``lti`` manifest section keep the market's simple launch, as a form POST of
the launch token to ``user_access`` (``simple_launch``).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlencode

import jwt
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lti import claims as c
from lti.errors import LtiError
from lti.models import Deployment, Login, RegistrationToken, Tool
from lti.nrps import NRPS_CLAIM as nrps_claim_name
from lti.nrps import nrps_claim
from lti.platform import absolute, issuer
from lti.registration import check_tool_url, registration_response, registration_values
from market.models import User
from services.models import Service
from services.vendor_client.jwt_keys import (
    ALGORITHM,
    issue_launch_token,
    key_id,
    market_private_key,
)
from services.vendor_client.urls import standard_url
from tenants import selectors as tenant_selectors
from tenants.models import Subscription, Tenant

logger = logging.getLogger(__name__)

LOGIN_TTL = timedelta(minutes=5)
LOGIN_RETENTION = timedelta(days=1)
ID_TOKEN_TTL = 300
SIMPLE_LAUNCH_TOKEN_TTL = 300
REGISTRATION_TOKEN_TTL = timedelta(hours=1)
PRODUCT_FAMILY_CODE = "service-market"


@dataclass(frozen=True)
class FormPost:
    """An auto-submitting form the browser posts: where, and the fields (never in a URL)."""

    action: str
    fields: dict[str, str] = field(default_factory=dict)


# -- tools and deployments ---------------------------------------------------------------------


def lti_tool_sync(*, service: Service) -> Tool | None:
    """The service's LTI tool, created or refreshed from its manifest's ``lti`` section.

    A tool that registered itself through Dynamic Registration keeps that registration: the
    manifest section is used only for tools the manifest created (or none yet).
    """
    block = service.manifest_data.get("lti")
    tool = Tool.objects.filter(service=service).first()
    if not isinstance(block, dict):
        return tool if tool is not None and tool.source == Tool.Source.DYNAMIC else None
    if tool is not None and tool.source == Tool.Source.DYNAMIC:
        return tool
    values = {
        "source": Tool.Source.MANIFEST,
        "name": service.name,
        "login_initiation_url": block["login_initiation_url"],
        "target_link_uri": block["target_link_uri"],
        "redirect_uris": list(block.get("redirect_uris") or [block["target_link_uri"]]),
        "jwks_url": block.get("jwks_url", ""),
        "custom": dict(block.get("custom") or {}),
    }
    if tool is None:
        return Tool.objects.create(service=service, **values)
    changed = [name for name, value in values.items() if getattr(tool, name) != value]
    if changed:
        for name in changed:
            setattr(tool, name, values[name])
        tool.save(update_fields=[*changed, "updated_at"])
    return tool


def deployment_for(*, tool: Tool, tenant: Tenant) -> Deployment:
    """The one deployment of ``tool`` for ``tenant`` (created on first use)."""
    deployment, _created = Deployment.objects.get_or_create(tenant=tenant, defaults={"tool": tool})
    if deployment.tool_id != tool.pk:
        # The tenant's service re-registered as a new tool: the deployment follows it.
        deployment.tool = tool
        deployment.save(update_fields=["tool", "updated_at"])
    return deployment


def deployments_ensure(*, tool: Tool) -> list[Deployment]:
    """A deployment for every tenant of the tool's service, so the vendor can configure them."""
    missing = Tenant.objects.filter(service=tool.service_id, lti_deployment__isnull=True)
    for tenant in missing:
        deployment_for(tool=tool, tenant=tenant)
    return list(
        tool.deployments.select_related("tenant__organization").order_by("created_at", "pk")
    )


# -- leg 1: the launch button ------------------------------------------------------------------


def launch_start(*, user: User, subscription: Subscription) -> FormPost | str:
    """What the browser does when ``user`` opens ``subscription``'s service.

    Returns the form to post (LTI login initiation or the simple launch) or, for a service
    without launch, its plain access URL. Raises LtiError when the service cannot be opened.
    """
    tenant = subscription.tenant
    if not (subscription.is_live and tenant_selectors.is_usable(tenant)):
        raise LtiError(
            _("The service is not active yet, so it cannot be opened."),
            code="not_active",
            status=409,
        )
    tool = lti_tool_sync(service=subscription.service)
    if tool is not None:
        return _login_initiation(user=user, tool=tool, tenant=tenant)
    form = simple_launch(user=user, subscription=subscription)
    if form is not None:
        return form
    if tenant.access_url:
        return tenant.access_url
    raise LtiError(_("The vendor gave no access URL for this service."), code="no_access_url")


def logins_purge(*, now=None) -> int:
    """Forget logins older than ``LOGIN_RETENTION``: their id_tokens expired long ago.

    A used login keeps its nonce so that the nonce cannot be used again with the tool; once
    the login and every id_token made from it have expired, the nonce protects nothing.
    """
    cutoff = (now or timezone.now()) - LOGIN_RETENTION
    deleted, _by_model = Login.objects.filter(expires_at__lt=cutoff).delete()
    return deleted


@transaction.atomic
def _login_initiation(*, user: User, tool: Tool, tenant: Tenant) -> FormPost:
    logins_purge()  # cheap (indexed) and keeps the table to about a day of launches
    deployment = deployment_for(tool=tool, tenant=tenant)
    login = Login.objects.create(
        tool=tool,
        deployment=deployment,
        user=user,
        target_link_uri=tool.target_link_uri,
        expires_at=timezone.now() + LOGIN_TTL,
    )
    return FormPost(
        action=tool.login_initiation_url,
        fields={
            "iss": issuer(),
            "login_hint": subject_of(user),
            "lti_message_hint": login.handle,
            "target_link_uri": tool.target_link_uri,
            "client_id": tool.client_id,
            "lti_deployment_id": deployment.deployment_id,
        },
    )


def simple_launch(*, user: User, subscription: Subscription) -> FormPost | None:
    """The market's own launch: a form POST of a 5-minute launch token to ``user_access``."""
    manifest = subscription.service.manifest_data
    user_access = (manifest.get("endpoints") or {}).get("user_access")
    if (manifest.get("launch") or {}).get("supported") is not True or not user_access:
        return None
    tenant = subscription.tenant
    action = standard_url(
        manifest["endpoints"]["base_url"], user_access, tenant_id=tenant.tenant_id
    )
    token = issue_launch_token(
        service_id=subscription.service.service_id,
        tenant_id=tenant.tenant_id,
        user_id=user.pk,
        role="school_admin",
        ttl=SIMPLE_LAUNCH_TOKEN_TTL,
    )
    return FormPost(action=action, fields={"launch_token": token})


def subject_of(user: User) -> str:
    """The ``sub`` (and ``login_hint``) of a market user: stable, opaque to the tool."""
    return str(user.pk)


# -- leg 2 and 3: the authorization endpoint ---------------------------------------------------


def _refuse(message: str, *, code: str, status: int = 400, **context) -> LtiError:
    logger.warning("LTI authorization refused (%s): %s %s", code, message, context)
    return LtiError(message, code=code, status=status)


def lti_authorize(*, user: User | None, params: dict[str, str]) -> FormPost:
    """Check an OIDC authentication request from a tool and answer with the launch.

    Nothing is stored unless every check passes; then the login is marked used and its nonce
    recorded, in one transaction, so neither can be replayed.
    """
    client_id = params.get("client_id", "")
    tool = Tool.objects.select_related("service").filter(client_id=client_id).first()
    if tool is None:
        raise _refuse(
            _(
                "The tool sent the client_id %(client_id)s, which the market did not issue: "
                "configure the tool with the client_id shown on the vendor's LTI page."
            )
            % {"client_id": client_id or "(none)"},
            code="unauthorized_client",
            client_id=client_id,
        )
    redirect_uri = params.get("redirect_uri", "")
    if redirect_uri not in tool.redirect_uris:
        raise _refuse(
            _(
                "The redirect_uri %(uri)s is not registered for this tool: use one of "
                "%(registered)s, or register it in the manifest's lti.redirect_uris."
            )
            % {"uri": redirect_uri or "(none)", "registered": ", ".join(tool.redirect_uris)},
            code="invalid_redirect_uri",
            client_id=client_id,
        )
    expected = {"response_type": "id_token", "response_mode": "form_post"}
    for name, value in expected.items():
        if params.get(name) != value:
            raise _refuse(
                _("The request must have %(name)s=%(value)s (found %(found)s).")
                % {"name": name, "value": value, "found": params.get(name) or _("nothing")},
                code="invalid_request",
                client_id=client_id,
            )
    if "openid" not in params.get("scope", "").split():
        raise _refuse(
            _("The request's scope must contain openid."),
            code="invalid_scope",
            client_id=client_id,
        )
    if params.get("prompt", "none") != "none":
        raise _refuse(
            _("The market only answers prompt=none."), code="invalid_request", client_id=client_id
        )
    nonce = params.get("nonce", "")
    if not nonce or len(nonce) > 255:
        raise _refuse(
            _("The request needs a nonce of 1 to 255 characters."),
            code="invalid_request",
            client_id=client_id,
        )
    if user is None or not user.is_authenticated:
        raise _refuse(
            _("Sign in to the market, then open the service again from your school's page."),
            code="login_required",
            status=401,
            client_id=client_id,
        )
    with transaction.atomic():
        login = (
            Login.objects.select_for_update()
            .select_related("deployment__tenant__organization", "tool__service")
            .filter(handle=params.get("lti_message_hint", ""), tool=tool)
            .first()
        )
        if login is None:
            raise _refuse(
                _(
                    "This launch is unknown to the market (lti_message_hint does not match a "
                    "launch of this tool): open the service again from your school's page."
                ),
                code="invalid_request",
                client_id=client_id,
            )
        if login.user_id != user.pk or params.get("login_hint") != subject_of(user):
            raise _refuse(
                _(
                    "This launch was started by another user: open the service from your own "
                    "school's page."
                ),
                code="access_denied",
                status=403,
                client_id=client_id,
                login=login.pk,
                user=user.pk,
            )
        if login.used_at is not None:
            raise _refuse(
                _("This launch was already used: open the service again from your school's page."),
                code="invalid_request",
                client_id=client_id,
                login=login.pk,
            )
        if login.is_expired():
            raise _refuse(
                _(
                    "This launch expired (a launch is valid for %(minutes)d minutes): open the "
                    "service again from your school's page."
                )
                % {"minutes": LOGIN_TTL.seconds // 60},
                code="invalid_request",
                client_id=client_id,
                login=login.pk,
            )
        tenant = login.deployment.tenant
        if tenant.organization_id != user.organization_id or not tenant_selectors.is_usable(tenant):
            raise _refuse(
                _("This service is not open for your school: ask the school's administrator."),
                code="access_denied",
                status=403,
                client_id=client_id,
                login=login.pk,
            )
        if Login.objects.filter(tool=tool, nonce=nonce).exists():
            raise _refuse(
                _("This nonce was already used with this tool: the tool must send a new nonce."),
                code="invalid_request",
                reason="nonce_reused",
                client_id=client_id,
                login=login.pk,
            )
        login.used_at = timezone.now()
        login.nonce = nonce
        try:
            with transaction.atomic():
                login.save(update_fields=["used_at", "nonce", "updated_at"])
        except IntegrityError:  # a concurrent request with the same nonce won the race
            raise _refuse(
                _("This nonce was already used with this tool: the tool must send a new nonce."),
                code="invalid_request",
                reason="nonce_reused",
                client_id=client_id,
            ) from None
        token = id_token(login=login, user=user, nonce=nonce)
    fields = {"id_token": token}
    if "state" in params:
        fields["state"] = params["state"]
    logger.info("LTI launch of %s for tenant %s by user %s", tool, tenant.tenant_id, user.pk)
    return FormPost(action=redirect_uri, fields=fields)


def launch_claims(*, login: Login, user: User, nonce: str) -> dict:
    """The LtiResourceLinkRequest message (LTI 1.3 Core 5.3 required, 5.4 optional claims)."""
    tool = login.tool
    deployment = login.deployment
    tenant = deployment.tenant
    organization = tenant.organization
    now = int(time.time())
    message = {
        "iss": issuer(),
        "aud": tool.client_id,
        "azp": tool.client_id,
        "sub": subject_of(user),
        "iat": now,
        "nbf": now,
        "exp": now + ID_TOKEN_TTL,
        "nonce": nonce,
        "jti": uuid.uuid4().hex,
        "name": user.get_full_name() or user.get_username(),
        "email": user.email,
        "locale": user.preferred_language,
        c.MESSAGE_TYPE: c.RESOURCE_LINK_REQUEST,
        c.VERSION: c.LTI_VERSION,
        c.DEPLOYMENT_ID: deployment.deployment_id,
        c.TARGET_LINK_URI: login.target_link_uri,
        c.RESOURCE_LINK: {
            "id": f"{deployment.deployment_id}:service",
            "title": tool.service.name,
        },
        c.ROLES: c.lis_roles(user),
        c.CONTEXT: {
            "id": tenant.tenant_id,
            "label": organization.slug,
            "title": organization.name,
            "type": [c.CONTEXT_TYPE_GROUP],
        },
        c.TOOL_PLATFORM: {
            "guid": hashlib.sha256(issuer().encode()).hexdigest()[:32],
            "name": "Service Market",
            "url": issuer(),
            "product_family_code": PRODUCT_FAMILY_CODE,
            "version": "1",
        },
        c.LAUNCH_PRESENTATION: {"document_target": "window", "locale": user.preferred_language},
    }
    if tool.custom:
        message[c.CUSTOM] = {str(k): str(v) for k, v in tool.custom.items()}
    message[nrps_claim_name] = nrps_claim(deployment)
    return message


def id_token(*, login: Login, user: User, nonce: str) -> str:
    """The signed launch message (RS256, ``kid`` of the market's current key)."""
    return jwt.encode(
        launch_claims(login=login, user=user, nonce=nonce),
        market_private_key(),
        algorithm=ALGORITHM,
        headers={"kid": key_id()},
    )


# -- Dynamic Registration (1EdTech LTI Dynamic Registration 1.0) --------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def registration_start(*, service: Service, user: User, initiation_url: str) -> str:
    """The URL that opens the tool's registration for ``service`` (Dynamic Registration 3.3).

    DR 3.3 puts ``openid_configuration`` and ``registration_token`` in the initiation URL's
    query; the token is single-use, valid for an hour and good for one registration of this
    service only (only its hash is stored).
    """

    check_tool_url(initiation_url, field="initiation_url")
    token = secrets.token_urlsafe(32)
    RegistrationToken.objects.create(
        service=service,
        token_hash=_token_hash(token),
        initiation_url=initiation_url,
        created_by=user,
        expires_at=timezone.now() + REGISTRATION_TOKEN_TTL,
    )
    query = urlencode(
        {"openid_configuration": absolute("lti-openid-configuration"), "registration_token": token}
    )
    return f"{initiation_url}{'&' if '?' in initiation_url else '?'}{query}"


def registration_token_check(token: str) -> RegistrationToken:
    """The unused, unexpired registration token row for ``token``, or LtiError (401)."""
    row = (
        RegistrationToken.objects.select_related("service")
        .filter(token_hash=_token_hash(token or ""))
        .first()
    )
    if row is None or row.used_at is not None or row.expires_at <= timezone.now():
        logger.warning("LTI registration refused: unknown, used or expired registration token")
        raise LtiError(
            _(
                "The registration token is unknown, used or expired: start the registration "
                "again from the vendor's LTI page."
            ),
            code="invalid_token",
            status=401,
        )
    return row


def lti_register(*, token: str, body: object) -> tuple[Tool, dict]:
    """Register a tool from its Dynamic Registration request (3.5) and link it to the service.

    Returns the tool and the registration response (3.5). Nothing is stored when the request
    or the token is refused.
    """

    row = registration_token_check(token)
    values = registration_values(body)
    with transaction.atomic():
        locked = RegistrationToken.objects.select_for_update().get(pk=row.pk)
        if locked.used_at is not None:
            raise LtiError(
                _("The registration token was already used: start the registration again."),
                code="invalid_token",
                status=401,
            )
        tool = Tool.objects.filter(service=row.service).first()
        if tool is None:
            tool = Tool(service=row.service)
        for name, value in values.items():
            setattr(tool, name, value)
        tool.source = Tool.Source.DYNAMIC
        tool.save()
        locked.used_at = timezone.now()
        locked.save(update_fields=["used_at", "updated_at"])
    logger.info("LTI tool %s registered itself for %s", tool.client_id, row.service.service_id)
    return tool, registration_response(tool)
