from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from services.models import (
    CatalogLabel,
    ConformanceRun,
    Manifest,
    Plan,
    Service,
    ServiceCredential,
    Vendor,
)


def admin_link(obj, label=None):
    """A link to an object's change page in the admin."""
    if obj is None:
        return "—"
    meta = obj._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, label or str(obj))


class PlanInline(admin.TabularInline):
    model = Plan
    extra = 0

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        # A tabular inline labels its columns with header cells only: name each field too.
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None:
            field.widget.attrs.setdefault("aria-label", str(db_field.verbose_name))
        return field

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)

        class LabelledFormSet(formset):
            def add_fields(self, form, index):
                super().add_fields(form, index)
                if "DELETE" in form.fields:
                    form.fields["DELETE"].widget.attrs["aria-label"] = _("Delete")

        return LabelledFormSet

    fields = (
        "code",
        "name",
        "price",
        "currency",
        "max_users",
        "storage_limit_gb",
        "features",
        "is_active",
        "price_set",
    )
    readonly_fields = ("price_set",)


class ServiceInline(admin.TabularInline):
    model = Service
    extra = 0
    fields = ("service_id", "name", "status", "health")
    readonly_fields = ("health",)
    show_change_link = True


@admin.register(Vendor)
class VendorAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "contact_email", "status", "created_at")
    list_filter = ("status",)
    search_fields = ("name", "slug", "contact_email")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("created_at", "updated_at")
    inlines = [ServiceInline]


@admin.action(description=_("Approve and list"))
def approve_services(modeladmin, request, queryset):
    from services.services import service_approve

    for service in queryset:
        service_approve(service=service)
    modeladmin.message_user(request, _("%(n)s service(s) listed.") % {"n": queryset.count()})


@admin.action(description=_("Unlist (subscriptions keep running)"))
def unlist_services(modeladmin, request, queryset):
    from services.services import service_unlist

    for service in queryset:
        service_unlist(service=service, unlisted_by=request.user)
    modeladmin.message_user(request, _("%(n)s service(s) unlisted.") % {"n": queryset.count()})


@admin.action(description=_("Run the conformance kit now"))
def run_conformance(modeladmin, request, queryset):
    from services.conformance import conformance_run

    for service in queryset:
        run = conformance_run(service=service, started_by=request.user)
        level = messages.SUCCESS if run.result == run.Result.PASSED else messages.WARNING
        modeladmin.message_user(
            request,
            _("%(service)s: %(result)s, %(passed)s passed, %(failed)s failed.")
            % {
                "service": service.service_id,
                "result": run.get_result_display(),
                "passed": run.passed_count,
                "failed": run.failed_count,
            },
            level,
        )


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "service_id",
        "vendor",
        "status",
        "health",
        "health_checked_at",
        "health_latency_ms",
        "consecutive_failures",
    )
    list_filter = ("status", "health", "vendor")
    list_select_related = ("vendor",)
    search_fields = ("name", "service_id", "vendor__name")
    autocomplete_fields = ("vendor",)
    readonly_fields = (
        "current_manifest_link",
        "health",
        "health_checked_at",
        "health_changed_at",
        "health_latency_ms",
        "health_reason",
        "consecutive_failures",
        "usage_noncompliant_since",
        "listed_via",
        "created_at",
        "updated_at",
    )
    exclude = ("current_manifest",)
    inlines = [PlanInline]
    actions = [approve_services, unlist_services, run_conformance]

    def save_formset(self, request, form, formset, change):
        """A price staff type in counts as set (the listing checklist), like a declared one."""
        from services.listing import service_list_if_ready

        for plan_form in formset.forms:
            if "price" in getattr(plan_form, "changed_data", ()) and plan_form.instance.pk:
                plan_form.instance.price_set = True
        super().save_formset(request, form, formset, change)
        service_list_if_ready(service=form.instance)

    @admin.display(description=_("current manifest"))
    def current_manifest_link(self, service):
        return admin_link(service.current_manifest)


@admin.register(Manifest)
class ManifestAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "vendor",
        "service",
        "number",
        "is_valid",
        "submitted_by",
        "created_at",
    )
    list_filter = ("is_valid", "vendor")
    list_select_related = ("vendor", "service", "submitted_by")
    search_fields = ("service__service_id", "vendor__name")

    def has_change_permission(self, request, obj=None):
        return False  # Manifest versions are immutable.


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "name",
        "price",
        "currency",
        "max_users",
        "storage_limit_gb",
        "is_active",
    )
    list_filter = ("is_active", "price_set", "service")
    list_select_related = ("service",)
    search_fields = ("code", "name", "service__service_id")
    readonly_fields = ("price_set",)

    def save_model(self, request, obj, form, change):
        """A price staff set counts as set for the listing checklist (services.listing)."""
        from services.listing import plan_price_set

        super().save_model(request, obj, form, change)
        if "price" in form.changed_data:
            plan_price_set(plan=obj, price=obj.price)


@admin.register(ServiceCredential)
class ServiceCredentialAdmin(admin.ModelAdmin):
    list_display = ("__str__", "service", "created_at", "expires_at")
    list_select_related = ("service",)
    search_fields = ("service__service_id",)
    fields = ("service", "created_at", "expires_at")
    readonly_fields = ("service", "created_at")

    def has_add_permission(self, request):
        return False  # Credentials are issued by registration and rotation, never typed in.


@admin.register(ConformanceRun)
class ConformanceRunAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "service",
        "result",
        "passed_count",
        "failed_count",
        "skipped_count",
        "created_at",
    )
    list_filter = ("result",)
    list_select_related = ("service",)
    readonly_fields = (
        "service",
        "started_by",
        "result",
        "finished_at",
        "passed_count",
        "failed_count",
        "skipped_count",
        "report",
        "created_at",
    )


@admin.register(CatalogLabel)
class CatalogLabelAdmin(admin.ModelAdmin):
    """Staff correct or add the label of a feature or category code (over manifests' labels)."""

    list_display = ("kind", "code", "label_ko", "label_en", "updated_at")
    list_filter = ("kind",)
    search_fields = ("code", "label_ko", "label_en")
