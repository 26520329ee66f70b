"""Who is calling the API: staff, one school or one vendor, whether by token or by session.

Every queryset of the API is scoped by a `Principal`, never by `request.user` directly: a token's
scope decides what it sees, whoever created it.
"""

from __future__ import annotations

from dataclasses import dataclass

from market.models import ApiToken, User

STAFF = ApiToken.Scope.STAFF.value
ORGANIZATION = ApiToken.Scope.ORGANIZATION.value
VENDOR = ApiToken.Scope.VENDOR.value
NONE = "none"


@dataclass(frozen=True)
class Principal:
    """The caller's scope and owner, plus the person to record as the actor (None for a bare token)."""

    scope: str
    organization_id: int | None = None
    vendor_id: int | None = None
    user: User | None = None
    token: ApiToken | None = None

    @property
    def is_staff(self) -> bool:
        return self.scope == STAFF

    @property
    def is_school(self) -> bool:
        return self.scope == ORGANIZATION

    @property
    def is_vendor(self) -> bool:
        return self.scope == VENDOR

    @property
    def has_role(self) -> bool:
        return self.scope != NONE


def _from_token(token: ApiToken) -> Principal:
    return Principal(
        scope=token.scope,
        organization_id=token.organization_id,
        vendor_id=token.vendor_id,
        user=token.created_by,
        token=token,
    )


def _from_user(user) -> Principal:
    if not getattr(user, "is_authenticated", False) or not isinstance(user, User):
        return Principal(scope=NONE)
    role = user.role
    if role == User.Role.STAFF:
        return Principal(scope=STAFF, user=user)
    if role == User.Role.VENDOR:
        return Principal(scope=VENDOR, vendor_id=user.vendor_id, user=user)
    if role == User.Role.SCHOOL:
        return Principal(scope=ORGANIZATION, organization_id=user.organization_id, user=user)
    return Principal(scope=NONE, user=user)


def principal_of(request) -> Principal:
    """The principal of a DRF request (computed once per request)."""
    cached = getattr(request, "_market_principal", None)
    if cached is not None:
        return cached
    auth = getattr(request, "auth", None)
    principal = _from_token(auth) if isinstance(auth, ApiToken) else _from_user(request.user)
    request._market_principal = principal
    return principal
