"""Helpers of the admin page tests (no tests here): orders made through the services, as a shop makes them."""

from __future__ import annotations

import re

from lookbook.accounts.models import User
from lookbook.orders import service as orders
from lookbook.payments import service as payments
from lookbook.payments.providers import SandboxProvider
from lookbook.reports.tests.purchases import default_variant

PAYING_CARD = "4242 4242 4242 4242"


def db_of(app):
    return app.extensions["lookbook"].db


def place_order(app, user_id: int, items: dict[int, int], *, pay: bool = True) -> int:
    """Put {product id: quantity} in the customer's cart, check out and (by default) pay in the sandbox."""
    db = db_of(app)
    with db.session() as session:
        user = session.get(User, user_id)
        for product_id, quantity in items.items():
            orders.add_to_cart(session, user_id=user.id, variant_id=default_variant(session, product_id).id,
                               quantity=quantity)
        cart = orders.view_cart(session, user_id=user.id)
        order_id = orders.checkout(session, user=user, cart_version=cart.version).id
    if pay:
        payments.pay(db, order_id=order_id, user_id=user_id, provider=SandboxProvider(), card_number=PAYING_CARD)
    return order_id


def order_status(app, order_id: int) -> str:
    with db_of(app).session() as session:
        return orders.get_order(session, order_id=order_id).status


def text(response) -> str:
    return response.get_data(as_text=True)


def flashes(response) -> list[str]:
    return [re.sub(r"\s+", " ", m).strip() for m in re.findall(r'<p class="flash [^"]*"[^>]*>(.*?)</p>', text(response), re.DOTALL)]
