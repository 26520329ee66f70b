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


def team_invite(*, organization: Organization, email: str, name: str, invited_by: User) -> User:
    """Create an admin of `organization` without a password and e-mail a set-password link.

    The username is the e-mail address, so the invited person logs in with what they know.
    """
    email = email.strip().lower()
    if invited_by.organization_id != organization.pk:
        raise TeamError(_("You can only invite admins to your own school."))
    if (
        User.objects.filter(username__iexact=email).exists()
        or User.objects.filter(email__iexact=email).exists()
    ):
        raise TeamError(_("An account with this e-mail address already exists."), field="email")
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
        raise TeamError(
            _("An account with this e-mail address already exists."), field="email"
        ) from None
    return user
