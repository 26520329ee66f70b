"""/api/v1/ routes of the monitoring app."""

from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from market.api.base import ID_REGEX
from monitoring.api.views import (
    HealthRollupViewSet,
    HealthViewSet,
    IncidentViewSet,
    StatementCsvViewSet,
    StatementViewSet,
    TenantUsageCollectViewSet,
    UsageReportViewSet,
)

router = SimpleRouter(trailing_slash=False)
router.register("health", HealthViewSet, basename="health")
router.register("incidents", IncidentViewSet, basename="incident")
router.register("usage", UsageReportViewSet, basename="usage")
router.register("statements", StatementViewSet, basename="statement")

urlpatterns = [
    re_path(
        rf"^tenants/(?P<pk>{ID_REGEX})/usage/collect$",
        TenantUsageCollectViewSet.as_view({"post": "collect_usage"}),
        name="tenant-collect-usage",
    ),
    path(
        "health/<slug:service_id>/rollups",
        HealthRollupViewSet.as_view({"get": "list"}),
        name="health-rollups",
    ),
    path(
        "statements/<int:pk>.csv",
        StatementCsvViewSet.as_view({"get": "retrieve"}),
        {"format": "csv"},
        name="statement-csv",
    ),
    *router.urls,
]
