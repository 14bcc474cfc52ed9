"""Cart items and orders that exist, for the API contract and fuzz tests (lookbook/web/tests)."""

from __future__ import annotations

from lookbook.accounts.models import User
from lookbook.catalog.models import Product, ProductVariant
from lookbook.db import Database
from lookbook.orders import service as orders

STOCKED_PRODUCT = 990_001  # a product with plenty of stock, so the tests never run out


def stocked_variant(db: Database) -> int:
    """The variant of a product with plenty of stock (made on first use)."""
    with db.session() as session:
        if session.get(Product, STOCKED_PRODUCT) is None:
            session.add(Product(id=STOCKED_PRODUCT, name="Contract tee", category="Tshirts", labels={},
                                predicted_labels={}, price_minor=1500, currency="USD", stock=100_000))
            session.flush()
            session.add(ProductVariant(product_id=STOCKED_PRODUCT, sku="CONTRACT-TEE", size="M", stock=100_000))
        session.flush()
        return session.query(ProductVariant.id).filter_by(product_id=STOCKED_PRODUCT).scalar()


def cart_item_of(db: Database, *, user_id: int) -> int:
    """The id of an item in the customer's cart (added if the cart is empty)."""
    variant = stocked_variant(db)
    with db.session() as session:
        view = orders.view_cart(session, user_id=user_id)
        if not view.items:
            orders.add_to_cart(session, user_id=user_id, variant_id=variant, quantity=1)
            view = orders.view_cart(session, user_id=user_id)
        return view.items[0][0].id


def cart_version_of(db: Database, *, user_id: int) -> int:
    """The version of the customer's cart, with one item in it (ready to check out)."""
    cart_item_of(db, user_id=user_id)
    with db.session() as session:
        return orders.view_cart(session, user_id=user_id).version


def order_of(db: Database, *, user_id: int) -> int:
    """A new order of the customer, awaiting payment."""
    version = cart_version_of(db, user_id=user_id)
    with db.session() as session:
        return orders.checkout(session, user=session.get(User, user_id), cart_version=version).id
