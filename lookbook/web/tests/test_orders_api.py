"""A purchase through the API: cart, coupon, checkout, sandbox payment, order history, admin handling."""

from __future__ import annotations

import io

from sqlalchemy import select

from conftest import garment_photo
from lookbook.catalog.models import ProductVariant
from lookbook.deals.models import Coupon
from lookbook.notifications.models import Notification, OutboxEmail
from lookbook.web.tests.conftest import bearer, register

GOOD_CARD, DECLINED_CARD = "4242 4242 4242 4242", "4000 0000 0000 0002"


def _variant_of(app, product_id: int) -> int:
    with app.extensions["lookbook"].db.session() as session:
        return session.scalar(select(ProductVariant.id).where(ProductVariant.product_id == product_id))


def _checked_out(client, app, headers, product_id=101, quantity=1) -> dict:
    cart = client.post("/api/v1/cart/items", headers=headers,
                       json={"variant_id": _variant_of(app, product_id), "quantity": quantity})
    assert cart.status_code == 201, cart.json
    order = client.post("/api/v1/checkout", headers=headers, json={"cart_version": cart.json["version"]})
    assert order.status_code == 201, order.json
    return order.json


def test_a_shopper_finds_a_tee_by_photo_buys_it_with_a_coupon_and_the_shop_ships_it(app, client, admin):
    with app.extensions["lookbook"].db.session() as session:
        session.add(Coupon(code="HELLO10", kind="percent", value=1000))
    shopper = register(client, email="ada@example.com")
    headers = bearer(shopper["access_token"])

    found = client.post("/api/v1/search/image", data={"image": (io.BytesIO(garment_photo("tshirt", "black", seed=5)), "tee.png")})
    product = found.json["results"][0]
    cart = client.post("/api/v1/cart/items", headers=headers,
                       json={"variant_id": _variant_of(app, product["id"]), "quantity": 2}).json
    cart = client.put("/api/v1/cart/coupon", headers=headers, json={"code": "hello10"}).json
    assert cart["subtotal_minor"] == 2 * product["price_minor"]
    assert cart["discount_minor"] == cart["subtotal_minor"] // 10 and cart["coupon_code"] == "HELLO10"

    order = client.post("/api/v1/checkout", headers=headers, json={"cart_version": cart["version"]}).json
    assert order["status"] == "pending_payment" and order["total_minor"] == cart["total_minor"]
    paid = client.post(f"/api/v1/orders/{order['id']}/payment", headers=headers,
                       json={"provider": "sandbox", "card_number": GOOD_CARD})
    assert paid.status_code == 200, paid.json
    assert paid.json["order"]["status"] == "paid" and paid.json["payment"]["amount_minor"] == cart["total_minor"]
    with app.extensions["lookbook"].db.session() as session:
        assert session.scalar(select(Notification.title)) == f"Order {order['id']} confirmed"
        assert session.scalar(select(OutboxEmail.to_address)) == "ada@example.com"

    listed = client.get("/api/v1/admin/orders?status=paid", headers=bearer(admin["access_token"])).json
    assert [o["id"] for o in listed["items"]] == [order["id"]]
    shipped = client.post(f"/api/v1/admin/orders/{order['id']}/status", headers=bearer(admin["access_token"]),
                          json={"status": "shipped", "note": "DHL 123"})
    assert shipped.status_code == 200 and shipped.json["status"] == "shipped"

    mine = client.get(f"/api/v1/orders/{order['id']}", headers=headers).json
    assert mine["status"] == "shipped"
    assert [e["type"] for e in mine["events"]] == ["placed", "paid", "shipped"]
    assert client.get("/api/v1/orders", headers=headers).json["total"] == 1


def test_a_declined_card_leaves_the_order_unpaid_with_a_clear_reason_and_a_retry_can_pay(app, client):
    headers = bearer(register(client)["access_token"])
    order = _checked_out(client, app, headers)

    declined = client.post(f"/api/v1/orders/{order['id']}/payment", headers=headers,
                           json={"card_number": DECLINED_CARD})
    assert declined.status_code == 402 and declined.json["error"]["code"] == "card_declined"
    detail = client.get(f"/api/v1/orders/{order['id']}", headers=headers).json
    assert detail["status"] == "pending_payment" and detail["events"][-1]["data"] == {"reason": "card_declined"}

    retry = client.post(f"/api/v1/orders/{order['id']}/payment", headers=headers, json={"card_number": GOOD_CARD})
    assert retry.status_code == 200 and retry.json["order"]["status"] == "paid"
    again = client.post(f"/api/v1/orders/{order['id']}/payment", headers=headers, json={"card_number": GOOD_CARD})
    assert again.status_code == 409 and again.json["error"]["code"] == "order_not_payable"


def test_customers_see_only_their_own_orders_and_cart_items(app, client):
    ada = bearer(register(client)["access_token"])
    eve = bearer(register(client)["access_token"])
    order = _checked_out(client, app, ada)
    item = client.post("/api/v1/cart/items", headers=ada, json={"variant_id": _variant_of(app, 102), "quantity": 1}).json

    assert client.get(f"/api/v1/orders/{order['id']}", headers=eve).status_code == 404
    assert client.post(f"/api/v1/orders/{order['id']}/payment", headers=eve, json={"card_number": GOOD_CARD}).status_code == 404
    assert client.post(f"/api/v1/orders/{order['id']}/cancel", headers=eve).status_code == 404
    assert client.get("/api/v1/orders", headers=eve).json["total"] == 0
    item_id = item["items"][0]["id"]
    assert client.patch(f"/api/v1/cart/items/{item_id}", headers=eve, json={"quantity": 2}).status_code == 404
    assert client.delete(f"/api/v1/cart/items/{item_id}", headers=eve).status_code == 404
    assert client.get("/api/v1/cart", headers=ada).json["items"][0]["quantity"] == 1


def test_bad_quantities_unknown_variants_and_empty_carts_get_typed_errors(app, client):
    headers = bearer(register(client)["access_token"])
    variant = _variant_of(app, 101)  # 3 in stock

    assert client.post("/api/v1/cart/items", headers=headers, json={"variant_id": variant, "quantity": 0}).status_code == 422
    assert client.post("/api/v1/cart/items", headers=headers, json={"variant_id": variant, "quantity": -2}).status_code == 422
    too_many = client.post("/api/v1/cart/items", headers=headers, json={"variant_id": variant, "quantity": 4})
    assert too_many.status_code == 409 and too_many.json["error"]["code"] == "out_of_stock"
    assert client.post("/api/v1/cart/items", headers=headers, json={"variant_id": 999999, "quantity": 1}).status_code == 404
    empty = client.post("/api/v1/checkout", headers=headers, json={"cart_version": client.get("/api/v1/cart", headers=headers).json["version"]})
    assert empty.status_code == 422 and empty.json["error"]["code"] == "cart_empty"


def test_admins_change_status_only_along_allowed_transitions_and_refunds_restock_unshipped_items(app, client, admin):
    headers = bearer(register(client)["access_token"])
    admin_headers = bearer(admin["access_token"])
    order = _checked_out(client, app, headers, quantity=2)

    early = client.post(f"/api/v1/admin/orders/{order['id']}/status", headers=admin_headers, json={"status": "shipped"})
    assert early.status_code == 409 and early.json["error"]["code"] == "invalid_status_change"
    assert client.post(f"/api/v1/admin/orders/{order['id']}/status", headers=headers,
                       json={"status": "shipped"}).status_code == 403

    client.post(f"/api/v1/orders/{order['id']}/payment", headers=headers, json={"card_number": GOOD_CARD})
    refunded = client.post(f"/api/v1/admin/orders/{order['id']}/status", headers=admin_headers, json={"status": "refunded"})
    assert refunded.status_code == 200 and refunded.json["status"] == "refunded"
    assert [e["type"] for e in refunded.json["events"]][-2:] == ["stock_released", "refunded"]
    with app.extensions["lookbook"].db.session() as session:
        assert session.get(ProductVariant, _variant_of(app, 101)).stock == 3
    final = client.post(f"/api/v1/admin/orders/{order['id']}/status", headers=admin_headers, json={"status": "cancelled"})
    assert final.status_code == 409


def test_a_customer_cancels_an_unpaid_order_and_gets_the_stock_back(app, client):
    headers = bearer(register(client)["access_token"])
    order = _checked_out(client, app, headers, quantity=3)

    cancelled = client.post(f"/api/v1/orders/{order['id']}/cancel", headers=headers)
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    with app.extensions["lookbook"].db.session() as session:
        assert session.get(ProductVariant, _variant_of(app, 101)).stock == 3
    assert client.post(f"/api/v1/orders/{order['id']}/cancel", headers=headers).status_code == 409


def test_an_admin_note_with_markup_comes_back_byte_for_byte_in_the_order_history(app, client, admin):
    headers = bearer(register(client)["access_token"])
    order = _checked_out(client, app, headers)
    note = '<script>alert(1)</script>"><img src=x onerror=alert(1)>{{7*7}}'

    changed = client.post(f"/api/v1/admin/orders/{order['id']}/status", headers=bearer(admin["access_token"]),
                          json={"status": "cancelled", "note": note})
    assert changed.status_code == 200 and changed.mimetype == "application/json"
    assert changed.json["events"][-1]["data"] == {"note": note}
    assert client.get(f"/api/v1/orders/{order['id']}", headers=headers).json["events"][-1]["data"] == {"note": note}
