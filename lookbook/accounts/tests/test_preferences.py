"""Style preferences and liked products, through the service, on both backends."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from lookbook.accounts import preferences
from lookbook.accounts.models import ProductLike
from lookbook.errors import InvalidInput, NotFound
from lookbook.reports.tests.purchases import (  # noqa: F401  (fixtures: db, app, client, customer, admin)
    admin, app, client, customer, db, make_customer, make_product,
)
from lookbook.web.tests.conftest import bearer

SHIRT, SCARF, BELT = 1001, 1002, 1003


@pytest.fixture
def shop(db):  # noqa: F811
    with db.session() as session:
        for product_id, name in ((SHIRT, "Linen shirt"), (SCARF, "Wool scarf"), (BELT, "Belt")):
            make_product(session, product_id=product_id, name=name, price_minor=1000)
        ada, bob = make_customer(session, name="Ada"), make_customer(session, name="Bob")
    return {"db": db, "ada": ada.id, "bob": bob.id}


def _set(shop, user="ada", **fields):
    with shop["db"].session() as session:
        return preferences.set_preferences(session, user_id=shop[user], **fields)


def _get(shop, user="ada"):
    with shop["db"].session() as session:
        return preferences.get_preferences(session, user_id=shop[user])


# ---- preferences ----------------------------------------------------------------------------------------

def test_a_customer_without_preferences_gets_empty_ones(shop):
    assert _get(shop) == preferences.Preferences([], [], [], None, None, None)


def test_preferences_are_kept_per_customer_and_replaced_as_a_whole(shop):
    _set(shop, sizes=["M", "40"], categories=["Tshirts"], colours=["Navy Blue", "Black"], budget_min_minor=1000,
         budget_max_minor=5000)
    _set(shop, "bob", sizes=["XL"])

    ada = _get(shop)
    assert (ada.sizes, ada.categories, ada.colours, ada.budget_min_minor, ada.budget_max_minor) == (
        ["M", "40"], ["Tshirts"], ["Navy Blue", "Black"], 1000, 5000)
    assert ada.updated_at is not None and ada.updated_at.tzinfo is not None
    assert _get(shop, "bob").sizes == ["XL"]

    _set(shop, colours=["Red"])  # what is left out is cleared
    assert _get(shop) == preferences.Preferences([], [], ["Red"], None, None, _get(shop).updated_at)


def test_repeated_values_are_kept_once_in_the_order_given(shop):
    assert _set(shop, sizes=["M", "L", "M"]).sizes == ["M", "L"]


@pytest.mark.parametrize("fields, field", [
    ({"budget_min_minor": 5000, "budget_max_minor": 1000}, "budget_min_minor"),
    ({"budget_min_minor": -1}, "budget_min_minor"),
    ({"budget_max_minor": -100}, "budget_max_minor"),
    ({"sizes": [str(n) for n in range(preferences.MAX_ITEMS + 1)]}, "sizes"),
    ({"sizes": ["X" * 21]}, "sizes"),
    ({"categories": ["   "]}, "categories"),
    ({"colours": ["C" * 61]}, "colours"),
])
def test_preferences_that_make_no_sense_are_refused_naming_the_field_and_nothing_changes(shop, fields, field):
    _set(shop, sizes=["M"])

    with pytest.raises(InvalidInput) as refused:
        _set(shop, **fields)

    assert field in refused.value.fields
    assert _get(shop).sizes == ["M"]


def test_a_budget_may_be_open_ended_or_a_single_price(shop):
    assert _set(shop, budget_min_minor=2000).budget_max_minor is None
    assert (_set(shop, budget_min_minor=0, budget_max_minor=0).budget_min_minor, _get(shop).budget_max_minor) == (0, 0)


# ---- likes ---------------------------------------------------------------------------------------------

def _like(shop, product_id, user="ada"):
    with shop["db"].session() as session:
        preferences.like_product(session, user_id=shop[user], product_id=product_id)


def _liked(shop, user="ada", **page) -> list[int]:
    with shop["db"].session() as session:
        rows, total = preferences.liked_products(session, user_id=shop[user], **page)
        assert total >= len(rows)
        return [product.id for product, _when in rows]


def test_liking_twice_keeps_one_like_and_the_newest_like_comes_first(shop):
    _like(shop, SHIRT)
    _like(shop, SCARF)
    _like(shop, SHIRT)

    assert _liked(shop) == [SCARF, SHIRT]
    assert _liked(shop, "bob") == []
    with shop["db"].session() as session:
        assert session.scalar(select(func.count()).select_from(ProductLike)) == 2


def test_unliking_forgets_the_like_and_unliking_again_changes_nothing(shop):
    _like(shop, SHIRT)
    _like(shop, SHIRT, "bob")

    for _ in range(2):
        with shop["db"].session() as session:
            preferences.unlike_product(session, user_id=shop["ada"], product_id=SHIRT)

    assert _liked(shop) == [] and _liked(shop, "bob") == [SHIRT]


def test_an_unknown_or_retired_product_cannot_be_liked_and_a_retired_one_leaves_the_list(shop):
    from lookbook.catalog.models import Product

    _like(shop, BELT)
    with shop["db"].session() as session:
        session.get(Product, BELT).retired_at = datetime.now(timezone.utc)

    for product_id in (999_999, BELT):
        with pytest.raises(NotFound) as refused:
            _like(shop, product_id)
        assert refused.value.code == "product_not_found"
    assert _liked(shop) == []


def test_likes_come_in_pages(shop):
    for product_id in (SHIRT, SCARF, BELT):
        _like(shop, product_id)

    assert _liked(shop, page=1, per_page=2) == [BELT, SCARF]
    assert _liked(shop, page=2, per_page=2) == [SHIRT]


# ---- over HTTP -------------------------------------------------------------------------------------------

@pytest.fixture
def catalog_products(app):
    with app.extensions["lookbook"].db.session() as session:
        for product_id, name in ((SHIRT, "Linen shirt"), (SCARF, "Wool scarf")):
            make_product(session, product_id=product_id, name=name, price_minor=1000)


def test_a_customer_reads_and_replaces_their_preferences_over_http(client, customer):
    headers = bearer(customer["access_token"])

    empty = client.get("/api/v1/me/preferences", headers=headers)
    assert empty.status_code == 200
    assert empty.json == {"sizes": [], "categories": [], "colours": [], "budget_min_minor": None,
                          "budget_max_minor": None, "updated_at": None}
    wanted = {"sizes": ["M", "<b>40</b>"], "categories": ["Tshirts"], "colours": ["Navy Blue"],
              "budget_min_minor": 1000, "budget_max_minor": 5000}
    saved = client.put("/api/v1/me/preferences", headers=headers, json=wanted)
    assert saved.status_code == 200
    assert {k: saved.json[k] for k in wanted} == wanted and saved.json["updated_at"]
    assert client.get("/api/v1/me/preferences", headers=headers).json == saved.json


@pytest.mark.parametrize("body, field", [
    ({"budget_min_minor": 5000, "budget_max_minor": 1000}, "budget_min_minor"),
    ({"budget_min_minor": -1}, "budget_min_minor"),
    ({"budget_max_minor": 2**63}, "budget_max_minor"),
    ({"sizes": "M"}, "sizes"),
    ({"sizes": [str(n) for n in range(21)]}, "sizes"),
    ({"colours": ["x" * 61]}, "colours"),
    ({"categories": [""]}, "categories"),
    ({"categories": ["  "]}, "categories"),
    ({"colours": ["a\x00b"]}, "colours"),
    ({"sizes": [7]}, "sizes"),
])
def test_preferences_that_make_no_sense_are_refused_with_422_naming_the_field(client, customer, body, field):
    headers = bearer(customer["access_token"])

    response = client.put("/api/v1/me/preferences", headers=headers, json=body)

    assert response.status_code == 422 and field in response.json["error"]["fields"], response.json
    assert client.get("/api/v1/me/preferences", headers=headers).json["updated_at"] is None


def test_likes_over_http_are_idempotent_and_an_unknown_product_is_not_found(client, customer, catalog_products):
    headers = bearer(customer["access_token"])

    for _ in range(2):
        assert client.put(f"/api/v1/me/likes/{SHIRT}", headers=headers).status_code == 204
    assert client.put(f"/api/v1/me/likes/{SCARF}", headers=headers).status_code == 204
    missing = client.put("/api/v1/me/likes/424242", headers=headers)
    assert missing.status_code == 404 and missing.json["error"]["code"] == "product_not_found"

    liked = client.get("/api/v1/me/likes", headers=headers)
    assert liked.status_code == 200
    assert [(p["id"], p["name"]) for p in liked.json["items"]] == [(SCARF, "Wool scarf"), (SHIRT, "Linen shirt")]
    assert liked.json["total"] == 2 and all(p["liked_at"] for p in liked.json["items"])

    for _ in range(2):
        assert client.delete(f"/api/v1/me/likes/{SCARF}", headers=headers).status_code == 204
    assert [p["id"] for p in client.get("/api/v1/me/likes", headers=headers).json["items"]] == [SHIRT]


def test_preferences_and_likes_are_for_customers(client, admin, catalog_products):
    assert client.get("/api/v1/me/preferences").status_code == 401
    assert client.put(f"/api/v1/me/likes/{SHIRT}").status_code == 401
    headers = bearer(admin["access_token"])
    assert client.get("/api/v1/me/preferences", headers=headers).status_code == 403
    assert client.put(f"/api/v1/me/likes/{SHIRT}", headers=headers).status_code == 403
    assert client.get("/api/v1/me/likes", headers=headers).status_code == 403
