"""Writing e-mails to the outbox and handing them to the mail server, each exactly once.

A caller queues a message inside the transaction of the change it describes
(`mail_queue` / `mail_render_queue`); the row commits or rolls back with that change. After
commit a worker task sends it (`outgoing_mail_send`); a failed attempt puts it back with a
later `next_attempt_at` (exponential backoff), and the minute sweep (`outgoing_mail_send_due`)
sends whatever is due, including rows whose task was lost. A row is claimed (state
`sending`) before the server is contacted, so two workers never send it twice; a worker
killed while sending leaves a `sending` row that is handed out again after
`SENDING_STUCK_AFTER` (the same Message-ID, so a receiver can tell a repeat).
"""

from __future__ import annotations

import html
import logging
import re
import smtplib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import make_msgid
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext

from mailer.models import GIVE_UP_AFTER, OutgoingMail
from market.lib.tasks import registered_task

logger = logging.getLogger(__name__)
State = OutgoingMail.State

SENDING_STUCK_AFTER = timedelta(minutes=10)
MAX_BACKOFF = timedelta(hours=1)
URL = re.compile(r"https?://[^\s<>\"]+")


class MailError(Exception):
    """A message cannot be queued as asked; the message says what to change."""


def market_domain() -> str:
    """The host of MARKET_BASE_URL: the domain of every Message-ID the market mints."""
    return urlsplit(str(settings.MARKET_BASE_URL)).hostname or "market.local"


def market_name() -> str:
    """The market's name in the active language (the subject tag of every message)."""
    return gettext("Service Market")


def _subject(subject: str) -> str:
    subject = " ".join(subject.split())
    name = market_name()
    if name not in subject and "Service Market" not in subject:
        subject = f"[{name}] {subject}"
    return subject[:998]


def _html_from_text(text: str) -> str:
    """The HTML part of a text-only template: its paragraphs, with links made clickable."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", text.strip()):
        escaped = html.escape(block)
        linked = URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)
        paragraphs.append("<p>" + linked.replace("\n", "<br>\n") + "</p>")
    return "\n".join(paragraphs)


def _retry_base() -> float:
    return float(settings.MAIL_RETRY_BASE_SECONDS)


def mail_queue(
    *,
    kind: str,
    to: Sequence[str],
    subject: str,
    body_text: str,
    body_html: str | None = None,
    from_email: str | None = None,
) -> OutgoingMail:
    """Write one message to the outbox; it is sent after the surrounding transaction commits."""
    recipients = [address.strip() for address in to if address and address.strip()]
    if not recipients:
        raise MailError(f"A {kind} e-mail needs at least one recipient address.")
    language = translation.get_language() or settings.LANGUAGE_CODE
    body = render_to_string(
        "emails/base.html",
        {
            "subject": _subject(subject),
            "content": body_html if body_html is not None else _html_from_text(body_text),
            "language": language,
            "market_name": market_name(),
        },
    )
    mail = OutgoingMail.objects.create(
        kind=kind,
        from_email=from_email or settings.DEFAULT_FROM_EMAIL,
        to=recipients,
        subject=_subject(subject),
        body_text=body_text,
        body_html=body,
        message_id=make_msgid(domain=market_domain()),
        language=language,
    )
    mail_id = mail.pk
    transaction.on_commit(lambda: _enqueue(mail_id))
    return mail


def mail_render_queue(
    *,
    kind: str,
    template: str,
    context: dict,
    to: Sequence[str],
    language: str | None = None,
) -> OutgoingMail:
    """Render `<template>_subject.txt`, `_body.txt` (and `_body.html` if any), then queue."""
    with translation.override(language or settings.LANGUAGE_CODE):
        subject = render_to_string(f"{template}_subject.txt", context)
        body_text = render_to_string(f"{template}_body.txt", context)
        try:
            body_html = render_to_string(f"{template}_body.html", context)
        except TemplateDoesNotExist:
            body_html = None
        return mail_queue(
            kind=kind, to=to, subject=subject, body_text=body_text, body_html=body_html
        )


# The task that sends one message (mailer/tasks.py), called by name: tasks import services.
SEND_TASK = "mailer.send_outgoing_mail"


def _enqueue(mail_id: int, *, countdown: float | None = None) -> None:
    try:
        registered_task(SEND_TASK).apply_async((mail_id,), countdown=countdown)
    except Exception:  # noqa: BLE001 - the minute sweep sends it; a broker outage loses nothing
        logger.warning("could not enqueue outgoing mail %s; the sweep will send it", mail_id)


# --- sending ---------------------------------------------------------------------------------


def _claim(*, ids: Iterable[int], now: datetime) -> list[int]:
    """Move due pending rows to `sending`; return the ids this caller now owns."""
    due = OutgoingMail.objects.filter(state=State.PENDING, next_attempt_at__lte=now)
    ids = list(ids)
    if connection.features.has_select_for_update_skip_locked:
        # PostgreSQL: rows another worker is claiming are skipped, not waited for.
        with transaction.atomic():
            mine = list(
                due.filter(pk__in=ids)
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)
            )
            OutgoingMail.objects.filter(pk__in=mine).update(state=State.SENDING, claimed_at=now)
        return mine
    # SQLite has no row locks: one compare-and-set per row, each atomic on its own.
    return [pk for pk in ids if due.filter(pk=pk).update(state=State.SENDING, claimed_at=now)]


def _is_permanent(error: Exception) -> bool:
    """A 5xx answer about the message itself: sending again cannot help."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _message in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException) and not isinstance(
        error, smtplib.SMTPServerDisconnected
    ):
        return error.smtp_code >= 500 and not isinstance(error, smtplib.SMTPAuthenticationError)
    return False


def _message(mail: OutgoingMail, mail_connection) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=mail.subject,
        body=mail.body_text,
        from_email=mail.from_email,
        to=list(mail.to),
        connection=mail_connection,
        headers={
            "Message-ID": mail.message_id,
            "Auto-Submitted": "auto-generated",
            "X-Auto-Response-Suppress": "All",
        },
    )
    message.attach_alternative(mail.body_html, "text/html")
    return message


@dataclass(frozen=True)
class SendResult:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def _deliver(*, ids: list[int], now: datetime) -> SendResult:
    """Send claimed rows over one connection and record each outcome."""
    sent = retrying = failed = 0
    mails = list(OutgoingMail.objects.filter(pk__in=ids, state=State.SENDING).order_by("pk"))
    if not mails:
        return SendResult()
    mail_connection = get_connection(fail_silently=False)
    try:
        for mail in mails:
            try:
                _message(mail, mail_connection).send()
            except Exception as error:  # noqa: BLE001 - every failure is recorded on the row
                state = _record_failure(mail=mail, error=error, now=max(now, timezone.now()))
                retrying += state == State.PENDING
                failed += state == State.FAILED
                if not _is_permanent(error):
                    # The server is unreachable or refusing: the rest would only fail the same
                    # way, so they go back untouched and wait for the next attempt.
                    rest = [m.pk for m in mails if m.pk > mail.pk]
                    retrying += OutgoingMail.objects.filter(
                        pk__in=rest, state=State.SENDING
                    ).update(state=State.PENDING, claimed_at=None)
                    break
                continue
            OutgoingMail.objects.filter(pk=mail.pk, state=State.SENDING).update(
                state=State.SENT,
                sent_at=timezone.now(),
                attempts=mail.attempts + 1,
                last_error="",
            )
            sent += 1
    finally:
        try:
            mail_connection.close()
        except Exception:  # noqa: BLE001 - a broken connection is already recorded
            logger.debug("closing the mail connection failed", exc_info=True)
    return SendResult(sent=sent, retrying=retrying, failed=failed)


def _record_failure(*, mail: OutgoingMail, error: Exception, now: datetime) -> str:
    attempts = mail.attempts + 1
    reason = f"{type(error).__name__}: {error}"[:2000]
    if _is_permanent(error) or now >= mail.give_up_at:
        state, when = State.FAILED, now
        logger.error("outgoing mail %s failed for good: %s", mail.pk, reason)
    else:
        state = State.PENDING
        delay = min(_retry_base() * 2 ** (attempts - 1), MAX_BACKOFF.total_seconds())
        when = now + timedelta(seconds=delay)
        logger.warning("outgoing mail %s not sent (%s); next attempt at %s", mail.pk, reason, when)
        mail_id = mail.pk
        transaction.on_commit(lambda: _enqueue(mail_id, countdown=delay))
    OutgoingMail.objects.filter(pk=mail.pk, state=State.SENDING).update(
        state=state, attempts=attempts, next_attempt_at=when, last_error=reason, claimed_at=None
    )
    return state


def outgoing_mail_send(*, mail_id: int, now: datetime | None = None) -> SendResult:
    """Send one queued message if it is due and nobody else holds it."""
    now = now or timezone.now()
    return _deliver(ids=_claim(ids=[mail_id], now=now), now=now)


def outgoing_mail_send_due(*, now: datetime | None = None, limit: int = 200) -> SendResult:
    """The minute sweep: reclaim rows of killed workers, then send what is due, oldest first."""
    now = now or timezone.now()
    OutgoingMail.objects.filter(
        state=State.SENDING, claimed_at__lt=now - SENDING_STUCK_AFTER
    ).update(state=State.PENDING, claimed_at=None)
    due = OutgoingMail.objects.filter(state=State.PENDING, next_attempt_at__lte=now)
    ids = list(due.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit])
    return _deliver(ids=_claim(ids=ids, now=now), now=now)


def outgoing_mail_retry(*, mail_ids: Iterable[int]) -> int:
    """Staff: send failed (or waiting) messages again now; return how many were put back."""
    ids = list(
        OutgoingMail.objects.filter(
            pk__in=list(mail_ids), state__in=[State.FAILED, State.PENDING]
        ).values_list("pk", flat=True)
    )
    now = timezone.now()
    OutgoingMail.objects.filter(pk__in=ids).update(
        state=State.PENDING, next_attempt_at=now, give_up_at=now + GIVE_UP_AFTER
    )
    for mail_id in ids:
        transaction.on_commit(lambda mail_id=mail_id: _enqueue(mail_id))
    return len(ids)
