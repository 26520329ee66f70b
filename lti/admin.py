"""Staff views of LTI registrations, deployments and launches (read-only where the market owns them)."""

from django.contrib import admin

from lti.models import AccessToken, Deployment, Login, RegistrationToken, Tool


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Tool)
class ToolAdmin(admin.ModelAdmin):
    list_display = ("service", "client_id", "source", "login_initiation_url", "created_at")
    list_filter = ("source",)
    search_fields = ("service__service_id", "client_id", "name")
    readonly_fields = ("client_id", "source", "registration", "created_at", "updated_at")


@admin.register(Deployment)
class DeploymentAdmin(ReadOnlyAdmin):
    list_display = ("deployment_id", "tool", "tenant", "created_at")
    search_fields = ("deployment_id", "tenant__tenant_id", "tool__client_id")


@admin.register(Login)
class LoginAdmin(ReadOnlyAdmin):
    list_display = ("pk", "tool", "deployment", "user", "created_at", "expires_at", "used_at")
    list_filter = ("tool",)
    exclude = ("handle",)  # a live handle is half a launch: staff do not need to see it


@admin.register(RegistrationToken)
class RegistrationTokenAdmin(ReadOnlyAdmin):
    list_display = ("service", "initiation_url", "created_by", "expires_at", "used_at")
    exclude = ("token_hash",)


@admin.register(AccessToken)
class AccessTokenAdmin(ReadOnlyAdmin):
    list_display = ("tool", "scopes", "created_at", "expires_at")
    exclude = ("token_hash",)
