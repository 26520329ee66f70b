"""Admin building blocks shared by every app."""

from django.contrib import admin


class DerivedModelAdmin(admin.ModelAdmin):
    """A table the market computes (rollups, counters, statement lines, history): view only.

    Staff see every row and field but get no add, change or delete buttons: an edit would be
    overwritten by the next computation, or would make a derived number disagree with its source.
    """

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DerivedInline(admin.TabularInline):
    """The inline form of DerivedModelAdmin."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
