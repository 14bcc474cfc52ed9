"""Catalog management: creating, editing, retiring and restoring products; variants and their stock; labels;
replacing a product's image."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, select

from conftest import garment_photo
from lookbook.accounts import service as accounts
from lookbook.catalog import management
from lookbook.catalog.importer import MAX_STOCK
from lookbook.catalog.models import Product, ProductVariant
from lookbook.catalog.service import (
    ProductNotFoundError, SearchFilters, add_product_image, list_products, search_by_image, similar_products,
)
from lookbook.catalog.tests.test_search_service import (
    BLACK_TSHIRT, BLUE_TSHIRT, BY_ID, RED_TSHIRT, TABLE, ids_of, open_catalog,
)
from lookbook.errors import Conflict, InvalidInput, NotFound
from lookbook.orders import service as orders
from lookbook.orders.models import Order, OrderLine, OrderStatus

NEW = {"name": "Linen shirt", "category": "Shirts", "gender": "Men", "colour": "White", "price_minor": 4500,
       "currency": "EUR", "labels": {"masterCategory": "Apparel", "subCategory": "Topwear"}}


@pytest.fixture
def catalog(lookbook_env, tmp_path):
    cat = open_catalog(tmp_path)
    yield cat
    cat.close()


def variants(session, product_id: int) -> list[ProductVariant]:
    return management.variants_of(session, [product_id])[product_id]


def product_stock(catalog, product_id: int) -> tuple[int, int]:
    """(Product.stock, the sum over its variants), read fresh."""
    with catalog.db.session() as session:
        product = session.get(Product, product_id)
        return product.stock, sum(v.stock for v in variants(session, product_id))


def ordered(session, variant: ProductVariant, quantity: int = 1) -> OrderLine:
    """An order line for the variant, as checkout writes one."""
    order = Order(email="ada@example.com", status=OrderStatus.PAID, currency="USD", subtotal_minor=500,
                  discount_minor=0, total_minor=500, payment_due_at=datetime.now(timezone.utc) + timedelta(hours=1))
    session.add(order)
    session.flush()
    line = OrderLine(order_id=order.id, product_id=variant.product_id, variant_id=variant.id, name="Bought",
                     sku=variant.sku, list_price_minor=500, unit_price_minor=500, quantity=quantity,
                     line_total_minor=500 * quantity)
    session.add(line)
    session.flush()
    return line


# ---- products ----------------------------------------------------------------------------------------------


def test_a_new_product_takes_the_next_id_above_the_highest_and_a_default_variant_with_its_stock(catalog):
    with catalog.db.session() as session:
        first = management.create_product(session, fields=NEW, stock_count=7)
        second = management.create_product(session, fields={"name": "Scarf", "price_minor": 900})

    assert (first.id, second.id) == (max(BY_ID) + 1, max(BY_ID) + 2)
    assert (first.name, first.currency, first.price_minor, first.labels) == (
        "Linen shirt", "EUR", 4500, NEW["labels"])
    assert (second.currency, second.labels, second.retired_at) == ("USD", {}, None)
    with catalog.db.session() as session:
        [default] = variants(session, first.id)
        assert (default.sku, default.stock, default.is_default) == (str(first.id), 7, True)
        assert [v.stock for v in variants(session, second.id)] == [0]
    assert product_stock(catalog, first.id) == (7, 7)
    with catalog.db.session() as session:
        assert ids_of(list_products(session, text="linen")[0]) == [first.id]


def test_the_default_sku_steps_aside_when_another_variant_already_uses_the_new_id(catalog):
    with catalog.db.session() as session:
        management.add_variant(session, product_id=BLACK_TSHIRT, sku=str(max(BY_ID) + 1), size="M")
        product = management.create_product(session, fields=NEW)
        assert [v.sku for v in variants(session, product.id)] == [f"{product.id}-2"]


def test_editing_a_product_changes_only_the_fields_given(catalog):
    with catalog.db.session() as session:
        management.update_product(session, product_id=BLUE_TSHIRT, changes={"price_minor": 1299, "description": "Soft"})
    with catalog.db.session() as session:
        product = session.get(Product, BLUE_TSHIRT)
        assert (product.price_minor, product.description, product.name, product.colour) == (
            1299, "Soft", BY_ID[BLUE_TSHIRT]["name"], "Blue")
        with pytest.raises(InvalidInput) as error:
            management.update_product(session, product_id=BLUE_TSHIRT, changes={"stock": 99})
        assert error.value.fields == {"stock": ["unknown field"]}
        with pytest.raises(ProductNotFoundError):
            management.update_product(session, product_id=999_999, changes={"name": "Ghost"})


def test_retired_products_leave_listing_search_and_similar_and_come_back_when_restored(catalog):
    photo = BY_ID[BLACK_TSHIRT]["photo"]
    with catalog.db.session() as session:
        management.retire_product(session, product_id=BLACK_TSHIRT)

    with catalog.db.session() as session:
        assert session.get(Product, BLACK_TSHIRT).retired_at is not None  # kept for orders and reports
        listed, total = list_products(session, per_page=100)
        assert BLACK_TSHIRT not in ids_of(listed) and total == len(TABLE) - 1
        shirts, _ = list_products(session, filters=SearchFilters(category="Tshirts"), per_page=100)
        assert BLACK_TSHIRT not in ids_of(shirts) and len(shirts) == 3
        admin_view, _ = management.list_admin_products(session, status="retired")
        assert ids_of(admin_view) == [BLACK_TSHIRT]
        assert management.list_admin_products(session, status="active")[1] == len(TABLE) - 1
        assert management.list_admin_products(session)[1] == len(TABLE)
        with pytest.raises(ProductNotFoundError):
            management.public_product(session, product_id=BLACK_TSHIRT)
    assert BLACK_TSHIRT not in ids_of(search_by_image(catalog, photo, k=len(TABLE), include_self=True))
    filtered = search_by_image(catalog, photo, k=len(TABLE), include_self=True, filters=SearchFilters(colour="Black"))
    assert BLACK_TSHIRT not in ids_of(filtered) and filtered
    assert BLACK_TSHIRT not in ids_of(similar_products(catalog, BLUE_TSHIRT, k=len(TABLE)))
    with pytest.raises(ProductNotFoundError):
        similar_products(catalog, BLACK_TSHIRT)

    with catalog.db.session() as session:
        management.restore_product(session, product_id=BLACK_TSHIRT)
    assert search_by_image(catalog, photo, k=1, include_self=True)[0].id == BLACK_TSHIRT
    assert BLACK_TSHIRT in ids_of(similar_products(catalog, BLUE_TSHIRT, k=len(TABLE)))
    with catalog.db.session() as session:
        assert list_products(session, per_page=100)[1] == len(TABLE)
        assert management.public_product(session, product_id=BLACK_TSHIRT).retired_at is None


def test_retiring_twice_keeps_the_first_date(catalog):
    first = datetime(2024, 5, 1, tzinfo=timezone.utc)
    with catalog.db.session() as session:
        management.retire_product(session, product_id=BLACK_TSHIRT, now=first)
        management.retire_product(session, product_id=BLACK_TSHIRT, now=first + timedelta(days=3))
    with catalog.db.session() as session:
        assert session.get(Product, BLACK_TSHIRT).retired_at == first


def test_a_retired_product_cannot_be_put_in_a_cart_but_its_orders_keep_it(catalog):
    with catalog.db.session() as session:
        user = accounts.create_user(session, email="ada@example.com", password="correct horse battery", name="Ada")
        [variant] = variants(session, BLUE_TSHIRT)
        line = ordered(session, variant)
        management.retire_product(session, product_id=BLUE_TSHIRT)

    with catalog.db.session() as session, pytest.raises(NotFound):
        orders.add_to_cart(session, user_id=user.id, variant_id=variant.id, quantity=1)
    with catalog.db.session() as session:
        kept = session.get(OrderLine, line.id)
        assert (kept.product_id, kept.variant_id) == (BLUE_TSHIRT, variant.id)
        management.restore_product(session, product_id=BLUE_TSHIRT)
        orders.add_to_cart(session, user_id=user.id, variant_id=variant.id, quantity=1)


# ---- variants and stock ------------------------------------------------------------------------------------


def test_the_first_real_variant_replaces_a_default_that_was_never_ordered_and_stock_is_the_sum(catalog):
    assert product_stock(catalog, BLUE_TSHIRT) == (3, 3)  # the imported stock, on the default variant
    with catalog.db.session() as session:
        small = management.add_variant(session, product_id=BLUE_TSHIRT, sku="BT-S", size="S", stock_count=2)
        assert session.get(Product, BLUE_TSHIRT).stock == 2
        management.add_variant(session, product_id=BLUE_TSHIRT, sku="BT-M", size="M", price_minor=1200, stock_count=5)

    with catalog.db.session() as session:
        shown = [(v.sku, v.size, v.price_minor, v.stock, v.is_default) for v in variants(session, BLUE_TSHIRT)]
    assert shown == [("BT-S", "S", None, 2, False), ("BT-M", "M", 1200, 5, False)]
    assert product_stock(catalog, BLUE_TSHIRT) == (7, 7)
    assert small.id is not None


def test_the_first_variant_may_take_the_sku_of_the_default_it_replaces(catalog):
    with catalog.db.session() as session:
        variant = management.add_variant(session, product_id=BLUE_TSHIRT, sku=str(BLUE_TSHIRT), size="One size",
                                         stock_count=6)
    with catalog.db.session() as session:
        assert [(v.id, v.sku, v.is_default) for v in variants(session, BLUE_TSHIRT)] == [
            (variant.id, str(BLUE_TSHIRT), False)]
    assert product_stock(catalog, BLUE_TSHIRT) == (6, 6)


def test_a_default_variant_that_was_ordered_is_kept_without_stock_when_sizes_arrive(catalog):
    with catalog.db.session() as session:
        [default] = variants(session, BLUE_TSHIRT)
        ordered(session, default)
        management.add_variant(session, product_id=BLUE_TSHIRT, sku="BT-L", size="L", stock_count=4)

    with catalog.db.session() as session:
        kept, added = variants(session, BLUE_TSHIRT)
        assert (kept.id, kept.stock, kept.is_default) == (default.id, 0, True)
        assert (added.sku, added.stock) == ("BT-L", 4)
    assert product_stock(catalog, BLUE_TSHIRT) == (4, 4)


def test_setting_a_variants_stock_keeps_the_products_total_and_in_stock_flag(catalog):
    with catalog.db.session() as session:
        [default] = variants(session, RED_TSHIRT)
        assert not session.get(Product, RED_TSHIRT).in_stock
        changed = management.update_variant(session, variant_id=default.id, changes={"stock": 9, "size": "One size"})
        assert (changed.stock, changed.size) == (9, "One size")
        assert session.get(Product, RED_TSHIRT).in_stock
    assert product_stock(catalog, RED_TSHIRT) == (9, 9)
    with catalog.db.session() as session:
        listed, _ = list_products(session, filters=SearchFilters(in_stock=True), per_page=100)
        assert RED_TSHIRT in ids_of(listed)
        management.update_variant(session, variant_id=default.id, changes={"stock": 0})
    assert product_stock(catalog, RED_TSHIRT) == (0, 0)


def test_a_product_never_holds_more_units_than_its_stock_column(catalog):
    with catalog.db.session() as session:
        management.add_variant(session, product_id=BLUE_TSHIRT, sku="BT-S", stock_count=MAX_STOCK - 10)
        with pytest.raises(InvalidInput) as error:
            management.add_variant(session, product_id=BLUE_TSHIRT, sku="BT-M", stock_count=11)
        assert error.value.code == "stock_too_large" and "stock" in error.value.fields
        medium = management.add_variant(session, product_id=BLUE_TSHIRT, sku="BT-M", stock_count=10)
        with pytest.raises(InvalidInput):
            management.update_variant(session, variant_id=medium.id, changes={"stock": 11})
    assert product_stock(catalog, BLUE_TSHIRT) == (MAX_STOCK, MAX_STOCK)


def test_a_taken_sku_is_a_conflict_and_changes_nothing(catalog):
    with catalog.db.session() as session:
        management.add_variant(session, product_id=BLUE_TSHIRT, sku="SKU-1", stock_count=1)
    with catalog.db.session() as session, pytest.raises(Conflict) as error:
        management.add_variant(session, product_id=BLACK_TSHIRT, sku="SKU-1", stock_count=5)
    assert error.value.code == "sku_taken" and error.value.fields == {"sku": ["already taken"]}
    assert product_stock(catalog, BLACK_TSHIRT) == (3, 3)
    with catalog.db.session() as session:
        assert [v.is_default for v in variants(session, BLACK_TSHIRT)] == [True]


def test_deleting_a_variant_takes_its_stock_off_the_product(catalog):
    with catalog.db.session() as session:
        small = management.add_variant(session, product_id=BLUE_TSHIRT, sku="BT-S", stock_count=2)
        management.add_variant(session, product_id=BLUE_TSHIRT, sku="BT-M", stock_count=5)
        management.delete_variant(session, variant_id=small.id)
    assert product_stock(catalog, BLUE_TSHIRT) == (5, 5)


def test_a_variant_that_was_ordered_or_the_last_one_cannot_be_deleted(catalog):
    with catalog.db.session() as session:
        small = management.add_variant(session, product_id=BLUE_TSHIRT, sku="BT-S", stock_count=2)
        medium = management.add_variant(session, product_id=BLUE_TSHIRT, sku="BT-M", stock_count=5)
        ordered(session, small)
    with catalog.db.session() as session, pytest.raises(Conflict) as error:
        management.delete_variant(session, variant_id=small.id)
    assert error.value.code == "variant_ordered"
    with catalog.db.session() as session:
        [default] = variants(session, BLACK_TSHIRT)
    with catalog.db.session() as session, pytest.raises(Conflict) as error:
        management.delete_variant(session, variant_id=default.id)
    assert error.value.code == "last_variant"
    with catalog.db.session() as session, pytest.raises(NotFound):
        management.delete_variant(session, variant_id=999_999)
    with catalog.db.session() as session:
        management.delete_variant(session, variant_id=medium.id)
    assert product_stock(catalog, BLUE_TSHIRT) == (2, 2)


# ---- labels and images -------------------------------------------------------------------------------------


def test_confirming_labels_takes_the_accepted_suggestions_and_the_admins_own_values_win(catalog):
    with catalog.db.session() as session:
        product = session.get(Product, BLUE_TSHIRT)
        product.predicted_labels = {"category": {"label": "Shirts", "confidence": 0.8},
                                    "colour": {"label": "Navy", "confidence": 0.6},
                                    "season": {"label": "Summer", "confidence": 0.7}}
    with catalog.db.session() as session:
        management.confirm_labels(session, product_id=BLUE_TSHIRT, accept=["category", "colour", "season"],
                                  values={"colour": "Indigo", "labels": {"subCategory": None, "usage": "Casual"}})
    with catalog.db.session() as session:
        product = session.get(Product, BLUE_TSHIRT)
        assert (product.category, product.colour, product.gender) == ("Shirts", "Indigo", "Women")
        assert product.labels == {"masterCategory": "Apparel", "season": "Summer", "usage": "Casual"}
        assert product.predicted_labels["category"]["label"] == "Shirts"  # still there for the next look
        with pytest.raises(InvalidInput) as error:
            management.confirm_labels(session, product_id=BLUE_TSHIRT, accept=["usage"])
        assert error.value.code == "no_suggestion" and "accept" in error.value.fields


def test_a_new_image_in_another_format_replaces_the_old_file_and_is_searchable_at_once(catalog):
    jpeg = garment_photo("bag", "red", seed=31, fmt="JPEG")

    suggestions = management.upload_product_image(catalog, product_id=BLACK_TSHIRT, image_bytes=jpeg)

    assert set(suggestions) == {"category", "colour"}
    assert catalog.store.get(f"products/{BLACK_TSHIRT}.jpg") == jpeg
    assert not catalog.store.exists(f"products/{BLACK_TSHIRT}.png")
    with catalog.db.session() as session:
        product = session.get(Product, BLACK_TSHIRT)
        assert (product.image_key, product.predicted_labels) == (f"products/{BLACK_TSHIRT}.jpg", suggestions)
    assert search_by_image(catalog, jpeg, k=1, include_self=True)[0].id == BLACK_TSHIRT


@pytest.mark.parametrize("fmt, suffix", [("PNG", ".png"), ("JPEG", ".jpg")])
def test_a_failed_commit_leaves_the_old_image_as_it_was(catalog, fmt, suffix):
    old_key = f"products/{BLACK_TSHIRT}.png"
    old_bytes = catalog.store.get(old_key)
    size = len(catalog.index)

    def refuse(_session):
        raise RuntimeError("the database went away")

    event.listen(catalog.db.sessions, "before_commit", refuse)
    try:
        with pytest.raises(RuntimeError):
            add_product_image(catalog, BLACK_TSHIRT, garment_photo("bag", "white", seed=8, fmt=fmt), suffix=suffix)
    finally:
        event.remove(catalog.db.sessions, "before_commit", refuse)

    assert catalog.store.get(old_key) == old_bytes
    assert suffix == ".png" or not catalog.store.exists(f"products/{BLACK_TSHIRT}{suffix}")
    assert len(catalog.index) == size
    with catalog.db.session() as session:
        assert session.get(Product, BLACK_TSHIRT).image_key == old_key
    assert search_by_image(catalog, BY_ID[BLACK_TSHIRT]["photo"], k=1, include_self=True)[0].id == BLACK_TSHIRT


def test_retired_products_are_found_by_no_search_with_or_without_filters(catalog):
    with catalog.db.session() as session:
        for row in TABLE:
            if row["colour"] == "Black":
                management.retire_product(session, product_id=row["id"])
        retired = set(session.scalars(select(Product.id).where(Product.retired_at.is_not(None))))
    hits = search_by_image(catalog, BY_ID[BLACK_TSHIRT]["photo"], k=len(TABLE), include_self=True)
    assert retired and not retired & set(ids_of(hits)) and len(hits) == len(TABLE) - len(retired)
