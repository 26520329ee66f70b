"""The mail outbox: rows written with their change, sent once, retried with backoff."""

import datetime
import smtplib

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from mailer.models import OutgoingMail
from mailer.services import (
    mail_queue,
    outgoing_mail_retry,
    outgoing_mail_send,
    outgoing_mail_send_due,
)
from tenants.models import Operation, Subscription
from tenants.operations import calendar
from tests.factories import StaffFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db
State = OutgoingMail.State


class FlakyBackend:
    """An e-mail backend that refuses while `down` is set and records what it accepted."""

    down = True
    accepted: list = []

    def __init__(self, *args, **kwargs):
        pass

    def open(self):
        return True

    def close(self):
        pass

    def send_messages(self, messages):
        if FlakyBackend.down:
            raise ConnectionRefusedError("the mail server is down")
        FlakyBackend.accepted.extend(messages)
        return len(messages)


@pytest.fixture
def flaky_mail(settings):
    settings.EMAIL_BACKEND = "tests.mailer.test_outbox.FlakyBackend"
    settings.MAIL_RETRY_BASE_SECONDS = 30
    FlakyBackend.down = True
    FlakyBackend.accepted = []
    return FlakyBackend


def queue(**changes) -> OutgoingMail:
    values = {"kind": "test", "to": ["a@school.example"], "subject": "Hello", "body_text": "Hi."}
    values.update(changes)
    return mail_queue(**values)


def test_a_message_is_multipart_auto_submitted_and_named_after_the_market(settings, mailoutbox):
    settings.MARKET_BASE_URL = "https://market.example.kr"
    queue(
        subject="Your service\n ends", body_text="Line one.\n\nRenew: https://market.example.kr/s/"
    )

    [message] = list(mailoutbox)
    assert message.subject == "[서비스 마켓] Your service ends"
    assert message.extra_headers["Auto-Submitted"] == "auto-generated"
    assert message.extra_headers["Message-ID"].endswith("@market.example.kr>")
    assert message.body.startswith("Line one.")
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    assert '<a href="https://market.example.kr/s/">' in html
    assert message.message()["Message-ID"] == message.extra_headers["Message-ID"]


def test_a_subject_that_names_the_market_is_not_tagged_twice(mailoutbox):
    queue(subject="[Service Market] Reference Tutor ends on 2027-03-01")
    assert list(mailoutbox)[0].subject == "[Service Market] Reference Tutor ends on 2027-03-01"


def test_a_message_rolls_back_with_the_change_that_caused_it(mailoutbox):
    with pytest.raises(RuntimeError), transaction.atomic():
        queue()
        raise RuntimeError("the change failed")
    assert OutgoingMail.objects.count() == 0
    assert mailoutbox == []


def test_the_worker_task_is_enqueued_only_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        queue()
    assert len(callbacks) == 1


def test_a_failed_send_is_kept_and_retried_with_a_growing_backoff(flaky_mail):
    row = queue()
    t0 = timezone.now()

    outgoing_mail_send(mail_id=row.pk, now=t0)
    row.refresh_from_db()
    assert (row.state, row.attempts) == (State.PENDING, 1)
    assert "mail server is down" in row.last_error
    first_wait = row.next_attempt_at - t0
    assert datetime.timedelta(seconds=29) < first_wait < datetime.timedelta(seconds=40)

    assert outgoing_mail_send_due(now=t0).sent == 0, "not due before its backoff"
    outgoing_mail_send_due(now=row.next_attempt_at)
    row.refresh_from_db()
    assert row.attempts == 2
    assert row.next_attempt_at - t0 > first_wait * 2

    flaky_mail.down = False
    assert outgoing_mail_send_due(now=row.next_attempt_at).sent == 1
    assert outgoing_mail_send_due(now=row.next_attempt_at + datetime.timedelta(hours=2)).sent == 0
    row.refresh_from_db()
    assert (row.state, row.attempts, row.last_error) == (State.SENT, 3, "")
    assert [m.extra_headers["Message-ID"] for m in flaky_mail.accepted] == [row.message_id]


def test_a_message_is_sent_once_however_many_tasks_ask(mailoutbox):
    row = queue()
    assert outgoing_mail_send(mail_id=row.pk).sent == 1
    assert outgoing_mail_send(mail_id=row.pk).sent == 0
    assert outgoing_mail_send_due().sent == 0
    assert len(mail.outbox) == 1


def test_a_message_claimed_by_another_worker_is_not_sent_again(mailoutbox):
    row = queue()
    OutgoingMail.objects.filter(pk=row.pk).update(state=State.SENDING, claimed_at=timezone.now())
    assert outgoing_mail_send_due().sent == 0
    # That worker was killed mid-send: after a while the row is handed out again.
    later = timezone.now() + datetime.timedelta(minutes=11)
    assert outgoing_mail_send_due(now=later).sent == 1


def test_a_permanent_refusal_fails_at_once_and_staff_can_send_it_again(settings, mailoutbox):
    row = queue()

    def refuse(self, messages):
        raise smtplib.SMTPRecipientsRefused({"a@school.example": (550, b"no such user")})

    from django.core.mail.backends.locmem import EmailBackend

    original = EmailBackend.send_messages
    EmailBackend.send_messages = refuse
    try:
        outgoing_mail_send(mail_id=row.pk)
    finally:
        EmailBackend.send_messages = original
    row.refresh_from_db()
    assert row.state == State.FAILED
    assert "550" in row.last_error

    assert outgoing_mail_retry(mail_ids=[row.pk]) == 1
    assert len(mailoutbox) == 1
    row.refresh_from_db()
    assert row.state == State.SENT


def test_after_72_hours_of_failures_a_message_is_given_up(flaky_mail):
    row = queue()
    outgoing_mail_send(mail_id=row.pk, now=row.give_up_at + datetime.timedelta(seconds=1))
    row.refresh_from_db()
    assert row.state == State.FAILED


def test_a_mail_outage_delays_no_step_of_the_calendar_and_loses_no_notice(flaky_mail):
    today = timezone.localdate()
    month_ago = today - datetime.timedelta(days=30)
    warned = SubscriptionFactory(starts_on=month_ago, ends_on=today + datetime.timedelta(days=3))
    ending = SubscriptionFactory(starts_on=month_ago, ends_on=today)

    result = calendar.process_subscription_dates(today=today)

    assert result["notices"] == 1
    assert result["expired"] == 1, "the notice's failure must not stop the expiry"
    ending.refresh_from_db()
    assert ending.status == Subscription.Status.ENDED
    assert Operation.objects.filter(tenant=ending.tenant, kind=Operation.Kind.DEACTIVATE).exists()
    notice = OutgoingMail.objects.get(kind="expiry_notice")
    assert warned.organization.contact_email in notice.to
    outgoing_mail_send_due()
    notice.refresh_from_db()
    assert notice.state == State.PENDING and notice.attempts == 1, "kept for a retry"

    flaky_mail.down = False
    outgoing_mail_send_due(now=notice.next_attempt_at)
    notice.refresh_from_db()
    assert notice.state == State.SENT
    assert calendar.send_expiry_notices(today=today) == 0, "and never queued twice"


def test_staff_see_pending_and_failed_mail_in_korean(client):
    queue(subject="waiting")
    failed = queue(subject="refused")
    OutgoingMail.objects.filter(pk=failed.pk).update(
        state=State.FAILED, last_error="SMTPRecipientsRefused"
    )
    client.force_login(StaffFactory(is_superuser=True))

    page = client.get("/admin/mailer/outgoingmail/", HTTP_ACCEPT_LANGUAGE="ko")
    text = page.content.decode()

    assert page.status_code == 200
    assert "보낼 메일" in text
    assert "대기" in text and "실패" in text
    detail = client.get(f"/admin/mailer/outgoingmail/{failed.pk}/change/")
    assert "SMTPRecipientsRefused" in detail.content.decode()
