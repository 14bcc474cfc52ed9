"""Catalog reads kept in memory: a repeated question is answered from memory with the same ETag, and any
committed change (from this process or another sharing the data directory) is visible at once."""

from __future__ import annotations

from sqlalchemy import update

from lookbook.catalog.models import Product
from lookbook.catalog.service import Catalog
from lookbook.catalog.tests.test_search_service import BLACK_TSHIRT
from lookbook.config import get_paths

LIST = "/api/v1/products?category=Tshirts&sort=price"


def _price(client, url=LIST) -> int:
    return next(p["price_minor"] for p in client.get(url).json["items"] if p["id"] == BLACK_TSHIRT)


def _set_price_from_another_worker(price_minor: int) -> None:
    other = Catalog(get_paths())
    try:
        with other.db.session() as session:
            session.execute(update(Product).where(Product.id == BLACK_TSHIRT).values(price_minor=price_minor))
    finally:
        other.close()


def test_a_repeated_listing_is_answered_from_memory_until_the_catalog_changes(app, client, monkeypatch):
    first = client.get(LIST)
    calls = []
    import lookbook.catalog.service as catalog_service

    real = catalog_service.browse_products
    monkeypatch.setattr(catalog_service, "browse_products", lambda *a, **k: calls.append(1) or real(*a, **k))
    again = client.get(LIST)
    assert again.data == first.data and again.headers["ETag"] == first.headers["ETag"] and calls == []
    assert client.get(LIST, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304

    _set_price_from_another_worker(777)
    changed = client.get(LIST)
    assert calls == [1]
    assert changed.headers["ETag"] != first.headers["ETag"]
    assert _price(client) == 777
    assert client.get(f"/api/v1/products/{BLACK_TSHIRT}").json["price_minor"] == 777


def test_the_answer_cache_can_be_switched_off(settings, catalog):
    from dataclasses import replace

    from lookbook.web import create_app

    app = create_app(replace(settings, answer_cache_seconds=0), catalog=catalog)
    client = app.test_client()
    before = _price(client)
    # A write that bypasses the stamp (another host, say) shows at once when nothing is kept.
    with catalog.db.engine.begin() as connection:
        connection.execute(update(Product).where(Product.id == BLACK_TSHIRT).values(price_minor=before + 1))
    assert _price(client) == before + 1


def test_image_urls_built_from_the_route_template_are_the_routers_urls(app):
    from flask import url_for

    from lookbook.catalog.service import IMAGE_WIDTHS
    from lookbook.web.catalog import _images

    for script_root in ("", "/shop"):
        with app.test_request_context("/", base_url=f"http://localhost{script_root}"):
            images = _images(123456789, "0123456789abcdef" + "f" * 48)
            expected = {w: url_for("products.product_image", product_id=123456789, width=w, v="0123456789abcdef")
                        for w in IMAGE_WIDTHS}
            assert images["thumbnail"] == expected[320] and images["detail"] == expected[1024]
            assert images["srcset"] == ", ".join(f"{expected[w]} {w}w" for w in IMAGE_WIDTHS)
            assert expected[320].startswith(f"{script_root}/api/v1/products/123456789/image?")


def test_a_listing_assembled_from_kept_products_is_the_schema_dump_of_the_page(app, client):
    from lookbook.catalog import service as catalog_service
    from lookbook.catalog.service import SearchFilters
    from lookbook.web.api import page_of
    from lookbook.web.catalog import ProductPageSchema, product_dict

    for query, filters, sort, page, per_page in [("", SearchFilters(), "name", 1, 24),
                                                  ("?category=Topwear&sort=-price&per_page=2&page=2",
                                                   SearchFilters(category="Topwear"), "-price", 2, 2),
                                                  ("?in_stock=true&q=t", SearchFilters(in_stock=True), "name", 1, 24)]:
        client.get(f"/api/v1/products{query}")  # once to keep the products, then from what was kept
        got = client.get(f"/api/v1/products{query}").json
        with app.test_request_context(f"/api/v1/products{query}"):
            with app.extensions["lookbook"].db.session() as session:
                products, total = catalog_service.list_products(
                    session, filters=filters, text="t" if "q=t" in query else None, sort=sort, page=page,
                    per_page=per_page)
                expected = ProductPageSchema().dump(page_of([product_dict(p) for p in products], total,
                                                            {"page": page, "per_page": per_page}))
        assert got == expected, query


def test_the_kept_answers_stay_within_their_memory_budget():
    from lookbook.catalog.freshness import ChangeStamp
    from lookbook.web.answers import AnswerCache

    class Unchanged(ChangeStamp):
        def current(self):
            return (1, 1)

    cache = AnswerCache(Unchanged(None), ttl=60, max_bytes=10_000)
    for i in range(50):
        cache.answer(f"/q{i}", lambda: b"x" * 1_000)
    kept = cache._answers
    assert kept.currsize <= 10_000 and len(kept) == 10 and "/q49" in kept and "/q0" not in kept
