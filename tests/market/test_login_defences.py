"""Repeated failed logins lock the account out; every page carries a strict CSP."""

import pytest
from django.urls import reverse

from tests.factories import SchoolAdminFactory

pytestmark = pytest.mark.django_db


def test_five_failed_logins_lock_out_even_the_right_password(client, settings):
    user = SchoolAdminFactory()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": user.username, "password": "wrong"})
    response = client.post(
        reverse("login"), {"username": user.username, "password": "correct horse battery"}
    )
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_different_account_is_not_locked_by_someone_elses_failures(client, settings):
    victim, other = SchoolAdminFactory(), SchoolAdminFactory()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": victim.username, "password": "wrong"})
    response = client.post(
        reverse("login"), {"username": other.username, "password": "correct horse battery"}
    )
    assert response.status_code == 302


def test_pages_send_a_strict_content_security_policy(client):
    response = client.get("/")
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["X-Frame-Options"] == "DENY"


def test_login_form_requires_a_csrf_token():
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    user = SchoolAdminFactory()
    response = strict.post(
        reverse("login"), {"username": user.username, "password": "correct horse battery"}
    )
    assert response.status_code == 403


def test_portal_pages_are_korean_even_when_the_browser_asks_for_english(client):
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert '<html lang="ko"' in response.content.decode()


def test_the_language_switch_still_gives_english(client):
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="ko")
    assert '<html lang="en"' in response.content.decode()
