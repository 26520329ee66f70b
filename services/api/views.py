"""Catalog, service registration and manifest endpoints."""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from market.api.base import ApiViewMixin, ReadOnlyApiViewSet
from market.api.parsers import MANIFEST_PARSERS, manifest_text_of
from market.api.permissions import require_scope
from market.api.principal import VENDOR
from market.api.schema import problems
from services.api.filters import ServiceFilter
from services.api.problems import manifest_invalid, registration_problem
from services.api.selectors import catalog_services, managed_services, manifest_history
from services.api.serializers import (
    MANIFEST_REQUEST_BODY,
    ManifestSubmittedSerializer,
    ManifestValidSerializer,
    ManifestVersionSerializer,
    ServiceDetailSerializer,
    ServiceRegisteredSerializer,
    ServiceSerializer,
)
from services.models import Service, Vendor
from services.services import RegistrationError, manifest_diff, manifest_update, service_register
from services.standard.manifest import validate_manifest_text

SERVICE_ID_REGEX = r"[a-z][a-z0-9_-]{1,63}"

MANIFEST_EXAMPLE = OpenApiExample(
    "A manifest",
    value='version: "1.0"\nservice:\n  id: keli_tutor\n  ...',
    media_type="application/yaml",
    request_only=True,
)


def _manifest_text(request) -> str:
    """The body as text; a body that is not UTF-8 is answered with the validator's 422."""
    raw = manifest_text_of(request)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise manifest_invalid(validate_manifest_text(raw).errors) from None


@extend_schema_view(
    list=extend_schema(
        summary="List the catalog",
        description=(
            "Listed services with their active plans and health; a vendor also sees its own "
            "unlisted services, a school the services it already uses, staff everything."
        ),
    ),
    retrieve=extend_schema(
        summary="Get one service with its current manifest",
        description="The service, its plans and health, and the manifest version in force.",
    ),
)
class ServiceViewSet(ReadOnlyApiViewSet):
    lookup_field = "service_id"
    lookup_value_regex = SERVICE_ID_REGEX
    parser_classes = MANIFEST_PARSERS
    filter_backends = [DjangoFilterBackend, SearchFilter, OrderingFilter]
    filterset_class = ServiceFilter
    search_fields = ["name", "description", "service_id"]
    ordering_fields = ["name", "service_id", "created_at"]
    ordering = ["name", "id"]

    def get_queryset(self):
        return catalog_services(self.principal)

    def get_serializer_class(self):
        return ServiceSerializer if self.action == "list" else ServiceDetailSerializer

    @extend_schema(
        summary="Register a service (vendor tokens)",
        description=(
            "The body is the service's first manifest.yaml. The market validates it, refuses "
            "private addresses, calls the service's health endpoint and registers it. The "
            "credentials the market will use with the service are in the response, once."
        ),
        request=MANIFEST_REQUEST_BODY,
        examples=[MANIFEST_EXAMPLE],
        responses={
            201: ServiceRegisteredSerializer,
            **problems(
                p409="The service id is taken.",
                p422="The manifest is invalid or the service did not answer its health check.",
            ),
        },
    )
    def create(self, request):
        require_scope(request, VENDOR)
        raw_text = _manifest_text(request)
        vendor = Vendor.objects.get(pk=self.principal.vendor_id)
        try:
            service, issued = service_register(
                vendor=vendor, raw_text=raw_text, submitted_by=self.principal.user
            )
        except RegistrationError as error:
            raise registration_problem(error, conflict=_id_taken(error, raw_text, vendor)) from None
        service = self.get_queryset().get(pk=service.pk)
        body = {
            "service": ServiceDetailSerializer(service).data,
            "credentials": {"api_key": issued.api_key, "signing_secret": issued.signing_secret},
        }
        response = Response(body, status=status.HTTP_201_CREATED)
        response["Location"] = f"/api/v1/services/{service.service_id}"
        return response

    @extend_schema(
        summary="List a service's manifest versions (its vendor and staff)",
        description="Every manifest version submitted for the service, newest first.",
        responses={200: ManifestVersionSerializer(many=True)},
    )
    @action(detail=True, methods=["get"], filter_backends=[], url_path="manifests")
    def manifests(self, request, service_id=None):
        service = get_object_or_404(managed_services(self.principal), service_id=service_id)
        page = self.paginate_queryset(manifest_history(service))
        return self.get_paginated_response(ManifestVersionSerializer(page, many=True).data)

    @extend_schema(
        summary="Submit a new manifest version (the service's vendor)",
        description=(
            "Validated and the service re-verified like a registration; new subscriptions use it "
            "at once. Refused while it removes a plan or feature that live subscriptions use."
        ),
        request=MANIFEST_REQUEST_BODY,
        examples=[MANIFEST_EXAMPLE],
        responses={
            201: ManifestSubmittedSerializer,
            **problems(p422="The manifest is invalid or conflicts with live subscriptions."),
        },
    )
    @manifests.mapping.post
    def submit_manifest(self, request, service_id=None):
        require_scope(request, VENDOR)
        service = get_object_or_404(managed_services(self.principal), service_id=service_id)
        previous = service.current_manifest
        manifest = manifest_update(
            service=service, raw_text=_manifest_text(request), submitted_by=self.principal.user
        )
        body = {
            "manifest": ManifestVersionSerializer(manifest).data,
            "diff": manifest_diff(previous, manifest),
        }
        return Response(body, status=status.HTTP_201_CREATED)


def _id_taken(error: RegistrationError, raw_text: str, vendor: Vendor) -> bool:
    """Whether registration failed because another vendor holds the manifest's service id."""
    if error.errors:
        return False
    data = validate_manifest_text(raw_text).data or {}
    service_id = (data.get("service") or {}).get("id")
    return bool(
        isinstance(service_id, str)
        and Service.objects.filter(service_id=service_id).exclude(vendor=vendor).exists()
    )


class ManifestValidateView(ApiViewMixin, APIView):
    """Check a manifest without registering anything."""

    parser_classes = MANIFEST_PARSERS

    @extend_schema(
        summary="Validate a manifest",
        description=(
            "The body is a manifest.yaml (or the same document as JSON). A valid manifest "
            "answers 200; an invalid one a 422 problem whose errors name each field by JSON "
            "pointer and line, in English and Korean."
        ),
        request=MANIFEST_REQUEST_BODY,
        examples=[MANIFEST_EXAMPLE],
        responses={200: ManifestValidSerializer, **problems(p422="The manifest is invalid.")},
        operation_id="manifests_validate",
        tags=["manifests"],
    )
    def post(self, request):
        result = validate_manifest_text(manifest_text_of(request))
        if not result.is_valid:
            raise manifest_invalid(result.errors)
        return Response({"valid": True, "manifest": result.data})
