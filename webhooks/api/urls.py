"""/api/v1/ routes of webhooks."""

from rest_framework.routers import SimpleRouter

from webhooks.api.views import EndpointViewSet

router = SimpleRouter(trailing_slash=False)
router.register("webhooks", EndpointViewSet, basename="webhook")

urlpatterns = router.urls
