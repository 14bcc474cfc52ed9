"""Test data that follows the real flow: products with a variant, a cart, checkout, then the status machine.

Shared by the reports, feedback and preferences tests and by the API contract and fuzz tests.
"""

from __future__ import annotations

import itertools
from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from lookbook.accounts.models import User
from lookbook.accounts.roles import Role
from lookbook.catalog.models import Product, ProductVariant
from lookbook.db import Database
from lookbook.orders import service as orders
from lookbook.orders.models import Order, OrderStatus

# The statuses an order passes through on its way to each status.
PATH = {
    OrderStatus.PENDING_PAYMENT: [],
    OrderStatus.PAID: [OrderStatus.PAID],
    OrderStatus.SHIPPED: [OrderStatus.PAID, OrderStatus.SHIPPED],
    OrderStatus.DELIVERED: [OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED],
    OrderStatus.CANCELLED: [OrderStatus.CANCELLED],
    OrderStatus.REFUNDED: [OrderStatus.PAID, OrderStatus.REFUNDED],
}
_numbers = itertools.count(1)


def make_customer(session: Session, *, name: str = "Ada Lovelace", email: str | None = None) -> User:
    """A customer who never signs in (no password hash to compute: these tests call services directly)."""
    user = User(email=email or f"buyer{next(_numbers)}@example.com", password_hash="!", role=str(Role.CUSTOMER),
                name=name)
    session.add(user)
    session.flush()
    return user


def make_product(session: Session, *, product_id: int, name: str, price_minor: int, stock: int = 100,
                 currency: str = "USD") -> ProductVariant:
    """A product with one default variant holding its stock; returns the variant."""
    session.add(Product(id=product_id, name=name, price_minor=price_minor, currency=currency, stock=stock,
                        labels={}, predicted_labels={}))
    session.flush()
    variant = ProductVariant(product_id=product_id, sku=f"SKU-{product_id}", stock=stock, is_default=True)
    session.add(variant)
    session.flush()
    return variant


def default_variant(session: Session, product_id: int) -> ProductVariant:
    return session.scalars(select(ProductVariant).where(ProductVariant.product_id == product_id)
                           .order_by(ProductVariant.is_default.desc(), ProductVariant.id)).first()


def place_order(session: Session, *, user: User, items: dict[int, int], status: OrderStatus = OrderStatus.PAID,
                at: datetime | None = None) -> Order:
    """Put {variant id: quantity} in the user's cart, check out, and move the order on to ``status``."""
    for variant_id, quantity in items.items():
        orders.add_to_cart(session, user_id=user.id, variant_id=variant_id, quantity=quantity)
    cart = orders.view_cart(session, user_id=user.id, now=at)
    order = orders.checkout(session, user=user, cart_version=cart.version, now=at)
    for step in PATH[OrderStatus(status)]:
        orders.transition(session, order, step, now=at)
    return order


def buy(db: Database, *, user_id: int, product_ids, status: OrderStatus = OrderStatus.PAID) -> list[int]:
    """One paid order per product for a user of a running app; products out of stock are skipped."""
    bought = []
    with db.session() as session:
        user = session.get(User, user_id)
        for product_id in product_ids:
            variant = default_variant(session, product_id)
            if variant is not None and variant.stock > 0:
                place_order(session, user=user, items={variant.id: 1}, status=status)
                bought.append(product_id)
    return bought


# ---- fixtures (imported by the conftest.py of each test folder that uses them) ------------------------------

@pytest.fixture
def db(database_url):
    """A migrated, empty database of each backend in turn."""
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def app(tmp_path, database_url, monkeypatch):
    """The store's app on an empty database, without a search catalog (these tests never search)."""
    from lookbook.web import create_app
    from lookbook.web.settings import Settings

    monkeypatch.setenv("LOOKBOOK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LOOKBOOK_DATABASE_URL", database_url)
    settings = Settings.from_env(secret_key="test-secret-key-" + "x" * 32, token_signing_key="test-token-key-" + "y" * 32,
                                 rate_limits_enabled=False)
    application = create_app(settings)
    yield application
    application.extensions["lookbook"].db.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def customer(client) -> dict:
    from lookbook.web.tests.conftest import register

    return register(client, name="Ada Lovelace")


@pytest.fixture
def admin(app) -> dict:
    from lookbook.web.tests.conftest import make_admin

    return make_admin(app)
