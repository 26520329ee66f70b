"""Permission checks of the API; object visibility itself is done by scoped querysets (404)."""

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from market.api.principal import principal_of


class HasMarketRole(BasePermission):
    """The caller is staff, a school or a vendor (a session user with no role sees nothing)."""

    message = _("This account has no role in the market.")

    def has_permission(self, request, view):
        return principal_of(request).has_role


def require_scope(request, *scopes: str) -> None:
    """Refuse (403) a caller whose scope may never use this endpoint, whatever the object."""
    if principal_of(request).scope not in scopes:
        raise PermissionDenied(_("Your token's scope does not allow this."))


def scopes(*allowed: str) -> type[BasePermission]:
    """A permission class admitting only callers of the given scopes (403 for the others)."""

    class ScopeIn(BasePermission):
        message = _("Your token's scope does not allow this.")

        def has_permission(self, request, view):
            return principal_of(request).scope in allowed

    ScopeIn.__name__ = "ScopeIn" + "".join(scope.title() for scope in allowed)
    return ScopeIn
