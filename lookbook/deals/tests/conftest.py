"""A database per backend with products and customers made to measure, and the web app's fixtures."""

from __future__ import annotations

import itertools
from datetime import datetime, timezone

import pytest

from lookbook.accounts import service as accounts
from lookbook.accounts.models import StylePreferences
from lookbook.accounts.roles import Role
from lookbook.catalog.models import Product, ProductVariant
from lookbook.db import Database
from lookbook.web.tests.conftest import admin, app, catalog, client, customer, settings  # noqa: F401 - fixtures

_emails = itertools.count(1)
# The master and sub category of each specific category used here, as the Kaggle catalog has them.
BROADER = {"Tshirts": ("Apparel", "Topwear"), "Shirts": ("Apparel", "Topwear"), "Jeans": ("Apparel", "Bottomwear"),
           "Handbags": ("Accessories", "Bags")}


def at(day: int, hour: int = 0) -> datetime:
    """An explicit moment in March 2031, far from the real clock."""
    return datetime(2031, 3, day, hour, tzinfo=timezone.utc)


@pytest.fixture
def db(database_url):
    database = Database(database_url)
    yield database
    database.dispose()


def add_product(session, product_id: int, *, price_minor: int | None, category: str = "Tshirts", stock: int = 3,
                retired: bool = False) -> Product:
    """A product with its one default variant (no price of its own), as an import makes it."""
    master, sub = BROADER[category]
    product = Product(id=product_id, name=f"{category} {product_id}", category=category,
                      labels={"masterCategory": master, "subCategory": sub}, predicted_labels={},
                      price_minor=price_minor, currency="USD", stock=stock,
                      retired_at=at(1) if retired else None)
    session.add(product)
    session.flush()
    session.add(ProductVariant(product_id=product_id, sku=str(product_id), stock=stock, is_default=True))
    session.flush()
    return product


def add_customer(session, name: str, *, deals: bool, categories: list[str] | None = None, role: Role = Role.CUSTOMER):
    """A customer who opted in to deal emails or not, with favourite categories (None: no preferences at all)."""
    user = accounts.create_user(session, email=f"{name.lower()}{next(_emails)}@example.com",
                                password="correct horse battery", name=name, role=role)
    user.email_preferences = {"order_updates": True, "deals": deals}
    if categories is not None:
        session.add(StylePreferences(user_id=user.id, categories=categories, sizes=[], colours=[]))
    session.flush()
    return user
