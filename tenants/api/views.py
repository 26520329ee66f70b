"""Schools, subscriptions, tenants, operations and lifecycle events.

Views parse input, call one service of tenants.operations.services, and shape the answer; the
lifecycle rules live in the services and come back as LifecycleError (a 409/422 problem).
"""

from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from market.api.base import ApiViewMixin, EmptyBodySerializer, ReadOnlyApiViewSet
from market.api.pagination import NewestFirstCursorPagination
from market.api.permissions import require_scope, scopes
from market.api.principal import ORGANIZATION, STAFF
from market.api.schema import IDEMPOTENCY_KEY, problems
from services.models import Plan
from tenants.api.filters import OperationFilter, SubscriptionFilter, TenantFilter
from tenants.api.selectors import (
    activation_of,
    deactivation_of,
    tenant_events,
    visible_operations,
    visible_organizations,
    visible_subscriptions,
    visible_tenants,
)
from tenants.api.serializers import (
    LifecycleEventSerializer,
    OperationSerializer,
    OrganizationSerializer,
    SubscriptionChangePlanSerializer,
    SubscriptionChangeSerializer,
    SubscriptionCreateSerializer,
    SubscriptionRenewSerializer,
    SubscriptionSerializer,
    TemporaryPasswordSerializer,
    TenantDeactivateSerializer,
    TenantDeactivationSerializer,
    TenantSerializer,
)
from tenants.credentials import tenant_reveal_credentials
from tenants.errors import LifecycleError
from tenants.models import LifecycleEvent, Subscription
from tenants.operations.services import (
    operation_cancel,
    operation_retry_now,
    subscription_cancel,
    subscription_change_plan,
    subscription_create,
    subscription_renew,
    tenant_deactivate,
)
from tenants.recovery import subscription_retry_activation

IDEMPOTENCY_KEY_HEADER = "HTTP_IDEMPOTENCY_KEY"
LIFECYCLE_PROBLEMS = problems(
    p409="The subscription or tenant is in a state that does not allow this.",
    p422="The lifecycle rules refuse the request; errors names the field.",
)


def _validated(serializer_class, data, **context) -> dict:
    serializer = serializer_class(data=data, context=context)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _idempotency_key(request) -> str:
    key = request.META.get(IDEMPOTENCY_KEY_HEADER, "")
    if key and (len(key) > 255 or not all("\x21" <= ch <= "\x7e" for ch in key)):
        raise ValidationError(
            {"Idempotency-Key": [_("Use at most 255 visible ASCII characters, e.g. a UUID.")]}
        )
    return key


def _change_response(subscription, operation, *, replayed: bool = False) -> Response:
    """202 when a vendor call was queued (poll the operation), 200 when nothing was sent."""
    body = SubscriptionChangeSerializer({"subscription": subscription, "operation": operation}).data
    queued = operation is not None and operation.is_open
    response = Response(body, status=status.HTTP_202_ACCEPTED if queued else status.HTTP_200_OK)
    response["Location"] = f"/api/v1/subscriptions/{subscription.pk}"
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


@extend_schema_view(
    list=extend_schema(
        summary="List schools (staff; a school sees itself)",
        description="Staff see every school; a school token sees only its own school.",
    ),
    retrieve=extend_schema(
        summary="Get a school with its admins",
        description="One school by its tenant id (slug), with its active administrators.",
    ),
)
class OrganizationViewSet(ReadOnlyApiViewSet):
    permission_classes = [*ApiViewMixin.permission_classes, scopes(STAFF, ORGANIZATION)]
    serializer_class = OrganizationSerializer
    lookup_field = "slug"
    lookup_url_kwarg = "tenant_id"
    lookup_value_regex = r"[-a-zA-Z0-9_]{1,64}"
    filter_backends = [OrderingFilter]
    ordering_fields = ["name", "slug", "created_at"]
    ordering = ["name", "id"]

    def get_queryset(self):
        return visible_organizations(self.principal)


@extend_schema_view(
    list=extend_schema(
        summary="List subscriptions",
        description="A school's own, a vendor's services', or every subscription for staff.",
    ),
    retrieve=extend_schema(
        summary="Get a subscription",
        description="Its plan, status, dates and the tenant it runs on.",
    ),
)
class SubscriptionViewSet(ReadOnlyApiViewSet):
    serializer_class = SubscriptionSerializer
    filterset_class = SubscriptionFilter
    ordering_fields = ["created_at", "ends_on", "starts_on"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        return visible_subscriptions(self.principal)

    @extend_schema(
        summary="Subscribe a school to a plan",
        description=(
            "Creates the subscription and queues the activation at the vendor: the answer is "
            "202 with both; poll the operation (or the subscription's tenant) until it settles. "
            "Send an Idempotency-Key so a retried request returns the first subscription "
            "instead of creating another."
        ),
        request=SubscriptionCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={202: SubscriptionChangeSerializer, **LIFECYCLE_PROBLEMS},
    )
    def create(self, request):
        require_scope(request, STAFF, ORGANIZATION)
        key = _idempotency_key(request)
        data = _validated(SubscriptionCreateSerializer, request.data, principal=self.principal)
        replayed = (
            bool(key)
            and Subscription.objects.filter(
                organization=data["organization"], idempotency_key=key
            ).exists()
        )
        subscription = subscription_create(
            organization=data["organization"],
            service=data["service"],
            plan=data["plan"],
            starts_on=data.get("starts_on"),
            ends_on=data["ends_on"],
            max_users=data["max_users"],
            storage_limit_gb=data["storage_limit_gb"],
            admin_email=data["admin_email"],
            admin_name=data["admin_name"],
            created_by=self.principal.user,
            idempotency_key=key,
            actor=self.principal,
        )
        subscription = self.get_queryset().get(pk=subscription.pk)
        response = _change_response(subscription, activation_of(subscription), replayed=replayed)
        response.status_code = status.HTTP_202_ACCEPTED
        return response

    @extend_schema(
        summary="Renew a subscription",
        description=(
            "A live subscription gets the new end date (200, no vendor call). An ended one "
            "becomes a new subscription whose activation reactivates the tenant (202)."
        ),
        request=SubscriptionRenewSerializer,
        responses={
            200: SubscriptionChangeSerializer,
            202: SubscriptionChangeSerializer,
            **LIFECYCLE_PROBLEMS,
        },
    )
    @action(detail=True, methods=["post"])
    def renew(self, request, pk=None):
        require_scope(request, STAFF, ORGANIZATION)
        subscription = self.get_object()
        data = _validated(SubscriptionRenewSerializer, request.data)
        renewed = subscription_renew(
            subscription=subscription,
            ends_on=data["ends_on"],
            renewed_by=self.principal.user,
            actor=self.principal,
        )
        renewed = self.get_queryset().get(pk=renewed.pk)
        operation = None if renewed.pk == subscription.pk else activation_of(renewed)
        return _change_response(renewed, operation)

    @extend_schema(
        summary="Change a subscription's plan",
        description="Queues the plan change at the vendor (tenant_update); 202.",
        request=SubscriptionChangePlanSerializer,
        responses={202: SubscriptionChangeSerializer, **LIFECYCLE_PROBLEMS},
    )
    @action(detail=True, methods=["post"], url_path="change-plan")
    def change_plan(self, request, pk=None):
        require_scope(request, STAFF, ORGANIZATION)
        subscription = self.get_object()
        data = _validated(SubscriptionChangePlanSerializer, request.data)
        plan = Plan.objects.filter(service_id=subscription.service_id, code=data["plan"]).first()
        if plan is None:
            raise ValidationError({"plan": [_("Unknown plan for this service.")]})
        operation = subscription_change_plan(
            subscription=subscription, plan=plan, changed_by=self.principal.user
        )
        subscription = self.get_queryset().get(pk=subscription.pk)
        return _change_response(subscription, operation)

    @extend_schema(
        summary="Cancel a subscription",
        description=(
            "Ends the subscription now and queues the tenant's deactivation (data kept): 202. "
            "If the activation had not been sent yet it is simply called off: 200."
        ),
        request=EmptyBodySerializer,
        responses={
            200: SubscriptionChangeSerializer,
            202: SubscriptionChangeSerializer,
            **LIFECYCLE_PROBLEMS,
        },
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        require_scope(request, STAFF, ORGANIZATION)
        subscription = self.get_object()
        _validated(EmptyBodySerializer, request.data)
        subscription_cancel(
            subscription=subscription, cancelled_by=self.principal.user, actor=self.principal
        )
        subscription = self.get_queryset().get(pk=subscription.pk)
        return _change_response(subscription, deactivation_of(subscription))

    @extend_schema(
        summary="Ask for another activation attempt after a failure (school)",
        description=(
            "When the vendor refused the activation (display_state 'failed', display.can_retry "
            "true) and says it has fixed the cause, queue the activation again: 202 with the "
            "operation to poll. Any other state is refused with a 409 problem naming the current "
            "state, and nothing changes."
        ),
        request=EmptyBodySerializer,
        responses={202: SubscriptionChangeSerializer, **LIFECYCLE_PROBLEMS},
    )
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        subscription = self.get_object()
        require_scope(request, STAFF, ORGANIZATION)
        _validated(EmptyBodySerializer, request.data)
        operation = subscription_retry_activation(
            subscription=subscription, requested_by=self.principal.user
        )
        subscription = self.get_queryset().get(pk=subscription.pk)
        return _change_response(subscription, operation)

    @extend_schema(
        summary="Read the temporary admin password once (school)",
        description=(
            "Returns the temporary admin password the vendor created with the tenant, and erases "
            "it in the same transaction: the portal's 'show once' button and this call share it, "
            "so whichever comes first reads it and every later call gets a 409 problem saying "
            "when it was read. Only the school's own token may call it (staff and vendors get "
            "403). The answer is never cached (Cache-Control: no-store)."
        ),
        request=EmptyBodySerializer,
        responses={
            200: TemporaryPasswordSerializer,
            **problems(
                p409="The password was already read (and erased); the problem says when.",
                p422="The vendor sent no temporary password for this service.",
            ),
        },
    )
    @action(detail=True, methods=["post"], url_path="temporary-password")
    def temporary_password(self, request, pk=None):
        subscription = self.get_object()
        require_scope(request, ORGANIZATION)
        _validated(EmptyBodySerializer, request.data)
        tenant = subscription.tenant
        if tenant is None:
            raise LifecycleError(
                _("The vendor sent no temporary password for this service."), code="none"
            )
        password = tenant_reveal_credentials(tenant=tenant, user=self.principal.user)
        body = TemporaryPasswordSerializer(
            {
                "temp_password": password,
                "revealed_at": tenant.credentials_revealed_at,
                "access_url": tenant.access_url,
            }
        ).data
        response = Response(body)
        response["Cache-Control"] = "no-store"
        return response


@extend_schema_view(
    list=extend_schema(
        summary="List tenants",
        description=(
            "The tenants the market created at vendors: a school's own, a vendor's services', "
            "or every tenant for staff."
        ),
    ),
    retrieve=extend_schema(
        summary="Get a tenant",
        description="Its state, access URL, the vendor's last status answer and the drift flag.",
    ),
)
class TenantViewSet(ReadOnlyApiViewSet):
    serializer_class = TenantSerializer
    filterset_class = TenantFilter
    ordering_fields = ["created_at", "state_changed_at", "tenant_id"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        return visible_tenants(self.principal)

    @extend_schema(
        summary="Deactivate a tenant, now or at a scheduled time (staff)",
        description=(
            "Queues the tenant's deactivation at the vendor: now, or at a future `deactivate_at` "
            "(the tenant stays active until then and the vendor's body carries that time, in "
            "whole seconds). A time in the past, without an offset or more than 366 days ahead "
            "is refused (422) naming `deactivate_at`; a second scheduled deactivation while one "
            "is queued is a conflict (409). 202 with the queued operation; 200 with no operation "
            "when there was nothing to call (already deactivated, or an activation never sent "
            "was cancelled)."
        ),
        request=TenantDeactivateSerializer,
        responses={
            202: TenantDeactivationSerializer,
            200: TenantDeactivationSerializer,
            **LIFECYCLE_PROBLEMS,
        },
    )
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        tenant = self.get_object()  # 404 first: another school's tenant stays invisible
        require_scope(request, STAFF)
        data = _validated(TenantDeactivateSerializer, request.data)
        operation = tenant_deactivate(
            tenant=tenant,
            reason=data["reason"],
            requested_by=self.principal.user,
            preserve_data=data.get("preserve_data"),
            deactivate_at=data.get("deactivate_at"),
        )
        tenant = self.get_queryset().get(pk=tenant.pk)
        body = TenantDeactivationSerializer({"tenant": tenant, "operation": operation}).data
        queued = operation is not None and operation.is_open
        return Response(body, status=status.HTTP_202_ACCEPTED if queued else status.HTTP_200_OK)


@extend_schema_view(
    list=extend_schema(
        summary="List a tenant's lifecycle events (newest first)",
        description="The audit log of one tenant, cursor-paginated.",
    )
)
class LifecycleEventViewSet(ApiViewMixin, mixins.ListModelMixin, GenericViewSet):
    serializer_class = LifecycleEventSerializer
    pagination_class = NewestFirstCursorPagination
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no URL kwargs
            return LifecycleEvent.objects.none()
        tenant = get_object_or_404(visible_tenants(self.principal), pk=self.kwargs["tenant_pk"])
        return tenant_events(tenant)


@extend_schema_view(
    list=extend_schema(
        summary="List operations (newest first)",
        description="The calls the market made or owes vendors, cursor-paginated.",
    ),
    retrieve=extend_schema(
        summary="Get an operation",
        description="One call to a vendor: its kind, state, body, attempts and the last answer.",
    ),
)
class OperationViewSet(ReadOnlyApiViewSet):
    serializer_class = OperationSerializer
    pagination_class = NewestFirstCursorPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = OperationFilter

    def get_queryset(self):
        return visible_operations(self.principal)

    @extend_schema(
        summary="Retry an operation now (staff)",
        description=(
            "Queues a queued, failed or attention-needing operation for an attempt now; "
            "an operation in any other state is refused with a problem saying why."
        ),
        request=EmptyBodySerializer,
        responses={200: OperationSerializer, **LIFECYCLE_PROBLEMS},
    )
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        operation = self.get_object()  # 404 first: another school's operation stays invisible
        require_scope(request, STAFF)
        _validated(EmptyBodySerializer, request.data)
        operation = operation_retry_now(operation=operation, requested_by=self.principal.user)
        return Response(OperationSerializer(self.get_queryset().get(pk=operation.pk)).data)

    @extend_schema(
        summary="Cancel an unfinished operation (staff)",
        description=(
            "Gives up an operation that has not succeeded; the market stops calling the vendor "
            "for it and leaves the tenant for a person to look at."
        ),
        request=EmptyBodySerializer,
        responses={200: OperationSerializer, **LIFECYCLE_PROBLEMS},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        operation = self.get_object()
        require_scope(request, STAFF)
        _validated(EmptyBodySerializer, request.data)
        operation = operation_cancel(operation=operation, cancelled_by=self.principal.user)
        return Response(OperationSerializer(self.get_queryset().get(pk=operation.pk)).data)
