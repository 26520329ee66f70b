"""The reference LTI tool (vendorkit/reference_lti_tool.py) against the market over real HTTP.

It registers itself through the vendor page (Dynamic Registration), then a school admin
launches it; the tool verifies the id_token with PyJWT and the market's published JWKS.
"""

import pytest
import requests
from django.test import Client
from django.urls import reverse

from lti.models import Tool
from tests.factories import (
    OrganizationFactory,
    SchoolAdminFactory,
    SubscriptionFactory,
    VendorUserFactory,
)
from tests.lti.browser import JWT_LIKE, forms_of, frame_url_for, http_follow
from tests.portal.conftest import listed_service
from vendorkit.reference_lti_tool import serve_in_thread


@pytest.fixture
def reference_tool(tmp_path):
    server = serve_in_thread(state_path=str(tmp_path / "tool.json"))
    yield server
    server.stop()


def _signed_in(user) -> requests.Session:
    market = Client()
    market.force_login(user)
    browser = requests.Session()
    browser.cookies.set("sessionid", market.cookies["sessionid"].value)
    return browser


@pytest.mark.django_db(transaction=True)
def test_reference_tool_registers_then_verifies_launches_for_two_schools(
    live_server, settings, reference_tool, tmp_path
):
    settings.MARKET_BASE_URL = live_server.url
    vendor_user = VendorUserFactory()
    service = listed_service(vendor=vendor_user.vendor, service_id="ref_lti", name="Ref LTI")
    schools = [OrganizationFactory(name=f"School {n}", slug=f"school_{n}") for n in "ab"]
    subscriptions = [
        SubscriptionFactory(organization=s, service=service, plan=service.plans.get(code="basic"))
        for s in schools
    ]
    vendor = Client()
    vendor.force_login(vendor_user)
    registered = requests.get(
        frame_url_for(vendor, service.service_id, reference_tool.public_url + "/lti/register"),
        timeout=10,
    )
    assert registered.status_code == 200, registered.text
    tool = Tool.objects.get(service=service)
    assert tool.client_id in registered.text
    assert (tmp_path / "tool.json").read_text().count(tool.client_id) == 1

    for school, subscription in zip(schools, subscriptions, strict=True):
        browser = _signed_in(SchoolAdminFactory(organization=school))
        visited: list[str] = []
        launch = live_server.url + reverse("school-subscription-launch", args=[subscription.pk])
        page = http_follow(browser, launch, visited=visited)
        assert page.status_code == 200, page.text
        assert "Launch verified" in page.text
        assert f"<span id='context'>{school.name}</span>" in page.text
        assert subscription.tenant.lti_deployment.deployment_id in page.text
        assert not any(JWT_LIKE.search(url) for url in visited)


@pytest.mark.django_db(transaction=True)
def test_reference_tool_refuses_a_replayed_id_token(live_server, settings, reference_tool):
    settings.MARKET_BASE_URL = live_server.url
    vendor_user = VendorUserFactory()
    service = listed_service(vendor=vendor_user.vendor, service_id="ref_lti", name="Ref LTI")
    school = OrganizationFactory()
    subscription = SubscriptionFactory(
        organization=school, service=service, plan=service.plans.get(code="basic")
    )
    vendor = Client()
    vendor.force_login(vendor_user)
    requests.get(
        frame_url_for(vendor, service.service_id, reference_tool.public_url + "/lti/register"),
        timeout=10,
    )
    browser = _signed_in(SchoolAdminFactory(organization=school))
    launch = live_server.url + reverse("school-subscription-launch", args=[subscription.pk])
    started = browser.get(launch, timeout=10)
    login = forms_of(started.text)[0]
    to_market = browser.post(login["action"], data=login["fields"], allow_redirects=False)
    answer = browser.get(to_market.headers["Location"], timeout=10)
    form = forms_of(answer.text)[0]

    first = browser.post(form["action"], data=form["fields"], timeout=10)
    replayed = browser.post(form["action"], data=form["fields"], timeout=10)
    forged = browser.post(form["action"], data={**form["fields"], "id_token": "x.y.z"}, timeout=10)

    assert "Launch verified" in first.text
    assert replayed.status_code == 400 and "already used" in replayed.text
    assert forged.status_code == 400


def test_reference_tool_refuses_a_login_from_an_unknown_platform(reference_tool):
    answer = requests.post(
        reference_tool.public_url + "/lti/login",
        data={"iss": "https://evil.example", "client_id": "nope", "login_hint": "1"},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 400
    assert "not registered" in answer.text
