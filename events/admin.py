from django.contrib import admin

from events.models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """The log is append-only: staff read and search it, nobody edits it."""

    list_display = ("id", "created_at", "type", "actor_label", "organization_id", "service_id")
    list_filter = ("type", "actor_kind")
    search_fields = ("type", "actor_label")
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
