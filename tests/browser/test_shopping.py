"""Shopping in a real browser, the way people do it: a shopper searches by photo, narrows the matches, buys with a
coupon through the sandbox payment (a declined card first) and is notified; an admin sees the sale, ships the
order and the shopper sees it shipped; a hostile review is shown as plain text; the photo search and a product
page work at phone width. Screenshots of the key pages go to test-output/screenshots/."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from lookbook.accounts import service as accounts
from lookbook.accounts.models import User
from lookbook.catalog import management
from lookbook.catalog.tests.test_search_service import (
    BLACK_TSHIRT,
    BLUE_TSHIRT,
    BY_ID,
    KINDS,
)
from lookbook.deals import service as deals
from lookbook.orders import service as orders
from lookbook.payments import service as payments

from .conftest import log_in, photo_file, screenshot

GOOD_CARD, DECLINED_CARD = "4242 4242 4242 4242", "4000 0000 0000 0002"
COUPON = "WELCOME10"  # 10 % off, as the demo's coupon
ADDRESS = {"Recipient": "Ada Lovelace", "Street and number": "12 Analytical Street", "Postal code": "NW1 2AB",
           "City": "London", "Country code": "GB"}
HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
SIMILARITY = re.compile(r"^\d{1,3}% similar$")


# ---- helpers ----------------------------------------------------------------------------------------------------

def _db(app):
    return app.extensions["lookbook"].db


def _user_id(app, email: str) -> int:
    with _db(app).session() as session:
        return session.scalar(select(User.id).where(User.email == email))


def _buy(app, email: str, product_id: int) -> int:
    """A paid order of one unit of the product, made through the services (the test is about what comes after)."""
    user_id = _user_id(app, email)
    with _db(app).session() as session:
        variant_id = management.variants_of(session, [product_id])[product_id][0].id
        orders.add_to_cart(session, user_id=user_id, variant_id=variant_id, quantity=1)
        address_id = accounts.add_address(session, user_id=user_id, fields={
            "recipient": "Ada Lovelace", "line1": "1 Test Road", "city": "London", "postal_code": "NW1",
            "country": "GB"}).id
    with _db(app).session() as session:
        version = orders.view_cart(session, user_id=user_id).version
        order_id = orders.checkout(session, user=session.get(User, user_id), cart_version=version,
                                   address_id=address_id).id
    sandbox = app.extensions["lookbook"].payment_providers["sandbox"]
    payments.pay(_db(app), order_id=order_id, user_id=user_id, provider=sandbox, card_number=GOOD_CARD)
    return order_id


def _open_photo_search(page):
    """The header's "Search by photo" disclosure, opened if it is closed (it is on small screens)."""
    details = page.locator("details.photo-search")
    if not details.evaluate("element => element.open"):
        details.locator("summary").click()
    expect(details.locator("form[data-photo-search]")).to_be_visible()
    return details.locator("form[data-photo-search]")


def _search_by_photo(page, photo, *, tap: bool = False):
    form = _open_photo_search(page)
    form.get_by_label("Choose a photo, drop it here, or paste it").set_input_files(photo)
    expect(form.locator("img[data-preview]")).to_be_visible()
    button = form.get_by_role("button", name="Find similar items")
    if tap:
        button.tap()
    else:
        button.click()
    expect(page).to_have_url(re.compile(r"/search/photo/[^/?]+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Items like your photo")


def _card_names(page) -> list[str]:
    return page.locator(".results .product-card h3").all_inner_texts()


def _no_horizontal_scroll(page, where: str) -> None:
    # Measure the page as laid out with its stylesheets: a CI run once measured before they had loaded
    # (368 px = the body's default 8 px margin + a figure's 40 px + the 320 px query photo, all unstyled).
    page.wait_for_load_state("load")
    widths = page.evaluate(
        "({scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth})")
    assert widths["scroll"] <= widths["client"], (where, widths)


def _unread_badge(page):
    return page.get_by_role("navigation", name="Main").locator(".badge")


# ---- a shopper buys by photo, an admin ships ----------------------------------------------------------------------

def test_a_shopper_buys_by_photo_with_a_coupon_and_an_admin_ships_the_order(
        app, open_page, customer_account, admin_account, browser_errors, tmp_path):
    with _db(app).session() as session:  # sizes for the black t-shirt, and the shop's coupon
        management.add_variant(session, product_id=BLACK_TSHIRT, sku="BT-S", size="S", stock_count=20)
        management.add_variant(session, product_id=BLACK_TSHIRT, sku="BT-M", size="M", stock_count=20)
        management.add_variant(session, product_id=BLACK_TSHIRT, sku="BT-L", size="L", stock_count=0)
        deals.create_coupon(session, code=COUPON, kind="percent", value=1000)
    shopper = open_page()

    # 1. The shopper logs in (landing on the dashboard) and goes to the home page.
    log_in(shopper, customer_account)
    shopper.get_by_role("link", name="Lookbook", exact=True).click()
    expect(shopper).to_have_url(re.compile(r"/$"))

    # 2. Search by photo from the header: a photo of a black t-shirt that the shop has never seen.
    _search_by_photo(shopper, photo_file(tmp_path, "tshirt", "black"))
    results = shopper.locator(".results")
    expect(results.get_by_role("heading", level=2)).to_have_text(f"The {len(BY_ID)} closest matches")
    expect(results.locator(".product-card")).to_have_count(len(BY_ID))
    scores = results.locator(".product-card .score")
    expect(scores.first).to_have_text(SIMILARITY)
    percents = [int(text.split("%")[0]) for text in scores.all_inner_texts()]
    assert percents == sorted(percents, reverse=True) and percents[0] > percents[-1], percents
    assert "Black tshirt" in _card_names(shopper)[:3], _card_names(shopper)
    expect(shopper.locator(".query-photo img")).to_have_js_property("complete", True)
    screenshot(shopper, "search-results")

    # 3. Narrow the matches to t-shirts with the filter form.
    filters = shopper.locator("form.filters")
    filters.get_by_label("Category").select_option("Tshirts")
    filters.get_by_role("button", name="Show matches").click()
    expect(shopper).to_have_url(re.compile(r"[?&]category=Tshirts(&|$)"))
    tshirts = [row["name"] for row in BY_ID.values() if row["category"] == KINDS["tshirt"][0]]
    expect(results.get_by_role("heading", level=2)).to_have_text(
        f"The {len(tshirts)} closest matches with these filters")
    expect(results.locator(".product-card")).to_have_count(len(tshirts))
    assert sorted(_card_names(shopper)) == sorted(tshirts)
    expect(filters.get_by_label("Category")).to_have_value("Tshirts")

    # 4. Open the black t-shirt and pick a size: the sold-out one cannot be chosen.
    results.locator(".product-card", has_text="Black tshirt").get_by_role("link").click()
    expect(shopper).to_have_url(re.compile(rf"/products/{BLACK_TSHIRT}$"))
    expect(shopper.get_by_role("heading", level=1)).to_have_text("Black tshirt")
    expect(shopper.locator(".product-price")).to_have_text("5.00 USD")
    size = shopper.get_by_label("Size and colour")
    expect(size.locator("option", has_text="L — out of stock")).to_be_disabled()
    size.select_option(label="M")
    shopper.get_by_label("Quantity").fill("2")
    screenshot(shopper, "product")
    shopper.get_by_role("button", name="Add to cart").click()
    expect(shopper.get_by_role("status").filter(has_text="Added 2 to your cart.")).to_be_visible()
    expect(shopper).to_have_url(re.compile(rf"/products/{BLACK_TSHIRT}$"))

    # 5. The cart: apply the coupon from the keyboard and see the total drop.
    shopper.get_by_role("navigation", name="Main").get_by_role("link", name="Cart").click()
    expect(shopper).to_have_url(re.compile(r"/account/cart$"))
    line = shopper.locator("table.cart-lines tbody tr")
    expect(line).to_have_count(1)
    expect(line).to_contain_text("Black tshirt")
    expect(line.locator("td").nth(1)).to_have_text("M")
    totals = shopper.locator(".summary dl.totals")
    expect(totals.locator(".total dd")).to_have_text("10.00 USD")
    code = shopper.get_by_label("Coupon code")
    code.fill(COUPON.lower())  # codes are not case-sensitive
    code.press("Enter")
    expect(shopper.get_by_text("Coupon applied.")).to_be_visible()
    expect(shopper.locator(".coupon")).to_contain_text(f"Coupon {COUPON} is applied.")
    expect(totals).to_contain_text("−1.00 USD")
    expect(totals.locator(".total dd")).to_have_text("9.00 USD")
    screenshot(shopper, "cart-with-coupon")

    # 6. Check out with a new address.
    shopper.get_by_role("link", name="Check out").click()
    expect(shopper).to_have_url(re.compile(r"/account/checkout$"))
    shopper.get_by_label("A new address (saved to your account)").check()
    for label, value in ADDRESS.items():
        shopper.get_by_label(label, exact=True).fill(value)
    shopper.get_by_role("button", name="Place order · 9.00 USD").click()
    expect(shopper).to_have_url(re.compile(r"/account/orders/\d+/pay$"))
    order_id = int(re.search(r"/orders/(\d+)/pay", shopper.url).group(1))
    expect(shopper.get_by_role("heading", level=1)).to_have_text(f"Pay for order {order_id}")
    expect(shopper.locator(".amount-due")).to_have_text("Amount due: 9.00 USD")

    # 7. Pay: the declined card first (its reason is shown), then the good card.
    browser_errors.allow_status(402)  # the declined payment answers 402 Payment Required
    card = shopper.get_by_label("Card number")
    card.fill(DECLINED_CARD)
    shopper.get_by_role("button", name="Pay 9.00 USD").click()
    declined = shopper.get_by_role("alert").filter(has_text="The payment did not go through")
    expect(declined).to_be_visible()
    expect(declined).to_contain_text("The card was declined.")
    expect(_unread_badge(shopper)).to_have_count(0)  # nothing to tell yet
    card.fill(GOOD_CARD)
    shopper.get_by_role("button", name="Pay 9.00 USD").click()
    expect(shopper.get_by_role("heading", level=1)).to_have_text(f"Thank you! Order {order_id} is confirmed")
    confirmation = shopper.locator(".confirmation")
    expect(confirmation).to_contain_text(f"Order number: {order_id}")
    expect(confirmation.locator(".status-pill")).to_have_text("Paid")
    expect(confirmation).to_contain_text("2 × Black tshirt (size M)")
    screenshot(shopper, "payment-confirmation")

    # 8. The notification: an unread badge in the header, and the message on the notifications page.
    expect(_unread_badge(shopper)).to_have_text("1")
    expect(_unread_badge(shopper)).to_have_attribute("aria-label", "1 unread")
    shopper.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile(r"^Notifications")).click()
    expect(shopper).to_have_url(re.compile(r"/account/notifications$"))
    notice = shopper.locator("li.notification.unread")
    expect(notice).to_have_count(1)
    expect(notice.get_by_role("heading")).to_have_text(f"Unread: Order {order_id} confirmed")
    expect(notice).to_contain_text("We received your payment of 9.00 USD")
    screenshot(shopper, "notifications")

    # 9. The customer dashboard lists the order; the shopper opens it (paid, not yet shipped).
    shopper.get_by_role("navigation", name="Main").get_by_role("link", name="My account").click()
    expect(shopper).to_have_url(re.compile(r"/account$"))
    recent = shopper.locator("section[aria-labelledby=recent-orders] tbody tr")
    expect(recent).to_have_count(1)
    expect(recent).to_contain_text(f"Order {order_id}")
    expect(recent.locator(".status-pill")).to_have_text("Paid")
    screenshot(shopper, "customer-dashboard")
    recent.get_by_role("link", name=f"Order {order_id}").click()
    expect(shopper).to_have_url(re.compile(rf"/account/orders/{order_id}$"))
    expect(shopper.locator("h1 + p .status-pill")).to_have_text("Paid")

    # 10. An admin, in a browser of their own, lands on the dashboard and sees the sale.
    admin = open_page()
    log_in(admin, admin_account)
    expect(admin).to_have_url(re.compile(r"/admin$"))
    expect(admin.get_by_role("heading", level=1)).to_have_text("Dashboard")
    revenue = admin.locator(".stat", has_text="revenue from")
    expect(revenue).to_contain_text("revenue from 1 paid order")
    expect(revenue.locator(".value")).to_have_text("9.00 USD")
    sale = admin.locator("section[aria-labelledby=top-heading] tbody tr", has_text="Black tshirt")
    expect(sale).to_have_count(1)
    expect(sale.locator("td")).to_have_text(["2", "1", "10.00 USD"])  # units, orders, revenue
    for chart in admin.locator("img.chart").all():  # the SVG charts load (their own CSP lets pygal style them)
        expect(chart).to_have_js_property("complete", True)
        assert chart.evaluate("image => image.naturalWidth") > 0, chart.get_attribute("src")
    screenshot(admin, "admin-dashboard")

    # 11. The admin opens the order from the orders list and marks it shipped.
    admin.get_by_role("navigation", name="Admin sections").get_by_role("link", name="Orders").click()
    admin.get_by_role("link", name=f"#{order_id}", exact=True).click()
    expect(admin).to_have_url(re.compile(rf"/admin/orders/{order_id}$"))
    expect(admin.get_by_role("heading", level=1)).to_contain_text(f"Order #{order_id}")
    expect(admin.locator("h1 .status-pill")).to_have_text("paid")
    admin.get_by_label("Note for the order's history (optional)").fill("Sent with Royal Mail")
    ship = admin.locator("button[name=status][value=shipped]")
    expect(ship).to_have_text("Mark shipped")
    ship.click()
    expect(admin.get_by_text(f"Order {order_id} is marked shipped; the customer was told.")).to_be_visible()
    expect(admin.locator("h1 .status-pill")).to_have_text("shipped")
    expect(admin.locator("button[name=status][value=shipped]")).to_have_count(0)
    expect(admin.locator("ol.timeline")).to_contain_text("Sent with Royal Mail")
    screenshot(admin, "admin-order-shipped")

    # 12. The shopper reloads the order page: shipped, with the shop's note, and a new notification.
    shopper.reload()
    expect(shopper.locator("h1 + p .status-pill")).to_have_text("Shipped")
    expect(shopper.locator("ol.timeline")).to_contain_text("Note from the shop: Sent with Royal Mail")
    expect(_unread_badge(shopper)).to_have_text("2")
    _unread_badge(shopper).click()
    expect(shopper).to_have_url(re.compile(r"/account/notifications$"))
    expect(shopper.locator("li.notification.unread").first.get_by_role("heading")).to_have_text(
        f"Unread: Order {order_id} shipped")
    shopper.locator("li.notification").first.get_by_role("link", name=f"See order {order_id}").click()
    expect(shopper).to_have_url(re.compile(rf"/account/orders/{order_id}$"))


# ---- hostile text stays text ------------------------------------------------------------------------------------

def test_a_hostile_review_is_shown_as_plain_text(app, open_page, customer_account, admin_account):
    _buy(app, customer_account.email, BLUE_TSHIRT)
    page = open_page()
    dialogs, requests = [], []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("request", lambda request: requests.append(request.url))
    log_in(page, customer_account)

    page.goto(f"/products/{BLUE_TSHIRT}")
    form = page.locator("form.review-form")
    form.get_by_label("Your rating").select_option("4")
    form.get_by_label("Title (optional)").fill(HOSTILE)
    form.get_by_label("Your review").fill(HOSTILE)
    form.get_by_role("button", name="Publish review").click()

    expect(page).to_have_url(re.compile(rf"/products/{BLUE_TSHIRT}$"))
    expect(page.get_by_text("Thank you for your review!")).to_be_visible()
    review = page.locator("li.review")
    expect(review).to_have_count(1)
    expect(review.locator(".review-body")).to_have_text(HOSTILE)  # the very characters, visible as text
    expect(review.locator(".review-body")).to_be_visible()
    expect(review.locator(".review-title")).to_have_text(HOSTILE)
    assert review.locator("script, img").count() == 0
    screenshot(page, "hostile-review")

    # The same text in the customer's reviews list and in the admin's moderation page.
    page.goto("/account/reviews")
    expect(page.get_by_text(HOSTILE).first).to_be_visible()
    admin = open_page()
    admin.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    admin.on("request", lambda request: requests.append(request.url))
    log_in(admin, admin_account)
    admin.goto("/admin/reviews")
    expect(admin.locator(".user-text", has_text=HOSTILE)).to_be_visible()

    for each in (page, admin):
        assert each.evaluate("typeof window.__pwned") == "undefined"
    assert dialogs == []
    assert not [url for url in requests if re.search(r"/x([?#]|$)", url)], requests


# ---- at phone width ---------------------------------------------------------------------------------------------

def test_photo_search_and_a_product_page_at_phone_width(phone_page, tmp_path):
    phone_page.goto("/")
    _no_horizontal_scroll(phone_page, "home")
    form = _open_photo_search(phone_page)
    for control in (form.get_by_label("Choose a photo, drop it here, or paste it"),
                    form.get_by_role("button", name="Find similar items")):
        expect(control).to_be_visible()
        box = control.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 360, box  # within the screen
    _no_horizontal_scroll(phone_page, "home, photo search open")

    _search_by_photo(phone_page, photo_file(tmp_path, "trousers", "blue"), tap=True)
    expect(phone_page.locator(".results .product-card").first).to_be_visible()
    expect(phone_page.locator(".results .score").first).to_have_text(SIMILARITY)
    _no_horizontal_scroll(phone_page, "photo results")
    screenshot(phone_page, "phone-search-results")

    phone_page.locator(".results .product-card").first.get_by_role("link").tap()
    expect(phone_page).to_have_url(re.compile(r"/products/\d+$"))
    expect(phone_page.get_by_role("heading", level=1)).to_be_visible()
    expect(phone_page.get_by_role("link", name="Log in to buy")).to_be_visible()
    _no_horizontal_scroll(phone_page, "product page")
    screenshot(phone_page, "phone-product")
