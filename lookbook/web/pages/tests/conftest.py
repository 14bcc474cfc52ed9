"""Page tests: the web fixtures (an app per test on each backend, a small indexed catalog) plus a browser-like
client that keeps its session cookie and sends the page's CSRF token with every form."""

from __future__ import annotations

import re

import pytest

from lookbook.web.tests.conftest import (  # noqa: F401  (fixtures)
    PASSWORD, admin, app, catalog, client, customer, make_admin, register, settings,
)

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def csrf_token(client) -> str:
    """The CSRF token of this client's session, as a page carries it."""
    html = client.get("/login").get_data(as_text=True)
    return CSRF_META.search(html).group(1)


def submit(client, url: str, data: dict | None = None, **kwargs):
    """POST a form the way a browser does, with the session's CSRF token."""
    return client.post(url, data={"csrf_token": csrf_token(client), **(data or {})}, **kwargs)


def sign_in(client, email: str, password: str = PASSWORD):
    response = submit(client, "/login", {"email": email, "password": password})
    assert response.status_code == 303, response.get_data(as_text=True)
    return response


@pytest.fixture
def shopper(app, customer):
    """A test client signed in in the browser as a customer (``shopper.account`` is the API's register answer)."""
    browser = app.test_client()
    sign_in(browser, customer["user"]["email"])
    browser.account = customer
    return browser


@pytest.fixture
def admin_browser(app, admin):
    """A test client signed in in the browser as the admin."""
    browser = app.test_client()
    sign_in(browser, "admin@example.com")
    browser.account = admin
    return browser
