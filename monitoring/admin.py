from django.contrib import admin

from market.lib.admin import DerivedInline, DerivedModelAdmin
from monitoring.models import (
    HealthRollup,
    Incident,
    MonitoringCounter,
    Statement,
    StatementLine,
    SweepRun,
    UsageReport,
)


@admin.register(Incident)
class IncidentAdmin(DerivedModelAdmin):
    list_display = ("service", "opened_at", "closed_at", "reason", "failed_checks", "last_alert_at")
    list_filter = ("closed_at", "service")
    list_select_related = ("service",)
    search_fields = ("service__service_id", "reason")
    readonly_fields = (
        "service",
        "opened_at",
        "closed_at",
        "reason",
        "failed_checks",
        "last_alert_at",
        "created_at",
        "updated_at",
    )


@admin.register(HealthRollup)
class HealthRollupAdmin(DerivedModelAdmin):
    list_display = (
        "service",
        "hour",
        "checks",
        "failures",
        "degraded",
        "latency_p50_ms",
        "latency_p95_ms",
    )
    list_filter = ("service",)
    list_select_related = ("service",)
    date_hierarchy = "hour"
    readonly_fields = (
        "service",
        "hour",
        "checks",
        "failures",
        "degraded",
        "latency_p50_ms",
        "latency_p95_ms",
        "latency_histogram",
    )


@admin.register(SweepRun)
class SweepRunAdmin(DerivedModelAdmin):
    list_display = (
        "minute",
        "services",
        "chunks",
        "chunks_done",
        "probes",
        "failures",
        "finished_at",
    )
    date_hierarchy = "minute"
    readonly_fields = (
        "minute",
        "started_at",
        "services",
        "chunks",
        "chunks_done",
        "probes",
        "failures",
        "finished_at",
    )


@admin.register(MonitoringCounter)
class MonitoringCounterAdmin(DerivedModelAdmin):
    list_display = ("name", "value")
    readonly_fields = ("name", "value")


@admin.register(UsageReport)
class UsageReportAdmin(DerivedModelAdmin):
    list_display = ("tenant", "month", "state", "attempts", "collected_at", "error")
    list_filter = ("state", "month")
    list_select_related = ("tenant__service", "tenant__organization")
    search_fields = ("tenant__tenant_id", "tenant__service__service_id")
    readonly_fields = (
        "tenant",
        "month",
        "state",
        "metrics",
        "attempts",
        "next_attempt_at",
        "collected_at",
        "error",
        "created_at",
        "updated_at",
    )


class StatementLineInline(DerivedInline):
    model = StatementLine
    fields = ("kind", "description", "quantity", "unit_price", "amount")
    readonly_fields = fields


@admin.register(StatementLine)
class StatementLineAdmin(DerivedModelAdmin):
    list_display = ("statement", "kind", "description", "quantity", "unit_price", "amount")
    list_filter = ("kind",)
    list_select_related = ("statement__organization",)
    readonly_fields = (
        "statement",
        "subscription",
        "kind",
        "description",
        "quantity",
        "unit_price",
        "amount",
    )


@admin.register(Statement)
class StatementAdmin(DerivedModelAdmin):
    list_display = ("organization", "month", "total", "currency", "updated_at")
    list_filter = ("month",)
    list_select_related = ("organization",)
    search_fields = ("organization__name",)
    readonly_fields = ("organization", "month", "currency", "total", "created_at", "updated_at")
    inlines = [StatementLineInline]
