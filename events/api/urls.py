"""/api/v1/ routes of the event log."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from events.api.views import EventTypeListView, EventViewSet

router = SimpleRouter(trailing_slash=False)
router.register("events", EventViewSet, basename="event")

urlpatterns = [
    path("event-types", EventTypeListView.as_view(), name="event-types"),
    *router.urls,
]
