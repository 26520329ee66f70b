from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from market.models import ApiToken, MarketPolicy, User

admin.site.site_header = _("Service Market administration")
admin.site.site_title = _("Service Market")
admin.site.index_template = "admin/market_index.html"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = (
        "username",
        "email",
        "role_display",
        "vendor",
        "organization",
        "is_active",
        "last_login",
    )
    list_filter = ("is_staff", "is_active", "vendor", "organization")
    list_select_related = ("vendor", "organization")
    search_fields = ("username", "email", "first_name", "last_name")
    autocomplete_fields = ("vendor", "organization")
    fieldsets = DjangoUserAdmin.fieldsets + (
        (_("Membership"), {"fields": ("vendor", "organization", "preferred_language")}),
    )

    @admin.display(description=_("role"))
    def role_display(self, user):
        return User.Role(user.role).label


@admin.register(MarketPolicy)
class MarketPolicyAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "usage_reports_mandatory",
        "require_staff_approval",
        "preserve_data_on_expiry",
        "updated_at",
    )
    readonly_fields = ("created_at", "updated_at")

    def has_add_permission(self, request):
        return not MarketPolicy.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "prefix",
        "scope",
        "organization",
        "vendor",
        "expires_at",
        "revoked_at",
        "last_used_at",
    )
    list_filter = ("scope", "revoked_at")
    list_select_related = ("organization", "vendor")
    search_fields = ("name", "prefix")
    readonly_fields = ("prefix", "key_hash", "last_used_at", "created_at", "created_by")
    fields = (
        "name",
        "scope",
        "organization",
        "vendor",
        "expires_at",
        "revoked_at",
        "prefix",
        "key_hash",
        "created_by",
        "last_used_at",
        "created_at",
    )
