"""The customer dashboard's frame: who may open it, CSRF on every form, the dashboard, notifications, and pages
that keep to the content security policy."""

from __future__ import annotations

import re

import pytest

from lookbook.accounts import preferences
from lookbook.accounts.models import User
from lookbook.catalog.tests.test_search_service import BLACK_TSHIRT
from lookbook.notifications import service as notices
from lookbook.web.pages.tests.conftest import submit
from lookbook.web.pages.tests.test_account_cart import (
    GOOD_CARD,
    add,
    another_shopper,
    db,
    html,
    pay,
    place_order,
    user_id,
)

PAGES = ["/account", "/account/cart", "/account/checkout", "/account/orders", "/account/notifications",
         "/account/reviews", "/account/style", "/account/settings"]


def _post_urls(app) -> list[str]:
    """Every POST address of the account pages, with made-up ids."""
    urls = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if rule.endpoint.startswith("account.") and "POST" in rule.methods:
                urls.append(re.sub(r"<[^>]+>", "1", rule.rule))
    return sorted(set(urls))


def notify(app, browser, title: str, body: str = "Hello", data: dict | None = None) -> int:
    with db(app).session() as session:
        user = session.get(User, user_id(browser))
        return notices.notify(session, user=user, kind="test", title=title, body=body, data=data, email=False).id


def test_every_account_page_opens_for_a_customer_and_keeps_to_the_csp(app, shopper):
    order_id = place_order(shopper, app)
    for url in [*PAGES, f"/account/orders/{order_id}", f"/account/orders/{order_id}/pay"]:
        page = html(shopper, url)
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == [], url
        tags = " ".join(re.findall(r"<[^>]+>", page))
        assert " style=" not in tags and not re.search(r"\son[a-z]+=", re.sub(r'"[^"]*"', '""', tags)), url
        assert "/assets/css/account.css?v=" in page, url
        assert page.count("<h1") == 1, url
        assert 'aria-current="page"' in page, url
        for form in re.findall(r"<form[^>]*method=\"post\".*?</form>", page, flags=re.DOTALL):
            assert 'name="csrf_token"' in form, (url, form[:200])
        for control in re.findall(r'<(?:input|select|textarea)\b[^>]*\bid="([^"]+)"', page):
            assert f'for="{control}"' in page or control == "photo-search-image", (url, control)
        ids = re.findall(r'\bid="([^"]+)"', page)
        assert len(ids) == len(set(ids)), (url, [i for i in ids if ids.count(i) > 1])


def test_anonymous_visitors_are_sent_to_log_in_and_admins_get_the_403_page(client, admin_browser):
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=/account"), url
        refused = admin_browser.get(url)
        assert refused.status_code == 403 and "Your account may not open this page" in refused.get_data(as_text=True)
    assert submit(admin_browser, "/account/cart/items", {"variant_id": 1}).status_code == 403


def test_every_account_form_needs_the_csrf_token(app, shopper):
    urls = _post_urls(app)
    assert "/account/cart/items" in urls and "/account/settings/delete" in urls and len(urls) >= 20
    for url in urls:
        response = shopper.post(url, data={"variant_id": "1", "confirm": "DELETE", "code": "X", "quantity": "1"})
        assert response.status_code == 400, url
        assert "This form expired or came from another site" in response.get_data(as_text=True)
    assert shopper.get("/account").status_code == 200  # nothing was deleted, still signed in


def test_the_dashboard_greets_and_sums_up(app, shopper):
    page = html(shopper, "/account")
    assert "Hello, Ada Customer" in page and "You have not ordered anything yet" in page
    order_id = place_order(shopper, app)
    pay(shopper, order_id, GOOD_CARD)
    add(shopper, app)
    with db(app).session() as session:
        preferences.like_product(session, user_id=user_id(shopper), product_id=BLACK_TSHIRT)
    page = html(shopper, "/account")
    assert f'href="/account/orders/{order_id}"' in page and "Paid" in page
    assert re.search(r'<span class="value">1</span>\s*unread notification\s*<', page)
    assert re.search(r'<span class="value">1</span>\s*item in your cart \(5.00 USD\)', page)
    assert "Black tshirt" in page  # liked


def test_notifications_list_mark_one_and_mark_all_read(app, client, shopper):
    first = notify(app, shopper, "Order 7 shipped", data={"order_id": 7})
    notify(app, shopper, "A deal for you")
    notify(app, shopper, "Third news")
    page = html(shopper, "/account/notifications")
    assert "3 unread." in page and page.count('class="notification unread"') == 3
    assert 'aria-label="3 unread">3</span>' in page  # the header's count
    assert 'href="/account/orders/7"' in page

    marked = submit(shopper, f"/account/notifications/{first}/read", {"next": "/account/notifications?page=1"})
    assert marked.status_code == 303 and marked.headers["Location"] == "/account/notifications?page=1"
    page = html(shopper, "/account/notifications")
    assert "2 unread." in page and page.count('class="notification unread"') == 2
    assert 'aria-label="2 unread">2</span>' in page

    eve = another_shopper(app, client)
    theirs = notify(app, eve, "Eve's news")
    assert submit(shopper, f"/account/notifications/{theirs}/read").status_code == 404
    with db(app).session() as session:
        assert notices.count_unread(session, user_id=user_id(eve)) == 1

    assert submit(shopper, "/account/notifications/read-all").status_code == 303
    page = html(shopper, "/account/notifications")
    assert "Marked 2 notifications as read." in page and "Everything is read." in page
    assert 'class="badge"' not in page


def test_notifications_page_through_and_survive_a_bad_page_number(app, shopper):
    for n in range(25):
        notify(app, shopper, f"News number {n}")
    assert "News number 24" in html(shopper, "/account/notifications")
    second = html(shopper, "/account/notifications?page=2")
    assert "News number 0<" in second and "News number 24" not in second
    assert "News number 24" in html(shopper, "/account/notifications?page=-4")


@pytest.mark.parametrize("url", ["/account/orders/abc", "/account/likes/xyz", "/account/nothing-here"])
def test_malformed_addresses_get_the_404_page(shopper, url):
    response = shopper.get(url)
    assert response.status_code in (404, 405) and response.mimetype == "text/html"
