"""Catalog management over the API: admins create, edit, retire and restore products, manage variants and
stock, upload images that are searchable at once and confirm the model's label suggestions; shoppers see
variants on the product page."""

from __future__ import annotations

import hashlib
import io
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image

from conftest import garment_photo
from lookbook.catalog.models import Product
from lookbook.catalog.tests.test_search_service import BLACK_TSHIRT, BLUE_TSHIRT, BY_ID, RED_BAG, TABLE
from lookbook.orders.models import Order, OrderLine, OrderStatus
from lookbook.web.tests.conftest import bearer
from lookbook.web.tests.test_hostile_text import HOSTILE_PARAMS

PRODUCTS = "/api/v1/admin/products"
VARIANTS = "/api/v1/admin/variants"
NEW = {"name": "Linen shirt", "category": "Shirts", "gender": "Men", "colour": "White", "price_minor": 4500,
       "currency": "EUR", "description": "Breathes in summer", "labels": {"masterCategory": "Apparel"}}
NEW_ID = max(BY_ID) + 1


@pytest.fixture
def as_admin(admin) -> dict:
    return bearer(admin["access_token"])


def ids(items) -> list[int]:
    return [item["id"] for item in items]


def upload(photo: bytes, name: str = "photo.png") -> dict:
    return {"data": {"image": (io.BytesIO(photo), name)}, "content_type": "multipart/form-data"}


def listed_ids(client) -> set[int]:
    return set(ids(client.get("/api/v1/products?per_page=100").json["items"]))


def record_order_of(app, variant_id: int) -> None:
    """An order line for the variant, as checkout writes one."""
    with app.extensions["lookbook"].db.session() as session:
        order = Order(email="ada@example.com", status=OrderStatus.PAID, currency="USD", subtotal_minor=500,
                      discount_minor=0, total_minor=500, payment_due_at=datetime.now(timezone.utc) + timedelta(hours=1))
        session.add(order)
        session.flush()
        session.add(OrderLine(order_id=order.id, product_id=BLUE_TSHIRT, variant_id=variant_id, name="Blue tshirt",
                              sku="x", list_price_minor=500, unit_price_minor=500, quantity=1, line_total_minor=500))


# ---- who may ------------------------------------------------------------------------------------------------


# (method, url, request) for every admin catalog route; a request is made anew for each call (uploads are read).
ROUTES = [
    ("GET", PRODUCTS, dict), ("POST", PRODUCTS, lambda: {"json": NEW}), ("GET", f"{PRODUCTS}/{BLACK_TSHIRT}", dict),
    ("PATCH", f"{PRODUCTS}/{BLACK_TSHIRT}", lambda: {"json": {"name": "Renamed"}}),
    ("POST", f"{PRODUCTS}/{BLACK_TSHIRT}/retire", dict), ("POST", f"{PRODUCTS}/{BLACK_TSHIRT}/restore", dict),
    ("POST", f"{PRODUCTS}/{BLACK_TSHIRT}/image", lambda: upload(garment_photo("bag", "red"))),
    ("POST", f"{PRODUCTS}/{BLACK_TSHIRT}/labels", lambda: {"json": {"colour": "Jet"}}),
    ("POST", f"{PRODUCTS}/{BLACK_TSHIRT}/variants", lambda: {"json": {"sku": "BT-S"}}),
    ("PATCH", f"{VARIANTS}/1", lambda: {"json": {"stock": 1}}), ("DELETE", f"{VARIANTS}/1", dict),
]


def test_customers_get_403_and_visitors_401_on_every_admin_catalog_route_and_nothing_changes(client, customer):
    for method, url, request in ROUTES:
        anonymous = client.open(url, method=method, **request())
        assert anonymous.status_code == 401 and anonymous.json["error"]["code"] == "not_authenticated", url
        refused = client.open(url, method=method, headers=bearer(customer["access_token"]), **request())
        assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden", url

    assert listed_ids(client) == set(BY_ID)
    assert client.get(f"/api/v1/products/{BLACK_TSHIRT}").json["name"] == BY_ID[BLACK_TSHIRT]["name"]


def test_unknown_products_and_variants_are_404(client, as_admin):
    for method, url, request in ROUTES:
        if url == PRODUCTS:
            continue
        url = url.replace(str(BLACK_TSHIRT), "999999").replace(f"{VARIANTS}/1", f"{VARIANTS}/999999")
        response = client.open(url, method=method, headers=as_admin, **request())
        assert response.status_code == 404, (method, url, response.json)
        assert response.json["error"]["code"] in ("product_not_found", "variant_not_found", "not_found")


# ---- products ----------------------------------------------------------------------------------------------


def test_an_admin_creates_a_product_that_the_shop_shows_with_its_default_variant(client, as_admin):
    created = client.post(PRODUCTS, headers=as_admin, json={**NEW, "stock": 4})

    assert created.status_code == 201, created.json
    body = created.json
    assert body["id"] == NEW_ID and body["stock"] == 4 and body["retired"] is False and body["retired_at"] is None
    assert {k: body[k] for k in NEW} == NEW
    assert body["suggestions"] == {} and body["images"] is None
    [default] = body["variants"]
    assert (default["sku"], default["stock"], default["is_default"]) == (str(NEW_ID), 4, True)
    shown = client.get(f"/api/v1/products/{NEW_ID}").json
    assert (shown["name"], shown["price_minor"], shown["currency"], shown["in_stock"]) == ("Linen shirt", 4500, "EUR", True)
    assert shown["variants"] == [{"id": default["id"], "sku": str(NEW_ID), "size": None, "colour": None,
                                  "price_minor": 4500, "in_stock": True, "stock": 4}]
    assert NEW_ID in listed_ids(client)
    assert client.post(PRODUCTS, headers=as_admin, json={"name": "Scarf", "price_minor": 900}).json["id"] == NEW_ID + 1


def test_a_wrong_product_is_a_422_naming_each_field(client, as_admin):
    missing = client.post(PRODUCTS, headers=as_admin, json={"colour": "Blue"})
    assert missing.status_code == 422 and set(missing.json["error"]["fields"]) == {"name", "price_minor"}

    wrong = client.post(PRODUCTS, headers=as_admin, json={
        "name": "  ", "price_minor": -1, "currency": "euro", "stock": -2, "category": "x" * 121,
        "colour": "Bl\x00ue", "labels": {"season": 3}, "retired_at": "2024-01-01"})
    assert wrong.status_code == 422
    assert set(wrong.json["error"]["fields"]) == {"name", "price_minor", "currency", "stock", "category", "colour",
                                                  "labels", "retired_at"}
    edit = client.patch(f"{PRODUCTS}/{BLACK_TSHIRT}", headers=as_admin, json={"name": None, "stock": 5})
    assert edit.status_code == 422 and set(edit.json["error"]["fields"]) == {"name", "stock"}
    assert client.get(PRODUCTS, headers=as_admin, query_string={"status": "gone"}).status_code == 422
    assert client.get(f"{PRODUCTS}?per_page=100", headers=as_admin).json["total"] == len(TABLE)


def test_editing_a_product_changes_only_the_fields_sent(client, as_admin):
    edited = client.patch(f"{PRODUCTS}/{BLUE_TSHIRT}", headers=as_admin,
                          json={"price_minor": 1299, "description": "Soft cotton", "labels": {"season": "Summer"}})

    assert edited.status_code == 200, edited.json
    shown = client.get(f"/api/v1/products/{BLUE_TSHIRT}").json
    assert (shown["price_minor"], shown["description"], shown["labels"]) == (1299, "Soft cotton", {"season": "Summer"})
    assert (shown["name"], shown["colour"], shown["category"]) == ("Blue tshirt", "Blue", "Tshirts")
    assert client.patch(f"{PRODUCTS}/{BLUE_TSHIRT}", headers=as_admin, json={}).json["price_minor"] == 1299


def test_retiring_hides_a_product_from_the_shop_and_restoring_brings_it_back(client, as_admin, customer):
    photo = garment_photo("bag", "red", seed=4321)  # a new photo of a red bag
    assert client.post("/api/v1/search/image", **upload(photo)).json["results"][0]["id"] == RED_BAG

    retired = client.post(f"{PRODUCTS}/{RED_BAG}/retire", headers=as_admin)

    assert retired.status_code == 200 and retired.json["retired"] is True and retired.json["retired_at"]
    assert RED_BAG not in listed_ids(client)
    assert client.get(f"/api/v1/products/{RED_BAG}").status_code == 404
    assert client.get(f"/api/v1/products/{RED_BAG}/similar").status_code == 404
    found = client.post("/api/v1/search/image", data={"image": (io.BytesIO(photo), "p.png"), "k": "20"},
                        content_type="multipart/form-data").json["results"]
    assert RED_BAG not in ids(found) and len(found) == len(TABLE) - 1
    similar = client.get(f"/api/v1/products/{BLACK_TSHIRT}/similar?k=20").json["results"]
    assert RED_BAG not in ids(similar) and len(similar) == len(TABLE) - 2
    variant_id = client.get(f"{PRODUCTS}/{RED_BAG}", headers=as_admin).json["variants"][0]["id"]
    client.patch(f"{VARIANTS}/{variant_id}", headers=as_admin, json={"stock": 2})
    cart = client.post("/api/v1/cart/items", headers=bearer(customer["access_token"]),
                       json={"variant_id": variant_id, "quantity": 1})
    assert cart.status_code == 404
    admin_view = client.get(PRODUCTS, headers=as_admin, query_string={"status": "retired"}).json
    assert ids(admin_view["items"]) == [RED_BAG] and admin_view["total"] == 1
    assert client.get(PRODUCTS, headers=as_admin, query_string={"status": "active"}).json["total"] == len(TABLE) - 1

    restored = client.post(f"{PRODUCTS}/{RED_BAG}/restore", headers=as_admin)

    assert restored.status_code == 200 and restored.json["retired"] is False
    assert RED_BAG in listed_ids(client)
    assert client.post("/api/v1/search/image", **upload(photo)).json["results"][0]["id"] == RED_BAG
    assert client.get(f"/api/v1/products/{RED_BAG}").status_code == 200


# ---- variants ----------------------------------------------------------------------------------------------


def test_variants_replace_the_default_keep_stock_summed_and_show_on_the_product_page(client, as_admin):
    assert client.get(f"/api/v1/products/{BLUE_TSHIRT}").json["variants"][0]["stock"] == 3

    small = client.post(f"{PRODUCTS}/{BLUE_TSHIRT}/variants", headers=as_admin,
                        json={"sku": "BT-S", "size": "S", "stock": 2})
    large = client.post(f"{PRODUCTS}/{BLUE_TSHIRT}/variants", headers=as_admin,
                        json={"sku": "BT-L", "size": "L", "colour": "Navy", "price_minor": 1200, "stock": 25})

    assert small.status_code == large.status_code == 201, (small.json, large.json)
    assert large.json == {"id": large.json["id"], "product_id": BLUE_TSHIRT, "sku": "BT-L", "size": "L",
                          "colour": "Navy", "price_minor": 1200, "stock": 25, "is_default": False}
    admin_view = client.get(f"{PRODUCTS}/{BLUE_TSHIRT}", headers=as_admin).json
    assert admin_view["stock"] == 27 and [v["sku"] for v in admin_view["variants"]] == ["BT-S", "BT-L"]
    page = client.get(f"/api/v1/products/{BLUE_TSHIRT}").json
    assert page["variants"] == [
        {"id": small.json["id"], "sku": "BT-S", "size": "S", "colour": None, "price_minor": 1000, "in_stock": True,
         "stock": 2},
        {"id": large.json["id"], "sku": "BT-L", "size": "L", "colour": "Navy", "price_minor": 1200, "in_stock": True,
         "stock": 10},  # capped: shoppers see "10 or more"
    ]

    emptied = client.patch(f"{VARIANTS}/{small.json['id']}", headers=as_admin, json={"stock": 0, "size": "XS"})
    assert emptied.status_code == 200 and (emptied.json["stock"], emptied.json["size"]) == (0, "XS")
    assert client.get(f"{PRODUCTS}/{BLUE_TSHIRT}", headers=as_admin).json["stock"] == 25
    assert client.get(f"/api/v1/products/{BLUE_TSHIRT}").json["variants"][0]["in_stock"] is False
    assert client.delete(f"{VARIANTS}/{large.json['id']}", headers=as_admin).status_code == 204
    after = client.get(f"{PRODUCTS}/{BLUE_TSHIRT}", headers=as_admin).json
    assert (after["stock"], after["in_stock"], len(after["variants"])) == (0, False, 1)
    last = client.delete(f"{VARIANTS}/{small.json['id']}", headers=as_admin)
    assert last.status_code == 409 and last.json["error"]["code"] == "last_variant"


def test_a_variant_that_was_ordered_cannot_be_deleted_and_a_taken_sku_is_a_409(app, client, as_admin):
    first = client.post(f"{PRODUCTS}/{BLUE_TSHIRT}/variants", headers=as_admin, json={"sku": "BT-S", "stock": 1}).json
    client.post(f"{PRODUCTS}/{BLUE_TSHIRT}/variants", headers=as_admin, json={"sku": "BT-M", "stock": 1})
    record_order_of(app, first["id"])

    ordered = client.delete(f"{VARIANTS}/{first['id']}", headers=as_admin)
    assert ordered.status_code == 409 and ordered.json["error"]["code"] == "variant_ordered"
    taken = client.post(f"{PRODUCTS}/{BLACK_TSHIRT}/variants", headers=as_admin, json={"sku": "BT-S", "stock": 9})
    assert taken.status_code == 409 and taken.json["error"]["fields"] == {"sku": ["already taken"]}
    assert client.get(f"{PRODUCTS}/{BLACK_TSHIRT}", headers=as_admin).json["stock"] == 3


def test_a_wrong_variant_is_a_422_naming_each_field(client, as_admin):
    wrong = client.post(f"{PRODUCTS}/{BLUE_TSHIRT}/variants", headers=as_admin,
                        json={"sku": " BT ", "size": "x" * 21, "stock": -1, "price_minor": "cheap"})
    assert wrong.status_code == 422
    assert set(wrong.json["error"]["fields"]) == {"sku", "size", "stock", "price_minor"}
    assert client.post(f"{PRODUCTS}/{BLUE_TSHIRT}/variants", headers=as_admin, json={}).json["error"]["fields"] == {
        "sku": ["Missing data for required field."]}
    variant_id = client.get(f"{PRODUCTS}/{BLUE_TSHIRT}", headers=as_admin).json["variants"][0]["id"]
    edit = client.patch(f"{VARIANTS}/{variant_id}", headers=as_admin, json={"stock": 2**31, "sku": "NEW"})
    assert edit.status_code == 422 and set(edit.json["error"]["fields"]) == {"stock", "sku"}
    too_many = client.post(f"{PRODUCTS}/{BLUE_TSHIRT}/variants", headers=as_admin, json={"sku": "A", "stock": 2**31 - 1})
    assert too_many.status_code == 201
    over = client.post(f"{PRODUCTS}/{BLUE_TSHIRT}/variants", headers=as_admin, json={"sku": "B", "stock": 1})
    assert over.status_code == 422 and over.json["error"]["code"] == "stock_too_large"


# ---- images and labels -------------------------------------------------------------------------------------


def test_an_uploaded_image_is_searchable_at_once_and_answers_the_models_suggestions(client, as_admin):
    new_id = client.post(PRODUCTS, headers=as_admin, json={"name": "Navy chinos", "price_minor": 3900}).json["id"]
    photo = garment_photo("trousers", "blue", seed=4242)

    uploaded = client.post(f"{PRODUCTS}/{new_id}/image", headers=as_admin, **upload(photo, "chinos.png"))

    assert uploaded.status_code == 200, uploaded.json
    suggestions = uploaded.json["suggestions"]
    assert set(suggestions) == {"category", "colour"}
    for guess in suggestions.values():
        assert set(guess) == {"label", "confidence"} and 0 < guess["confidence"] <= 1
    assert uploaded.json["product"]["suggestions"] == suggestions and uploaded.json["product"]["images"]
    # The same picture in another file finds it first (the very same bytes count as the product's own photo).
    again = io.BytesIO()
    Image.open(io.BytesIO(photo)).save(again, "PNG", compress_level=1)
    assert again.getvalue() != photo
    found = client.post("/api/v1/search/image", **upload(again.getvalue())).json["results"]
    assert found[0]["id"] == new_id and found[0]["score"] == pytest.approx(1.0, abs=1e-4)
    image = client.get(f"/api/v1/products/{new_id}/image")
    assert image.status_code == 200 and image.mimetype == "image/webp"


def test_confirming_labels_takes_the_suggestions_and_the_admins_own_values(client, as_admin):
    photo = garment_photo("bag", "white", seed=77)
    suggestions = client.post(f"{PRODUCTS}/{BLACK_TSHIRT}/image", headers=as_admin,
                              **upload(photo)).json["suggestions"]

    confirmed = client.post(f"{PRODUCTS}/{BLACK_TSHIRT}/labels", headers=as_admin,
                            json={"accept": ["category", "colour"], "gender": "Unisex",
                                  "labels": {"usage": "Casual", "subCategory": None}})

    assert confirmed.status_code == 200, confirmed.json
    shown = client.get(f"/api/v1/products/{BLACK_TSHIRT}").json
    assert (shown["category"], shown["colour"], shown["gender"]) == (
        suggestions["category"]["label"], suggestions["colour"]["label"], "Unisex")
    assert shown["labels"] == {"masterCategory": "Apparel", "usage": "Casual"}
    unknown = client.post(f"{PRODUCTS}/{BLACK_TSHIRT}/labels", headers=as_admin, json={"accept": ["season"]})
    assert unknown.status_code == 422 and "accept" in unknown.json["error"]["fields"]
    wrong = client.post(f"{PRODUCTS}/{BLACK_TSHIRT}/labels", headers=as_admin, json={"accept": "category", "colour": 5})
    assert wrong.status_code == 422 and set(wrong.json["error"]["fields"]) == {"accept", "colour"}


@pytest.mark.parametrize("upload_bytes, status, code", [
    (b"plain text, not a photo", 415, "image_not_an_image"),
    (garment_photo("tshirt", "red", seed=5)[:200], 422, "image_corrupt"),  # a truncated PNG
])
def test_a_corrupt_upload_is_refused_with_its_reason_and_changes_nothing(app, client, as_admin, upload_bytes, status,
                                                                         code):
    catalog = app.extensions["lookbook"].catalog
    before = client.get(f"{PRODUCTS}/{BLACK_TSHIRT}", headers=as_admin).json
    stored = catalog.store.get(f"products/{BLACK_TSHIRT}.png")
    size = len(catalog.index)

    refused = client.post(f"{PRODUCTS}/{BLACK_TSHIRT}/image", headers=as_admin, **upload(upload_bytes, "new.jpg"))

    assert refused.status_code == status and refused.json["error"]["code"] == code
    assert "image" in refused.json["error"]["fields"]
    assert client.get(f"{PRODUCTS}/{BLACK_TSHIRT}", headers=as_admin).json == before
    assert catalog.store.get(f"products/{BLACK_TSHIRT}.png") == stored
    assert not catalog.store.exists(f"products/{BLACK_TSHIRT}.jpg")
    assert len(catalog.index) == size
    with catalog.db.session() as session:
        assert session.get(Product, BLACK_TSHIRT).image_sha256 == hashlib.sha256(stored).hexdigest()


def test_an_upload_over_the_size_limit_is_a_413(app, client, as_admin):
    photo = garment_photo("bag", "red", size=256, seed=3)
    app.config["MAX_CONTENT_LENGTH"] = len(photo) // 2

    refused = client.post(f"{PRODUCTS}/{BLACK_TSHIRT}/image", headers=as_admin, **upload(photo))

    assert refused.status_code == 413 and refused.json["error"]["code"] == "payload_too_large"
    assert client.get(f"{PRODUCTS}/{BLACK_TSHIRT}", headers=as_admin).json["suggestions"] == {}


# ---- hostile text ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [*HOSTILE_PARAMS, pytest.param("a\x00b", id="nul")])
def test_hostile_text_in_product_and_variant_fields_comes_back_byte_for_byte_or_is_refused_naming_it(
        client, as_admin, value):
    tried, refused, wrong = [], [], {}

    def stored(response, field, status) -> bool:
        tried.append(field)
        if response.status_code == 422:
            assert field in response.json["error"]["fields"], response.json
            refused.append(field)
            return False
        assert response.status_code == status, response.json
        return True

    def compare(field, shown):
        if any(s != value for s in shown):
            wrong[field] = shown

    def product_views(product_id, field):
        admin_view = client.get(f"{PRODUCTS}/{product_id}", headers=as_admin).json
        return [admin_view[field], client.get(f"/api/v1/products/{product_id}").json[field]]

    for field in ("name", "category", "gender", "colour", "description"):
        created = client.post(PRODUCTS, headers=as_admin, json={**NEW, field: value})
        if stored(created, field, 201):
            compare(field, product_views(created.json["id"], field))
        edited = client.patch(f"{PRODUCTS}/{BLUE_TSHIRT}", headers=as_admin, json={field: value})
        if stored(edited, field, 200):
            compare(field, product_views(BLUE_TSHIRT, field))
    for field in ("category", "gender", "colour"):
        if stored(client.post(f"{PRODUCTS}/{RED_BAG}/labels", headers=as_admin, json={field: value}), field, 200):
            compare(field, product_views(RED_BAG, field))
    labels = client.post(f"{PRODUCTS}/{RED_BAG}/labels", headers=as_admin, json={"labels": {value: value}})
    if stored(labels, "labels", 200):
        compare("labels", [client.get(f"/api/v1/products/{RED_BAG}").json["labels"][value]])
    for field in ("sku", "size", "colour"):
        added = client.post(f"{PRODUCTS}/{BLACK_TSHIRT}/variants", headers=as_admin,
                            json={"sku": f"S-{field}", field: value})
        if stored(added, field, 201):
            page = client.get(f"/api/v1/products/{BLACK_TSHIRT}").json
            compare(field, [v[field] for v in page["variants"] if v["id"] == added.json["id"]])
    variant_id = client.get(f"{PRODUCTS}/{BLACK_TSHIRT}", headers=as_admin).json["variants"][0]["id"]
    for field in ("size", "colour"):
        changed = client.patch(f"{VARIANTS}/{variant_id}", headers=as_admin, json={field: value})
        if stored(changed, field, 200):
            compare(field, [changed.json[field]])

    assert wrong == {}
    if "\x00" in value:  # PostgreSQL cannot store NUL: refused everywhere, on every backend
        assert refused == tried
    assert client.get("/api/v1/products?per_page=100").json["total"] >= len(TABLE)
