"""The visual search service: search by photo, filters, similar products, adding and removing products."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from conftest import GARMENT_COLOURS, garment_photo
from lookbook.catalog.importer import import_catalog
from lookbook.catalog.indexing import index_catalog
from lookbook.catalog.models import Product, ProductVector
from lookbook.catalog.service import (
    Catalog, ProductNotFoundError, SearchFilters, add_product_image, count_products, remove_product,
    search_by_image, similar_products,
)
from lookbook.config import get_paths
from lookbook.search.index import VectorIndex
from lookbook.vision.images import ImageError

KINDS = {  # kind -> (category, masterCategory, subCategory)
    "tshirt": ("Tshirts", "Apparel", "Topwear"),
    "trousers": ("Trousers", "Apparel", "Bottomwear"),
    "bag": ("Handbags", "Accessories", "Bags"),
}
PRICES = {"black": "5.00", "blue": "10.00", "red": "19.99", "white": "25.00"}


def _table() -> list[dict]:
    """One product per kind and colour: 12 products, ids 101..112."""
    rows = []
    for kind, (category, master, sub) in KINDS.items():
        for colour in GARMENT_COLOURS:
            pid = 101 + len(rows)
            rows.append(dict(id=pid, kind=kind, name=f"{colour.title()} {kind}", category=category,
                             colour=colour.title(), gender="Men" if pid % 2 else "Women",
                             masterCategory=master, subCategory=sub, price=PRICES[colour],
                             stock=0 if colour == "red" else 3, photo=garment_photo(kind, colour, seed=pid)))
    return rows


TABLE = _table()
BY_ID = {row["id"]: row for row in TABLE}
BLACK_TSHIRT, BLUE_TSHIRT, RED_TSHIRT, WHITE_TSHIRT = 101, 102, 103, 104
RED_BAG = 111


def write_source(folder: Path) -> Path:
    columns = ["id", "name", "image", "price", "stock", "category", "colour", "gender", "masterCategory",
               "subCategory"]
    (folder / "images").mkdir(parents=True)
    with open(folder / "products.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for row in TABLE:
            (folder / "images" / f"{row['id']}.png").write_bytes(row["photo"])
            writer.writerow([row["id"], row["name"], f"images/{row['id']}.png"] + [row[c] for c in columns[3:]])
    return folder


def open_catalog(tmp_path: Path, colour_weight: float | None = None) -> Catalog:
    cat = Catalog(get_paths(), colour_weight=colour_weight)
    assert import_catalog(write_source(tmp_path / "source"), db=cat.db, store=cat.store).imported == len(TABLE)
    report = index_catalog(db=cat.db, store=cat.store, encoder=cat.encoder, directory=cat.paths.index,
                           colour_weight=cat.colour_weight, progress=False)
    assert report.indexed == len(TABLE)
    return cat


@pytest.fixture
def catalog(lookbook_env, tmp_path):
    cat = open_catalog(tmp_path)
    yield cat
    cat.close()


def ids_of(hits) -> list[int]:
    return [h.id for h in hits]


def expected(predicate) -> set[int]:
    return {row["id"] for row in TABLE if predicate(row)}


QUERY = garment_photo("tshirt", "black", seed=999)  # a new photo, not in the catalog


# --- search by photo -----------------------------------------------------------------------------------------


def test_a_catalog_photo_does_not_find_its_own_product_unless_asked(catalog):
    photo = BY_ID[RED_BAG]["photo"]

    hits = search_by_image(catalog, photo, k=len(TABLE))
    assert RED_BAG not in ids_of(hits)
    assert len(hits) == len(TABLE) - 1

    with_self = search_by_image(catalog, photo, k=3, include_self=True)
    assert with_self[0].id == RED_BAG
    assert with_self[0].score == pytest.approx(1.0, abs=1e-4)
    assert with_self[1].score < with_self[0].score


def test_hits_are_ranked_by_score_and_carry_the_product_fields(catalog):
    hits = search_by_image(catalog, QUERY, k=5)

    assert len(hits) == 5
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(-1.0 <= s <= 1.0 + 1e-6 for s in scores)
    hit = next(h for h in search_by_image(catalog, QUERY, k=len(TABLE)) if h.id == BLUE_TSHIRT)
    assert hit.to_dict() | {"score": None} == {
        "id": BLUE_TSHIRT, "name": "Blue tshirt", "score": None, "category": "Tshirts", "gender": "Women",
        "colour": "Blue", "price_minor": 1000, "currency": "USD", "in_stock": True,
        "labels": {"masterCategory": "Apparel", "subCategory": "Topwear"},
    }


def test_a_new_photo_of_a_black_tshirt_finds_black_products_first(catalog):
    hits = search_by_image(catalog, QUERY, k=len(TABLE))

    assert hits[0].colour == "Black"
    ranks = ids_of(hits)
    for other in (BLUE_TSHIRT, RED_TSHIRT):
        assert ranks.index(BLACK_TSHIRT) < ranks.index(other)


def test_with_colour_weight_one_half_colour_decides_between_tshirts(lookbook_env, tmp_path):
    cat = open_catalog(tmp_path, colour_weight=0.5)
    try:
        hits = search_by_image(cat, QUERY, k=len(TABLE))
        ranks = ids_of(hits)
        black = [row["id"] for row in TABLE if row["colour"] == "Black"]
        assert sorted(ranks[:len(black)]) == black  # every black product before any other colour
        assert ranks.index(BLACK_TSHIRT) < ranks.index(BLUE_TSHIRT)
        score = {h.id: h.score for h in hits}
        assert score[BLACK_TSHIRT] - score[BLUE_TSHIRT] > 0.1
    finally:
        cat.close()


# --- filters -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("filters, predicate", [
    (SearchFilters(category="Tshirts"), lambda r: r["category"] == "Tshirts"),
    (SearchFilters(category="tshirts"), lambda r: r["category"] == "Tshirts"),  # case-insensitive
    (SearchFilters(category="Topwear"), lambda r: r["subCategory"] == "Topwear"),
    (SearchFilters(category="apparel"), lambda r: r["masterCategory"] == "Apparel"),
    (SearchFilters(category="Accessories"), lambda r: r["kind"] == "bag"),
    (SearchFilters(gender="women"), lambda r: r["gender"] == "Women"),
    (SearchFilters(colour="BLACK"), lambda r: r["colour"] == "Black"),
    (SearchFilters(min_price_minor=1000, max_price_minor=1999), lambda r: r["price"] in ("10.00", "19.99")),
    (SearchFilters(min_price_minor=2000), lambda r: r["price"] == "25.00"),
    (SearchFilters(max_price_minor=500), lambda r: r["price"] == "5.00"),
    (SearchFilters(in_stock=True), lambda r: r["stock"] > 0),
    (SearchFilters(category="Apparel", in_stock=True, max_price_minor=1000),
     lambda r: r["masterCategory"] == "Apparel" and r["stock"] > 0 and r["price"] in ("5.00", "10.00")),
])
def test_filters_return_exactly_the_matching_products(catalog, filters, predicate):
    matching = expected(predicate)
    assert matching  # the case is meaningful

    hits = search_by_image(catalog, QUERY, k=len(TABLE), filters=filters)

    assert set(ids_of(hits)) == matching
    assert len(hits) == len(matching)


def test_a_filtered_query_returns_k_products_when_k_match_and_fewer_only_when_fewer_match(catalog):
    apparel = SearchFilters(category="Apparel")  # 8 products
    hits = search_by_image(catalog, QUERY, k=5, filters=apparel)
    assert len(hits) == 5
    assert all(h.labels["masterCategory"] == "Apparel" for h in hits)
    # The filtered top 5 are the best 5 apparel products of the unfiltered ranking.
    unfiltered = [h.id for h in search_by_image(catalog, QUERY, k=len(TABLE)) if h.labels["masterCategory"] == "Apparel"]
    assert ids_of(hits) == unfiltered[:5]

    red_in_stock = SearchFilters(colour="red", in_stock=True)  # red products are all out of stock
    assert search_by_image(catalog, QUERY, k=5, filters=red_in_stock) == []
    bags = search_by_image(catalog, QUERY, k=10, filters=SearchFilters(category="Bags"))
    assert len(bags) == 4


def test_an_unknown_category_matches_nothing(catalog):
    assert search_by_image(catalog, QUERY, k=5, filters=SearchFilters(category="Spaceships")) == []


def test_price_filters_are_inclusive_bounds_in_minor_units(catalog):
    hits = search_by_image(catalog, QUERY, k=len(TABLE), filters=SearchFilters(min_price_minor=1999,
                                                                               max_price_minor=1999))
    assert {h.price_minor for h in hits} == {1999}
    assert len(hits) == 3


# --- similar products ----------------------------------------------------------------------------------------


def test_similar_products_never_include_the_product_itself(catalog):
    hits = similar_products(catalog, BLACK_TSHIRT, k=len(TABLE))

    assert BLACK_TSHIRT not in ids_of(hits)
    assert len(hits) == len(TABLE) - 1
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    filtered = similar_products(catalog, BLACK_TSHIRT, k=5, filters=SearchFilters(category="Topwear"))
    assert sorted(ids_of(filtered)) == [BLUE_TSHIRT, RED_TSHIRT, WHITE_TSHIRT]


def test_similar_products_of_an_unknown_id_raises(catalog):
    with pytest.raises(ProductNotFoundError):
        similar_products(catalog, 999_999)


def test_similar_products_of_a_product_without_a_vector_is_empty(catalog):
    with catalog.db.session() as session:
        session.add(Product(id=500, name="No photo yet"))
    assert similar_products(catalog, 500) == []


# --- adding and removing -------------------------------------------------------------------------------------


def test_an_added_product_image_is_searchable_at_once_and_gets_predicted_labels(catalog):
    with catalog.db.session() as session:
        session.add(Product(id=500, name="New arrival", stock=1))
    index = catalog.index
    size = len(index)
    photo = garment_photo("trousers", "blue", seed=4242)

    predicted = add_product_image(catalog, 500, photo, suffix=".png")

    heads = catalog.encoder.info.heads
    assert set(predicted) == set(heads) == {"category", "colour"}
    for head, guess in predicted.items():
        assert guess["label"] in heads[head]
        assert 0.0 < guess["confidence"] <= 1.0
    assert catalog.index is index  # no rebuild
    assert len(index) == size + 1 and 500 in index
    hits = search_by_image(catalog, photo, k=1, include_self=True)
    assert (hits[0].id, hits[0].name) == (500, "New arrival")
    assert hits[0].score == pytest.approx(1.0, abs=1e-4)
    assert 500 not in ids_of(search_by_image(catalog, photo, k=len(TABLE) + 1))

    with catalog.db.session() as session:
        product = session.get(Product, 500)
        vector = session.get(ProductVector, 500)
    assert product.image_key == "products/500.png"
    assert product.predicted_labels == predicted
    assert catalog.store.get("products/500.png") == photo
    assert vector.model_version == catalog.encoder.vector_version
    # Saved: a fresh catalog sees it, and `lookbook index` has nothing left to do.
    assert 500 in VectorIndex.load(catalog.paths.index)
    report = index_catalog(db=catalog.db, store=catalog.store, encoder=catalog.encoder,
                           directory=catalog.paths.index, colour_weight=catalog.colour_weight, progress=False)
    assert (report.embedded, report.indexed) == (0, size + 1)


def test_adding_an_image_to_an_unknown_product_raises_and_stores_nothing(catalog):
    size = len(catalog.index)
    with pytest.raises(ProductNotFoundError):
        add_product_image(catalog, 777, garment_photo("bag", "blue", seed=1), suffix=".png")
    assert not catalog.store.exists("products/777.png")
    assert len(catalog.index) == size


def test_a_removed_product_is_gone_from_search_the_database_and_the_image_store(catalog):
    key = f"products/{RED_BAG}.png"
    assert catalog.store.exists(key)
    size = len(catalog.index)

    remove_product(catalog, RED_BAG)

    assert len(catalog.index) == size - 1
    hits = search_by_image(catalog, BY_ID[RED_BAG]["photo"], k=len(TABLE), include_self=True)
    assert RED_BAG not in ids_of(hits) and len(hits) == len(TABLE) - 1
    with catalog.db.session() as session:
        assert session.get(Product, RED_BAG) is None
        assert session.get(ProductVector, RED_BAG) is None
    assert not catalog.store.exists(key)
    assert count_products(catalog) == len(TABLE) - 1
    assert RED_BAG not in VectorIndex.load(catalog.paths.index)
    with pytest.raises(ProductNotFoundError):
        similar_products(catalog, RED_BAG)


def test_removing_an_unknown_product_raises(catalog):
    with pytest.raises(ProductNotFoundError):
        remove_product(catalog, 999_999)
    assert count_products(catalog) == len(TABLE)


@pytest.mark.parametrize("upload, reason", [
    (b"definitely not a photo", "not_an_image"),
    (garment_photo("tshirt", "red", seed=5)[:200], "corrupt"),  # a truncated PNG
])
def test_a_corrupt_upload_raises_image_error_and_changes_nothing(catalog, upload, reason):
    size, count = len(catalog.index), count_products(catalog)
    with catalog.db.session() as session:
        before = session.get(Product, BLACK_TSHIRT)
    stored = catalog.store.get(before.image_key)

    with pytest.raises(ImageError) as error:
        add_product_image(catalog, BLACK_TSHIRT, upload, suffix=".png")
    assert error.value.reason == reason
    with pytest.raises(ImageError):
        search_by_image(catalog, upload)

    assert (len(catalog.index), count_products(catalog)) == (size, count)
    with catalog.db.session() as session:
        after = session.get(Product, BLACK_TSHIRT)
    assert (after.image_key, after.image_sha256, after.predicted_labels) == (
        before.image_key, before.image_sha256, before.predicted_labels)
    assert catalog.store.get(before.image_key) == stored


def test_search_lifts_the_category_the_neighbours_agree_on_and_similar_products_their_own(catalog):
    catalog.category_weight = 0.0
    plain_similar = similar_products(catalog, BLACK_TSHIRT, k=3)
    plain_search = search_by_image(catalog, QUERY, k=3)
    assert {h.category for h in plain_similar} != {"Tshirts"} and {h.category for h in plain_search} != {"Tshirts"}

    catalog.category_weight = 0.9  # extreme, so the tiny test model's colour-led neighbours give way
    similar = similar_products(catalog, BLACK_TSHIRT, k=3)
    found = search_by_image(catalog, QUERY, k=3)  # a black T-shirt photo: its nearest product is a T-shirt
    assert [h.category for h in similar] == [h.category for h in found] == ["Tshirts"] * 3
    assert BLACK_TSHIRT not in ids_of(similar)
    for hits in (similar, found):
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_model_threads_come_from_the_environment_and_a_bad_value_is_refused(lookbook_env, monkeypatch):
    monkeypatch.setenv("LOOKBOOK_MODEL_THREADS", "1")
    catalog = Catalog(get_paths())
    try:
        assert catalog.encoder.session.get_session_options().intra_op_num_threads == 1
    finally:
        catalog.close()
    monkeypatch.setenv("LOOKBOOK_MODEL_THREADS", "two")
    catalog = Catalog(get_paths())
    try:
        with pytest.raises(ValueError, match="LOOKBOOK_MODEL_THREADS"):
            catalog.encoder
    finally:
        catalog.close()
