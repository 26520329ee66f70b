"""Reads of the outbox."""

from datetime import timedelta

from django.utils import timezone

from mailer.models import OutgoingMail


def mail_delivery_delayed(*, within: timedelta = timedelta(hours=1)) -> bool:
    """Whether the market's mail is currently not getting through.

    True while a message waits for a retry after a failed attempt, or one failed for good
    recently. It describes the mail server, not one account, so a page may say it without
    telling anyone whether an address has an account.
    """
    State = OutgoingMail.State
    return (
        OutgoingMail.objects.filter(state=State.PENDING, attempts__gt=0).exists()
        or OutgoingMail.objects.filter(
            state=State.FAILED, updated_at__gte=timezone.now() - within
        ).exists()
    )
