"""Admin order handling (ship, refund, refused changes) and the customers pages, with hostile names escaped."""

from __future__ import annotations

import csv
import io

from lookbook.catalog.tests.test_search_service import BLACK_TSHIRT, BLUE_TSHIRT
from lookbook.notifications.service import list_notifications
from lookbook.payments import service as payments
from lookbook.web.pages.tests.conftest import submit
from lookbook.web.pages.tests.test_admin_support import (
    db_of,
    flashes,
    order_status,
    place_order,
    text,
)
from lookbook.web.tests.conftest import register

HOSTILE = '<img src=x onerror="alert(1)"> Mallory & Co'
ESCAPED = "&lt;img src=x onerror=&#34;alert(1)&#34;&gt; Mallory &amp; Co"


def _notifications(app, user_id: int) -> list:
    with db_of(app).session() as session:
        return list_notifications(session, user_id=user_id)[0]


def test_orders_are_listed_by_status_with_the_customer_escaped(app, client, admin_browser):
    mallory = register(client, name=HOSTILE, email="mallory@example.com")
    paid = place_order(app, mallory["user"]["id"], {BLACK_TSHIRT: 1})
    waiting = place_order(app, mallory["user"]["id"], {BLUE_TSHIRT: 1}, pay=False)

    listing = text(admin_browser.get("/admin/orders"))
    assert ESCAPED in listing and HOSTILE not in listing and "mallory@example.com" in listing
    assert f'href="/admin/orders/{paid}"' in listing and f'href="/admin/orders/{waiting}"' in listing
    only_paid = text(admin_browser.get("/admin/orders?status=paid"))
    assert f'href="/admin/orders/{paid}"' in only_paid and f'href="/admin/orders/{waiting}"' not in only_paid
    bad = admin_browser.get("/admin/orders?status=lost&page=zero")
    assert bad.status_code == 400 and "were not understood" in text(bad)
    assert admin_browser.get("/admin/orders/999999").status_code == 404
    assert admin_browser.get("/admin/orders/99999999999999").status_code == 404  # beyond the id range: not found

    detail = text(admin_browser.get(f"/admin/orders/{paid}"))
    assert ESCAPED in detail and HOSTILE not in detail
    assert "Black tshirt" in detail and "5.00 USD" in detail and "sandbox" in detail
    assert 'value="shipped"' in detail and 'value="refunded"' in detail and 'value="delivered"' not in detail


def test_shipping_an_order_changes_its_status_and_notifies_the_customer(app, admin_browser, customer):
    user_id = customer["user"]["id"]
    order_id = place_order(app, user_id, {BLACK_TSHIRT: 1})

    shipped = submit(admin_browser, f"/admin/orders/{order_id}/status", {"status": "shipped", "note": "DHL 123"})
    assert shipped.status_code == 303 and shipped.headers["Location"] == f"/admin/orders/{order_id}"
    assert order_status(app, order_id) == "shipped"
    kinds = [n.kind for n in _notifications(app, user_id)]
    assert "order_shipped" in kinds
    page = admin_browser.get(f"/admin/orders/{order_id}")
    assert f"Order {order_id} is marked shipped" in " ".join(flashes(page))
    assert "DHL 123" in text(page) and "Shipped" in text(page)  # the history shows the event and its note

    delivered = submit(admin_browser, f"/admin/orders/{order_id}/status", {"status": "delivered"})
    assert delivered.status_code == 303 and order_status(app, order_id) == "delivered"


def test_refunding_a_paid_sandbox_order_refunds_the_payment(app, admin_browser, customer):
    order_id = place_order(app, customer["user"]["id"], {BLACK_TSHIRT: 2})

    refunded = submit(admin_browser, f"/admin/orders/{order_id}/status", {"status": "refunded"})
    assert refunded.status_code == 303
    assert order_status(app, order_id) == "refunded"
    with db_of(app).session() as session:
        payment = payments.latest_payment(session, order_id=order_id)
        assert payment.status == "refunded" and payment.refunded_minor == 1000
    assert "order_refunded" in [n.kind for n in _notifications(app, customer["user"]["id"])]
    page = text(admin_browser.get(f"/admin/orders/{order_id}"))
    assert "cannot change any more" in page and "Refunded" in page


def test_a_refused_status_change_shows_the_services_message_and_changes_nothing(app, admin_browser, customer):
    order_id = place_order(app, customer["user"]["id"], {BLACK_TSHIRT: 1}, pay=False)

    refused = submit(admin_browser, f"/admin/orders/{order_id}/status", {"status": "shipped"})
    assert refused.status_code == 409
    assert "an order that is pending_payment cannot become shipped" in text(refused)
    assert order_status(app, order_id) == "pending_payment"
    nothing_paid = submit(admin_browser, f"/admin/orders/{order_id}/status", {"status": "refunded"})
    assert nothing_paid.status_code == 409 and order_status(app, order_id) == "pending_payment"
    nonsense = submit(admin_browser, f"/admin/orders/{order_id}/status", {"status": "paid"})
    assert nonsense.status_code == 422 and order_status(app, order_id) == "pending_payment"
    cancelled = submit(admin_browser, f"/admin/orders/{order_id}/status", {"status": "cancelled"})
    assert cancelled.status_code == 303 and order_status(app, order_id) == "cancelled"


def test_customers_are_searched_and_shown_with_their_orders(app, client, admin_browser):
    mallory = register(client, name=HOSTILE, email="mallory@example.com")
    ada = register(client, name="Ada Lovelace", email="ada@example.com")
    order_id = place_order(app, mallory["user"]["id"], {BLACK_TSHIRT: 2})

    everyone = text(admin_browser.get("/admin/customers"))
    assert ESCAPED in everyone and HOSTILE not in everyone and "Ada Lovelace" in everyone
    found = text(admin_browser.get("/admin/customers?q=lovelace"))
    assert "Ada Lovelace" in found and "mallory@example.com" not in found
    assert "1 customer matching" in found

    detail = admin_browser.get(f"/admin/customers/{mallory['user']['id']}")
    html = text(detail)
    assert detail.status_code == 200 and ESCAPED in html and HOSTILE not in html
    assert f'href="/admin/orders/{order_id}"' in html and "10.00 USD" in html and "1 paid order" in html
    assert admin_browser.get(f"/admin/customers/{ada['user']['id']}").status_code == 200
    assert admin_browser.get("/admin/customers/999999").status_code == 404

    sheet = admin_browser.get(f"/admin/customers/{mallory['user']['id']}/orders.csv")
    assert sheet.mimetype == "text/csv"
    assert sheet.headers["Content-Disposition"] == f'attachment; filename="customer_{mallory["user"]["id"]}_orders.csv"'
    rows = list(csv.reader(io.StringIO(text(sheet))))
    assert rows[0][0] == "order_id" and rows[1][0] == str(order_id) and rows[1][6] == "Black tshirt"
