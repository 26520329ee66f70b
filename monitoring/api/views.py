"""Health, incidents, usage reports and statements (read only), and asking for a month's usage."""

from django.db import transaction
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from market.api.base import ApiViewMixin, ReadOnlyApiViewSet
from market.api.permissions import require_scope, scopes
from market.api.principal import ORGANIZATION, STAFF
from market.lib.months import month_parse
from monitoring.api.filters import (
    HealthFilter,
    IncidentFilter,
    RollupFilter,
    StatementFilter,
    UsageReportFilter,
)
from monitoring.api.renderers import CSVRenderer
from monitoring.api.selectors import (
    health_services,
    service_rollups,
    visible_incidents,
    visible_statements,
    visible_usage_reports,
)
from monitoring.api.serializers import (
    HealthRollupSerializer,
    HealthStateSerializer,
    IncidentSerializer,
    StatementDetailSerializer,
    StatementPreviewQuerySerializer,
    StatementPreviewSerializer,
    StatementSerializer,
    UsageCollectRequestSerializer,
    UsageReportSerializer,
)
from monitoring.billing import statement_csv, statement_preview
from monitoring.models import HealthRollup, UsageReport
from monitoring.tasks import collect_usage_chunk
from monitoring.usage import usage_report_request
from services.api.selectors import managed_services
from tenants.api.selectors import visible_tenants
from tenants.api.views import LIFECYCLE_PROBLEMS

SERVICE_ID_REGEX = r"[a-z][a-z0-9_-]{1,63}"


@extend_schema_view(
    list=extend_schema(
        summary="Current health of every service in the catalog",
        description=(
            "The latest health check of each service you can see: its state, when it was "
            "checked and last changed, the latency, the reason, and the open incident if any."
        ),
    ),
    retrieve=extend_schema(
        summary="Current health of one service",
        description="The latest health check of one service, as in the list.",
    ),
)
class HealthViewSet(ReadOnlyApiViewSet):
    serializer_class = HealthStateSerializer
    lookup_field = "service_id"
    lookup_value_regex = SERVICE_ID_REGEX
    filterset_class = HealthFilter
    ordering_fields = ["name", "service_id", "health_changed_at", "consecutive_failures"]
    ordering = ["name", "id"]

    def get_queryset(self):
        return health_services(self.principal)


@extend_schema_view(
    list=extend_schema(
        summary="Hourly health history of a service (its vendor and staff)",
        description="One row per hour: checks, failures, degraded answers, latency p50/p95.",
    )
)
class HealthRollupViewSet(ApiViewMixin, mixins.ListModelMixin, GenericViewSet):
    serializer_class = HealthRollupSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = RollupFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no URL kwargs
            return HealthRollup.objects.none()
        service = get_object_or_404(
            managed_services(self.principal), service_id=self.kwargs["service_id"]
        )
        return service_rollups(service).order_by("-hour")


@extend_schema_view(
    list=extend_schema(
        summary="List incidents of the services in the catalog",
        description=(
            "Periods in which a service failed its health checks, newest first; an incident "
            "without `closed_at` is still open."
        ),
    ),
    retrieve=extend_schema(
        summary="Get an incident",
        description="When it opened and closed, why, and how many checks failed.",
    ),
)
class IncidentViewSet(ReadOnlyApiViewSet):
    serializer_class = IncidentSerializer
    filterset_class = IncidentFilter
    ordering_fields = ["opened_at", "closed_at"]
    ordering = ["-opened_at", "-id"]

    def get_queryset(self):
        return visible_incidents(self.principal)


@extend_schema_view(
    list=extend_schema(
        summary="List usage reports",
        description="One report per tenant and month; filter with ?tenant=&month=YYYY-MM.",
    ),
    retrieve=extend_schema(
        summary="Get a usage report",
        description="One tenant's month: its collection state and the metrics the vendor reported.",
    ),
)
class UsageReportViewSet(ReadOnlyApiViewSet):
    serializer_class = UsageReportSerializer
    filterset_class = UsageReportFilter
    ordering_fields = ["month", "collected_at"]
    ordering = ["-month", "id"]

    def get_queryset(self):
        return visible_usage_reports(self.principal)


FORMAT_PARAMETER = OpenApiParameter(
    "format", str, enum=["json", "csv"], description="`csv` for a spreadsheet."
)


@extend_schema_view(
    list=extend_schema(
        summary="List statements (schools and staff)",
        description="Monthly bills: a school sees its own, staff every school's; vendors none.",
    ),
    retrieve=extend_schema(
        summary="Get a statement with its lines, as JSON or CSV",
        description=(
            "The statement and its lines. `?format=csv` or `Accept: text/csv` returns the same "
            "lines as a CSV attachment."
        ),
        parameters=[FORMAT_PARAMETER],
        responses={
            (200, "application/json"): StatementDetailSerializer,
            (200, "text/csv"): OpenApiTypes.STR,
        },
    ),
)
class StatementViewSet(ReadOnlyApiViewSet):
    permission_classes = [*ApiViewMixin.permission_classes, scopes(STAFF, ORGANIZATION)]
    filterset_class = StatementFilter
    ordering_fields = ["month", "total"]
    ordering = ["-month", "id"]

    def get_queryset(self):
        return visible_statements(self.principal)

    def get_serializer_class(self):
        return StatementDetailSerializer if self.action == "retrieve" else StatementSerializer

    def get_renderers(self):
        if self.action == "retrieve":
            return [JSONRenderer(), CSVRenderer()]
        return [JSONRenderer()]

    @extend_schema(
        summary="Preview the upcoming statement (month to date, with an estimate)",
        description=(
            "The current month's plan lines for the days the school's tenants were active so "
            "far (`lines`, `total`), the whole month if every tenant stays as it is now "
            "(`estimate_lines`, `estimate_total`), and usage over the plans' limits from the "
            "latest collected reports. Nothing is stored. A school sees its own; staff give "
            "`organization`."
        ),
        parameters=[StatementPreviewQuerySerializer],
        responses={200: StatementPreviewSerializer, **LIFECYCLE_PROBLEMS},
    )
    @action(detail=False, methods=["get"], url_path="preview", filter_backends=[])
    def preview(self, request):
        query = StatementPreviewQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        organization_id = self.principal.organization_id
        if self.principal.scope == STAFF:
            organization_id = query.validated_data.get("organization")
            if organization_id is None:
                raise ValidationError({"organization": [_("Give the school's id.")]})
        preview = statement_preview(organization_id=organization_id)
        return Response(StatementPreviewSerializer(preview).data)

    def retrieve(self, request, *args, **kwargs):
        statement = self.get_object()
        if request.accepted_renderer.format == "csv":
            filename = f"statement-{statement.organization.slug}-{statement.month:%Y-%m}.csv"
            return Response(
                statement_csv(statement),
                headers={"Content-Disposition": f'attachment; filename="{filename}"'},
            )
        statement = self.get_queryset().prefetch_related("lines").get(pk=statement.pk)
        return Response(self.get_serializer(statement).data)


@extend_schema_view(
    retrieve=extend_schema(
        summary="Download a statement as CSV",
        responses={(200, "text/csv"): OpenApiTypes.STR},
        operation_id="statements_csv",
    )
)
class StatementCsvViewSet(StatementViewSet):
    """`/statements/{id}.csv`: the same retrieve, with the CSV format fixed by the path."""

    def get_renderers(self):
        return [CSVRenderer()]


class TenantUsageCollectViewSet(ApiViewMixin, GenericViewSet):
    # POST /tenants/{id}/usage/collect: the tenant is found through the tenant API's scope;
    # the usage report and the worker that collects it are monitoring's.
    filter_backends = []

    def get_queryset(self):
        return visible_tenants(self.principal)

    @extend_schema(
        summary="Ask the vendor for a tenant's usage of one month",
        description=(
            "Makes the month's usage report due now and hands it to a worker (202): poll "
            "`/api/v1/usage?tenant={id}&month=YYYY-MM` until its state is collected, rejected "
            "or failed. A month already collected is returned as it is (200) unless `force`."
        ),
        request=UsageCollectRequestSerializer,
        responses={200: UsageReportSerializer, 202: UsageReportSerializer, **LIFECYCLE_PROBLEMS},
    )
    def collect_usage(self, request, pk=None):
        require_scope(request, STAFF, ORGANIZATION)
        tenant = self.get_object()
        serializer = UsageCollectRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        report = usage_report_request(
            tenant_id=tenant.pk, month=month_parse(data["month"]), force=data["force"]
        )
        if report.state != UsageReport.State.PENDING:
            return Response(UsageReportSerializer(report).data)
        transaction.on_commit(lambda: collect_usage_chunk.delay([report.pk]))
        return Response(UsageReportSerializer(report).data, status=status.HTTP_202_ACCEPTED)
