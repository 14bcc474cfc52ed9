"""WCAG 2.1 A and AA checks of the store's pages with axe-core (bundled by the axe-playwright-python wheel),
in Chromium, as an anonymous visitor, a customer with an order and an admin, at desktop and phone widths.
axe finds what a machine can (contrast, labels, names, landmarks, ids, alt text); the keyboard and screen
reader checks it cannot make are in test_smoke and test_shopping."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import select

from lookbook.accounts.models import User
from lookbook.catalog.models import ProductVariant
from lookbook.catalog.tests.test_search_service import BLACK_TSHIRT
from lookbook.orders import service as orders

from .conftest import PHONE, log_in

WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
           "resultTypes": ["violations"]}
PUBLIC_PAGES = ["/", "/shop", "/shop?category=Topwear&sort=price", f"/products/{BLACK_TSHIRT}", "/login",
                "/register", "/search/photo", "/no-such-page"]
CUSTOMER_PAGES = ["/account", "/account/cart", "/account/checkout", "/account/orders", "/account/orders/{order}",
                  "/account/orders/{order}/pay", "/account/notifications", "/account/reviews", "/account/style",
                  "/account/settings", "/admin"]
ADMIN_PAGES = ["/admin", "/admin/orders", "/admin/orders/{order}", "/admin/customers", "/admin/customers/{customer}",
               "/admin/products", f"/admin/products/{BLACK_TSHIRT}", "/admin/products/new", "/admin/deals",
               "/admin/deals/new", "/admin/coupons", "/admin/coupons/new", "/admin/reviews", "/admin/feedback",
               "/admin/catalog"]


def _order(app, email: str) -> tuple[int, int]:
    with app.extensions["lookbook"].db.session() as session:
        user = session.scalar(select(User).where(User.email == email))
        variant_id = session.scalar(select(ProductVariant.id).where(ProductVariant.product_id == BLACK_TSHIRT))
        orders.add_to_cart(session, user_id=user.id, variant_id=variant_id, quantity=1)
        version = orders.view_cart(session, user_id=user.id).version
        order_id = orders.checkout(session, user=user, cart_version=version).id
        orders.add_to_cart(session, user_id=user.id, variant_id=variant_id, quantity=1)  # a cart to look at
        return order_id, user.id


def _violations(page, url: str, allowed_status=(200,)) -> list[str]:
    response = page.goto(url)
    assert response.status in allowed_status, (url, response.status)
    results = Axe().run(page, options=WCAG_AA)
    return [f"{url}: {v['id']} ({v['impact']}): {v['help']} — "
            + "; ".join(n["target"][0] if isinstance(n["target"][0], str) else str(n["target"]) for n in v["nodes"][:4])
            for v in results.response["violations"]]


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_every_kind_of_page_passes_axe_wcag_2_1_aa(app, open_page, customer_account, admin_account, browser_errors,
                                                    viewport):
    browser_errors.allow_status(403, 404)  # the 403 and 404 pages are checked too
    size = PHONE if viewport == "phone" else {"width": 1280, "height": 900}
    order_id, customer_id = _order(app, customer_account.email)
    found: list[str] = []

    visitor = open_page(size)
    for url in PUBLIC_PAGES:
        found += _violations(visitor, url, allowed_status=(200, 404))

    shopper = open_page(size)
    log_in(shopper, customer_account)
    for url in CUSTOMER_PAGES:
        found += _violations(shopper, url.format(order=order_id), allowed_status=(200, 403))

    boss = open_page(size)
    log_in(boss, admin_account)
    for url in ADMIN_PAGES:
        found += _violations(boss, url.format(order=order_id, customer=customer_id))

    assert found == [], "axe found WCAG 2.1 AA problems:\n  " + "\n  ".join(found)


def test_axe_runs_under_the_stores_csp_and_reports_what_it_should(page, store_url, browser_errors):
    """The check above can fail: on a store page with a control stripped of its label, axe names the problem."""
    page.goto("/login")
    page.evaluate("document.querySelector('label[for=email]').remove()")
    page.evaluate("document.body.style.color = '#bbbbbb'")  # light grey text on white: too little contrast
    ids = {v["id"] for v in Axe().run(page, options=WCAG_AA).response["violations"]}
    assert {"label", "color-contrast"} <= ids
