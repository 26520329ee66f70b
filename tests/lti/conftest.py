"""Two schools subscribed to one LTI tool that runs PyLTI1p3 on 127.0.0.1."""

from dataclasses import dataclass

import pytest

from lti.services import deployments_ensure, lti_tool_sync
from services.vendor_client.jwt_keys import public_jwks
from tests.factories import (
    OrganizationFactory,
    SchoolAdminFactory,
    SubscriptionFactory,
    VendorFactory,
)
from tests.lti.browser import Browser
from tests.lti.tool import RunningTool
from tests.portal.conftest import listed_service

MARKET = "http://testserver"


@dataclass
class LtiWorld:
    tool_server: RunningTool
    service: object
    tool: object
    admin_a: object
    admin_b: object
    subscription_a: object
    subscription_b: object
    deployment_a: object
    deployment_b: object


@pytest.fixture
def tool_server():
    server = RunningTool()
    yield server
    server.stop()


def lti_block(tool_server: RunningTool) -> dict:
    return {
        "login_initiation_url": tool_server.url("/login"),
        "target_link_uri": tool_server.url("/launch"),
        "redirect_uris": [tool_server.url("/launch")],
        "jwks_url": tool_server.url("/jwks"),
        "custom": {"course_mode": "school", "lang_hint": "ko"},
    }


@pytest.fixture
def lti_world(db, settings, tool_server):
    settings.MARKET_BASE_URL = MARKET
    vendor = VendorFactory(name="Tool Vendor")
    service = listed_service(
        vendor=vendor, service_id="lti_tutor", name="LTI Tutor", lti=lti_block(tool_server)
    )
    school_a = OrganizationFactory(name="Alpha High", slug="alpha_high")
    school_b = OrganizationFactory(name="Beta High", slug="beta_high")
    subscription_a = SubscriptionFactory(
        organization=school_a, service=service, plan=service.plans.get(code="basic")
    )
    subscription_b = SubscriptionFactory(
        organization=school_b, service=service, plan=service.plans.get(code="basic")
    )
    tool = lti_tool_sync(service=service)
    deployment_a, deployment_b = deployments_ensure(tool=tool)
    assert deployment_a.tenant_id == subscription_a.tenant_id
    state = tool_server.state
    state.issuer = MARKET
    state.client_id = tool.client_id
    state.key_set = public_jwks()
    state.deployment_ids = [deployment_a.deployment_id, deployment_b.deployment_id]
    return LtiWorld(
        tool_server=tool_server,
        service=service,
        tool=tool,
        admin_a=SchoolAdminFactory(organization=school_a, first_name="Ada", last_name="Kim"),
        admin_b=SchoolAdminFactory(organization=school_b),
        subscription_a=subscription_a,
        subscription_b=subscription_b,
        deployment_a=deployment_a,
        deployment_b=deployment_b,
    )


@pytest.fixture
def browser_for(client):
    """A browser signed in to the market as ``user`` (a fresh Django client per user)."""
    from django.test import Client

    def make(user) -> Browser:
        own = Client()
        own.force_login(user)
        return Browser(own)

    return make
