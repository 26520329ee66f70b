"""/api/v1/ routes of the services app."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from services.api.views import ManifestValidateView, ServiceViewSet

router = SimpleRouter(trailing_slash=False)
router.register("services", ServiceViewSet, basename="service")

urlpatterns = [
    path("manifests/validate", ManifestValidateView.as_view(), name="manifest-validate"),
    *router.urls,
]
