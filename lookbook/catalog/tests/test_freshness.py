"""The catalog's change stamp: moved by every committed change of products, stock or deals, in any process
sharing the data directory, and by nothing else; answers kept in memory follow it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from lookbook.accounts.service import create_user
from lookbook.catalog import variants
from lookbook.catalog.models import Product, ProductVariant
from lookbook.catalog.service import Catalog, SearchFilters, allowed_ids, search_by_image
from lookbook.catalog.tests.test_search_service import BLACK_TSHIRT, BY_ID, catalog  # noqa: F401  (fixture)
from lookbook.config import get_paths
from lookbook.deals import service as deals
from lookbook.deals.pricing import now_utc


def test_the_stamp_moves_after_a_commit_that_changes_a_product_and_not_after_a_rollback(catalog):
    before = catalog.changes.current()
    try:
        with catalog.db.session() as session:
            session.get(Product, BLACK_TSHIRT).price_minor = 1
            session.flush()
            raise RuntimeError("abandon")
    except RuntimeError:
        pass
    assert catalog.changes.current() == before
    with catalog.db.session() as session:
        session.get(Product, BLACK_TSHIRT).price_minor = 1
    after = catalog.changes.current()
    assert after != before
    with catalog.db.session() as session:
        session.get(Product, BLACK_TSHIRT).price_minor = 2
    assert catalog.changes.current() not in (before, after)  # two changes in a row give two stamps


def test_bulk_stock_updates_and_deals_move_the_stamp_and_other_tables_do_not(catalog):
    before = catalog.changes.current()
    with catalog.db.session() as session:
        create_user(session, email="someone@example.com", password="correct horse battery", name="Someone")
    assert catalog.changes.current() == before
    with catalog.db.session() as session:
        variant_id = session.scalar(select(ProductVariant.id).where(ProductVariant.product_id == BLACK_TSHIRT))
        variants.set_stock(session, variant_id=variant_id, stock=0)
    stock_changed = catalog.changes.current()
    assert stock_changed != before
    with catalog.db.session() as session:
        deals.create_deal(session, name="Tees", kind="percent", value=1000, category="Tshirts",
                          starts_at=now_utc() - timedelta(days=1), ends_at=None)
    assert catalog.changes.current() != stock_changed


def test_another_process_writing_the_same_data_directory_invalidates_what_this_one_keeps(catalog):
    in_stock = SearchFilters(in_stock=True)
    assert BLACK_TSHIRT in allowed_ids(catalog, in_stock)
    other_worker = Catalog(get_paths())  # its own engine and sessions, like a second gunicorn worker
    try:
        with other_worker.db.session() as session:
            session.execute(update(ProductVariant).where(ProductVariant.product_id == BLACK_TSHIRT).values(stock=0))
            session.execute(update(Product).where(Product.id == BLACK_TSHIRT).values(stock=0))
    finally:
        other_worker.close()
    assert BLACK_TSHIRT not in allowed_ids(catalog, in_stock)
    hits = search_by_image(catalog, BY_ID[BLACK_TSHIRT]["photo"], k=12, filters=in_stock, include_self=True)
    assert BLACK_TSHIRT not in [h.id for h in hits]


def test_a_retired_product_leaves_searches_at_once(catalog):
    photo = BY_ID[BLACK_TSHIRT]["photo"]
    assert search_by_image(catalog, photo, k=1, include_self=True)[0].id == BLACK_TSHIRT
    with catalog.db.session() as session:
        session.get(Product, BLACK_TSHIRT).retired_at = now_utc()
    assert BLACK_TSHIRT not in [h.id for h in search_by_image(catalog, photo, k=12, include_self=True)]


def test_a_write_the_stamp_cannot_see_shows_once_the_time_limit_passes(catalog):
    import time

    in_stock = SearchFilters(in_stock=True)
    catalog.cache_seconds = 0.2
    assert BLACK_TSHIRT in allowed_ids(catalog, in_stock)
    with catalog.db.engine.begin() as connection:  # like another host: no stamp in this data directory moves
        connection.execute(update(Product).where(Product.id == BLACK_TSHIRT).values(stock=0))
    assert BLACK_TSHIRT in allowed_ids(catalog, in_stock)  # kept
    time.sleep(0.3)
    assert BLACK_TSHIRT not in allowed_ids(catalog, in_stock)
