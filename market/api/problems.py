"""One error body everywhere: RFC 9457 problem details as `application/problem+json`.

    {"type": "https://market.example/problems/<slug>", "title": str, "status": int,
     "detail": str, "errors": [{"field": str | null, "message": str}]}

`errors` is always present (empty when the problem is not about particular fields). Manifest
errors add `message_ko` and `line` to each item. The type URIs are listed in docs/api.md.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler, set_rollback

from market.api.exceptions import (
    PROBLEM_CONTENT_TYPE,
    PROBLEM_TYPE_BASE,
    PayloadTooLarge,
    ProblemException,
)
from market.errors import DomainError

logger = logging.getLogger(__name__)


# The slug and title of the problem each HTTP status stands for when nothing more specific applies.
_BY_STATUS = {
    400: ("invalid-request", "Invalid request"),
    401: ("not-authenticated", "Not authenticated"),
    403: ("permission-denied", "Permission denied"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    413: ("payload-too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("unprocessable", "Request refused"),
    429: ("throttled", "Too many requests"),
    500: ("server-error", "Server error"),
}


def problem_body(
    *,
    status_code: int,
    detail: str,
    slug: str | None = None,
    title: str | None = None,
    errors: Iterable[dict] = (),
) -> dict:
    default_slug, default_title = _BY_STATUS.get(status_code, ("error", "Error"))
    return {
        "type": PROBLEM_TYPE_BASE + (slug or default_slug),
        "title": title or default_title,
        "status": status_code,
        "detail": str(detail),
        "errors": list(errors),
    }


def problem_response(*, headers: dict | None = None, **body) -> HttpResponse:
    """A plain Django response (never content-negotiated: a problem is always JSON)."""
    data = problem_body(**body)
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False),
        status=data["status"],
        content_type=PROBLEM_CONTENT_TYPE,
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def field_errors(detail, field: str | None = None) -> Iterator[dict]:
    """Flatten DRF's nested validation detail into `{"field": "a.b[0].c", "message"}` items."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key == api_settings.NON_FIELD_ERRORS_KEY:
                yield from field_errors(value, field)
            else:
                yield from field_errors(value, f"{field}.{key}" if field else str(key))
    elif isinstance(detail, list):
        for index, item in enumerate(detail):
            if isinstance(item, dict | list):
                yield from field_errors(item, f"{field}[{index}]" if field else f"[{index}]")
            else:
                yield {"field": field, "message": str(item)}
    else:
        yield {"field": field, "message": str(detail)}


def domain_problem(error: DomainError) -> dict:
    """The problem of any app's domain error: its class says status, type and title."""
    return {
        "status_code": error.status,
        "slug": error.slug,
        "title": str(error.title),
        "detail": error.problem_detail(),
        "errors": error.problem_errors(),
    }


def _api_exception_problem(exc: exceptions.APIException) -> dict:
    code = exc.status_code
    if isinstance(exc, ProblemException):
        return {
            "status_code": code,
            "slug": exc.slug,
            "title": exc.title,
            "detail": exc.detail,
            "errors": exc.errors,
        }
    if isinstance(exc, exceptions.ValidationError):
        errors = list(field_errors(exc.detail))
        first = errors[0]["message"] if errors else ""
        detail = (
            first
            if len(errors) == 1
            else _("The request has %(n)s problems: see errors.") % {"n": len(errors)}
        )
        return {
            "status_code": code,
            "slug": "validation-error",
            "title": _("Invalid request"),
            "detail": detail,
            "errors": errors,
        }
    if isinstance(exc, exceptions.ParseError):
        return {
            "status_code": code,
            "slug": "malformed-body",
            "title": _("Malformed request body"),
            "detail": str(exc.detail),
            "errors": [{"field": None, "message": str(exc.detail)}],
        }
    detail = exc.detail if not isinstance(exc.detail, dict | list) else _("Request refused.")
    return {"status_code": code, "detail": str(detail)}


def problem_exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: every error, expected or not, becomes a problem response."""
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    if isinstance(exc, DomainError):
        set_rollback()
        return problem_response(**domain_problem(exc))
    drf_response = exception_handler(exc, context)  # maps Http404/PermissionDenied, sets headers
    if drf_response is None:
        set_rollback()
        view = context.get("view")
        logger.exception("unhandled error in API view %s", type(view).__name__ if view else "?")
        return problem_response(
            status_code=500, detail=_("Something went wrong on our side; the error was logged.")
        )
    headers = {
        name: drf_response[name]
        for name in ("WWW-Authenticate", "Retry-After")
        if drf_response.has_header(name)
    }
    api_exc = _as_api_exception(exc)
    return problem_response(headers=headers, **_api_exception_problem(api_exc))


def _as_api_exception(exc) -> exceptions.APIException:
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        return exceptions.PermissionDenied()
    return exc


@csrf_exempt
def api_not_found(request, *args, **kwargs):
    """Any /api/ path that names no endpoint (a plain Django view: it also catches POSTs)."""
    return problem_response(
        status_code=404,
        detail=_("There is no API endpoint at %(path)s; the endpoints are listed at /api/docs/.")
        % {"path": request.path},
    )
