"""Password reset through the outbox: the market's own link and name, and an honest page."""

import pytest

from mailer.models import OutgoingMail
from tests.factories import SchoolAdminFactory

pytestmark = pytest.mark.django_db


def test_the_reset_mail_links_to_the_market_not_to_the_requests_host(client, settings, mailoutbox):
    settings.MARKET_BASE_URL = "https://market.example.kr"
    settings.ALLOWED_HOSTS = ["evil.example", "testserver"]
    user = SchoolAdminFactory(email="admin@hallym.ac.kr")

    page = client.post(
        "/accounts/password_reset/", {"email": user.email}, HTTP_HOST="evil.example", follow=True
    )

    assert page.status_code == 200
    [message] = list(mailoutbox)
    assert message.to == [user.email]
    assert message.subject == "[서비스 마켓] 비밀번호 재설정"
    assert "https://market.example.kr/accounts/reset/" in message.body
    assert "evil.example" not in message.body + message.subject
    assert message.alternatives[0][1] == "text/html"
    assert message.extra_headers["Message-ID"].endswith("@market.example.kr>")


def test_the_done_page_says_when_the_mail_server_is_not_taking_mail(client, settings):
    settings.EMAIL_BACKEND = "tests.monitoring.failing_mail.Backend"
    user = SchoolAdminFactory(email="admin@hallym.ac.kr")
    client.post("/accounts/password_reset/", {"email": user.email})
    from mailer.services import outgoing_mail_send_due

    outgoing_mail_send_due()  # the worker's first attempt fails

    page = client.get("/accounts/password_reset/done/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "메일 서버가 메일을 받지 않고 있어" in page
    mail = OutgoingMail.objects.get(kind="password_reset")
    assert mail.state == OutgoingMail.State.PENDING and mail.attempts == 1


def test_the_done_page_says_nothing_of_delay_while_mail_flows(client):
    page = client.get("/accounts/password_reset/done/").content.decode()
    assert "보통 1분 안에 도착합니다" in page
    assert "메일 서버가" not in page


def test_an_unknown_address_queues_nothing_and_reads_the_same(client):
    page = client.post("/accounts/password_reset/", {"email": "nobody@x.example"}, follow=True)
    assert OutgoingMail.objects.count() == 0
    assert "보통 1분 안에 도착합니다" in page.content.decode()


def test_a_reset_that_cannot_be_queued_says_so_and_sends_nothing(client, monkeypatch):
    from django.db import DatabaseError

    from mailer import password_reset

    def broken(**kwargs):
        raise DatabaseError("the database is read-only")

    monkeypatch.setattr(password_reset, "mail_queue", broken)
    user = SchoolAdminFactory(email="admin@hallym.ac.kr")

    page = client.post("/accounts/password_reset/", {"email": user.email})

    assert page.status_code == 200
    assert "메일을 보낼 수 없었습니다" in page.content.decode()
