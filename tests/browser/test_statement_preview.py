"""The upcoming statement in Chromium, in Korean and in English: a school admin goes from the
statements page to the preview and reads this month so far, the estimate and usage over limits;
the subscription page shows what a plan change costs before the school submits it."""

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from monitoring.models import UsageReport
from tests.browser.conftest import require_chromium
from tests.browser.test_accessibility import log_in
from tests.factories import SchoolAdminFactory, SubscriptionFactory, VendorFactory
from tests.portal.conftest import listed_service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _chromium_present():
    require_chromium()


def t(lang: str, text: str) -> str:
    with translation.override(lang):
        return translation.gettext(text)


@pytest.mark.parametrize(("lang", "locale"), [("ko", "ko-KR"), ("en", "en-US")])
def test_a_school_admin_reads_the_upcoming_statement(live_server, new_page, lang, locale):
    service = listed_service(vendor=VendorFactory(), service_id="keli_tutor", name="KELI TUTOR")
    first = timezone.localdate().replace(day=1)
    subscription = SubscriptionFactory(
        service=service,
        plan=service.plans.get(code="basic"),
        starts_on=first,
        ends_on=first.replace(year=first.year + 1),
        max_users=100,
        storage_limit_gb=10,
    )
    UsageReport.objects.create(
        tenant=subscription.tenant,
        month=first.replace(year=first.year - 1),
        state=UsageReport.State.COLLECTED,
        metrics={"active_users": 187, "storage_gb": 48.8},
    )
    admin = SchoolAdminFactory(organization=subscription.organization)
    page = new_page(base_url=live_server.url, locale=locale)
    page.goto(f"{live_server.url}/")
    if page.locator("html").get_attribute("lang") != lang:
        with page.expect_navigation():
            page.select_option("#lang-select", lang)
    log_in(page, live_server.url, admin)
    page.goto(f"{live_server.url}{reverse('monitoring:statement-list')}")
    page.get_by_role("link", name=t(lang, "Upcoming statement (this month so far)")).click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == t(lang, "Upcoming statement")
    # Active since the 1st, 100,000 a month: the whole month's estimate is the full price.
    assert page.get_by_test_id("preview-estimate").inner_text() == "100,000 KRW"
    over = page.get_by_role("status").inner_text()
    assert t(lang, "Usage over the plan's limits") in over
    assert ("187" in over and "100" in over) and ("48.8" in over and "10" in over)

    page.goto(f"{live_server.url}{reverse('school-subscription', args=[subscription.pk])}")
    quotes = page.get_by_test_id("plan-quotes").inner_text()
    assert "Premium" in quotes
    assert page.get_by_test_id("renewal-quote").is_visible()
    assert page.console_errors == []
