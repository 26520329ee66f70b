"""LTI 1.3 resource link launches, validated by PyLTI1p3 (a tool library we did not write)."""

import json
import logging
import re
from datetime import timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.urls import reverse
from django.utils import timezone
from jwt.algorithms import RSAAlgorithm

from lti import claims as c
from lti.models import Deployment, Login
from services.vendor_client.jwt_keys import public_jwks
from tests.lti.browser import JWT_LIKE, Browser, forms_of

pytestmark = pytest.mark.django_db


def launch_url(subscription) -> str:
    return "http://testserver" + reverse("school-subscription-launch", args=[subscription.pk])


def validated_claims(page) -> dict:
    assert page.status == 200, page.text
    return json.loads(unescape(re.search(r"<pre id='claims'>(.*)</pre>", page.text, re.S)[1]))


def assert_no_token_in_urls(browser: Browser) -> None:
    for url in browser.visited:
        assert not JWT_LIKE.search(url), url
        query = parse_qs(urlsplit(url).query)
        assert not {"id_token", "launch_token", "registration_token"} & set(query), url


@pytest.mark.parametrize("school", ["a", "b"])
def test_full_launch_is_validated_by_pylti1p3_for_each_school(lti_world, browser_for, school):
    admin = getattr(lti_world, f"admin_{school}")
    subscription = getattr(lti_world, f"subscription_{school}")
    deployment = getattr(lti_world, f"deployment_{school}")
    browser = browser_for(admin)

    page = browser.get(launch_url(subscription))

    data = validated_claims(page)  # PyLTI1p3 checked state, nonce, signature, deployment, type
    assert page.url == lti_world.tool_server.url("/launch")
    assert data["iss"] == "http://testserver"
    assert data["aud"] == lti_world.tool.client_id
    assert data["sub"] == str(admin.pk)
    assert data[c.MESSAGE_TYPE] == "LtiResourceLinkRequest"
    assert data[c.VERSION] == "1.3.0"
    assert data[c.DEPLOYMENT_ID] == deployment.deployment_id
    assert data[c.TARGET_LINK_URI] == lti_world.tool_server.url("/launch")
    assert data[c.RESOURCE_LINK]["id"] == f"{deployment.deployment_id}:service"
    assert data[c.ROLES] == [
        "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator",
        "http://purl.imsglobal.org/vocab/lis/v2/membership#Administrator",
    ]
    assert data[c.CONTEXT]["id"] == subscription.tenant.tenant_id
    assert data[c.CONTEXT]["title"] == subscription.organization.name
    assert data[c.TOOL_PLATFORM]["product_family_code"] == "service-market"
    assert data[c.CUSTOM] == {"course_mode": "school", "lang_hint": "ko"}
    assert data["exp"] - data["iat"] <= 300
    assert_no_token_in_urls(browser)
    login = Login.objects.get(user=admin)
    assert login.used_at is not None and login.nonce == data["nonce"]


def test_the_login_initiation_is_a_form_post_with_the_lti_parameters(lti_world, browser_for):
    browser = browser_for(lti_world.admin_a)
    page = browser.get(launch_url(lti_world.subscription_a), follow=False)
    (form,) = forms_of(page.text)
    assert form["method"] == "post" and form["auto"]
    assert form["action"] == lti_world.tool_server.url("/login")
    assert set(form["fields"]) == {
        "iss",
        "login_hint",
        "lti_message_hint",
        "target_link_uri",
        "client_id",
        "lti_deployment_id",
    }
    assert form["fields"]["lti_deployment_id"] == lti_world.deployment_a.deployment_id
    policy = page.headers["Content-Security-Policy"]
    assert f"form-action 'self' {lti_world.tool_server.base_url}" in policy


def test_the_tool_verified_the_signature_with_the_published_jwks(lti_world, browser_for, client):
    lti_world.tool_server.state.key_set = client.get("/.well-known/jwks.json").json()
    browser_for(lti_world.admin_a).get(launch_url(lti_world.subscription_a))
    assert len(lti_world.tool_server.state.launches) == 1
    # With another platform key the same launch fails PyLTI1p3's signature check.
    other = json.loads(RSAAlgorithm.to_jwk(rsa.generate_private_key(65537, 2048).public_key()))
    kid = public_jwks()["keys"][0]["kid"]
    lti_world.tool_server.state.key_set = {"keys": [{**other, "kid": kid, "alg": "RS256"}]}
    page = browser_for(lti_world.admin_a).get(launch_url(lti_world.subscription_a))
    assert page.status == 400
    assert len(lti_world.tool_server.state.launches) == 1


def test_a_tool_deployed_for_school_a_only_refuses_a_launch_into_school_b(lti_world, browser_for):
    lti_world.tool_server.state.deployment_ids = [lti_world.deployment_a.deployment_id]

    page = browser_for(lti_world.admin_b).get(launch_url(lti_world.subscription_b))

    assert page.status == 400
    assert "Unable to find deployment" in page.text
    assert lti_world.tool_server.state.launches == []


def test_school_b_cannot_use_a_launch_started_for_school_a(lti_world, browser_for, caplog):
    started = browser_for(lti_world.admin_a).get(launch_url(lti_world.subscription_a), follow=False)
    fields = forms_of(started.text)[0]["fields"]
    # The tool's redirect, but in school B's browser.
    browser_b = browser_for(lti_world.admin_b)
    tool_login = browser_b.post(lti_world.tool_server.url("/login"), fields, follow=False)
    authorize_url = tool_login.headers["Location"]

    with caplog.at_level(logging.WARNING, logger="lti.services"):
        page = browser_b.get(authorize_url)

    assert page.status == 403
    assert "another user" in page.text or "다른 사용자" in page.text
    assert "access_denied" in caplog.text
    assert Login.objects.get(handle=fields["lti_message_hint"]).used_at is None


def test_another_schools_subscription_cannot_be_launched(lti_world, browser_for):
    page = browser_for(lti_world.admin_b).get(launch_url(lti_world.subscription_a))
    assert page.status == 404
    assert not Login.objects.exists()


def _authorized_form(lti_world, browser: Browser, subscription) -> tuple[str, dict]:
    """Run the launch up to the market's form_post and return it unsubmitted."""
    started = browser.get(launch_url(subscription), follow=False)
    fields = forms_of(started.text)[0]["fields"]
    tool_login = browser.post(lti_world.tool_server.url("/login"), fields, follow=False)
    answer = browser.get(tool_login.headers["Location"], follow=False)
    assert answer.status == 200, answer.text
    form = forms_of(answer.text)[0]
    return form["action"], form["fields"]


def test_a_replayed_id_token_is_refused_by_the_tool(lti_world, browser_for):
    browser = browser_for(lti_world.admin_a)
    action, fields = _authorized_form(lti_world, browser, lti_world.subscription_a)
    assert set(fields) == {"id_token", "state"}

    first = browser.post(action, fields)
    replay_same_browser = browser.post(action, fields)
    replay_other_browser = Browser(browser.client).post(action, fields)  # no state cookie

    assert first.status == 200
    assert replay_same_browser.status == 400
    assert "already used" in replay_same_browser.text
    assert replay_other_browser.status == 400
    assert "State not found" in replay_other_browser.text
    assert len(lti_world.tool_server.state.launches) == 1


def test_a_replayed_authorization_request_is_refused(lti_world, browser_for):
    browser = browser_for(lti_world.admin_a)
    started = browser.get(launch_url(lti_world.subscription_a), follow=False)
    fields = forms_of(started.text)[0]["fields"]
    authorize_url = browser.post(lti_world.tool_server.url("/login"), fields, follow=False).headers[
        "Location"
    ]
    assert browser.get(authorize_url, follow=False).status == 200

    again = browser.get(authorize_url, follow=False)

    assert again.status == 400
    assert "already used" in again.text or "이미 사용" in again.text


def _authorize_params(lti_world, browser, subscription) -> dict:
    started = browser.get(launch_url(subscription), follow=False)
    fields = forms_of(started.text)[0]["fields"]
    location = browser.post(lti_world.tool_server.url("/login"), fields, follow=False).headers[
        "Location"
    ]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _authorize(client, params: dict):
    return client.get(reverse("lti-authorize"), params)


def test_a_reused_nonce_is_refused_and_the_new_launch_stays_unused(lti_world, browser_for, caplog):
    browser = browser_for(lti_world.admin_a)
    first = _authorize_params(lti_world, browser, lti_world.subscription_a)
    assert _authorize(browser.client, first).status_code == 200
    second = _authorize_params(lti_world, browser, lti_world.subscription_a)

    with caplog.at_level(logging.WARNING, logger="lti.services"):
        response = _authorize(browser.client, {**second, "nonce": first["nonce"]})

    assert response.status_code == 400
    assert "nonce" in response.content.decode()
    assert "nonce_reused" in caplog.text
    assert Login.objects.get(handle=second["lti_message_hint"]).used_at is None


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"client_id": "mkt-unknown"}, 400, "unauthorized_client"),
        ({"redirect_uri": "https://evil.example/launch"}, 400, "invalid_redirect_uri"),
        ({"response_mode": "query"}, 400, "invalid_request"),
        ({"response_type": "code"}, 400, "invalid_request"),
        ({"scope": "profile"}, 400, "invalid_scope"),
        ({"nonce": ""}, 400, "invalid_request"),
        ({"lti_message_hint": "made-up"}, 400, "invalid_request"),
        ({"login_hint": "999999"}, 403, "access_denied"),
    ],
)
def test_bad_authorization_requests_get_an_error_page_and_change_nothing(
    lti_world, browser_for, caplog, change, status, code
):
    browser = browser_for(lti_world.admin_a)
    params = _authorize_params(lti_world, browser, lti_world.subscription_a)
    before = list(Login.objects.values_list("pk", "used_at", "nonce"))

    with caplog.at_level(logging.WARNING, logger="lti.services"):
        response = _authorize(browser.client, {**params, **change})

    assert response.status_code == status
    assert code in response.content.decode()
    assert 'name="id_token"' not in response.content.decode()
    assert code in caplog.text
    assert list(Login.objects.values_list("pk", "used_at", "nonce")) == before


def test_an_expired_launch_is_refused(lti_world, browser_for):
    browser = browser_for(lti_world.admin_a)
    params = _authorize_params(lti_world, browser, lti_world.subscription_a)
    Login.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = _authorize(browser.client, params)

    assert response.status_code == 400
    assert "expired" in response.content.decode() or "만료" in response.content.decode()
    assert Login.objects.get().used_at is None


def test_a_signed_out_browser_is_asked_to_sign_in(lti_world, browser_for, client):
    browser = browser_for(lti_world.admin_a)
    params = _authorize_params(lti_world, browser, lti_world.subscription_a)
    response = _authorize(client, params)  # the fixture's client never signed in
    assert response.status_code == 401
    assert "login_required" in response.content.decode()


def test_a_deactivated_tenant_cannot_be_launched_even_with_a_started_login(lti_world, browser_for):
    browser = browser_for(lti_world.admin_a)
    params = _authorize_params(lti_world, browser, lti_world.subscription_a)
    tenant = lti_world.subscription_a.tenant
    tenant.state = "deactivated"
    tenant.save()
    assert _authorize(browser.client, params).status_code == 403


def test_one_deployment_per_tenant(lti_world):
    assert Deployment.objects.count() == 2
    ids = set(Deployment.objects.values_list("deployment_id", flat=True))
    assert len(ids) == 2


def test_openid_configuration_names_the_platform_endpoints(lti_world, client):
    config = client.get("/.well-known/openid-configuration").json()
    assert config["issuer"] == "http://testserver"
    assert config["authorization_endpoint"] == "http://testserver/lti/authorize"
    assert config["jwks_uri"] == "http://testserver/.well-known/jwks.json"
    assert config["registration_endpoint"] == "http://testserver/lti/register"
    assert config["id_token_signing_alg_values_supported"] == ["RS256"]
    platform = config["https://purl.imsglobal.org/spec/lti-platform-configuration"]
    assert {"type": "LtiResourceLinkRequest"} in platform["messages_supported"]


def test_the_id_token_header_names_the_current_key(lti_world, browser_for):
    browser = browser_for(lti_world.admin_a)
    action, fields = _authorized_form(lti_world, browser, lti_world.subscription_a)
    header = jwt.get_unverified_header(fields["id_token"])
    assert header["alg"] == "RS256"
    assert header["kid"] in {key["kid"] for key in public_jwks()["keys"]}


def test_logins_older_than_a_day_are_forgotten_at_the_next_launch(lti_world, browser_for):
    browser = browser_for(lti_world.admin_a)
    browser.get(launch_url(lti_world.subscription_a))
    Login.objects.update(expires_at=timezone.now() - timedelta(days=2))
    browser.get(launch_url(lti_world.subscription_a), follow=False)
    assert Login.objects.count() == 1
    assert Login.objects.get().used_at is None  # only the new, unused one is left


def _pem(key) -> str:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_a_key_rotation_keeps_launches_valid_for_a_tool_with_a_cached_jwks(
    lti_world, browser_for, monkeypatch
):
    from services.vendor_client.jwt_keys import market_private_key

    old_pem = _pem(market_private_key())
    new_pem = _pem(rsa.generate_private_key(65537, 2048))
    # Step 1: the next key is published; the tool fetches (and caches) the two-key JWKS.
    monkeypatch.setenv("MARKET_JWT_PRIVATE_KEY", old_pem)
    monkeypatch.setenv("MARKET_JWT_NEXT_PRIVATE_KEY", new_pem)
    market_private_key.cache_clear()
    cached = public_jwks()
    assert len(cached["keys"]) == 2
    lti_world.tool_server.state.key_set = cached
    assert validated_claims(
        browser_for(lti_world.admin_a).get(launch_url(lti_world.subscription_a))
    )
    # Step 2: the new key signs; the tool still has only the JWKS it cached in step 1.
    monkeypatch.setenv("MARKET_JWT_PRIVATE_KEY", new_pem)
    monkeypatch.setenv("MARKET_JWT_PREVIOUS_KEY", old_pem)
    monkeypatch.delenv("MARKET_JWT_NEXT_PRIVATE_KEY")
    market_private_key.cache_clear()
    try:
        browser = browser_for(lti_world.admin_b)
        action, fields = _authorized_form(lti_world, browser, lti_world.subscription_b)
        assert jwt.get_unverified_header(fields["id_token"])["kid"] == cached["keys"][1]["kid"]
        assert validated_claims(browser.post(action, fields))[c.DEPLOYMENT_ID] == (
            lti_world.deployment_b.deployment_id
        )
    finally:
        monkeypatch.undo()  # the environment first, so the next test loads the usual key
        market_private_key.cache_clear()
