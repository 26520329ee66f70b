from django.contrib import admin

from webhooks.models import Delivery, DeliveryAttempt, Endpoint


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    list_display = (
        "url",
        "owner_kind",
        "organization",
        "vendor",
        "is_active",
        "consecutive_failures",
    )
    list_filter = ("is_active", "owner_kind")
    search_fields = ("url", "description")
    readonly_fields = (
        "owner_kind",
        "organization",
        "vendor",
        "created_by",
        "consecutive_failures",
        "last_success_at",
        "disabled_at",
        "previous_secret_expires_at",
    )


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ("number", "manual", "started_at", "status_code", "latency_ms", "error_kind", "error")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """Derived rows: read only (send again from the portal or the API)."""

    list_display = ("message_id", "endpoint", "event", "state", "attempts", "next_attempt_at")
    list_filter = ("state",)
    list_select_related = ("endpoint", "event")
    search_fields = ("message_id", "endpoint__url")
    inlines = [AttemptInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
