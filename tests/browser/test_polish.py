# ruff: noqa: F811 - the `market` fixture is imported from test_axe and named as a parameter
"""What a person sees once: ReDoc asks nothing outside the market, the header stays on one
line at 1280 px, each navigation item appears once, every page has a meta description."""

from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from tests.browser.conftest import require_chromium
from tests.browser.test_axe import log_in, market, use_language  # noqa: F401 - shared fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LOCALES = ("ko-KR", "en-US")


@pytest.fixture(autouse=True)
def _chromium_present():
    require_chromium()


@pytest.mark.parametrize("locale", LOCALES)
def test_redoc_asks_only_the_market(live_server, new_page, locale):
    page = new_page(base_url=live_server.url, locale=locale)
    asked = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(f"{live_server.url}/api/redoc/")
    page.wait_for_selector("[role=navigation], .menu-content", timeout=20000)
    page.wait_for_load_state("networkidle")
    # A blob: URL (Redoc's worker) belongs to the origin written after "blob:".
    origins = {
        urlsplit(url.removeprefix("blob:"))._replace(path="", query="", fragment="").geturl()
        for url in asked
        if not url.startswith("data:")
    }
    assert origins == {live_server.url.rstrip("/")}, asked
    assert any(url.endswith("/api/schema/") for url in asked), "Redoc loaded the document"


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("role", ["school_admin", "vendor_user", "staff", None])
def test_header_is_one_line_and_navigation_items_appear_once(
    live_server,
    new_page,
    market,
    locale,
    role,  # noqa: F811
):
    page = new_page(base_url=live_server.url, locale=locale)
    if role is not None:
        log_in(page, live_server.url, market[role])
    use_language(page, live_server.url, locale)
    paths = ["/monitoring/status/", "/monitoring/statements/", "/monitoring/dashboard/", "/"]
    for path in paths:
        response = page.goto(f"{live_server.url}{path}")
        if response.status != 200:
            continue  # a page this role may not open
        header = page.locator(".site-header .header-row").bounding_box()
        assert header["height"] <= 72, f"{path} header wraps ({header['height']}px) as {role}"
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 1280 px as {role}"
        links = page.locator(".main-nav a").evaluate_all(
            "links => links.map(a => a.getAttribute('href'))"
        )
        assert len(links) == len(set(links)), f"{path} repeats navigation items: {links}"
        labels = page.locator(".main-nav a").all_inner_texts()
        assert len(labels) == len(set(labels)), f"{path} repeats navigation labels: {labels}"
        description = page.locator('meta[name="description"]').get_attribute("content")
        assert description and len(description) > 20


@pytest.mark.parametrize("locale", LOCALES)
def test_admin_pages_have_a_meta_description(live_server, new_page, market, locale):  # noqa: F811
    page = new_page(base_url=live_server.url, locale=locale)
    log_in(page, live_server.url, market["staff"])
    page.goto(f"{live_server.url}{reverse('admin:index')}")
    assert page.locator('meta[name="description"]').get_attribute("content")


@pytest.mark.parametrize(
    ("locale", "query", "category", "feature"),
    [("ko-KR", "튜터", "튜터링", "AI 채팅"), ("en-US", "tutoring", "Tutoring", "AI chat")],
)
def test_the_catalog_speaks_the_readers_language(
    live_server, new_page, market, locale, query, category, feature
):
    page = new_page(base_url=live_server.url, locale=locale)
    log_in(page, live_server.url, market["school_admin"])
    page.goto(f"{live_server.url}{reverse('school-catalog')}")
    use_language(page, live_server.url, locale)
    page.goto(f"{live_server.url}{reverse('school-catalog')}")
    page.fill("input[name=q]", query)
    page.locator("form[role=search] button[type=submit]").click()
    page.wait_for_load_state()
    cards = page.locator(".card-grid .card")
    assert cards.count() == 1
    assert "KELI" in cards.first.inner_text()
    assert category in cards.first.locator(".tag").all_inner_texts()
    options = page.locator("#feature option").all_inner_texts()
    assert feature in options
    assert not any("_" in option for option in options), f"a slug is shown: {options}"
    page.goto(f"{live_server.url}{reverse('school-service', args=['keli_tutor'])}")
    rows = page.locator("table.compare th[scope=row]").all_inner_texts()
    assert feature in rows and "ai_chat" not in rows
