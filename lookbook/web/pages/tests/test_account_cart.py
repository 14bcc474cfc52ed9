"""The customer dashboard's shop flow in the browser: cart, coupon, checkout, sandbox payment, orders.

The helpers here are shared by the other ``test_account_*`` files."""

from __future__ import annotations

import re

from sqlalchemy import select

from lookbook.accounts import service as accounts
from lookbook.catalog.models import ProductVariant
from lookbook.catalog.tests.test_search_service import (
    BLACK_TSHIRT,
    BLUE_TSHIRT,
    RED_TSHIRT,
)
from lookbook.deals import service as deals
from lookbook.notifications.models import Notification
from lookbook.orders import service as orders
from lookbook.orders.tests.real_ids import order_of
from lookbook.web.pages.tests.conftest import sign_in, submit
from lookbook.web.tests.conftest import register

GOOD_CARD, DECLINED_CARD, POOR_CARD = "4242 4242 4242 4242", "4000 0000 0000 0002", "4000000000009995"
ADDRESS = {"new-recipient": "Ada Lovelace", "new-line1": "12 Analytical Street", "new-city": "London",
           "new-postal_code": "NW1 2AB", "new-country": "gb", "new-label": "Home"}
VERSION = re.compile(r'name="cart_version" value="(\d+)"')


def db(app):
    return app.extensions["lookbook"].db


def variant_of(app, product_id: int) -> int:
    with db(app).session() as session:
        return session.scalar(select(ProductVariant.id).where(ProductVariant.product_id == product_id))


def user_id(browser) -> int:
    return browser.account["user"]["id"]


def html(browser, url: str, status: int = 200) -> str:
    response = browser.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def add(browser, app, product_id: int = BLACK_TSHIRT, quantity: int = 1, **extra):
    return submit(browser, "/account/cart/items", {"variant_id": variant_of(app, product_id), "quantity": quantity, **extra})


def place_order(browser, app, product_id: int = BLACK_TSHIRT, quantity: int = 1) -> int:
    """Add to the cart, check out with a new address in the browser; the new order's id."""
    assert add(browser, app, product_id, quantity).status_code == 303
    version = VERSION.search(html(browser, "/account/checkout")).group(1)
    placed = submit(browser, "/account/checkout", {"cart_version": version, "address": "new", **ADDRESS})
    assert placed.status_code == 303, placed.get_data(as_text=True)
    match = re.fullmatch(r"/account/orders/(\d+)/pay", placed.headers["Location"])
    assert match, placed.headers["Location"]
    return int(match.group(1))


def pay(browser, order_id: int, card: str = GOOD_CARD):
    return submit(browser, f"/account/orders/{order_id}/pay", {"card_number": card})


def order_status(app, order_id: int) -> str:
    with db(app).session() as session:
        return orders.get_order(session, order_id=order_id).status


def another_shopper(app, client):
    """A second customer, signed in in a browser of their own."""
    account = register(client)
    browser = app.test_client()
    sign_in(browser, account["user"]["email"])
    browser.account = account
    return browser


# ---- cart ---------------------------------------------------------------------------------------------------

def test_adding_from_a_product_page_goes_back_there_and_the_cart_shows_the_line(app, shopper):
    added = add(shopper, app, BLACK_TSHIRT, 2, next=f"/products/{BLACK_TSHIRT}")
    assert added.status_code == 303 and added.headers["Location"] == f"/products/{BLACK_TSHIRT}"
    page = html(shopper, "/account/cart")
    assert "Added 2 to your cart." in page
    assert "Black tshirt" in page and 'value="2"' in page
    assert "10.00 USD" in page  # 2 × 5.00
    assert f'src="/api/v1/products/{BLACK_TSHIRT}/image' in page
    assert 'href="/account/checkout"' in page


def test_add_to_cart_defaults_to_one_and_ignores_a_next_that_leaves_the_site(app, shopper):
    response = submit(shopper, "/account/cart/items", {"variant_id": variant_of(app, BLACK_TSHIRT),
                                                        "next": "https://evil.example/"})
    assert response.headers["Location"] == "/account/cart"
    with db(app).session() as session:
        assert [i.quantity for i, _, _ in orders.view_cart(session, user_id=user_id(shopper)).items] == [1]


def test_bad_add_to_cart_input_comes_back_as_a_message_never_an_error_page(app, shopper):
    for data, message in (({"variant_id": "abc"}, "Please check the size"),
                          ({"variant_id": variant_of(app, BLACK_TSHIRT), "quantity": "0"}, "Please check the quantity"),
                          ({"variant_id": 99999999}, "no product variant with id 99999999"),
                          ({"variant_id": variant_of(app, RED_TSHIRT)}, "only 0 left in stock"),
                          ({"variant_id": variant_of(app, BLACK_TSHIRT), "quantity": 4}, "only 3 left in stock")):
        response = submit(shopper, "/account/cart/items", data)
        assert response.status_code == 303, data
        assert message in html(shopper, "/account/cart"), data
    assert "Your cart is empty" in html(shopper, "/account/cart")


def test_changing_the_quantity_and_removing_a_line(app, shopper):
    add(shopper, app)
    with db(app).session() as session:
        item_id = orders.view_cart(session, user_id=user_id(shopper)).items[0][0].id
    changed = submit(shopper, f"/account/cart/items/{item_id}", {"quantity": "3"})
    assert changed.status_code == 303
    page = html(shopper, "/account/cart")
    assert "Quantity updated." in page and "15.00 USD" in page

    too_many = submit(shopper, f"/account/cart/items/{item_id}", {"quantity": "4"})
    assert too_many.status_code == 409 and "only 3 left" in too_many.get_data(as_text=True)
    malformed = submit(shopper, f"/account/cart/items/{item_id}", {"quantity": "lots"})
    assert malformed.status_code == 422 and 'aria-invalid="true"' in malformed.get_data(as_text=True)

    assert submit(shopper, f"/account/cart/items/{item_id}/remove").status_code == 303
    assert "Your cart is empty" in html(shopper, "/account/cart")
    again = submit(shopper, f"/account/cart/items/{item_id}/remove")
    assert again.status_code == 404 and f"no cart item with id {item_id}" in again.get_data(as_text=True)


def test_a_customer_cannot_change_another_customers_cart_line(app, client, shopper):
    add(shopper, app)
    with db(app).session() as session:
        item_id = orders.view_cart(session, user_id=user_id(shopper)).items[0][0].id
    eve = another_shopper(app, client)
    assert submit(eve, f"/account/cart/items/{item_id}", {"quantity": "2"}).status_code == 404
    assert submit(eve, f"/account/cart/items/{item_id}/remove").status_code == 404
    with db(app).session() as session:
        assert [i.quantity for i, _, _ in orders.view_cart(session, user_id=user_id(shopper)).items] == [1]


def test_a_coupon_applies_to_the_quote_and_an_unknown_code_is_refused_with_its_reason(app, shopper):
    with db(app).session() as session:
        deals.create_coupon(session, code="HELLO10", kind="percent", value=1000)
    add(shopper, app, BLACK_TSHIRT, 2)

    unknown = submit(shopper, "/account/cart/coupon", {"code": "NOPE"})
    assert unknown.status_code == 422
    assert "there is no coupon" in unknown.get_data(as_text=True) and 'value="NOPE"' in unknown.get_data(as_text=True)
    assert submit(shopper, "/account/cart/coupon", {"code": ""}).status_code == 422

    applied = submit(shopper, "/account/cart/coupon", {"code": "hello10"})
    assert applied.status_code == 303
    page = html(shopper, "/account/cart")
    assert "Coupon applied." in page and "HELLO10" in page
    assert "10.00 USD" in page and "−1.00 USD" in page and "9.00 USD" in page  # subtotal, discount, total

    assert submit(shopper, "/account/cart/coupon/remove").status_code == 303
    page = html(shopper, "/account/cart")
    assert "Coupon removed." in page and "−1.00 USD" not in page


def test_the_cart_shows_deal_prices(app, shopper):
    with db(app).session() as session:
        deals.create_deal(session, name="Tee week", kind="percent", value=2000, product_id=BLACK_TSHIRT)
    add(shopper, app)
    page = html(shopper, "/account/cart")
    assert "Tee week" in page and "4.00 USD" in page and "5.00 USD" in page


# ---- checkout and payment --------------------------------------------------------------------------------------

def test_checkout_with_a_new_address_then_a_declined_card_then_a_good_one(app, shopper):
    order_id = place_order(shopper, app, BLACK_TSHIRT, 2)
    with db(app).session() as session:
        order = orders.get_order(session, order_id=order_id)
        assert order.shipping_address["city"] == "London" and order.total_minor == 1000
        assert [a.label for a in accounts.list_addresses(session, user_id=user_id(shopper))] == ["Home"]
    page = html(shopper, f"/account/orders/{order_id}/pay")
    assert f"Order {order_id} is placed" in page and "10.00 USD" in page
    assert "4242 4242 4242 4242" in page and "4000 0000 0000 0002" in page  # the sandbox cards, explained

    declined = pay(shopper, order_id, DECLINED_CARD)
    assert declined.status_code == 402
    assert "The card was declined." in declined.get_data(as_text=True)
    assert order_status(app, order_id) == "pending_payment"
    poor = pay(shopper, order_id, POOR_CARD)
    assert poor.status_code == 402 and "insufficient funds" in poor.get_data(as_text=True)
    assert pay(shopper, order_id, "").status_code == 422
    unknown = pay(shopper, order_id, "1234")
    assert unknown.status_code == 402 and "not one of the sandbox test cards" in unknown.get_data(as_text=True)
    assert 'class="badge"' not in html(shopper, "/account/cart")  # nothing to tell yet

    paid = pay(shopper, order_id, GOOD_CARD)
    assert paid.status_code == 303 and paid.headers["Location"] == f"/account/orders/{order_id}/pay"
    confirmation = html(shopper, paid.headers["Location"])
    assert f"Order {order_id} is confirmed" in confirmation and "10.00 USD" in confirmation
    assert "Thank you! Your payment was received" in confirmation  # the flash
    assert order_status(app, order_id) == "paid"
    with db(app).session() as session:
        assert session.scalar(select(Notification.title).where(Notification.user_id == user_id(shopper))) == \
            f"Order {order_id} confirmed"
    assert 'aria-label="1 unread">1</span>' in confirmation  # the header's unread count
    assert "Your cart is empty" in html(shopper, "/account/cart")

    again = pay(shopper, order_id, GOOD_CARD)
    assert again.status_code == 409 and "not awaiting payment" in again.get_data(as_text=True)


def test_checkout_with_a_saved_address_and_a_changed_cart_gets_a_clear_message(app, shopper):
    with db(app).session() as session:
        saved = accounts.add_address(session, user_id=user_id(shopper), fields={
            "recipient": "Ada", "line1": "1 Main St", "city": "Paris", "postal_code": "75001", "country": "FR"}).id
    add(shopper, app)
    page = html(shopper, "/account/checkout")
    assert f'id="address-{saved}" name="address" value="{saved}" checked' in page
    stale = VERSION.search(page).group(1)
    add(shopper, app, BLUE_TSHIRT)  # another tab changes the cart

    refused = submit(shopper, "/account/checkout", {"cart_version": stale, "address": str(saved)})
    assert refused.status_code == 409
    text = refused.get_data(as_text=True)
    assert "the cart changed since you last saw it" in text and "Blue tshirt" in text
    with db(app).session() as session:
        assert orders.list_orders(session, user_id=user_id(shopper))[1] == 0

    placed = submit(shopper, "/account/checkout", {"cart_version": VERSION.search(text).group(1), "address": str(saved)})
    assert placed.status_code == 303
    order_id = int(placed.headers["Location"].split("/")[3])
    with db(app).session() as session:
        assert orders.get_order(session, order_id=order_id).shipping_address["city"] == "Paris"


def test_checkout_form_problems_are_shown_and_change_nothing(app, client, shopper):
    add(shopper, app)
    version = VERSION.search(html(shopper, "/account/checkout")).group(1)
    no_choice = submit(shopper, "/account/checkout", {"cart_version": version})
    assert no_choice.status_code == 422 and "Choose one of your addresses" in no_choice.get_data(as_text=True)
    half = submit(shopper, "/account/checkout", {"cart_version": version, "address": "new", "new-recipient": "Ada",
                                                  "new-country": "Britain"})
    assert half.status_code == 422
    assert "two-letter country code" in half.get_data(as_text=True)
    assert 'value="Ada"' in half.get_data(as_text=True)  # what was typed stays
    malformed = submit(shopper, "/account/checkout", {"cart_version": "x", "address": "nonsense"})
    assert malformed.status_code == 422 and "Your cart changed or the form expired" in malformed.get_data(as_text=True)

    eve = another_shopper(app, client)
    with db(app).session() as session:
        foreign = accounts.add_address(session, user_id=user_id(eve), fields={
            "recipient": "Eve", "line1": "2 Side St", "city": "Rome", "postal_code": "00100", "country": "IT"}).id
    theirs = submit(shopper, "/account/checkout", {"cart_version": version, "address": str(foreign)})
    assert theirs.status_code == 404 and "no address with id" in theirs.get_data(as_text=True)
    with db(app).session() as session:
        assert orders.list_orders(session, user_id=user_id(shopper))[1] == 0
        assert accounts.list_addresses(session, user_id=user_id(shopper)) == []


def test_an_empty_cart_has_nothing_to_check_out(shopper):
    assert "nothing to check out" in html(shopper, "/account/checkout")


# ---- orders -----------------------------------------------------------------------------------------------------

def test_the_order_page_shows_lines_totals_address_and_the_timeline(app, shopper):
    order_id = place_order(shopper, app, BLACK_TSHIRT, 2)
    pay(shopper, order_id, DECLINED_CARD)
    pay(shopper, order_id, GOOD_CARD)
    page = html(shopper, f"/account/orders/{order_id}")
    assert f"<h1>Order {order_id}</h1>" in page
    assert "Black tshirt" in page and "10.00 USD" in page and "12 Analytical Street" in page
    timeline = page.split('class="timeline"')[1]
    assert timeline.index("Order placed") < timeline.index("Payment refused") < timeline.index("Paid")
    assert "the card was declined" in timeline
    assert "Cancel the order" not in page

    listing = html(shopper, "/account/orders")
    assert f'href="/account/orders/{order_id}"' in listing and "Paid" in listing and "10.00 USD" in listing
    assert f"Order {order_id}" in html(shopper, "/account")


def test_another_customers_order_is_a_404_page_and_stays_as_it_is(app, client, shopper):
    order_id = place_order(shopper, app)
    eve = another_shopper(app, client)
    for url in (f"/account/orders/{order_id}", f"/account/orders/{order_id}/pay"):
        response = eve.get(url)
        assert response.status_code == 404 and response.mimetype == "text/html"
        assert "Not found" in response.get_data(as_text=True)
    assert submit(eve, f"/account/orders/{order_id}/cancel").status_code == 404
    assert pay(eve, order_id, GOOD_CARD).status_code == 404
    assert order_status(app, order_id) == "pending_payment"
    assert eve.get("/account/orders/99999999999").status_code == 404  # beyond any id: still a page, not a 500


def test_cancelling_an_unpaid_order(app, shopper):
    order_id = place_order(shopper, app)
    assert "Cancel the order" in html(shopper, f"/account/orders/{order_id}")
    cancelled = submit(shopper, f"/account/orders/{order_id}/cancel")
    assert cancelled.status_code == 303 and cancelled.headers["Location"] == f"/account/orders/{order_id}"
    page = html(shopper, f"/account/orders/{order_id}")
    assert f"Order {order_id} is cancelled." in page and "Cancelled by you" in page
    assert order_status(app, order_id) == "cancelled"
    assert "there is nothing to pay" in html(shopper, f"/account/orders/{order_id}/pay")

    twice = submit(shopper, f"/account/orders/{order_id}/cancel")
    assert twice.status_code == 303
    assert "only an order awaiting payment can be cancelled" in html(shopper, f"/account/orders/{order_id}")


def test_order_history_pages_and_filters(app, shopper):
    ids = [order_of(db(app), user_id=user_id(shopper)) for _ in range(11)]
    first = html(shopper, "/account/orders")
    assert f"Order {ids[-1]}<" in first and f"Order {ids[0]}<" not in first
    assert "Page 1 of 2" in first and 'href="/account/orders?page=2"' in first
    second = html(shopper, "/account/orders?page=2")
    assert f"Order {ids[0]}<" in second
    assert "No orders with this status" in html(shopper, "/account/orders?status=paid")
    assert "Page 1 of 2" in html(shopper, "/account/orders?page=nonsense&status=bogus")
