from django.contrib import admin
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.utils.translation import gettext_lazy as _

from events.models import Event

ACTION_LABELS = {ADDITION: _("Added"), CHANGE: _("Changed"), DELETION: _("Deleted")}


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


@admin.register(LogEntry)
class LogEntryAdmin(admin.ModelAdmin):
    """Django's record of changes made in this admin: read-only, for staff to see who did what."""

    list_display = ("action_time", "user", "content_type", "object_repr", "action_flag_label")
    list_filter = ("action_flag", "content_type")
    search_fields = ("object_repr", "change_message", "user__username")
    date_hierarchy = "action_time"
    list_select_related = ("user", "content_type")

    @admin.display(description=_("action"), ordering="action_flag")
    def action_flag_label(self, obj):
        return ACTION_LABELS.get(obj.action_flag, obj.action_flag)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
