"""The mail server refuses connections while the calendar runs.

A real worker process sends mail to a real SMTP server on 127.0.0.1 (aiosmtpd) that is down
at first (its port refuses connections) and comes back later.
"""

import datetime
from collections import Counter

import pytest
from django.utils import timezone

from mailer.models import OutgoingMail
from mailer.tasks import send_due_mail, send_outgoing_mail
from tenants.models import Subscription, Tenant
from tenants.tasks import process_subscription_dates
from tests.support.smtp_server import SmtpServer
from tests.support.worker import WorkerProcess, wait_until

pytestmark = pytest.mark.worker

ENDING = 3
WARNED = 3


@pytest.fixture
def smtp():
    server = SmtpServer()
    yield server
    server.down()


def test_a_mail_outage_delays_no_deactivation_and_every_notice_goes_out_once(
    service, stub, workers, subscribe, smtp
):
    """Mail server down during the calendar run.

    Fault: the SMTP server refuses connections while the calendar run expires 3 subscriptions
    and warns 3 others, and while the deactivations succeed (each queues a renewal notice);
    then it comes back and three sweeps run at once beside three tasks per message.
    Expected: the calendar run finishes and all 3 tenants are deactivated while mail is still
    down; every notice waits in the outbox with its error; after recovery the 6 notices are
    each delivered exactly once (one Message-ID each), as text + HTML, Auto-Submitted.
    Vendor effects: 3 activate and 3 deactivate requests, none held up by the mail server.
    """
    worker = WorkerProcess(
        concurrency=4, extra_env={**smtp.settings_env(), "MAIL_RETRY_BASE_SECONDS": "1"}
    )
    workers.started.append(worker)
    worker.start()
    today = timezone.localdate()
    ending = [subscribe(service, slug=f"ending_{n}") for n in range(ENDING)]
    warned = [subscribe(service, slug=f"warned_{n}") for n in range(WARNED)]
    everyone = [s.tenant_id for s in ending + warned]
    wait_until(
        lambda: (
            Tenant.objects.filter(pk__in=everyone, state=Tenant.State.ACTIVE).count()
            == ENDING + WARNED
        ),
        timeout=60,
        message="the schools were not activated",
    )
    Subscription.objects.filter(pk__in=[s.pk for s in ending]).update(
        starts_on=today - datetime.timedelta(days=30), ends_on=today
    )
    Subscription.objects.filter(pk__in=[s.pk for s in warned]).update(
        ends_on=today + datetime.timedelta(days=3)
    )

    result = process_subscription_dates.delay().get(timeout=30)

    assert result["notices"] == WARNED and result["expired"] == ENDING
    ended = [s.tenant_id for s in ending]
    wait_until(
        lambda: (
            Tenant.objects.filter(pk__in=ended, state=Tenant.State.DEACTIVATED).count() == ENDING
        ),
        timeout=30,
        message="a deactivation waited for the mail server",
    )
    assert len(stub.requests_to("deactivate")) == ENDING
    # Every school was also told its service was ready when it became active.
    mails = 2 * (ENDING + WARNED)
    try:
        wait_until(
            lambda: OutgoingMail.objects.filter(attempts__gt=0).count() == mails,
            timeout=30,
        )
    except AssertionError:
        rows = list(OutgoingMail.objects.values_list("kind", "state", "attempts", "last_error"))
        raise AssertionError(
            f"the worker did not try to send every notice: {rows}\n{worker.log_text()[-3000:]}"
        ) from None
    assert smtp.messages() == []
    kinds = Counter(OutgoingMail.objects.values_list("kind", flat=True))
    assert kinds == {
        "expiry_notice": WARNED,
        "renewal_notice": ENDING,
        "service_ready": ENDING + WARNED,
    }
    for mail in OutgoingMail.objects.all():
        # Waiting for its next attempt (or in one right now: retries come every few seconds).
        assert mail.state in (OutgoingMail.State.PENDING, OutgoingMail.State.SENDING)
        assert "Connection refused" in mail.last_error or "ConnectionRefused" in mail.last_error

    smtp.up()
    # Every way a message can be asked for at once: sweeps, and each message's own task three
    # times over (a retry's countdown, a lost task found again, a staff "send again").
    mail_ids = list(OutgoingMail.objects.values_list("pk", flat=True))
    for _ in range(3):
        send_due_mail.delay()
        for mail_id in mail_ids:
            send_outgoing_mail.delay(mail_id)

    wait_until(
        lambda: OutgoingMail.objects.filter(state=OutgoingMail.State.SENT).count() == mails,
        timeout=60,
        message="not every notice was delivered after the mail server came back",
    )
    # Let every retry still scheduled in the worker (backoff countdowns) come due and run.
    latest = max(OutgoingMail.objects.values_list("next_attempt_at", flat=True))
    wait_until(lambda: timezone.now() > latest + datetime.timedelta(seconds=3), timeout=120)
    for _ in range(3):
        send_due_mail.delay()
    wait_until(
        lambda: worker.log_text().count("Task mailer.send_due_mail") >= 6 * 2,  # received + done
        timeout=30,
        message="the sweeps did not run",
    )

    received = smtp.messages()
    ids = Counter(message["Message-ID"] for message in received)
    assert sorted(ids) == sorted(OutgoingMail.objects.values_list("message_id", flat=True))
    assert set(ids.values()) == {1}, f"a notice was delivered twice: {ids}"
    for message in received:
        assert message["Auto-Submitted"] == "auto-generated"
        assert message.get_content_type() == "multipart/alternative"
        assert {part.get_content_type() for part in message.iter_parts()} == {
            "text/plain",
            "text/html",
        }
        assert "서비스 마켓" in message["Subject"]
