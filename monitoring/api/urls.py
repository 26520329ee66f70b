"""/api/v1/ routes of the monitoring app."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from monitoring.api.views import (
    HealthRollupViewSet,
    HealthViewSet,
    IncidentViewSet,
    StatementCsvViewSet,
    StatementViewSet,
    UsageReportViewSet,
)

router = SimpleRouter(trailing_slash=False)
router.register("health", HealthViewSet, basename="health")
router.register("incidents", IncidentViewSet, basename="incident")
router.register("usage", UsageReportViewSet, basename="usage")
router.register("statements", StatementViewSet, basename="statement")

urlpatterns = [
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
