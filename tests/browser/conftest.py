"""Browser tests: Debian's Chromium, driven by Playwright, against the app on pytest-django's live server.

Playwright's own browser downloads are never used (this machine and CI reach no download host): the tests
launch the system's Chromium by its path (`.ci/run` installs Debian's `chromium` when it is missing). Outside
CI a missing Chromium skips these tests; under CI=true it fails them, as a missing PostgreSQL does.

Each test gets a fresh browser on the live server of its test process (one per pytest-xdist worker). The
live server shares the test's database: on the embedded default that is SQLite in memory, whose one
connection pytest-django hands to the server thread; on PostgreSQL each side has its own connection.
Screenshots go to $BROWSER_SCREENSHOT_DIR (default var/test-artifacts/screenshots/), one folder per test
pass, so CI can keep them; a failing test leaves one of the page it failed on.
"""

import os
import re
from pathlib import Path

import pytest
from django.db import connections
from playwright.sync_api import Page, expect, sync_playwright

from tests.services import require

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
SCREENSHOT_DIR = Path(os.environ.get("BROWSER_SCREENSHOT_DIR", ROOT / "var" / "test-artifacts" / "screenshots"))
# Running as root needs no sandbox; the rest keeps Chromium from calling home on a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000
PASSWORD = "a-long-browser-test-password"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.browser_call_failed = report.failed
    return report


def _screenshot_dir() -> Path:
    folder = SCREENSHOT_DIR / os.environ.get("VERITY_TEST_PASS", "embedded")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _file_name(nodeid: str, label: str) -> str:
    test = nodeid.split("::", 1)[-1]
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{test}--{label}") + ".png"


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    require(
        CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK),
        f"no Chromium at {CHROMIUM} for the browser tests (Debian: apt-get install chromium; CHROMIUM_PATH elsewhere)",
    )
    return CHROMIUM


@pytest.fixture
def page(
    request,
    transactional_db,
    django_db_serialized_rollback,
    live_server,
    chromium_path,
    monkeypatch,
) -> Page:
    """A fresh browser tab whose relative addresses go to the live server.

    The server answers from other threads, so the test's rows are committed (transactional_db); the rows the
    migrations wrote (the roles' groups) are restored after each flush (serialized rollback).
    """
    if request.node.get_closest_marker("browser") is None:
        pytest.fail("a test that drives the browser is marked `browser` (pytestmark = pytest.mark.browser)")
    # Playwright's sync API keeps an asyncio loop running on this thread, which Django takes for an async
    # context and refuses the ORM in. The test's own queries (setting a password, checking what a click
    # wrote) run between Playwright's calls, never alongside them, so the guard does not apply here.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 800})
        context.set_default_timeout(TIMEOUT_MS)
        expect.set_options(timeout=TIMEOUT_MS)
        tab = context.new_page()
        try:
            yield tab
        finally:
            if getattr(request.node, "browser_call_failed", False):
                tab.screenshot(path=_screenshot_dir() / _file_name(request.node.nodeid, "failure"), full_page=True)
            context.close()
            browser.close()
            # Queries the test made between Playwright's calls ran in the context of Playwright's loop, where
            # Django opens a connection of their own: closed here, or it outlives the test and keeps the test
            # database from being dropped at the end of the run.
            for connection in connections.all(initialized_only=True):
                connection.close()


@pytest.fixture
def screenshot(request):
    """screenshot(page, label) saves the whole page as <test>--<label>.png and returns its path."""

    def take(tab: Page, label: str) -> Path:
        path = _screenshot_dir() / _file_name(request.node.nodeid, label)
        tab.screenshot(path=path, full_page=True)
        return path

    return take


@pytest.fixture
def sign_in(page):
    """sign_in(user) gives the user a password and signs in through the admin's login form, as a person does."""

    def sign_in_as(user, password: str = PASSWORD) -> None:
        user.set_password(password)
        user.save(update_fields=["password"])
        page.goto("/admin/login/")
        page.get_by_label("Username").fill(user.get_username())
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("button", name="Log out")).to_be_visible()

    return sign_in_as
