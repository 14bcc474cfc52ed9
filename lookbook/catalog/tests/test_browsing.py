"""Browsing from the kept product table answers exactly like the database's own query, on SQLite and PostgreSQL,
for awkward catalogs too: mixed case, LIKE's wildcard characters in names, unpriced products, equal creation
times, categories known only from the broader labels."""

from __future__ import annotations

import itertools
from datetime import datetime, timezone

import pytest

from lookbook.catalog.browsing import ProductTable
from lookbook.catalog.models import Product
from lookbook.catalog.service import SORTS, Catalog, SearchFilters, allowed_ids, browse_products, list_products
from lookbook.config import get_paths

SAME_MOMENT = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)
PRODUCTS = [  # id, name, category, masterCategory, subCategory, gender, colour, price, stock, created
    (1, "apple Shirt", "Shirts", "Apparel", "Topwear", "Men", "Green", 2500, 3, SAME_MOMENT),
    (2, "Apple shirt", "Shirts", "Apparel", "Topwear", "Women", "green", 2500, 0, SAME_MOMENT),
    (3, "Zebra scarf", None, "Accessories", "Scarves", "Unisex", "Black", None, 5, SAME_MOMENT),
    (4, "100% cotton_tee", "Tshirts", "Apparel", "Topwear", "Men", "White", 900, 1,
     datetime(2026, 6, 1, tzinfo=timezone.utc)),
    (5, "1000 cotton tee", "Tshirts", "Apparel", "Topwear", "men", "WHITE", 1200, 0,
     datetime(2026, 4, 1, tzinfo=timezone.utc)),
    (6, "Linen trousers", "Trousers", None, None, None, None, 4000, 2, datetime(2026, 7, 1, tzinfo=timezone.utc)),
    (7, "linen Trousers", "Trousers", "Apparel", "Bottomwear", "Women", "Beige", 0, 2, SAME_MOMENT),
    (8, "Retired linen shirt", "Shirts", "Apparel", "Topwear", "Men", "White", 1500, 9, SAME_MOMENT),
]
RETIRED = 8

FILTERS = [SearchFilters(), SearchFilters(category="shirts"), SearchFilters(category="TOPWEAR"),
           SearchFilters(category="scarves"), SearchFilters(category="Apparel", in_stock=True),
           SearchFilters(category="nothing"), SearchFilters(gender="MEN"), SearchFilters(colour="white"),
           SearchFilters(min_price_minor=0), SearchFilters(max_price_minor=2500),
           SearchFilters(min_price_minor=1000, max_price_minor=4000, in_stock=True)]
TEXTS = [None, "shirt", "APPLE SHIRT", "cotton_tee", "100%", "_", "linen trousers", "tee men"]


@pytest.fixture
def catalog(lookbook_env):
    cat = Catalog(get_paths())
    with cat.db.session() as session:
        for pid, name, category, master, sub, gender, colour, price, stock, created in PRODUCTS:
            labels = {k: v for k, v in (("masterCategory", master), ("subCategory", sub)) if v}
            session.add(Product(id=pid, name=name, category=category, labels=labels, gender=gender, colour=colour,
                                price_minor=price, stock=stock, created_at=created,
                                retired_at=SAME_MOMENT if pid == RETIRED else None))
    yield cat
    cat.close()


def _same_answers_as_the_database(catalog):
    for filters, text, sort in itertools.product(FILTERS, TEXTS, SORTS):
        for page, per_page in ((2, 3), (1, 100)):
            with catalog.db.session() as session:
                expected, total = list_products(session, filters=filters, text=text, sort=sort, page=page,
                                                per_page=per_page)
                expected_ids = [p.id for p in expected]
            got, got_total = browse_products(catalog, filters=filters, text=text, sort=sort, page=page,
                                             per_page=per_page)
            assert ([p.id for p in got], got_total) == (expected_ids, total), (filters, text, sort, page)


def test_every_question_gets_the_databases_answer_before_and_after_a_change(catalog):
    _same_answers_as_the_database(catalog)
    with catalog.db.session() as session:
        session.get(Product, 1).price_minor = None
        session.get(Product, 2).stock = 4
        session.get(Product, 6).retired_at = SAME_MOMENT
    _same_answers_as_the_database(catalog)


def test_filtered_search_allows_exactly_the_products_the_filters_pass(catalog):
    for filters in FILTERS[1:]:
        with catalog.db.session() as session:
            expected = {p.id for p in list_products(session, filters=filters, per_page=100)[0]}
        assert set(allowed_ids(catalog, filters).tolist()) == expected, filters
    assert allowed_ids(catalog, SearchFilters()) is None


def test_retired_products_are_not_in_the_table_and_a_change_reloads_it(catalog):
    with catalog.db.session() as session:
        table = ProductTable.load(session)
    assert RETIRED not in table.ids.tolist() and len(table) == len(PRODUCTS) - 1
    assert [p.id for p in browse_products(catalog, text="zebra")[0]] == [3]
    with catalog.db.session() as session:
        session.get(Product, 3).name = "Striped scarf"
    assert browse_products(catalog, text="zebra")[0] == []
    assert [p.id for p in browse_products(catalog, text="striped")[0]] == [3]


def test_an_unknown_sort_is_refused(catalog):
    with catalog.db.session() as session:
        table = ProductTable.load(session)
    with pytest.raises(ValueError, match="unknown sort"):
        table.order("colour")
