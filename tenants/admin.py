from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from market.lib.admin import DerivedModelAdmin
from services.admin import admin_link
from tenants.errors import LifecycleError
from tenants.models import (
    LifecycleEvent,
    Operation,
    Organization,
    PlanChange,
    Subscription,
    Tenant,
    TenantStateChange,
)
from tenants.operations import reconcile, services


def _run_for_each(modeladmin, request, queryset, action, done_message):
    """Apply one service function per selected row; report successes and each refusal."""
    done = 0
    for obj in queryset:
        try:
            action(obj)
            done += 1
        except LifecycleError as error:
            modeladmin.message_user(request, f"{obj}: {error.message}", messages.WARNING)
    if done:
        modeladmin.message_user(request, done_message % {"count": done}, messages.SUCCESS)


@admin.action(description=_("Retry now"))
def retry_operations(modeladmin, request, queryset):
    _run_for_each(
        modeladmin,
        request,
        queryset,
        lambda op: services.operation_retry_now(operation=op, requested_by=request.user),
        _("%(count)s operation(s) sent again."),
    )


@admin.action(description=pgettext_lazy("an operation", "Cancel the selected operations"))
def cancel_operations(modeladmin, request, queryset):
    _run_for_each(
        modeladmin,
        request,
        queryset,
        lambda op: services.operation_cancel(operation=op, cancelled_by=request.user),
        _("%(count)s operation(s) cancelled."),
    )


def _force_deactivate(reason):
    def action(modeladmin, request, queryset):
        _run_for_each(
            modeladmin,
            request,
            queryset,
            lambda tenant: services.tenant_deactivate(
                tenant=tenant, reason=reason, requested_by=request.user
            ),
            _("Deactivation queued for %(count)s tenant(s)."),
        )

    action.__name__ = f"force_deactivate_{reason}"  # Django names admin actions by function name
    return action


force_deactivate_admin_request = admin.action(description=_("Force deactivate (admin request)"))(
    _force_deactivate("admin_request")
)
force_deactivate_violation = admin.action(description=_("Force deactivate (violation)"))(
    _force_deactivate("violation")
)


@admin.action(description=_("Re-sync status from the vendor"))
def resync_status(modeladmin, request, queryset):
    _run_for_each(
        modeladmin,
        request,
        queryset.select_related("service__current_manifest"),
        lambda tenant: reconcile.tenant_sync_status(tenant=tenant),
        _("Status asked for %(count)s tenant(s)."),
    )


class TenantInline(admin.TabularInline):
    model = Tenant
    extra = 0
    fields = ("service", "tenant_id", "state", "access_url", "drifted")
    readonly_fields = fields
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class SubscriptionInline(admin.TabularInline):
    model = Subscription
    extra = 0
    fields = ("service", "plan", "status", "starts_on", "ends_on")
    readonly_fields = fields
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "contact_email", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name", "slug", "contact_email")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("created_at", "updated_at")
    inlines = [SubscriptionInline, TenantInline]


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "organization",
        "service",
        "plan",
        "status",
        "starts_on",
        "ends_on",
        "tenant_link",
    )
    list_filter = ("status", "service", "ends_on")
    # plan and tenant print their service: select it too, or each row costs two queries.
    list_select_related = ("organization", "service", "plan__service", "tenant__service")
    search_fields = ("organization__name", "organization__slug", "service__service_id")
    date_hierarchy = "ends_on"
    readonly_fields = (
        "tenant",
        "created_by",
        "idempotency_key",
        "expiry_notice_sent_at",
        "renewal_notice_sent_at",
        "ended_at",
        "created_at",
        "updated_at",
    )
    autocomplete_fields = ("organization", "service")

    @admin.display(description=_("tenant"))
    def tenant_link(self, subscription):
        return admin_link(subscription.tenant)


class OperationInline(admin.TabularInline):
    model = Operation
    extra = 0
    fields = ("kind", "state", "attempts", "next_attempt_at", "last_status_code", "last_error_kind")
    readonly_fields = fields
    show_change_link = True
    can_delete = False
    ordering = ("-created_at",)

    def has_add_permission(self, request, obj=None):
        return False


class EventInline(admin.TabularInline):
    model = LifecycleEvent
    extra = 0
    fields = ("created_at", "kind", "actor_label", "message")
    readonly_fields = fields
    can_delete = False
    ordering = ("-created_at",)

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = (
        "tenant_id",
        "service",
        "organization",
        "state",
        "plan_code",
        "drifted",
        "state_changed_at",
        "reactivation_deadline",
    )
    list_filter = ("state", "drifted", "service")
    list_select_related = ("service", "organization")
    search_fields = ("tenant_id", "organization__name", "service__service_id")
    readonly_fields = (
        "organization",
        "service",
        "tenant_id",
        "state",
        "state_changed_at",
        "plan_code",
        "isolation",
        "access_url",
        "credentials_emailed_by_vendor",
        "credentials_revealed_at",
        "data_preserved",
        "reactivation_deadline",
        "purged_at",
        "last_status",
        "last_status_at",
        "drifted",
        "drift_reason",
        "attention_reason",
        "created_at",
        "updated_at",
    )
    exclude = ("temp_password",)
    inlines = [OperationInline, EventInline]
    actions = [force_deactivate_admin_request, force_deactivate_violation, resync_status]


class ErrorKindFilter(admin.SimpleListFilter):
    """The error kinds that occurred, with "none" named (the stock filter shows an empty link)."""

    title = _("last error kind")
    parameter_name = "last_error_kind"

    def lookups(self, request, model_admin):
        kinds = (
            Operation.objects.exclude(last_error_kind="")
            .order_by("last_error_kind")
            .values_list("last_error_kind", flat=True)
            .distinct()
        )
        return [("-", _("No error")), *((kind, kind) for kind in kinds)]

    def queryset(self, request, queryset):
        if self.value() == "-":
            return queryset.filter(last_error_kind="")
        if self.value():
            return queryset.filter(last_error_kind=self.value())
        return queryset


@admin.register(Operation)
class OperationAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "kind",
        "tenant",
        "state",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error_kind",
        "created_at",
    )
    list_filter = ("state", "kind", ErrorKindFilter)
    list_select_related = ("tenant__service", "tenant__organization")
    search_fields = ("request_id", "tenant__tenant_id", "tenant__service__service_id")
    readonly_fields = [field.name for field in Operation._meta.fields]
    actions = [retry_operations, cancel_operations]


@admin.register(LifecycleEvent)
class LifecycleEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "tenant", "kind", "actor_label", "message")
    list_filter = ("kind",)
    list_select_related = ("tenant__service", "tenant__organization")
    search_fields = ("tenant__tenant_id", "message", "actor_label")
    readonly_fields = [field.name for field in LifecycleEvent._meta.fields]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TenantStateChange)
class TenantStateChangeAdmin(DerivedModelAdmin):
    """The tenant's state history that billing counts delivered days from: view only."""

    list_display = ("at", "tenant", "previous", "state")
    list_filter = ("state",)
    list_select_related = ("tenant__service", "tenant__organization")
    search_fields = ("tenant__tenant_id",)


@admin.register(PlanChange)
class PlanChangeAdmin(DerivedModelAdmin):
    """Plan changes with the prices agreed when each was accepted: view only."""

    list_display = ("requested_at", "subscription", "from_plan", "to_plan", "price", "effective_at")
    list_select_related = ("subscription__organization", "from_plan", "to_plan")
