"""axe-core (npm, pinned in tools/axe) on every portal page and the main admin pages.

axe is injected with Playwright into Debian's Chromium; a serious or critical violation fails
the test with axe's rule id, the help text and the offending elements. Every page is audited in
Korean and in English. `make test` installs axe-core with `npm ci` and sets AXE_REQUIRED=1, so
a missing axe fails there instead of skipping.
"""

import json
import os
from pathlib import Path

import pytest
from django.urls import reverse

from monitoring.models import Statement
from tenants.models import Operation
from tests.browser.conftest import require_chromium
from tests.factories import (
    OrganizationFactory,
    SchoolAdminFactory,
    StaffFactory,
    SubscriptionFactory,
    VendorFactory,
    VendorUserFactory,
)
from tests.portal.conftest import listed_service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parents[2] / "tools/axe/node_modules/axe-core/axe.min.js"
PASSWORD = "correct horse battery"
BLOCKING = ("serious", "critical")
LOCALES = ("ko-KR", "en-US")


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():
        message = f"axe-core missing at {AXE}: run `make axe` (npm ci in tools/axe)"
        if os.environ.get("AXE_REQUIRED"):
            pytest.fail(message)
        print(message)
        pytest.skip(message)
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(autouse=True)
def _chromium_present():
    require_chromium()


@pytest.fixture
def market(db):
    vendor = VendorFactory(name="K-University AI Lab")
    service = listed_service(
        vendor=vendor, service_id="keli_tutor", name="KELI 튜터", categories=("tutoring",)
    )
    subscription = SubscriptionFactory(service=service, plan=service.plans.get(code="basic"))
    tenant = subscription.tenant
    tenant.access_url = "https://hallym.keli.example/app/hallym_univ"
    tenant.save()
    Operation.objects.create(
        tenant=tenant, kind=Operation.Kind.ACTIVATE, state=Operation.State.SUCCEEDED
    )
    statement = Statement.objects.create(
        organization=subscription.organization, month="2026-04-01", total=50000
    )
    OrganizationFactory(name="Beta School")
    return {
        "service": service,
        "subscription": subscription,
        "statement": statement,
        "school_admin": SchoolAdminFactory(organization=subscription.organization),
        "vendor_user": VendorUserFactory(vendor=vendor),
        "staff": StaffFactory(is_superuser=True),
    }


def log_in(page, base_url: str, user) -> None:
    page.goto(f"{base_url}{reverse('login')}")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_load_state()


def use_language(page, base_url: str, locale: str) -> None:
    """Switch with the header's control: the market is Korean whatever the browser asks."""
    page.goto(f"{base_url}/monitoring/status/")
    if locale[:2] != "ko":
        with page.expect_navigation():
            page.select_option("#lang-select", locale[:2])
        page.wait_for_load_state()
    assert page.evaluate("document.documentElement.lang") == locale[:2]


def blocking_violations(page, axe_source: str, url: str) -> list[str]:
    response = page.goto(url)
    assert response is not None and response.status == 200, f"{url} answered {response.status}"
    # Through the DevTools protocol, which the pages' CSP (script-src 'self') does not govern.
    page.evaluate(f"() => {{ {axe_source}\n }}")
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{url}: {v['id']} ({v['impact']}) {v['help']}: "
        + json.dumps([node["target"] for node in v["nodes"]][:5])
        for v in results["violations"]
        if v["impact"] in BLOCKING
    ]


def audit(new_page, live_server, axe_source, *, user, paths) -> None:
    found = []
    for locale in LOCALES:
        page = new_page(base_url=live_server.url, locale=locale)
        if user is not None:
            log_in(page, live_server.url, user)
        use_language(page, live_server.url, locale)
        for path in paths:
            found += blocking_violations(page, axe_source, f"{live_server.url}{path}")
    assert found == [], "\n".join(found)


def test_public_pages_have_no_serious_accessibility_violation(
    live_server, new_page, axe_source, market
):
    paths = [
        reverse("home"),
        reverse("login"),
        reverse("password_reset"),
        reverse("vendor-signup"),
        "/monitoring/status/",
        "/standard/",
    ]
    audit(new_page, live_server, axe_source, user=None, paths=paths)


def test_school_pages_have_no_serious_accessibility_violation(
    live_server, new_page, axe_source, market
):
    pk = market["subscription"].pk
    paths = [
        reverse("school-home"),
        reverse("school-catalog"),
        reverse("school-catalog") + "?q=튜터",
        reverse("school-service", args=["keli_tutor"]),
        reverse("school-subscriptions"),
        reverse("school-subscription", args=[pk]),
        reverse("school-subscription-cancel", args=[pk]),
        reverse("school-team"),
        "/monitoring/statements/",
        f"/monitoring/statements/{market['statement'].pk}/",
    ]
    audit(new_page, live_server, axe_source, user=market["school_admin"], paths=paths)


def test_vendor_pages_have_no_serious_accessibility_violation(
    live_server, new_page, axe_source, market
):
    paths = [
        reverse("vendor-home"),
        reverse("vendor-service-new"),
        reverse("vendor-submissions"),
        reverse("vendor-service", args=["keli_tutor"]),
        reverse("vendor-tenants", args=["keli_tutor"]),
        reverse("vendor-tenant", args=["keli_tutor", market["subscription"].tenant_id]),
        reverse("vendor-manifest-submit", args=["keli_tutor"]),
        reverse("vendor-credentials-rotate", args=["keli_tutor"]),
        "/monitoring/status/",
    ]
    audit(new_page, live_server, axe_source, user=market["vendor_user"], paths=paths)


def test_staff_and_admin_pages_have_no_serious_accessibility_violation(
    live_server, new_page, axe_source, market
):
    operation = Operation.objects.first()
    paths = [
        reverse("staff-overview"),
        "/monitoring/dashboard/",
        "/monitoring/services/keli_tutor/",
        "/monitoring/statements/",
        reverse("admin:index"),
        reverse("admin:tenants_operation_changelist"),
        reverse("admin:tenants_operation_change", args=[operation.pk]),
        reverse("admin:tenants_subscription_changelist"),
        reverse("admin:services_service_changelist"),
        reverse("admin:services_service_change", args=[market["service"].pk]),
        reverse("admin:market_user_changelist"),
        reverse("admin:monitoring_statement_changelist"),
    ]
    audit(new_page, live_server, axe_source, user=market["staff"], paths=paths)
