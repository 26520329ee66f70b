"""A refused activation as the school and staff see it, in Korean and in English.

A real Celery worker calls an in-process stub vendor over HTTP that refuses the activation; the
school's page must say "failed" everywhere (header, state panel, facts), quote the vendor's own
words under our sentence, and offer the retry. After the vendor is fixed the school clicks the
retry and the page turns active. Staff see the failure on the overview, counted and linked.
"""

import datetime
import re

import pytest
from django.utils import timezone

from tenants.operations.services import subscription_create
from tests.browser.conftest import require_chromium
from tests.browser.test_portal_journeys import PASSWORD, SETTLE_MS, log_out, words
from tests.factories import OrganizationFactory, SchoolAdminFactory, StaffFactory
from tests.support.stub_vendor import StubVendor, refuse, register_stub_service
from tests.support.vendors import TEST_CREDENTIALS

pytestmark = [pytest.mark.browser, pytest.mark.worker]

VENDOR_MESSAGE = "Plan basic is not sold to schools on Jeju island"


@pytest.fixture(autouse=True)
def _chromium_present():
    require_chromium()


def log_in(page, t, username: str, password: str) -> None:
    page.locator("header").get_by_role("link", name=t("Log in"), exact=True).click()
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.locator("main").get_by_role("button", name=t("Log in"), exact=True).click()


@pytest.fixture
def stub():
    with StubVendor(api_key=TEST_CREDENTIALS.api_key) as vendor:
        yield vendor


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_a_failed_activation_then_a_retry_and_the_staff_view(
    lang, live_server, celery_worker, stub, new_page, screenshot
):
    t = words(lang)
    service = register_stub_service(stub, service_id=f"stub_tutor_{lang}")
    school = OrganizationFactory(
        name="제주고등학교" if lang == "ko" else "Jeju High School", slug=f"jeju_{lang}"
    )
    admin = SchoolAdminFactory(
        organization=school, username=f"jeju_admin_{lang}", preferred_language=lang
    )
    stub.always("activate", refuse(422, VENDOR_MESSAGE))
    subscription = subscription_create(
        organization=school,
        service=service,
        plan=service.plans.get(code="basic"),
        ends_on=timezone.localdate() + datetime.timedelta(days=90),
        max_users=50,
        storage_limit_gb=5,
        admin_email=f"it@jeju-{lang}.example",
        admin_name="Kim",
    )

    page = new_page(base_url=live_server.url, locale="ko-KR" if lang == "ko" else "en-US")
    page.goto(f"{live_server.url}/")
    if page.locator("html").get_attribute("lang") != lang:
        with page.expect_navigation():
            page.select_option("#lang-select", lang)
    log_in(page, t, admin.username, PASSWORD)
    page.get_by_role("link", name=service.name, exact=True).first.click()
    page.locator("#state-panel[data-state=failed]").wait_for(timeout=SETTLE_MS)

    # "Failed" in every place, never "Active" next to a problem badge.
    assert page.locator("#header-state").inner_text().strip() == t("Failed")
    assert page.get_by_test_id("facts-state").inner_text().strip() == t("Failed")
    assert page.get_by_test_id("state-explanation").inner_text().strip() == t("Activation failed.")
    assert page.get_by_test_id("state-detail").inner_text().strip() == VENDOR_MESSAGE
    next_step = page.get_by_test_id("state-next-step").inner_text()
    assert next_step.strip() == t(
        "Once the vendor has fixed the problem, you can ask for another attempt. If it is "
        "urgent, contact support. The market's staff has already been told."
    )
    main = page.locator("main").inner_text()
    badges = page.get_by_test_id("display-state").all_inner_texts()
    assert badges and {badge.strip() for badge in badges} == {t("Failed")}
    assert t("The vendor is setting up the service for your school.") not in main
    assert page.get_by_role("link", name=t("Contact support")).count() == 1
    if lang == "ko":
        screenshot(page, "school-subscription-failed")
    log_out(page, t)

    # Staff see it at once on the overview: counted, listed and linked to its admin page.
    staff = StaffFactory(username=f"staff_{lang}")
    log_in(page, t, staff.username, PASSWORD)
    assert page.url.endswith("/staff/overview/")
    failed_count = page.get_by_test_id("count-failed").inner_text()
    assert failed_count == str(page.get_by_test_id("failed-row").count()) == "1"
    row = page.get_by_test_id("failed-row")
    assert school.name in row.inner_text()
    assert row.get_by_role("button", name=t("Retry now")).count() == 1
    if lang == "ko":
        screenshot(page, "staff-needs-a-person")
    row.get_by_role("link", name=re.compile(r"#\d+")).click()
    assert "/admin/tenants/operation/" in page.url
    page.go_back()
    log_out(page, t)

    # The vendor fixes it; the school asks for another attempt and the page turns active.
    stub.clear("activate")
    log_in(page, t, admin.username, PASSWORD)
    page.goto(f"{live_server.url}/school/subscriptions/{subscription.pk}/")
    page.get_by_role("button", name=t("Ask for another attempt")).click()
    page.locator("#state-panel[data-state=active]").wait_for(timeout=SETTLE_MS)
    assert page.locator("#header-state").inner_text().strip() == t("Active")
    assert page.get_by_test_id("facts-state").inner_text().strip() == t("Active")
    assert page.get_by_test_id("state-problem").count() == 0
    assert page.get_by_role("button", name=t("Ask for another attempt")).count() == 0
    assert page.console_errors == [], "no CSP violation or script error on any page"
