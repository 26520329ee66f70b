"""GET /api/v1/events: the event log, scoped to the caller, newest first, cursor-paginated."""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.response import Response
from rest_framework.views import APIView

from events.api.filters import EventFilter
from events.api.serializers import EventSerializer, EventTypeSerializer
from events.registry import EVENT_TYPES
from events.selectors import visible_events
from market.api.base import ApiViewMixin, ReadOnlyApiViewSet
from market.api.pagination import NewestFirstCursorPagination


class EventCursorPagination(NewestFirstCursorPagination):
    ordering = ("-id",)  # the monotonic id: equal timestamps never reorder a page


@extend_schema_view(
    list=extend_schema(
        summary="List events (newest first)",
        description=(
            "Every state change the market made or observed that concerns the caller: a "
            "school sees its own, a vendor its services', staff all. Cursor-paginated; "
            "filter by type, object and time. The same events are delivered by webhooks."
        ),
        tags=["events"],
    ),
    retrieve=extend_schema(
        summary="Get an event",
        description="One event the caller may see, with its payload as it was recorded.",
        tags=["events"],
    ),
)
class EventViewSet(ReadOnlyApiViewSet):
    serializer_class = EventSerializer
    pagination_class = EventCursorPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = EventFilter

    def get_queryset(self):
        return visible_events(self.principal)


class EventTypeListView(ApiViewMixin, APIView):
    @extend_schema(
        summary="List event types and their payload schemas",
        description=(
            "Every event type the market records, with the version and JSON Schema of its "
            "payload: what a webhook receiver can expect."
        ),
        responses=EventTypeSerializer(many=True),
        tags=["events"],
    )
    def get(self, request):
        return Response(
            [
                {
                    "name": t.name,
                    "version": t.version,
                    "description": t.description,
                    "payload_schema": t.payload_schema(),
                }
                for t in EVENT_TYPES.values()
            ]
        )
