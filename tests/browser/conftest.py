"""Browser tests: the store served over HTTP on 127.0.0.1, driven by Playwright in Debian's Chromium.

The app is the web tests' app (fixed test secrets, rate limits off, a small indexed catalog in an isolated
LOOKBOOK_HOME), on SQLite only: these tests check pages, not database backends (the service and API tests run
on both). Never `playwright install`: the browser is /usr/bin/chromium (`make test` installs it with apt).

Fixtures
  store_url       the live store's base URL, e.g. "http://127.0.0.1:41234" (pages also take relative URLs)
  app             the Flask app behind it (to make accounts or read the database through the services)
  open_page       ``open_page(viewport=PHONE)``: a fresh page in a new browser context (its own cookies, so
                  one test can have a customer and an admin at once); every page is watched for errors
  page            ``open_page()`` at the desktop size (1280×900)
  phone_page      ``open_page(viewport=PHONE)`` (360×740, touch)
  browser_errors  console errors, uncaught exceptions, CSP violations and requests to anywhere but the
                  store (refused: no CDN, no internet) of the test's pages: any of them fails the test, unless allowed first with ``browser_errors.allow(r"regex")`` or
                  ``browser_errors.allow_status(422)`` (Chromium logs every 4xx/5xx answer as an error)
  customer_account, admin_account   an `Account` (email, password, name, role) made through the services

Helpers, for a test module in this folder: ``from .conftest import Account, log_in, screenshot, ...``
  create_account(app, role=..., email=..., password=...) -> Account
  log_in(page, account)      through /login; waits until the browser lands on the role's dashboard
  screenshot(page, name)     a full-page PNG in test-output/screenshots/ of the repository
  photo_file(folder, kind, colour)   a garment photo file for ``page.set_input_files``
"""

from __future__ import annotations

import itertools
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import make_server

from conftest import garment_photo
from lookbook.accounts import service as accounts
from lookbook.accounts.roles import HOME, Role
from lookbook.web.tests.conftest import PASSWORD, app, catalog, settings  # noqa: F401  (fixtures)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}
TIMEOUT_MS = 5_000             # every wait (auto-waiting locators and `expect`) is bounded by this
NAVIGATION_TIMEOUT_MS = 10_000
REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "test-output" / "screenshots"

# Chromium reports CSP violations as console errors itself; this names them plainly as well.
_REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (event) {
  console.error("CSP violation: " + event.violatedDirective + " blocked " + (event.blockedURI || "inline code")
                + " in " + event.documentURI);
});
"""
_emails = itertools.count(1)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


# ---- the live store ---------------------------------------------------------------------------------------------


@pytest.fixture
def database_url(tmp_path):
    """Overrides the root conftest's fixture (one database per backend): browser tests run on SQLite only."""
    return f"sqlite:///{tmp_path / 'lookbook.sqlite3'}"


@pytest.fixture
def store_url(app):  # noqa: F811  (the fixture imported above)
    """The app served by a threaded HTTP server on a free port of 127.0.0.1, stopped after the test."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="live-store",
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# ---- the browser ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, for the whole session. Without it the browser tests are skipped, except in
    CI (CI=true), where a missing browser is a failure."""
    if not os.access(CHROMIUM, os.X_OK):
        reason = f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)"
        if _in_ci():
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    expect.set_options(timeout=TIMEOUT_MS)
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                                              timeout=30_000)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@dataclass
class BrowserErrors:
    """What went wrong in the test's pages: console errors (CSP violations among them) and uncaught exceptions."""

    messages: list[str] = field(default_factory=list)
    allowed: list[re.Pattern] = field(default_factory=list)
    pages: list = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """Expect console errors matching this regex (e.g. r"status of 403" when opening a forbidden page)."""
        self.allowed.append(re.compile(pattern))

    def allow_status(self, *statuses: int) -> None:
        """Expect answers with these HTTP statuses (a 403 page, a form sent back with 422): Chromium logs
        "Failed to load resource: the server responded with a status of 422" for each."""
        for status in statuses:
            self.allow(rf"Failed to load resource: the server responded with a status of {status}\b")

    def unexpected(self) -> list[str]:
        return [m for m in self.messages if not any(p.search(m) for p in self.allowed)]

    def watch(self, page) -> None:
        self.pages.append(page)
        page.on("console", lambda message: self._console(page, message))
        page.on("pageerror", lambda error: self.messages.append(f"uncaught exception on {page.url}: {error}"))

    def refuse_other_origins(self, context, origin: str) -> None:
        """Pages get everything from the store itself (no CDN, no internet): any other request is refused and
        counts as an error."""
        def refuse(route):
            self.messages.append(f"request outside the store ({origin}): {route.request.url}")
            route.abort("blockedbyclient")

        context.route(lambda url: not (url == origin or url.startswith(origin + "/")), refuse)

    def _console(self, page, message) -> None:
        if message.type == "error":
            source = (message.location or {}).get("url")  # the resource that failed to load, or the script
            where = f" [{source}]" if source and source != page.url else ""
            self.messages.append(f"console error on {page.url}: {message.text}{where}")

    def settle(self) -> None:
        """Let the pages deliver the events still in flight (one round trip each)."""
        for page in self.pages:
            if not page.is_closed():
                try:
                    page.evaluate("0")
                except PlaywrightError:  # in the middle of a navigation, or gone: nothing more will come
                    continue


@pytest.fixture
def browser_errors() -> BrowserErrors:
    return BrowserErrors()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """A test whose pages logged an error fails, even if its own assertions passed."""
    result = yield
    errors = item.funcargs.get("browser_errors") if hasattr(item, "funcargs") else None
    if isinstance(errors, BrowserErrors):
        errors.settle()
        unexpected = errors.unexpected()
        if unexpected:
            pytest.fail("the browser reported errors:\n  " + "\n  ".join(unexpected), pytrace=False)
    return result


@pytest.fixture
def open_page(browser, store_url, browser_errors):
    """A factory of fresh pages: each in a new context (no shared cookies), relative URLs on the live store,
    bounded waits, and watched for errors. Contexts are closed after the test."""
    contexts = []

    def open_(viewport: dict = DESKTOP):
        phone = viewport["width"] < 600
        context = browser.new_context(base_url=store_url, viewport=viewport, is_mobile=phone, has_touch=phone,
                                      locale="en-GB", timezone_id="UTC", service_workers="block")
        contexts.append(context)
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
        context.add_init_script(_REPORT_CSP_VIOLATIONS)
        browser_errors.refuse_other_origins(context, store_url)
        page = context.new_page()
        browser_errors.watch(page)
        return page

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page):
    """A desktop-size page (1280×900)."""
    return open_page()


@pytest.fixture
def phone_page(open_page):
    """A phone-size page (360×740, touch)."""
    return open_page(PHONE)


def screenshot(page, name: str) -> Path:
    """Save a full-page PNG as test-output/screenshots/<name>.png in the repository, for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=True, animations="disabled")
    return path


def photo_file(folder: Path, kind: str = "tshirt", colour: str = "blue", *, name: str | None = None) -> Path:
    """A synthetic garment photo (as the root conftest makes them) written to a file, for a file chooser."""
    path = folder / (name or f"{colour}-{kind}.png")
    path.write_bytes(garment_photo(kind, colour, size=160, seed=7))
    return path


# ---- accounts ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    email: str
    password: str
    name: str
    role: Role

    @property
    def home(self) -> str:
        """Where this role lands after logging in: /account or /admin."""
        return HOME[self.role]


def create_account(flask_app, *, role: Role = Role.CUSTOMER, email: str | None = None, password: str = PASSWORD,
                   name: str | None = None) -> Account:
    """An account made directly through the accounts service (as `lookbook users create-admin` makes admins)."""
    email = email or f"{role}{next(_emails)}@example.com"
    name = name or ("Grace Admin" if role == Role.ADMIN else "Ada Customer")
    with flask_app.extensions["lookbook"].db.session() as session:
        accounts.create_user(session, email=email, password=password, name=name, role=role)
    return Account(email=email, password=password, name=name, role=role)


@pytest.fixture
def customer_account(app) -> Account:  # noqa: F811
    return create_account(app, role=Role.CUSTOMER)


@pytest.fixture
def admin_account(app) -> Account:  # noqa: F811
    return create_account(app, role=Role.ADMIN)


def log_in(page, account: Account, *, expect_home: bool = True) -> None:
    """Log in through the login page; by default wait until the browser lands on the account's dashboard."""
    page.goto("/login")
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Log in", exact=True).click()
    if expect_home:
        expect(page).to_have_url(re.compile(re.escape(account.home) + r"([?#].*)?$"))
