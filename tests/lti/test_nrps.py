"""Names and Role Provisioning Services 2.0, driven by PyLTI1p3's own service connector.

The tool signs a client assertion with its key; the market fetches the tool's JWKS (through the
guarded outbound client), issues an access token, and answers the school's members. The
market is a live server here because PyLTI1p3 calls it over HTTP.
"""

import jwt
import pytest
import requests
from django.test import Client
from django.urls import reverse

from lti.models import AccessToken
from lti.nrps import NRPS_SCOPE
from lti.services import deployments_ensure, lti_tool_sync
from tests.factories import (
    OrganizationFactory,
    SchoolAdminFactory,
    SubscriptionFactory,
    VendorFactory,
)
from tests.lti.browser import http_follow
from tests.lti.conftest import lti_block
from tests.portal.conftest import listed_service

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def nrps_world(live_server, settings, tool_server):
    settings.MARKET_BASE_URL = live_server.url
    service = listed_service(
        vendor=VendorFactory(), service_id="nrps_tool", name="NRPS Tool", lti=lti_block(tool_server)
    )
    schools = [OrganizationFactory(name=f"School {n}", slug=f"nrps_{n}") for n in "ab"]
    subscriptions = [
        SubscriptionFactory(organization=s, service=service, plan=service.plans.get(code="basic"))
        for s in schools
    ]
    admins = {
        "a": [SchoolAdminFactory(organization=schools[0], first_name=n) for n in ("Ada", "Bo")],
        "b": [SchoolAdminFactory(organization=schools[1], first_name="Cy")],
    }
    tool = lti_tool_sync(service=service)
    deployments = deployments_ensure(tool=tool)
    state = tool_server.state
    state.issuer = live_server.url
    state.client_id = tool.client_id
    state.key_set_url = live_server.url + reverse("jwks")
    state.deployment_ids = [d.deployment_id for d in deployments]
    state.fetch_members = True
    return live_server, tool, subscriptions, admins, deployments


def _launch(live_server, user, subscription) -> requests.Response:
    market = Client()
    market.force_login(user)
    browser = requests.Session()
    browser.cookies.set("sessionid", market.cookies["sessionid"].value)
    url = live_server.url + reverse("school-subscription-launch", args=[subscription.pk])
    return http_follow(browser, url, visited=[])


def test_a_tool_reads_exactly_its_own_schools_members_with_pylti1p3(nrps_world, tool_server):
    live_server, tool, subscriptions, admins, _deployments = nrps_world

    for key, subscription in zip("ab", subscriptions, strict=True):
        page = _launch(live_server, admins[key][0], subscription)
        assert page.status_code == 200, page.text

    members_a, members_b = tool_server.state.members
    assert sorted(m["name"].split()[0] for m in members_a) == ["Ada", "Bo"]
    assert [m["name"].split()[0] for m in members_b] == ["Cy"]
    assert all(m["status"] == "Active" for m in members_a + members_b)
    assert all(
        "http://purl.imsglobal.org/vocab/lis/v2/membership#Administrator" in m["roles"]
        for m in members_a
    )
    assert AccessToken.objects.filter(tool=tool).exists()


def _assertion(tool_server, tool, audience, **changes):
    now = int(__import__("time").time())
    claims = {
        "iss": tool.client_id,
        "sub": tool.client_id,
        "aud": audience,
        "iat": now,
        "exp": now + 60,
        "jti": f"jti-{now}-{len(str(changes))}",
    }
    claims.update(changes)
    kid = tool_server.state.jwks()["keys"][0]["kid"]
    return jwt.encode(
        claims, tool_server.state.private_key_pem, algorithm="RS256", headers={"kid": kid}
    )


def _token_request(live_server, assertion, scope=NRPS_SCOPE, **changes):
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
        "scope": scope,
        **changes,
    }
    return requests.post(live_server.url + reverse("lti-token"), data=data, timeout=10)


def test_a_token_works_only_for_its_own_tools_deployments(nrps_world, tool_server):
    live_server, tool, _subscriptions, _admins, deployments = nrps_world
    audience = live_server.url + reverse("lti-token")
    answer = _token_request(live_server, _assertion(tool_server, tool, audience))
    assert answer.status_code == 200, answer.text
    token = answer.json()["access_token"]
    url = live_server.url + reverse("lti-nrps-memberships", args=[deployments[0].deployment_id])

    good = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    other = requests.get(
        live_server.url + reverse("lti-nrps-memberships", args=["dep-of-someone-else"]),
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    anonymous = requests.get(url, timeout=10)

    assert good.status_code == 200
    assert (
        good.headers["Content-Type"] == "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
    )
    assert good.json()["context"]["id"] == deployments[0].tenant.tenant_id
    assert other.status_code == 404
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "invalid_token"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({"client_assertion_type": "x"}, "invalid_request"),
        ({"client_assertion": "not-a-jwt"}, "invalid_client"),
        ({"scope": "https://example.org/other"}, "invalid_scope"),
    ],
)
def test_bad_token_requests_get_an_oauth_error_and_no_token(nrps_world, tool_server, change, error):
    live_server, tool, *_ = nrps_world
    audience = live_server.url + reverse("lti-token")
    assertion = change.pop("client_assertion", None) or _assertion(tool_server, tool, audience)
    answer = _token_request(live_server, assertion, **change)
    assert answer.status_code in (400, 401)
    assert answer.json()["error"] == error
    assert not AccessToken.objects.exists()


def test_an_assertion_for_another_audience_or_reused_is_refused(nrps_world, tool_server):
    live_server, tool, *_ = nrps_world
    audience = live_server.url + reverse("lti-token")
    wrong_audience = _token_request(
        live_server, _assertion(tool_server, tool, "https://elsewhere.example/token")
    )
    assertion = _assertion(tool_server, tool, audience, jti="once")
    first = _token_request(live_server, assertion)
    again = _token_request(live_server, assertion)
    assert wrong_audience.status_code == 401
    assert first.status_code == 200
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert AccessToken.objects.count() == 1


def test_an_assertion_signed_by_another_key_is_refused(nrps_world, tool_server):
    from tests.lti.tool import _new_private_key_pem

    live_server, tool, *_ = nrps_world
    audience = live_server.url + reverse("lti-token")
    now = int(__import__("time").time())
    forged = jwt.encode(
        {"iss": tool.client_id, "sub": tool.client_id, "aud": audience, "iat": now,
         "exp": now + 60, "jti": "forged"},
        _new_private_key_pem(),
        algorithm="RS256",
        headers={"kid": tool_server.state.jwks()["keys"][0]["kid"]},
    )  # fmt: skip
    answer = _token_request(live_server, forged)
    assert answer.status_code == 401
    assert not AccessToken.objects.exists()
