"""/api/v1/webhooks: endpoints of the caller's organisation, their deliveries, tests, resends."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from market.api.base import ApiViewMixin
from market.api.pagination import NewestFirstCursorPagination
from market.api.schema import problems
from webhooks import services
from webhooks.api.serializers import (
    DeliverySerializer,
    EndpointCreateSerializer,
    EndpointSerializer,
    EndpointUpdateSerializer,
    EndpointWithSecretSerializer,
    RotateSecretSerializer,
    TestEventSerializer,
)
from webhooks.selectors import endpoint_deliveries, visible_endpoints


def _validated(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


REGISTRATION_PROBLEMS = problems(
    p409="You have the most endpoints allowed: delete one first.",
    p422="The URL is private, not https (outside development), or unreachable; or an event "
    "type is unknown. `errors[].field` names the input to change.",
)
TEST_PROBLEMS = problems(p413="The test payload is over the size cap.")
RESEND_PROBLEMS = problems(p422="The delivery is being sent right now: wait for its answer.")


class DeliveryPagination(NewestFirstCursorPagination):
    ordering = ("-id",)


@extend_schema_view(
    list=extend_schema(
        summary="List webhook endpoints",
        description="The webhook endpoints of the caller's school or vendor (staff: all).",
        tags=["webhooks"],
    ),
    retrieve=extend_schema(
        summary="Get a webhook endpoint",
        description="One endpoint: its URL, event types, state and why it was disabled.",
        tags=["webhooks"],
    ),
    destroy=extend_schema(
        summary="Delete a webhook endpoint",
        description="Stop delivering to this endpoint and remove it; nothing more is sent.",
        tags=["webhooks"],
    ),
)
class EndpointViewSet(
    ApiViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    GenericViewSet,
):
    serializer_class = EndpointSerializer
    lookup_value_regex = r"[0-9]{1,18}"

    def get_queryset(self):
        return visible_endpoints(self.principal)

    @extend_schema(
        summary="Register a webhook endpoint",
        description=(
            "Deliveries follow Standard Webhooks (webhook-id, webhook-timestamp, "
            "webhook-signature). The answer holds the `whsec_` secret. Refused: private or "
            "unreachable URLs, http outside development, unknown event types."
        ),
        request=EndpointCreateSerializer,
        responses={201: EndpointWithSecretSerializer, **REGISTRATION_PROBLEMS},
        tags=["webhooks"],
    )
    def create(self, request):
        data = _validated(EndpointCreateSerializer, request.data)
        endpoint = services.endpoint_create(
            principal=self.principal, created_by=self.principal.user, **data
        )
        return Response(EndpointWithSecretSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a webhook endpoint (is_active: true enables it again)",
        description="Change the URL, description or event types, or enable a disabled endpoint.",
        request=EndpointUpdateSerializer,
        responses={200: EndpointSerializer, **REGISTRATION_PROBLEMS},
        tags=["webhooks"],
    )
    def partial_update(self, request, pk=None):
        endpoint = self.get_object()
        data = _validated(EndpointUpdateSerializer, request.data)
        endpoint = services.endpoint_update(endpoint=endpoint, **data)
        return Response(EndpointSerializer(endpoint).data)

    def perform_destroy(self, instance):
        services.endpoint_delete(endpoint=instance)

    @extend_schema(
        summary="Show the endpoint's signing secret",
        description="The whsec_ secret (and, during a rotation, the previous one) to verify with.",
        responses={200: EndpointWithSecretSerializer},
        tags=["webhooks"],
    )
    @action(detail=True, methods=["get"])
    def secret(self, request, pk=None):
        return Response(EndpointWithSecretSerializer(self.get_object()).data)

    @extend_schema(
        summary="Rotate the signing secret (the old one also signs during the overlap)",
        description="Issue a new secret; both sign deliveries until the overlap window ends.",
        request=RotateSecretSerializer,
        responses={200: EndpointWithSecretSerializer},
        tags=["webhooks"],
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        endpoint = self.get_object()
        data = _validated(RotateSecretSerializer, request.data)
        endpoint = services.endpoint_rotate_secret(endpoint=endpoint, **data)
        return Response(EndpointWithSecretSerializer(endpoint).data)

    @extend_schema(
        summary="Send a webhook.test event to this endpoint",
        description="Queue one signed webhook.test delivery, to check a receiver end to end.",
        request=TestEventSerializer,
        responses={202: DeliverySerializer, **TEST_PROBLEMS},
        tags=["webhooks"],
    )
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        endpoint = self.get_object()
        data = _validated(TestEventSerializer, request.data)
        delivery = services.endpoint_send_test(
            endpoint=endpoint, message=data["message"], actor=self.principal
        )
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="The endpoint's deliveries with their attempt log (newest first)",
        description="Each delivery with every attempt: request, answer, latency. Cursor-paginated.",
        responses={200: DeliverySerializer(many=True)},
        tags=["webhooks"],
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        endpoint = self.get_object()
        paginator = DeliveryPagination()
        queryset = endpoint_deliveries(endpoint).prefetch_related("attempt_log")
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(
        summary="Send a delivery again, under the same webhook-id",
        description="Queue the delivery once more; receivers deduplicate by its webhook-id.",
        request=None,
        responses={202: DeliverySerializer, **RESEND_PROBLEMS},
        tags=["webhooks"],
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"deliveries/(?P<delivery_pk>[0-9]{1,18})/resend",
    )
    def resend(self, request, pk=None, delivery_pk=None):
        endpoint = self.get_object()
        delivery = get_object_or_404(endpoint.deliveries, pk=delivery_pk)
        delivery = services.delivery_resend(delivery=delivery)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
