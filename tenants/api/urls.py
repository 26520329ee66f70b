"""/api/v1/ routes of the tenants app."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from tenants.api.views import (
    LifecycleEventViewSet,
    OperationViewSet,
    OrganizationViewSet,
    SubscriptionViewSet,
    TenantViewSet,
)

router = SimpleRouter(trailing_slash=False)
router.register("organizations", OrganizationViewSet, basename="organization")
router.register("subscriptions", SubscriptionViewSet, basename="subscription")
router.register("tenants", TenantViewSet, basename="tenant")
router.register("operations", OperationViewSet, basename="operation")

urlpatterns = [
    path(
        "tenants/<int:tenant_pk>/events",
        LifecycleEventViewSet.as_view({"get": "list"}),
        name="tenant-events",
    ),
    *router.urls,
]
