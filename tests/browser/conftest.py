"""Chromium through Playwright against pytest-django's live server.

Debian's Chromium at /usr/bin/chromium is used (not Playwright's download). Without it every
browser test is skipped with the command that installs it.
"""

import os
import subprocess
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parent.parent.parent
# Tests write their screenshots under var/ so that `make test` leaves the tree clean;
# `make screenshots` sets MARKET_SCREENSHOTS_DIR=docs/screenshots to refresh the docs' copies.
SCREENSHOTS = ROOT / os.environ.get("MARKET_SCREENSHOTS_DIR", "var/screenshots")
DESKTOP = {"width": 1280, "height": 800}


def require_chromium() -> None:
    if not CHROMIUM.exists():
        message = "Chromium not installed at /usr/bin/chromium: apt-get install chromium"
        print(message)
        pytest.skip(message)


@pytest.fixture(scope="session", autouse=True)
def compiled_translations():
    """Compile the .po files (as `make test` does) so the pages and `gettext` here agree."""
    from django.core.management import call_command
    from django.utils.translation import trans_real

    call_command("compile_translations", verbosity=0)
    trans_real._translations = {}
    trans_real._default = None


@pytest.fixture(scope="module", autouse=True)
def async_unsafe_allowed():
    """Let Django's ORM run while Playwright's sync API has its event loop in this thread.

    Set for each browser test module and restored after it, not at import time: a variable
    set at import would leak into the whole run (and into subprocesses such as
    `manage.py check --deploy`, which rightly refuses it).
    """
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="module")
def chromium(async_unsafe_allowed):
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def new_page(chromium):
    """Open pages in fresh browser contexts (own cookies), closed after the test."""
    contexts = []

    def open_page(*, base_url: str, locale: str = "ko-KR", viewport: dict | None = None):
        context = chromium.new_context(
            locale=locale, viewport=viewport or DESKTOP, timezone_id="Asia/Seoul"
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.console_errors = []

        def keep_error(message):
            # Only the market's own pages count; a vendor's page is not under test here.
            if message.type == "error" and base_url in (message.location.get("url") or ""):
                page.console_errors.append(message.text)

        page.on("console", keep_error)
        return page

    yield open_page
    for context in contexts:
        context.close()


def korean_font_installed() -> bool:
    try:
        found = subprocess.run(  # noqa: S603 - fixed argv
            ["fc-list", ":lang=ko", "family"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return bool(found.stdout.strip())


@pytest.fixture(scope="session")
def screenshot():
    """Save a full-page PNG of the current page into SCREENSHOTS/<name>.png.

    Without a Korean font Chromium draws Korean as boxes; no screenshot is then written (and
    the reason is printed) instead of an unreadable one.
    """
    writable = korean_font_installed()
    if not writable:
        print(f"No Korean font (apt-get install fonts-nanum): no screenshots in {SCREENSHOTS}")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path | None:
        if not writable:
            return None
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
