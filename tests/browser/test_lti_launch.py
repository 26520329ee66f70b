"""A school admin opens an LTI 1.3 tool in Chromium and lands on the tool's validated claims.

The tool is PyLTI1p3's Flask integration on 127.0.0.1 (tests/lti/tool.py); the market is
pytest-django's live server on localhost, so the two are different sites as in production.
Every request the browser makes is recorded: no token may appear in any URL.
"""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from lti.services import deployments_ensure, lti_tool_sync
from tests.browser.conftest import require_chromium
from tests.browser.test_portal_journeys import PASSWORD, words
from tests.factories import (
    OrganizationFactory,
    SchoolAdminFactory,
    SubscriptionFactory,
    VendorFactory,
)
from tests.lti.browser import JWT_LIKE
from tests.lti.conftest import lti_block
from tests.lti.tool import RunningTool
from tests.portal.conftest import listed_service

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _chromium_present():
    require_chromium()


@pytest.fixture
def tool_server():
    server = RunningTool()
    yield server
    server.stop()


@pytest.mark.django_db(transaction=True)
def test_school_admin_opens_an_lti_tool_and_sees_the_validated_claims(
    live_server, settings, new_page, tool_server
):
    settings.MARKET_BASE_URL = live_server.url
    service = listed_service(
        vendor=VendorFactory(), service_id="lti_tutor", name="LTI Tutor", lti=lti_block(tool_server)
    )
    school = OrganizationFactory(name="알파고등학교", slug="alpha_high")
    subscription = SubscriptionFactory(
        organization=school, service=service, plan=service.plans.get(code="basic")
    )
    subscription.tenant.access_url = tool_server.url("/")  # the vendor's answer to activate
    subscription.tenant.save()
    admin = SchoolAdminFactory(organization=school, username="alpha_admin")
    tool = lti_tool_sync(service=service)
    (deployment,) = deployments_ensure(tool=tool)
    state = tool_server.state
    state.issuer = live_server.url
    state.client_id = tool.client_id
    state.key_set_url = live_server.url + reverse("jwks")  # PyLTI1p3 fetches the market's keys
    state.deployment_ids = [deployment.deployment_id]

    t = words("ko")
    page = new_page(base_url=live_server.url)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", admin.username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main").get_by_role("button", name=t("Log in"), exact=True).click()
    page.goto(live_server.url + reverse("school-subscription", args=[subscription.pk]))

    page.get_by_role("link", name=t("Open the service")).click()

    page.locator("#claims").wait_for()
    assert page.url == tool_server.url("/launch")
    assert page.locator("#context").inner_text() == "알파고등학교"
    claims_text = page.locator("#claims").inner_text()
    assert '"LtiResourceLinkRequest"' in claims_text
    assert deployment.deployment_id in claims_text
    assert len(state.launches) == 1
    assert any(url.startswith(live_server.url + "/lti/authorize") for url in requested)
    for url in requested:
        assert not JWT_LIKE.search(url), url
        query = parse_qs(urlsplit(url).query)
        assert not {"id_token", "launch_token", "registration_token"} & set(query), url
    assert not re.search(r"eyJ", page.url)


@pytest.mark.django_db(transaction=True)
def test_vendor_registers_the_reference_tool_in_a_frame_then_a_school_launches_it(
    live_server, settings, new_page, tmp_path
):
    """The make-run demo in Chromium: Dynamic Registration in the vendor page's frame (the
    market's CSP must allow exactly that frame), then an LTI launch of the reference tool."""
    from tests.factories import VendorUserFactory
    from vendorkit.reference_lti_tool import serve_in_thread

    settings.MARKET_BASE_URL = live_server.url
    tool_server = serve_in_thread(state_path=str(tmp_path / "tool.json"))
    try:
        vendor_user = VendorUserFactory(username="tool_vendor")
        service = listed_service(vendor=vendor_user.vendor, service_id="ref_lti", name="Ref LTI")
        school = OrganizationFactory(name="베타중학교", slug="beta_middle")
        subscription = SubscriptionFactory(
            organization=school, service=service, plan=service.plans.get(code="basic")
        )
        subscription.tenant.access_url = tool_server.public_url + "/"
        subscription.tenant.save()
        admin = SchoolAdminFactory(organization=school, username="beta_admin")
        t = words("ko")

        page = new_page(base_url=live_server.url)
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(live_server.url + reverse("login"))
        page.fill("input[name=username]", vendor_user.username)
        page.fill("input[name=password]", PASSWORD)
        page.locator("main").get_by_role("button", name=t("Log in"), exact=True).click()
        page.get_by_role("navigation", name=t("Main")).get_by_role("link", name="LTI 1.3").click()
        page.get_by_label(t("Your tool's registration initiation URL")).fill(
            tool_server.public_url + "/lti/register"
        )
        page.get_by_role("button", name=t("Register with LTI Dynamic Registration")).click()
        frame = page.frame_locator("iframe[data-testid=registration-frame]")
        frame.locator("#registered").wait_for()
        page.get_by_role("link", name=t("Back to the LTI page")).click()
        client_id = page.get_by_test_id("client-id").inner_text()
        assert client_id in tool_server.state.platforms
        page.get_by_role("button", name=t("Log out"), exact=True).click()

        page.goto(live_server.url + reverse("login"))
        page.fill("input[name=username]", admin.username)
        page.fill("input[name=password]", PASSWORD)
        page.locator("main").get_by_role("button", name=t("Log in"), exact=True).click()
        page.goto(live_server.url + reverse("school-subscription", args=[subscription.pk]))
        requested.clear()
        page.get_by_role("link", name=t("Open the service")).click()

        page.locator("#claims").wait_for()
        assert page.locator("#context").inner_text() == "베타중학교"
        assert page.url == tool_server.public_url + "/lti/launch"
        for url in requested:
            assert not JWT_LIKE.search(url), url
    finally:
        tool_server.stop()
