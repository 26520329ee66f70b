"""Promise 8: login and deployment hygiene.

Lockout after repeated failed logins (django-axes), CSRF on every unsafe request - the portal,
the admin and the API's browser session alike -, secure cookies, HSTS and the https redirect
under production settings, and a Content-Security-Policy on every page. The portal-login
lockout and the clean ``check --deploy`` are ``tests/market/test_login_defences.py`` and
``tests/market/test_deploy_checks.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from django.test import Client
from rest_framework.authentication import SessionAuthentication
from rest_framework.views import APIView

from lti import views as lti_views
from market.api.authentication import BearerTokenAuthentication
from market.api.problems import api_not_found
from tests.factories import StaffFactory
from tests.market.test_deploy_checks import ROOT, production_env
from tests.security.urlmap import all_urls

pytestmark = pytest.mark.django_db

UNSAFE_METHODS = ("post", "put", "patch", "delete")
# Views Django's CSRF middleware skips, and why each is still safe.
CSRF_EXEMPT_ON_PURPOSE = {
    api_not_found: "answers 404 to any method and changes nothing",
    lti_views.authorize: "the LTI tool's cross-site redirect or form (OIDC); it acts only on a "
    "fresh single-use launch handle bound to the signed-in user",
    lti_views.register: "LTI Dynamic Registration: a bearer registration token, no cookie",
    lti_views.token: "OAuth 2 token endpoint: the client signs a JWT assertion, no cookie",
}
# Authentication classes of API views: bearer tokens (no cookie, so no CSRF to forge) and
# DRF's SessionAuthentication, which runs Django's CSRF check for every session request.
API_AUTHENTICATION = {BearerTokenAuthentication, SessionAuthentication}
# Pages that may go without the market's CSP: Swagger UI and Redoc need inline bootstrapping
# (see market.middleware); they show the public schema and no data.
CSP_EXEMPT_PATHS = ("/api/docs/", "/api/redoc/")
# Patterns hidden behind an earlier pattern with the same path (django.contrib.auth.urls' login
# and password reset pages are shadowed by the market's own views of the same name).
SHADOWED = {"login", "password_reset", "password_reset_done"}


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="module")
def urls():
    reached, unreached = all_urls()
    assert {url.name for url in unreached} <= SHADOWED, unreached
    return reached


def _is_api(url) -> bool:
    return url.view_class is not None and issubclass(url.view_class, APIView)


def _authentication_of(url) -> list[type]:
    initkwargs = getattr(url.callback, "initkwargs", {}) or {}
    classes = initkwargs.get("authentication_classes", url.view_class.authentication_classes)
    return list(classes)


def test_no_view_skips_the_csrf_check_unless_it_checks_for_itself(urls):
    unchecked = []
    for url in urls:
        if not getattr(url.callback, "csrf_exempt", False):
            continue
        if url.callback in CSRF_EXEMPT_ON_PURPOSE:
            continue
        if _is_api(url) and set(_authentication_of(url)) <= API_AUTHENTICATION:
            continue  # DRF: CSRF enforced by SessionAuthentication, or no session at all
        unchecked.append(url.path)
    assert unchecked == [], f"unsafe requests to these skip CSRF: {unchecked}"
    assert len(urls) > 100  # the walk reached the whole site, admin included


def test_an_unsafe_request_of_a_signed_in_browser_without_a_csrf_token_is_refused_everywhere(
    urls,
):
    browser = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    browser.force_login(StaffFactory())
    accepted = []
    for url in urls:
        if url.callback in CSRF_EXEMPT_ON_PURPOSE:
            continue
        public_api = _is_api(url) and not _authentication_of(url)
        for method in UNSAFE_METHODS:
            response = getattr(browser, method)(url.path)
            if public_api and response.status_code == 405:
                continue  # the public schema and viewers: read-only and without a session
            if response.status_code != 403:
                accepted.append(f"{method.upper()} {url.path} -> {response.status_code}")
            elif _is_api(url):
                assert "CSRF" in response.json()["detail"], (method, url.path)
    assert accepted == [], accepted


def test_every_page_carries_the_content_security_policy(urls):
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    browser.force_login(StaffFactory())
    missing = []
    for url in urls:
        if url.path.startswith(CSP_EXEMPT_PATHS):
            continue
        if url.path.startswith("/admin/") and url.path != "/admin/":
            continue  # Django's admin: the same middleware; its index stands for all of it
        response = browser.get(url.path)
        policy = response.headers.get("Content-Security-Policy", "")
        if "default-src 'self'" not in policy or "frame-ancestors 'none'" not in policy:
            missing.append(f"{url.path} ({response.status_code})")
    anonymous = Client()
    for path in ("/", "/accounts/login/", "/no-such-page/", "/school/"):
        if "script-src 'self'" not in anonymous.get(path).headers.get(
            "Content-Security-Policy", ""
        ):
            missing.append(f"{path} (anonymous)")
    assert missing == [], missing


def test_the_admin_login_is_locked_out_too(settings):
    user = StaffFactory()
    browser = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        browser.post("/admin/login/", {"username": user.username, "password": "wrong"})

    response = browser.post(
        "/admin/login/", {"username": user.username, "password": "correct horse battery"}
    )

    assert response.status_code == 429
    assert "_auth_user_id" not in browser.session


PRODUCTION_PROBE = textwrap.dedent(
    """
    import json
    import django
    from django.conf import settings
    django.setup()
    from django.test import Client

    # Recorded before the swap below: the values production runs with.
    seen = {name: getattr(settings, name) for name in (
        "DEBUG", "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "CSRF_COOKIE_SECURE",
        "SECURE_HSTS_SECONDS", "SECURE_SSL_REDIRECT",
    )}
    # Production serves hashed static files after collectstatic; this probe has not run it.
    settings.STORAGES["staticfiles"]["BACKEND"] = (
        "django.contrib.staticfiles.storage.StaticFilesStorage"
    )
    browser = Client(HTTP_HOST="market.example")
    plain = browser.get("/accounts/login/")
    secure = browser.get("/accounts/login/", secure=True)
    print(json.dumps({
        **seen,
        "plain_status": plain.status_code,
        "plain_location": plain.headers.get("Location", ""),
        "secure_status": secure.status_code,
        "hsts": secure.headers.get("Strict-Transport-Security", ""),
        "csrf_cookie_secure": bool(secure.cookies["csrftoken"]["secure"])
            if "csrftoken" in secure.cookies else None,
    }))
    """
)


def test_production_settings_make_cookies_secure_and_send_hsts(tmp_path):
    env = production_env(DJANGO_SETTINGS_MODULE="market.settings", MARKET_VAR_DIR=str(tmp_path))
    env.pop("SECURE_SSL_REDIRECT", None)  # the production default, not a test override

    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", PRODUCTION_PROBE],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr[-2000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["DEBUG"] is False
    assert seen["SESSION_COOKIE_SECURE"] is True
    assert seen["SESSION_COOKIE_HTTPONLY"] is True
    assert seen["CSRF_COOKIE_SECURE"] is True
    assert seen["SECURE_HSTS_SECONDS"] > 0
    assert seen["SECURE_SSL_REDIRECT"] is True
    # What a browser meets: http is sent to https; https pages carry HSTS and a Secure cookie.
    assert seen["plain_status"] == 301
    assert seen["plain_location"].startswith("https://market.example/")
    assert seen["secure_status"] == 200
    assert "max-age=" in seen["hsts"] and "max-age=0" not in seen["hsts"]
    assert seen["csrf_cookie_secure"] is True
