"""A database with customers and a few products with variants, for checkout and order tests."""

from __future__ import annotations

import itertools

import pytest

from lookbook.accounts import service as accounts
from lookbook.catalog.models import Product, ProductVariant
from lookbook.db import Database

_ids = itertools.count(1)


@pytest.fixture
def db(database_url):
    database = Database(database_url)
    yield database
    database.dispose()


def make_customer(db: Database, name: str = "Ada"):
    with db.session() as session:
        return accounts.create_user(session, email=f"{name.lower()}{next(_ids)}@example.com",
                                    password="correct horse battery", name=name)


def make_product(db: Database, *, price_minor: int = 2500, stock: int = 5, category: str = "Tshirts",
                 sizes: tuple[str, ...] = ("M",)) -> tuple[int, list[int]]:
    """A product with one variant per size; returns (product id, variant ids)."""
    with db.session() as session:
        product_id = 1000 + next(_ids)
        session.add(Product(id=product_id, name=f"Tee {product_id}", category=category, labels={"subCategory": "Topwear"},
                            predicted_labels={}, price_minor=price_minor, currency="USD", stock=stock * len(sizes)))
        session.flush()
        variants = [ProductVariant(product_id=product_id, sku=f"T{product_id}-{size}", size=size, stock=stock)
                    for size in sizes]
        session.add_all(variants)
        session.flush()
        return product_id, [v.id for v in variants]
