"""The market's own endpoints: API tokens and the market policy, the schema and its viewers.

Here, on top, because a token belongs to a school or a vendor (apps above the core)."""

from functools import lru_cache
from pathlib import Path

from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.template import engines
from django.urls import reverse
from django.utils import translation
from django.views.decorators.http import require_GET
from drf_spectacular.utils import extend_schema, extend_schema_view
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from market.api.base import ApiViewMixin, EmptyBodySerializer, ReadOnlyApiViewSet
from market.api.permissions import require_scope
from market.api.principal import STAFF
from market.api.schema import problems
from market.api.selectors import tokens_of
from market.api.serializers import (
    ApiTokenCreatedSerializer,
    ApiTokenCreateSerializer,
    ApiTokenSerializer,
    MarketPolicySerializer,
)
from market.models import MarketPolicy
from market.tokens import api_token_create, api_token_revoke
from services.models import Vendor
from tenants.models import Organization


@extend_schema_view(
    list=extend_schema(summary="List your API tokens", description="Tokens of your own scope."),
    retrieve=extend_schema(summary="Get one of your API tokens"),
)
class ApiTokenViewSet(ReadOnlyApiViewSet):
    """Tokens of the caller's own scope: a school's, a vendor's, or staff's."""

    serializer_class = ApiTokenSerializer
    lookup_value_regex = r"[0-9]{1,18}"
    filter_backends = [OrderingFilter]
    ordering_fields = ["created_at", "name", "last_used_at", "expires_at"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        return tokens_of(self.principal)

    @extend_schema(
        summary="Create an API token",
        description=(
            "Creates a token with your own scope. The token itself is in the response, "
            "once: only its hash is kept."
        ),
        request=ApiTokenCreateSerializer,
        responses={201: ApiTokenCreatedSerializer, **problems(p422="The token cannot be issued.")},
    )
    def create(self, request):
        data = self._validated(ApiTokenCreateSerializer, request.data)
        principal = self.principal
        token, plaintext = api_token_create(
            name=data["name"],
            scope=principal.scope,
            organization=Organization.objects.get(pk=principal.organization_id)
            if principal.organization_id
            else None,
            vendor=Vendor.objects.get(pk=principal.vendor_id) if principal.vendor_id else None,
            created_by=principal.user,
            expires_at=data.get("expires_at"),
        )
        token.token = plaintext
        body = ApiTokenCreatedSerializer(token).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Revoke an API token",
        description="The token stops working at once; it stays listed, marked revoked.",
        request=EmptyBodySerializer,
        responses={200: ApiTokenSerializer},
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        token = self.get_object()
        self._validated(EmptyBodySerializer, request.data)
        token = api_token_revoke(token=token, revoked_by=self.principal.user)
        return Response(ApiTokenSerializer(token).data)

    @staticmethod
    def _validated(serializer_class, data) -> dict:
        serializer = serializer_class(data=data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class MarketPolicyView(ApiViewMixin, GenericAPIView):
    """The market-wide policy: everyone may read it, staff change it."""

    serializer_class = MarketPolicySerializer

    def get_object(self):
        return MarketPolicy.load()

    @extend_schema(summary="Read the market policy", responses={200: MarketPolicySerializer})
    def get(self, request):
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        summary="Change the market policy (staff)",
        request=MarketPolicySerializer,
        responses={200: MarketPolicySerializer},
    )
    def patch(self, request):
        require_scope(request, STAFF)
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(serializer.data)


class MarketSchemaView(SpectacularAPIView):
    """The OpenAPI document, in English unless `?lang=ko` asks otherwise."""

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        if request.GET.get("lang"):
            return super().get(request, *args, **kwargs)
        with translation.override("en"):
            return super().get(request, *args, **kwargs)


# The stock Redoc page fetches fonts from Google; this one loads nothing but the sidecar bundle,
# served through `redoc_bundle` below because the bundle itself asks a CDN for a logo.
REDOC_PAGE = """<!DOCTYPE html>
<html>
  <head>
    <title>{{ title }}</title>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <style>body { margin: 0; padding: 0; }</style>
  </head>
  <body>
    <redoc spec-url="{{ schema_url }}"></redoc>
    <script src="{{ redoc_standalone }}"></script>
  </body>
</html>
"""


class MarketRedocView(SpectacularRedocView):
    """Redoc served from the sidecar package, without any request to the internet."""

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        page = engines["django"].from_string(REDOC_PAGE)
        context = {
            "title": self.title,
            "schema_url": self._get_schema_url(request),
            "redoc_standalone": reverse("api-redoc-bundle"),
        }
        return HttpResponse(page.render(context), content_type="text/html; charset=utf-8")


# Redoc's menu footer shows Redocly's logo from this address, with no option to turn it off.
REDOC_CDN_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
BLANK_SVG = "data:image/svg+xml,%3Csvg xmlns=%27http://www.w3.org/2000/svg%27/%3E"


@lru_cache(maxsize=1)
def _redoc_bundle_text() -> str:
    path = finders.find("drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js")
    return Path(path).read_text(encoding="utf-8").replace(REDOC_CDN_LOGO, BLANK_SVG)


@require_GET
def redoc_bundle(request):
    """The sidecar's Redoc bundle with its one outside address (the logo) made a blank image."""
    response = HttpResponse(_redoc_bundle_text(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=86400"
    return response
