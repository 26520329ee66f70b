"""Exceptions API code raises for a problem response (imports nothing of DRF's views).

Kept apart from market.api.problems so that parsers can use them without an import cycle
(rest_framework.views imports the configured parsers while it loads).
"""

from collections.abc import Iterable

from rest_framework import exceptions, status

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://market.example/problems/"


class ProblemException(exceptions.APIException):
    """Raised by views for a problem with its own type, status and field errors."""

    def __init__(
        self,
        *,
        status_code: int,
        slug: str,
        title: str,
        detail: str,
        errors: Iterable[dict] = (),
    ):
        super().__init__(detail=detail)
        self.status_code = status_code
        self.slug = slug
        self.title = title
        self.errors = list(errors)


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"
