"""The console in a real browser: Debian's Chromium driven by Playwright, against the real
server process (`pixrelay serve`, the `make run` path).

Without a browser (or without Playwright) these tests skip and say why, except under
CI=true, where `.ci/run` installs Chromium first and a missing browser is a failure.
Playwright only drives the browser: `playwright install` is never run; the browser is the
system's (`PIXRELAY_CHROMIUM`, else `chromium` on the PATH).

A failing test leaves a screenshot of every page it had open in `.browser-failures/`."""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.service_check import in_ci
from tests.support.server import Server

try:
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright
except ImportError:  # pragma: no cover - the dev extra installs it
    sync_playwright = None  # type: ignore[assignment]

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "operator password 1"
PASSWORD = "browser password 1"
FAILURES = Path(__file__).resolve().parents[2] / ".browser-failures"
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


def chromium_path() -> str | None:
    configured = os.environ.get("PIXRELAY_CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def browser_missing() -> str | None:
    if sync_playwright is None:
        return "Playwright for Python is not installed (pip install -e '.[dev]')"
    if chromium_path() is None:
        return "no Chromium found (apt-get install chromium, or set PIXRELAY_CHROMIUM)"
    return None


# Package scope, not session: Playwright's sync API keeps an event loop running in this thread
# while it is started, and every later test that calls asyncio.run() would fail on it.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    reason = browser_missing()
    if reason:
        if in_ci():
            pytest.fail(f"browser tests cannot run: {reason}; CI=true requires them", pytrace=False)
        pytest.skip(reason)
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
    yield launched
    launched.close()


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory, playwright: Playwright) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("console"), {
        "PIXRELAY_ADMIN_EMAIL": ADMIN_EMAIL, "PIXRELAY_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "PIXRELAY_SIM_ACCOUNTS": "3"})
    running.start()
    yield running
    running.stop_if_running()


@dataclass
class Person:
    email: str
    password: str
    username: str

    @contextmanager
    def client(self, server: Server) -> Iterator[httpx.Client]:
        """The API as this person, by bearer token (for setting up and checking)."""
        with httpx.Client(base_url=server.url, timeout=10) as client:
            login = client.post("/v1/auth/login", json={"email": self.email, "password": self.password})
            assert login.status_code == 200, login.text
            client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
            yield client


@pytest.fixture
def user(server: Server) -> Person:
    name = f"u{uuid.uuid4().hex[:10]}"
    person = Person(f"{name}@example.com", PASSWORD, name)
    response = httpx.post(f"{server.url}/v1/auth/register",
                          json={"email": person.email, "username": name, "password": PASSWORD}, timeout=10)
    assert response.status_code == 201, response.text
    return person


@pytest.fixture
def admin(server: Server) -> Person:
    return Person(ADMIN_EMAIL, ADMIN_PASSWORD, "admin")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.stash[FAILED] = report.failed


FAILED = pytest.StashKey[bool]()


class Pages:
    """New browser contexts for one test; screenshots of all their pages if the test failed."""

    def __init__(self, browser: Browser, server: Server) -> None:
        self.browser, self.server = browser, server
        self.contexts: list[BrowserContext] = []
        self.errors: list[str] = []

    def open(self, viewport: dict[str, int] | None = None) -> Page:
        context = self.browser.new_context(viewport=viewport or DESKTOP, base_url=self.server.url)
        context.set_default_timeout(15_000)
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        return page

    def signed_in(self, person: Person, viewport: dict[str, int] | None = None) -> Page:
        page = self.open(viewport)
        sign_in(page, person)
        return page

    def screenshots(self, name: str) -> list[Path]:
        FAILURES.mkdir(exist_ok=True)
        saved = []
        for c, context in enumerate(self.contexts):
            for p, page in enumerate(context.pages):
                path = FAILURES / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}-{c}-{p}.png"
                try:
                    page.screenshot(path=str(path), full_page=True)
                    saved.append(path)
                except Exception:  # a page that cannot be shot must not hide the failure
                    pass
        return saved

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def pages(request: pytest.FixtureRequest, browser: Browser, server: Server) -> Iterator[Pages]:
    opened = Pages(browser, server)
    yield opened
    if request.node.stash.get(FAILED, False):
        for path in opened.screenshots(request.node.name):
            print(f"screenshot: {path}")
    opened.close()
    assert not opened.errors, f"uncaught errors in the page: {opened.errors}"


def sign_in(page: Page, person: Person) -> None:
    page.goto("/console")
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password").fill(person.password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation", name="Main").wait_for(state="visible")
