"""OpenAPI: every operation documents its problem responses and the bearer security scheme."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from market.api.exceptions import PROBLEM_CONTENT_TYPE

IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"


class ProblemErrorSerializer(serializers.Serializer):
    field = serializers.CharField(
        allow_null=True,
        allow_blank=True,
        help_text="The input at fault (`a.b[0].c`, a JSON pointer for manifests); null for the whole request.",
    )
    message = serializers.CharField(allow_blank=True, help_text="What is wrong and what to do.")
    message_ko = serializers.CharField(
        required=False, allow_blank=True, help_text="The message in Korean (manifest errors)."
    )
    line = serializers.IntegerField(
        required=False, allow_null=True, help_text="Line in the submitted manifest, when known."
    )


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details, served as application/problem+json."""

    type = serializers.CharField(help_text="A URI naming the kind of problem (see docs/api.md).")
    title = serializers.CharField(help_text="A short summary of the kind of problem.")
    status = serializers.IntegerField(help_text="The HTTP status code.")
    detail = serializers.CharField(allow_blank=True, help_text="What happened in this case.")
    errors = ProblemErrorSerializer(many=True, help_text="Field errors; empty when none apply.")


def problem(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=ProblemSerializer, description=description)


def problems(**by_status: str) -> dict:
    """`responses=` entries for problems: `problems(p409="...", p422="...")`."""
    return {
        (int(key.removeprefix("p")), PROBLEM_CONTENT_TYPE): problem(text)
        for key, text in by_status.items()
    }


IDEMPOTENCY_KEY = OpenApiParameter(
    name="Idempotency-Key",
    type={"type": "string", "minLength": 1, "maxLength": 255, "pattern": IDEMPOTENCY_KEY_PATTERN},
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Any unique string (a UUID is best). Retrying a POST with the same key returns the "
        "subscription the first request created instead of creating another."
    ),
)

_ALWAYS = {
    401: "No credentials, or a token that is unknown, expired or revoked.",
    403: "The token's scope may not use this endpoint (or a session request lacks its CSRF token).",
    404: "No such object visible to this token, an unknown page or cursor.",
    406: "The Accept header asks for a representation the endpoint does not offer.",
    429: "Too many requests for this token; wait for Retry-After seconds.",
}
_WITH_INPUT = {400: "The request is malformed: see errors for each field."}
_WITH_BODY = {
    413: "The request body is larger than the market accepts.",
    415: "The Content-Type is not one this endpoint reads.",
}


class MarketAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema plus the problem responses every endpoint can give."""

    def _problem_statuses(self) -> dict[int, str]:
        statuses = dict(_ALWAYS)
        has_body = self.method in ("POST", "PUT", "PATCH")
        if has_body or self._is_list_view():
            statuses.update(_WITH_INPUT)
        if has_body:
            statuses.update(_WITH_BODY)
        return statuses

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status_code, description in sorted(self._problem_statuses().items()):
            key = str(status_code)
            if key in responses:
                continue
            entry = self._get_response_for_code(
                problem(description), key, (PROBLEM_CONTENT_TYPE,), direction
            )
            if status_code == 429:
                entry["headers"] = {
                    "Retry-After": {
                        "schema": {"type": "integer"},
                        "description": "Seconds to wait before the next request.",
                    }
                }
            responses[key] = entry
        return responses


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "market.api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "smk_<prefix>_<secret>",
            "description": (
                "An API token from the portal, `POST /api/v1/tokens` or "
                "`manage.py create_api_token`, scoped to staff, one school or one vendor."
            ),
        }


# Every tag an operation carries (drf-spectacular names them after the first path segment),
# declared once with what it covers: Spectral's `operation-tag-defined` wants each one here.
TAGS = {
    "tokens": "API tokens of your own scope: list, create (the secret is shown once), revoke.",
    "policy": "The market-wide policy: listing approval, usage reports, expiry and retention, "
    "incident alerts. Everyone reads it; staff change it.",
    "services": "The catalog: services, their plans and health; vendors register services and "
    "submit new manifest versions.",
    "manifests": "Check a manifest.yaml against the standard without registering anything.",
    "organizations": "Schools: staff see every school, a school sees itself.",
    "subscriptions": "A school's subscriptions to plans: subscribe, renew, change plan, cancel. "
    "Each change queues an operation at the vendor (202).",
    "tenants": "The tenants the market created at vendors, their lifecycle events and usage "
    "collection.",
    "operations": "The calls the market makes to vendors (activate, deactivate, update, delete) "
    "and their attempts; staff retry or cancel them.",
    "health": "The health checks of the catalog's services and their hourly history.",
    "incidents": "Periods in which a service failed its health checks.",
    "usage": "Monthly usage reports the vendors returned, per tenant.",
    "statements": "Monthly bills of the schools, as JSON or CSV.",
    "events": "The event log: every change the market made or observed that concerns you, "
    "typed, with versioned payload schemas; the same events webhooks deliver.",
    "webhooks": "Endpoints that receive your events, signed per Standard Webhooks: register, "
    "rotate the secret, send a test event, read the delivery log, send again.",
}


class UndeclaredTagError(Exception):
    """An operation carries a tag that TAGS does not describe."""


def declare_tags(result, generator, request, public):
    """drf-spectacular postprocessing hook: the top-level `tags`, with descriptions, in use order.

    An operation whose tag is not in TAGS fails schema generation, so a new endpoint cannot
    ship with an undocumented tag.
    """
    used = []
    for item in result.get("paths", {}).values():
        for operation in item.values():
            for tag in operation.get("tags", []) if isinstance(operation, dict) else []:
                if tag not in used:
                    used.append(tag)
    missing = [tag for tag in used if tag not in TAGS]
    if missing:
        raise UndeclaredTagError(
            f"Describe the OpenAPI tag(s) {', '.join(missing)} in market.api.schema.TAGS."
        )
    result["tags"] = [{"name": tag, "description": TAGS[tag]} for tag in TAGS if tag in used]
    return result
