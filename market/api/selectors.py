"""Reads of the market's own API resources, scoped to the caller."""

from django.db.models import QuerySet

from market.api.principal import Principal
from market.models import ApiToken


def tokens_of(principal: Principal) -> QuerySet[ApiToken]:
    """The tokens of the caller's own scope and owner."""
    tokens = ApiToken.objects.select_related("organization", "vendor", "created_by")
    if principal.is_staff:
        return tokens.filter(scope=ApiToken.Scope.STAFF)
    if principal.is_school:
        return tokens.filter(
            scope=ApiToken.Scope.ORGANIZATION, organization_id=principal.organization_id
        )
    if principal.is_vendor:
        return tokens.filter(scope=ApiToken.Scope.VENDOR, vendor_id=principal.vendor_id)
    return tokens.none()
