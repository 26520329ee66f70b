"""/api/: the integrator API v1, its OpenAPI schema, Swagger UI and Redoc.

Everything under /api/ that names no endpoint answers a 404 problem, never an HTML page.
"""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularSwaggerView
from rest_framework.permissions import AllowAny
from rest_framework.routers import SimpleRouter

import market.api.schema  # noqa: F401 - registers the bearer security scheme
from market.api.problems import api_not_found
from portal.api.views import (
    ApiTokenViewSet,
    MarketPolicyView,
    MarketRedocView,
    MarketSchemaView,
    redoc_bundle,
)

router = SimpleRouter(trailing_slash=False)
router.register("tokens", ApiTokenViewSet, basename="token")

v1_patterns = [
    path("policy", MarketPolicyView.as_view(), name="policy"),
    *router.urls,
    path("", include("services.api.urls")),
    path("", include("tenants.api.urls")),
    path("", include("monitoring.api.urls")),
    path("", include("events.api.urls")),
    path("", include("webhooks.api.urls")),
    re_path(r"^.*$", api_not_found),
]

# The schema and its viewers are public (they hold no data) and ignore credentials entirely.
PUBLIC = {"permission_classes": [AllowAny], "authentication_classes": []}

urlpatterns = [
    path("schema/", MarketSchemaView.as_view(**PUBLIC), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema", **PUBLIC), name="api-docs"),
    path("redoc/", MarketRedocView.as_view(url_name="api-schema", **PUBLIC), name="api-redoc"),
    path("redoc/redoc.standalone.js", redoc_bundle, name="api-redoc-bundle"),
    path("v1/", include((v1_patterns, "api-v1"))),
    re_path(r"^.*$", api_not_found),
]
