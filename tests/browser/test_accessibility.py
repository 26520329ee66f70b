"""The portal on a 375 px phone and from the keyboard: no sideways scrolling, every field
labelled, a skip link first, a visible focus ring."""

import pytest
from django.urls import reverse

from tests.browser.conftest import require_chromium
from tests.factories import (
    SchoolAdminFactory,
    SubscriptionFactory,
    VendorFactory,
    VendorUserFactory,
)
from tests.portal.conftest import listed_service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 740}
PASSWORD = "correct horse battery"

UNLABELLED_FIELDS = """
() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
  .map(el => el.name || el.id || el.outerHTML.slice(0, 60))
"""


@pytest.fixture(autouse=True)
def _chromium_present():
    require_chromium()


@pytest.fixture
def portal_data():
    vendor = VendorFactory(name="K-University AI Lab")
    service = listed_service(vendor=vendor, service_id="keli_tutor", name="KELI TUTOR")
    subscription = SubscriptionFactory(service=service, plan=service.plans.get(code="basic"))
    tenant = subscription.tenant
    tenant.access_url = "https://hallym.keli.example/app/hallym_univ"
    tenant.save()
    return {
        "service": service,
        "subscription": subscription,
        "school_admin": SchoolAdminFactory(organization=subscription.organization),
        "vendor_user": VendorUserFactory(vendor=vendor),
    }


def log_in(page, base_url: str, user) -> None:
    page.goto(f"{base_url}{reverse('login')}")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_load_state()


def assert_fits_and_is_labelled(page, url: str) -> None:
    page.goto(url)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{url} scrolls sideways by {overflow}px at 375px"
    assert page.evaluate(UNLABELLED_FIELDS) == [], f"{url} has fields without a label"


def test_school_pages_fit_a_phone_and_label_every_field(
    live_server, new_page, portal_data, screenshot
):
    page = new_page(base_url=live_server.url, viewport=PHONE)
    log_in(page, live_server.url, portal_data["school_admin"])
    subscription = portal_data["subscription"]
    for url in (
        reverse("school-home"),
        reverse("school-catalog"),
        reverse("school-service", args=["keli_tutor"]),
        reverse("school-subscriptions"),
        reverse("school-subscription", args=[subscription.pk]),
        reverse("school-subscription-cancel", args=[subscription.pk]),
        reverse("school-team"),
    ):
        assert_fits_and_is_labelled(page, f"{live_server.url}{url}")
    page.goto(f"{live_server.url}{reverse('school-subscription', args=[subscription.pk])}")
    screenshot(page, "phone-school-subscription")
    assert page.console_errors == []


def test_vendor_pages_fit_a_phone_and_label_every_field(live_server, new_page, portal_data):
    page = new_page(base_url=live_server.url, viewport=PHONE)
    log_in(page, live_server.url, portal_data["vendor_user"])
    for url in (
        reverse("vendor-home"),
        reverse("vendor-service-new"),
        reverse("vendor-service", args=["keli_tutor"]),
        reverse("vendor-tenants", args=["keli_tutor"]),
        reverse("vendor-manifest-submit", args=["keli_tutor"]),
        reverse("lti-vendor-tools"),
    ):
        assert_fits_and_is_labelled(page, f"{live_server.url}{url}")


def test_keyboard_reaches_the_content_first_and_focus_is_visible(
    live_server, new_page, portal_data
):
    page = new_page(base_url=live_server.url)
    log_in(page, live_server.url, portal_data["school_admin"])
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('href')")
    assert focused == "#main", "the first Tab stop is the skip link"
    assert page.evaluate("getComputedStyle(document.activeElement).left") != "-999px"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")
    outline = page.evaluate(
        "[getComputedStyle(document.activeElement).outlineStyle,"
        " getComputedStyle(document.activeElement).outlineWidth]"
    )
    assert outline[0] != "none" and outline[1] != "0px", "the focused control shows a ring"
