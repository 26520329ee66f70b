"""The portal in a real browser: a vendor registers, a school subscribes, uses and cancels.

Everything after the first page load is done by clicking what a person sees (no typed URLs).
The activation and deactivation run through a real Celery worker against reference vendors
over HTTP. The Korean run saves screenshots of the main pages under var/screenshots/
(`make screenshots` refreshes the copies in docs/screenshots/).

Credentials: the market issues random credentials at registration and shows them once. The
test reads them from that page and starts a second reference vendor that knows exactly those,
then submits manifest version 2 pointing at it through the vendor pages. That proves the
credentials the page shows are the ones the market signs with, and exercises the manifest
update and diff pages, instead of rewriting the stored credential behind the portal's back.
"""

import datetime
import re

import pytest
from django.utils import timezone, translation

from market.models import User
from services.models import Service
from tenants.models import Subscription, Tenant
from tests.browser.conftest import require_chromium
from tests.factories import OrganizationFactory, SchoolAdminFactory, StaffFactory
from tests.support.vendors import manifest_text
from vendorkit.reference_vendor import serve_in_thread

pytestmark = [pytest.mark.browser, pytest.mark.worker]

PASSWORD = "correct horse battery"
SETTLE_MS = 45_000


@pytest.fixture(autouse=True)
def _chromium_present():
    require_chromium()


def words(lang: str):
    """The page's own text in `lang`, taken from the catalogs the pages are rendered with."""

    def t(text: str) -> str:
        with translation.override(lang):
            return translation.gettext(text)

    return t


def field(page, text: str):
    """The form field labelled exactly `text` (the required star after it does not count)."""
    return page.get_by_label(re.compile(rf"^\s*{re.escape(text)}\s*\*?\s*$"))


def switch_language(page, lang: str) -> None:
    """Use the header's language selector, as a person would."""
    if page.locator("html").get_attribute("lang") == lang:
        return
    with page.expect_navigation():
        page.select_option("#lang-select", lang)
    assert page.locator("html").get_attribute("lang") == lang


def log_in(page, t, username: str, password: str) -> None:
    page.get_by_role("link", name=t("Log in"), exact=True).click()
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.locator("main").get_by_role("button", name=t("Log in"), exact=True).click()


def log_out(page, t) -> None:
    page.get_by_role("button", name=t("Log out"), exact=True).click()


@pytest.fixture
def second_vendors(tmp_path):
    """Reference vendors started by the test with the credentials the market issued."""
    servers = []

    def start(*, api_key: str, signing_secret: str, service_id: str, jwks_url: str) -> str:
        server, base_url = serve_in_thread(
            api_keys=[api_key],
            signing_secrets=[signing_secret],
            db_path=str(tmp_path / f"vendor-{len(servers)}.sqlite3"),
            service_id=service_id,
            launch_jwks_url=jwks_url,
        )
        servers.append(server)
        return base_url

    yield start
    for server in servers:
        server.stop()


def vendor_registers(page, t, *, live_server, reference_vendor, second_vendors, lang, shots):
    """Sign up, register the reference manifest, then point it at a vendor with those keys."""
    service_id = f"reference_tutor_{lang}"
    page.get_by_role("link", name=t("For vendors"), exact=True).click()
    field(page, t("Organization name")).fill(f"Reference Lab {lang}")
    field(page, t("Contact e-mail")).fill(f"lab-{lang}@reference.example")
    field(page, t("User name")).fill(f"reflab_{lang}")
    field(page, t("Password")).fill("a-long-unusual-passphrase-42")
    field(page, t("Password again")).fill("a-long-unusual-passphrase-42")
    page.get_by_role("button", name=t("Create the vendor account")).click()

    # A manifest with mistakes first: each error is shown under its line.
    broken = manifest_text(base_url=reference_vendor.base_url, service_id=service_id).replace(
        "type: api_key", "type: basic"
    )
    broken = broken.replace(f"id: {service_id}", "id: Reference Tutor")
    field(page, t("Manifest (YAML)")).fill(broken)
    page.get_by_role("button", name=t("Register the service")).click()
    assert page.locator(".listing li.has-error").count() >= 2
    shots(page, "vendor-manifest-errors")

    field(page, t("Manifest (YAML)")).fill(
        manifest_text(base_url=reference_vendor.base_url, service_id=service_id)
    )
    page.get_by_role("button", name=t("Register the service")).click()
    api_key = page.get_by_test_id("api-key").inner_text().strip()
    signing_secret = page.get_by_test_id("signing-secret").inner_text().strip()
    assert api_key.startswith("mk_") and signing_secret.startswith("whsec_")
    shots(page, "vendor-credentials-once")

    own_vendor_url = second_vendors(
        api_key=api_key,
        signing_secret=signing_secret,
        service_id=service_id,
        jwks_url=f"{live_server.url}/.well-known/jwks.json",
    )
    page.get_by_role("link", name=t("I have saved them")).click()
    page.get_by_role("link", name=t("Submit a new manifest")).first.click()
    field(page, t("Manifest (YAML)")).fill(
        manifest_text(base_url=own_vendor_url, service_id=service_id)
    )
    page.get_by_role("button", name=t("Submit the new version")).click()
    assert page.locator(".diff .add", has_text=own_vendor_url).count() == 1
    shots(page, "vendor-manifest-diff")
    # The listing gate: schools see the service once it passes the required checks against
    # its real base URL with the credentials the market issued.
    service = Service.objects.get(service_id=service_id)
    assert service.status == Service.Status.PENDING_REVIEW
    page.locator("nav.breadcrumbs").get_by_role("link", name=service.name).click()
    page.get_by_role("button", name=t("Run conformance")).first.click()
    service.refresh_from_db()
    assert service.status == Service.Status.LISTED, service.conformance_runs.last().report
    assert service.base_url == own_vendor_url
    assert service.vendor.members.get().username == f"reflab_{lang}"
    log_out(page, t)
    return service


def collect_usage(organization, service, months: int = 4) -> bool:
    """Ask the vendor for a few months of usage through the monitoring app, as its job would."""
    try:
        from monitoring.usage import usage_collect_for_tenant
    except ImportError as error:
        print(f"usage collection is not available ({error}); the page shows no chart")
        return False
    tenant = Tenant.objects.get(organization=organization, service=service)
    month = timezone.localdate().replace(day=1)
    for _ in range(months):
        usage_collect_for_tenant(tenant_id=tenant.pk, month=month)
        month = (month - datetime.timedelta(days=1)).replace(day=1)
    return True


def school_subscribes_and_cancels(page, t, *, service, school_admin, lang, shots):
    log_in(page, t, school_admin.username, PASSWORD)
    shots(page, "school-dashboard")

    # Find the service from the home page.
    field(page, t("Find a service")).fill("Reference")
    page.locator("main").get_by_role("button", name=t("Search")).click()
    shots(page, "school-catalog")
    page.get_by_role("link", name=service.name, exact=True).click()
    assert page.locator("table.compare").is_visible()
    shots(page, "school-service-plans")
    page.locator(".page-header").get_by_role("link", name=t("Subscribe"), exact=True).click()

    field(page, t("Plan")).select_option("standard")
    shots(page, "school-subscribe-form")
    page.get_by_role("button", name=t("Subscribe"), exact=True).click()

    # The state panel polls over htmx until the vendor has activated the tenant.
    page.locator("#state-panel[data-state=active]").wait_for(timeout=SETTLE_MS)
    access = page.get_by_test_id("access-url")
    access.wait_for()
    assert access.inner_text().endswith(f"/app/{school_admin.organization.slug}")
    # One displayed state everywhere: the header and the facts follow the polled panel.
    assert page.locator("#header-state").inner_text().strip() == t("Active")
    assert page.get_by_test_id("facts-state").inner_text().strip() == t("Active")
    assert t("The vendor is setting up the service for your school.") not in page.content()
    if collect_usage(school_admin.organization, service):
        page.reload()
        assert page.locator("svg.chart .chart-bar").count() >= 3
    shots(page, "school-subscription-active")

    page.get_by_role("button", name=t("Show the temporary password once")).click()
    assert page.get_by_test_id("temp-password").inner_text().strip()
    page.get_by_role("link", name=t("Done")).click()
    assert page.get_by_role("button", name=t("Show the temporary password once")).count() == 0

    detail_url = page.url
    page.get_by_role("link", name=t("Open the service")).click()
    # The market posts the launch token in a form body: it never shows in the vendor's URL.
    page.get_by_text("Launched: launched as").wait_for()
    assert "launch_token" not in page.url
    page.goto(detail_url)

    page.get_by_role("navigation", name=t("Main")).get_by_role(
        "link", name=t("Subscriptions")
    ).click()
    shots(page, "school-subscriptions")
    page.get_by_role("link", name=service.name, exact=True).click()
    page.get_by_role("link", name=t("Cancel the subscription…")).click()
    page.get_by_role("button", name=t("Yes, cancel the subscription")).click()
    page.locator("#state-panel[data-state=deactivated]").wait_for(timeout=SETTLE_MS)
    shots(page, "school-subscription-cancelled")
    log_out(page, t)

    subscription = Subscription.objects.get(organization=school_admin.organization, service=service)
    assert subscription.status == Subscription.Status.CANCELLED
    tenant = Tenant.objects.get(pk=subscription.tenant_id)
    assert tenant.state == Tenant.State.DEACTIVATED
    assert tenant.temp_password == ""
    assert tenant.credentials_revealed_at is not None


def vendor_looks_at_its_tenants(page, t, *, vendor_user, service, shots):
    log_in(page, t, vendor_user.username, "a-long-unusual-passphrase-42")
    shots(page, "vendor-home")
    page.get_by_role("link", name=service.name, exact=True).click()
    shots(page, "vendor-service")
    page.locator(".page-header").get_by_role("link", name=t("Tenants")).click()
    assert page.get_by_text("HTTP 200").count() >= 2
    shots(page, "vendor-tenants")
    log_out(page, t)


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_vendor_registers_and_school_subscribes_then_cancels(
    lang,
    live_server,
    celery_worker,
    reference_vendor,
    second_vendors,
    new_page,
    screenshot,
):
    school = OrganizationFactory(
        name="한림대학교" if lang == "ko" else "Hallym University", slug=f"hallym_{lang}"
    )
    school_admin = SchoolAdminFactory(organization=school, username=f"hallym_admin_{lang}")
    t = words(lang)

    def shots(page, name):
        # Korean is the portal's default, so its run documents the pages.
        if lang == "ko":
            screenshot(page, name)

    page = new_page(base_url=live_server.url, locale="ko-KR")
    page.goto(f"{live_server.url}/")
    assert page.locator("html").get_attribute("lang") == "ko", "Korean is the default"
    shots(page, "home")
    switch_language(page, lang)

    service = vendor_registers(
        page, t, live_server=live_server, reference_vendor=reference_vendor,
        second_vendors=second_vendors, lang=lang, shots=shots,
    )  # fmt: skip
    school_subscribes_and_cancels(
        page, t, service=service, school_admin=school_admin, lang=lang, shots=shots
    )
    vendor_user = User.objects.get(username=f"reflab_{lang}")
    vendor_looks_at_its_tenants(page, t, vendor_user=vendor_user, service=service, shots=shots)

    if lang == "ko":
        staff = StaffFactory()
        log_in(page, t, staff.username, PASSWORD)
        assert page.url.endswith("/staff/overview/")
        shots(page, "staff-overview")
    assert page.locator("html").get_attribute("lang") == lang
    assert page.console_errors == [], "no CSP violation or script error on any page"
