"""LTI Dynamic Registration 1.0, end to end against a tool that follows the specification."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.test import Client
from django.urls import reverse

from lti.models import RegistrationToken, Tool
from lti.services import registration_start
from tests.factories import (
    OrganizationFactory,
    SchoolAdminFactory,
    SubscriptionFactory,
    VendorUserFactory,
)
from tests.lti.browser import JWT_LIKE, frame_url_for, http_follow
from tests.lti.tool import LTI_TOOL_CONFIGURATION, RunningTool
from tests.portal.conftest import listed_service


@pytest.mark.django_db(transaction=True)
def test_a_tool_registers_itself_and_then_launches(live_server, settings):
    settings.MARKET_BASE_URL = live_server.url
    tool_server = RunningTool()
    try:
        vendor_user = VendorUserFactory()
        service = listed_service(vendor=vendor_user.vendor, service_id="dyn_tool", name="Dyn Tool")
        school = OrganizationFactory(name="Gamma High", slug="gamma_high")
        subscription = SubscriptionFactory(
            organization=school, service=service, plan=service.plans.get(code="basic")
        )
        vendor = Client()
        vendor.force_login(vendor_user)
        frame_url = frame_url_for(vendor, service.service_id, tool_server.url("/register"))

        # The browser opens the tool in the frame; the tool reads the configuration and registers.
        opened = requests.get(frame_url, timeout=10)

        assert "registration answered 200" in opened.text
        assert "org.imsglobal.lti.close" in opened.text
        answer = tool_server.state.registrations[0]["body"]
        tool = Tool.objects.get(service=service)
        assert tool.source == Tool.Source.DYNAMIC
        assert answer["client_id"] == tool.client_id
        assert tool.login_initiation_url == tool_server.url("/login")
        assert tool.redirect_uris == [tool_server.url("/launch")]
        assert tool.custom == {"registered": "dynamically"}
        assert answer[LTI_TOOL_CONFIGURATION]["target_link_uri"] == tool_server.url("/launch")
        assert RegistrationToken.objects.get().used_at is not None

        # The token works once.
        requests.get(frame_url, timeout=10)
        assert tool_server.state.registrations[1]["status"] == 401
        assert Tool.objects.count() == 1

        # The vendor's LTI page shows the client_id and the school's deployment.
        page = vendor.get(reverse("lti-vendor-tools")).content.decode()
        assert tool.client_id in page
        deployment = subscription.tenant.lti_deployment
        assert deployment.deployment_id in page
        tool_server.state.deployment_ids = [deployment.deployment_id]

        # A school admin launches it over real HTTP; PyLTI1p3 fetches the market's JWKS itself.
        admin = SchoolAdminFactory(organization=school)
        market = Client()
        market.force_login(admin)
        browser = requests.Session()
        browser.cookies.set("sessionid", market.cookies["sessionid"].value)
        visited: list[str] = []
        launch = live_server.url + reverse("school-subscription-launch", args=[subscription.pk])
        landed = http_follow(browser, launch, visited=visited)

        assert landed.status_code == 200, landed.text
        assert "Validated LTI launch" in landed.text
        claims = tool_server.state.launches[0]
        assert claims["iss"] == live_server.url
        assert claims["https://purl.imsglobal.org/spec/lti/claim/custom"] == {
            "registered": "dynamically"
        }
        assert len(visited) == 4  # launch, tool login, market authorize, tool launch
        for url in visited:
            assert not JWT_LIKE.search(url), url
            assert "id_token" not in parse_qs(urlsplit(url).query), url
    finally:
        tool_server.stop()


@pytest.fixture
def registration(db, settings):
    settings.MARKET_BASE_URL = "http://testserver"
    vendor_user = VendorUserFactory()
    service = listed_service(vendor=vendor_user.vendor, service_id="reg_tool", name="Reg Tool")
    frame_url = registration_start(
        service=service, user=vendor_user, initiation_url="http://127.0.0.1:9/register"
    )
    token = parse_qs(urlsplit(frame_url).query)["registration_token"][0]
    return service, token


def _body(base="http://127.0.0.1:9", **changes):
    body = {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": f"{base}/login",
        "redirect_uris": [f"{base}/launch"],
        "client_name": "A tool",
        "jwks_uri": f"{base}/jwks",
        "token_endpoint_auth_method": "private_key_jwt",
        LTI_TOOL_CONFIGURATION: {
            "domain": "127.0.0.1:9",
            "target_link_uri": f"{base}/launch",
            "messages": [{"type": "LtiResourceLinkRequest"}],
        },
    }
    body.update(changes)
    return body


def _register(client, token, body):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(
        reverse("lti-register"), data=body, content_type="application/json", headers=headers
    )


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"initiate_login_uri": "https://10.0.0.7/login"}, "invalid_client_metadata"),
        ({"jwks_uri": "http://tool.example/jwks"}, "invalid_client_metadata"),
        ({"redirect_uris": ["https://169.254.169.254/launch"]}, "invalid_redirect_uri"),
        ({"redirect_uris": []}, "invalid_redirect_uri"),
        ({"grant_types": ["authorization_code"]}, "invalid_client_metadata"),
        ({"client_name": ""}, "invalid_client_metadata"),
        ({LTI_TOOL_CONFIGURATION: {"domain": ""}}, "invalid_client_metadata"),
    ],
)
def test_a_bad_registration_is_refused_with_json_and_stores_nothing(
    registration, client, caplog, changes, error
):
    service, token = registration
    response = _register(client, token, _body(**changes))
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert response.json()["error_description"]
    assert not Tool.objects.exists()
    assert RegistrationToken.objects.get().used_at is None  # the vendor can fix and retry
    assert "LTI registration refused" in caplog.text


@pytest.mark.parametrize("token", ["", "not-the-token"])
def test_a_registration_without_the_token_is_refused(registration, client, token):
    response = _register(client, token, _body())
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert not Tool.objects.exists()


def test_a_valid_registration_links_the_tool_to_the_service(registration, client):
    service, token = registration
    response = _register(client, token, _body())
    assert response.status_code == 200, response.content
    tool = Tool.objects.get()
    assert tool.service == service and response.json()["client_id"] == tool.client_id
    again = _register(client, token, _body())
    assert again.status_code == 401


def test_the_vendor_cannot_register_another_vendors_service(registration, client):
    service, _token = registration
    client.force_login(VendorUserFactory())
    response = client.post(
        reverse("lti-vendor-register", args=[service.service_id]),
        {"initiation_url": "http://127.0.0.1:9/register"},
    )
    assert response.status_code == 404
    assert RegistrationToken.objects.count() == 1


def test_a_private_initiation_url_is_refused_on_the_vendor_page(registration, client):
    service, _token = registration
    client.force_login(service.vendor.members.get())
    response = client.post(
        reverse("lti-vendor-register", args=[service.service_id]),
        {"initiation_url": "https://192.168.1.5/register"},
        follow=True,
    )
    assert "192.168.1.5" in response.content.decode()
    assert RegistrationToken.objects.count() == 1


def test_the_vendor_lti_page_is_korean_and_shows_only_the_vendors_own_services(db, client):
    mine = VendorUserFactory()
    other = VendorUserFactory()
    listed_service(vendor=mine.vendor, service_id="mine_tool", name="Mine Tool")
    listed_service(vendor=other.vendor, service_id="their_tool", name="Their Tool")
    client.force_login(mine)
    html = client.get(reverse("lti-vendor-tools")).content.decode()
    assert "LTI 플랫폼으로서의 마켓" in html
    assert "Mine Tool" in html and "Their Tool" not in html


def test_the_launch_error_page_is_korean(db, client):
    html = client.get(reverse("lti-authorize"), {"client_id": "nope"}).content.decode()
    assert "서비스를 열 수 없습니다" in html
    assert "마켓이 발급한 값이 아닙니다" in html


def test_staff_see_lti_tools_and_launches_in_the_admin(lti_world, browser_for, client):
    from tests.factories import StaffFactory

    browser_for(lti_world.admin_a).get(
        "http://testserver"
        + reverse("school-subscription-launch", args=[lti_world.subscription_a.pk])
    )
    client.force_login(StaffFactory())
    for name in ("tool", "deployment", "login", "registrationtoken"):
        assert client.get(reverse(f"admin:lti_{name}_changelist")).status_code == 200
    login_page = client.get(reverse("admin:lti_login_changelist")).content.decode()
    handle = lti_world.tool.logins.get().handle
    assert handle not in login_page
