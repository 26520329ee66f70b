"""A school's team: admins invite other admins of the same school."""

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from mailer.services import mail_render_queue
from market.models import User
from tenants.models import Organization


class TeamError(Exception):
    """An invitation cannot be sent; `field` names the input at fault."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def set_password_url(user: User) -> str:
    """An absolute link to choose a password, valid until the user logs in or sets one."""
    path = reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return f"{str(settings.MARKET_BASE_URL).rstrip('/')}{path}"


def _existing_account(email: str) -> User | None:
    return (
        User.objects.filter(username__iexact=email).first()
        or User.objects.filter(email__iexact=email).first()
    )


def _tell_existing_account(*, user: User, organization: Organization, invited_by: User) -> None:
    """Tell the address's owner (not the inviter) that an invitation could not make an account."""
    context = {"organization": organization, "invited_by": invited_by, "user": user}
    mail_render_queue(
        kind="team_invite_existing",
        template="tenants/emails/invite_existing",
        context=context,
        to=[user.email or user.username],
        language=user.preferred_language or None,
    )


def team_invite(
    *, organization: Organization, email: str, name: str, invited_by: User
) -> User | None:
    """Create an admin of `organization` without a password and e-mail a set-password link.

    The username is the e-mail address, so the invited person logs in with what they know.
    An address that already has an account elsewhere in the market (another school, a vendor,
    staff) gets the same answer as a new one, so an invitation reveals nothing about other
    accounts: its owner is told by e-mail instead, and None is returned. Only an admin of this
    school (listed on the team page already) is an error.
    """
    email = email.strip().lower()
    if invited_by.organization_id != organization.pk:
        raise TeamError(_("You can only invite admins to your own school."))
    existing = _existing_account(email)
    if existing is not None and existing.organization_id == organization.pk:
        raise TeamError(_("This person is already an admin of your school."), field="email")
    if existing is not None:
        _tell_existing_account(user=existing, organization=organization, invited_by=invited_by)
        return None
    first_name, _sep, last_name = name.strip().partition(" ")
    try:
        # The account and its invitation commit together; the outbox delivers it with retries.
        with transaction.atomic():
            user = User(
                username=email,
                email=email,
                first_name=first_name[:150],
                last_name=last_name[:150],
                organization=organization,
            )
            user.set_unusable_password()
            user.save()
            context = {
                "organization": organization,
                "invited_by": invited_by,
                "user": user,
                "url": set_password_url(user),
            }
            mail_render_queue(
                kind="team_invite",
                template="tenants/emails/invite",
                context=context,
                to=[email],
                language=translation.get_language(),
            )
    except IntegrityError:
        # Created by a concurrent request between the check and the insert: as above.
        return None
    return user
