"""The LTI platform's pages and endpoints: thin wrappers over ``lti.services``.

Browser endpoints answer refusals with an error page that says what to do; machine endpoints
(registration, token) answer JSON in the OAuth 2 error shape (RFC 6749 5.2, RFC 7591 3.2.2).
"""

import json
import logging
from urllib.parse import urlsplit

from django.contrib import messages
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lti.errors import LtiError
from lti.nrps import MEMBERSHIP_MEDIA_TYPE, access_token_issue, memberships
from lti.registration import openid_configuration as platform_configuration
from lti.services import (
    FormPost,
    deployments_ensure,
    launch_start,
    lti_authorize,
    lti_register,
    lti_tool_sync,
    registration_start,
)
from market.middleware import CONTENT_SECURITY_POLICY
from market.permissions import school_admin_required, vendor_user_required
from services.models import Service
from tenants import selectors as tenant_selectors

logger = logging.getLogger(__name__)

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache", "Referrer-Policy": "no-referrer"}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _policy(*, directive: str, url: str) -> str:
    """The market's CSP, with one other origin allowed for ``directive``."""
    extra = f"{directive} 'self' {_origin(url)}"
    if f"{directive} 'self'" in CONTENT_SECURITY_POLICY:
        return CONTENT_SECURITY_POLICY.replace(f"{directive} 'self'", extra)
    return f"{CONTENT_SECURITY_POLICY}; {extra}"


def _form_post(request, form: FormPost):
    """An auto-submitting form: the tokens travel in the POST body, never in a URL."""
    response = render(request, "lti/form_post.html", {"form": form})
    for name, value in _NO_STORE.items():
        response[name] = value
    response["Content-Security-Policy"] = _policy(directive="form-action", url=form.action)
    return response


def _error_page(request, error: LtiError):
    return render(request, "lti/error.html", {"error": error}, status=error.status)


def _json_error(error: LtiError):
    return JsonResponse(
        {"error": error.code, "error_description": error.message},
        status=error.status,
        headers=_NO_STORE,
    )


@school_admin_required
@require_GET
@never_cache
def launch(request, pk: int):
    """The school page's "open" button: LTI login initiation, simple launch or access URL."""
    subscription = tenant_selectors.school_subscription(
        organization=request.user.organization, pk=pk
    )
    try:
        outcome = launch_start(user=request.user, subscription=subscription)
    except LtiError as error:
        messages.error(request, error.message)
        return redirect("school-subscription", pk=subscription.pk)
    if isinstance(outcome, FormPost):
        return _form_post(request, outcome)
    return HttpResponseRedirect(outcome)


@csrf_exempt  # the tool's redirect (GET) or form (POST); nothing here trusts the session alone
@require_http_methods(["GET", "POST"])
@never_cache
def authorize(request):
    """The OIDC authorization endpoint (Security Framework 5.1.1.2 and 5.1.1.3)."""
    params = (request.POST if request.method == "POST" else request.GET).dict()
    try:
        form = lti_authorize(user=request.user, params=params)
    except LtiError as error:
        return _error_page(request, error)
    return _form_post(request, form)


@require_GET
def openid_configuration(request):
    response = JsonResponse(platform_configuration())
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "public, max-age=300"
    return response


@csrf_exempt
@require_POST
def register(request):
    """The Dynamic Registration endpoint (3.5): a bearer registration token and JSON."""
    authorization = request.headers.get("Authorization", "")
    scheme, _space, token = authorization.partition(" ")
    try:
        if scheme.lower() != "bearer" or not token:
            raise LtiError(
                "Send the registration token as Authorization: Bearer <registration_token>.",
                code="invalid_token",
                status=401,
            )
        try:
            body = json.loads(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise LtiError(
                "The body must be a JSON object (Content-Type: application/json).",
                code="invalid_client_metadata",
            ) from None
        _tool, answer = lti_register(token=token.strip(), body=body)
    except LtiError as error:
        logger.warning("LTI registration refused (%s): %s", error.code, error.message)
        return _json_error(error)
    return JsonResponse(answer, headers=_NO_STORE)


@csrf_exempt  # a machine endpoint: the client authenticates with a signed JWT, no cookie
@require_POST
def token(request):
    """The token endpoint: client_credentials with a JWT client assertion (for NRPS)."""
    try:
        answer = access_token_issue(params=request.POST.dict())
    except LtiError as error:
        return _json_error(error)
    return JsonResponse(answer, headers=_NO_STORE)


@require_GET
def nrps_memberships(request, deployment_id: str):
    """Names and Role Provisioning Services 2.0: the school's members, for its own tool."""
    scheme, _space, bearer = request.headers.get("Authorization", "").partition(" ")
    try:
        if scheme.lower() != "bearer":
            raise LtiError(
                "Send Authorization: Bearer <access token from the token endpoint>.",
                code="invalid_token",
                status=401,
            )
        container = memberships(deployment_id=deployment_id, bearer=bearer.strip())
    except LtiError as error:
        return _json_error(error)
    response = JsonResponse(container, headers=_NO_STORE)
    response["Content-Type"] = MEMBERSHIP_MEDIA_TYPE
    return response


# -- the vendor's LTI page ---------------------------------------------------------------------


def _vendor_service(request, service_id: str) -> Service:
    service = Service.objects.filter(vendor=request.user.vendor, service_id=service_id).first()
    if service is None:
        raise Http404("No such service of yours.")
    return service


@vendor_user_required
@never_cache
def vendor_tools(request):
    """What a vendor configures in its tool: issuer, endpoints, client_id, deployments."""
    rows = []
    for service in Service.objects.filter(vendor=request.user.vendor).order_by("name"):
        tool = lti_tool_sync(service=service)
        deployments = deployments_ensure(tool=tool) if tool else []
        rows.append({"service": service, "tool": tool, "deployments": deployments})
    config = platform_configuration()
    return render(request, "lti/vendor_tools.html", {"rows": rows, "config": config})


@vendor_user_required
@require_POST
@never_cache
def vendor_register(request, service_id: str):
    """Start Dynamic Registration: open the tool's initiation URL with a one-time token."""
    service = _vendor_service(request, service_id)
    initiation_url = request.POST.get("initiation_url", "").strip()
    try:
        frame_url = registration_start(
            service=service, user=request.user, initiation_url=initiation_url
        )
    except LtiError as error:
        messages.error(request, error.message)
        return redirect("lti-vendor-tools")
    response = render(
        request,
        "lti/vendor_register.html",
        {
            "service": service,
            "frame_url": frame_url,
            "done_url": reverse("lti-vendor-tools"),
        },
    )
    for name, value in _NO_STORE.items():
        response[name] = value
    response["Content-Security-Policy"] = _policy(directive="frame-src", url=initiation_url)
    return response
