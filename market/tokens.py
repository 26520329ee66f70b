"""Integrator API tokens: issue, revoke, and recognise them.

A token is shown to its owner exactly once, when it is created. The market keeps only the
SHA-256 of it (tokens are 256 random bits, so a fast hash is enough: nothing to brute-force)
and a short prefix that people can match against the token they hold.

Token format: ``smk_<8 prefix chars>_<43 secret chars>``; the stored prefix is ``smk_<8 chars>``.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from market.errors import DomainError
from market.models import ApiToken, User

TOKEN_MARKER = "smk_"
PREFIX_LENGTH = 8
MAX_TOKEN_LENGTH = 128
# Writing last_used_at on every request would turn every read into a write; a minute is enough
# to tell a live integration from a dead one.
LAST_USED_RESOLUTION = timedelta(minutes=1)
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits

Scope = ApiToken.Scope


class TokenError(DomainError):
    """A token cannot be issued as asked; the message says what to change."""

    slug = "token-refused"


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _new_plaintext() -> tuple[str, str]:
    prefix = TOKEN_MARKER + "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
    return prefix, f"{prefix}_{secrets.token_urlsafe(32)}"


def _check_owner(*, scope: str, organization, vendor, created_by: User | None) -> None:
    if scope == Scope.STAFF:
        if organization is not None or vendor is not None:
            raise TokenError(_("A staff token belongs to no school and no vendor."), field="scope")
    elif scope == Scope.ORGANIZATION:
        if organization is None or vendor is not None:
            raise TokenError(_("A school token needs its school."), field="organization")
    elif scope == Scope.VENDOR:
        if vendor is None or organization is not None:
            raise TokenError(_("A vendor token needs its vendor."), field="vendor")
    else:
        raise TokenError(_("Unknown scope: use staff, organization or vendor."), field="scope")
    if created_by is not None and not user_may_hold(
        created_by, scope=scope, organization=organization, vendor=vendor
    ):
        raise TokenError(
            _("You can only create tokens for your own school or vendor."), field="scope"
        )


def user_may_hold(user: User, *, scope: str, organization=None, vendor=None) -> bool:
    """Whether ``user`` may issue (and keep using) a token of this scope and owner."""
    if not user.is_active:
        return False
    if user.is_staff:
        return True  # staff may issue tokens on behalf of a school or a vendor (support)
    if scope == Scope.ORGANIZATION:
        return organization is not None and user.organization_id == organization.pk
    if scope == Scope.VENDOR:
        return vendor is not None and user.vendor_id == vendor.pk
    return False


def api_token_create(
    *,
    name: str,
    scope: str,
    organization=None,
    vendor=None,
    created_by: User | None = None,
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Issue a token; returns the row and the plaintext, which is never stored nor shown again."""
    name = (name or "").strip()
    if not name:
        raise TokenError(
            _("Give the token a name, e.g. the system that will use it."), field="name"
        )
    if len(name) > ApiToken._meta.get_field("name").max_length:
        raise TokenError(_("The name is too long: use at most 100 characters."), field="name")
    if expires_at is not None and expires_at <= timezone.now():
        raise TokenError(
            _("The expiry date is in the past: choose a later one."), field="expires_at"
        )
    _check_owner(scope=scope, organization=organization, vendor=vendor, created_by=created_by)
    for _attempt in range(5):
        prefix, plaintext = _new_plaintext()
        try:
            with transaction.atomic():
                token = ApiToken.objects.create(
                    name=name,
                    scope=scope,
                    organization=organization,
                    vendor=vendor,
                    created_by=created_by,
                    prefix=prefix,
                    key_hash=token_hash(plaintext),
                    expires_at=expires_at,
                )
        except IntegrityError:
            continue  # a prefix collision (one in 36^8): draw again
        return token, plaintext
    raise RuntimeError("could not draw a unique token prefix")


def api_token_revoke(*, token: ApiToken, revoked_by: User | None = None) -> ApiToken:
    """Revoke a token now; revoking a revoked token changes nothing."""
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), updated_at=timezone.now()
    )
    token.refresh_from_db()
    return token


def authenticate_token(raw: str, *, now: datetime | None = None) -> ApiToken | None:
    """The usable token whose plaintext is ``raw``, or None (unknown, expired, revoked, orphaned)."""
    if not raw or len(raw) > MAX_TOKEN_LENGTH or not raw.startswith(TOKEN_MARKER):
        return None
    now = now or timezone.now()
    token = (
        ApiToken.objects.select_related("created_by", "organization", "vendor")
        .filter(key_hash=token_hash(raw))
        .first()
    )
    if token is None or not token.is_usable(now):
        return None
    if token.scope == Scope.ORGANIZATION and not token.organization.is_active:
        return None
    # A token dies with its creator's membership: an admin who left the school takes theirs along.
    if token.created_by is not None and not user_may_hold(
        token.created_by, scope=token.scope, organization=token.organization, vendor=token.vendor
    ):
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
