"""Products and visual search over HTTP: browsing, caching, product images, photo search, bad uploads."""

from __future__ import annotations

import io

from PIL import Image

from conftest import garment_photo
from lookbook.catalog.tests.test_search_service import BLACK_TSHIRT, BY_ID, RED_BAG, TABLE


def ids(items) -> list[int]:
    return [item["id"] for item in items]


def test_listing_pages_through_the_whole_catalog_in_name_order(client):
    first = client.get("/api/v1/products?per_page=5").json
    rest = [client.get(f"/api/v1/products?per_page=5&page={p}").json for p in (2, 3)]

    assert first["total"] == len(TABLE) and first["pages"] == 3
    names = [i["name"] for page in [first, *rest] for i in page["items"]]
    assert names == sorted(row["name"] for row in TABLE)


def test_listing_filters_by_words_category_colour_gender_price_and_stock(client):
    def listed(query):
        return set(ids(client.get(f"/api/v1/products?per_page=100&{query}").json["items"]))

    assert listed("q=black") == {r["id"] for r in TABLE if "Black" in r["name"]}
    assert listed("q=red%20bag") == {RED_BAG}
    assert listed("category=bottomwear") == {r["id"] for r in TABLE if r["kind"] == "trousers"}
    assert listed("colour=Blue&gender=women") == {r["id"] for r in TABLE if r["colour"] == "Blue" and r["gender"] == "Women"}
    assert listed("min_price_minor=1000&max_price_minor=1999") == {r["id"] for r in TABLE if r["colour"] in ("Blue", "Red")}
    assert listed("in_stock=true") == {r["id"] for r in TABLE if r["stock"] > 0}
    assert listed("q=%25") == set()  # a LIKE wildcard is a literal character, not "everything"


def test_listing_sorts_by_price_both_ways(client):
    up = [i["price_minor"] for i in client.get("/api/v1/products?sort=price&per_page=100").json["items"]]
    down = [i["price_minor"] for i in client.get("/api/v1/products?sort=-price&per_page=100").json["items"]]
    assert up == sorted(up) and down == sorted(down, reverse=True) and up[0] == 500


def test_listing_and_product_answers_carry_etags_and_a_second_visit_downloads_nothing(client):
    first = client.get("/api/v1/products?per_page=3")
    assert first.headers["Cache-Control"] == "public, max-age=60" and first.headers["ETag"]

    again = client.get("/api/v1/products?per_page=3", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    other_page = client.get("/api/v1/products?per_page=3&page=2", headers={"If-None-Match": first.headers["ETag"]})
    assert other_page.status_code == 200


def test_a_product_shows_its_fields_and_image_urls_and_an_unknown_one_is_404(client):
    product = client.get(f"/api/v1/products/{BLACK_TSHIRT}").json

    assert product["name"] == BY_ID[BLACK_TSHIRT]["name"] and product["price_minor"] == 500
    assert product["labels"]["subCategory"] == "Topwear"
    assert "width=320" in product["images"]["thumbnail"] and product["images"]["srcset"].count("w,") == 3
    missing = client.get("/api/v1/products/999999")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "product_not_found"


def test_product_images_come_in_grid_and_detail_sizes_and_versioned_urls_cache_for_a_year(client):
    images = client.get(f"/api/v1/products/{BLACK_TSHIRT}").json["images"]

    thumb = client.get(images["thumbnail"])
    assert thumb.status_code == 200 and thumb.mimetype == "image/webp"
    assert "immutable" in thumb.headers["Cache-Control"] and "max-age=31536000" in thumb.headers["Cache-Control"]
    assert Image.open(io.BytesIO(thumb.data)).width <= 320
    assert client.get(images["thumbnail"], headers={"If-None-Match": thumb.headers["ETag"]}).status_code == 304
    unversioned = client.get(f"/api/v1/products/{BLACK_TSHIRT}/image?width=160")
    assert unversioned.status_code == 200 and "immutable" not in unversioned.headers["Cache-Control"]
    assert client.get(f"/api/v1/products/{BLACK_TSHIRT}/image?width=333").status_code == 422


def test_photo_search_returns_scored_products_most_similar_first(client):
    photo = garment_photo("tshirt", "black", seed=999)

    response = client.post("/api/v1/search/image", data={"image": (io.BytesIO(photo), "me.png"), "k": "4"})
    assert response.status_code == 200
    results = response.json["results"]
    assert len(results) == 4 and results[0]["id"] == BLACK_TSHIRT
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    assert results[0]["images"]["thumbnail"]


def test_photo_search_narrows_by_filters(client):
    photo = garment_photo("tshirt", "black", seed=999)

    response = client.post("/api/v1/search/image", data={
        "image": (io.BytesIO(photo), "me.png"), "k": "10", "category": "Bags", "max_price_minor": "1999"})
    found = ids(response.json["results"])
    assert found and set(found) <= {r["id"] for r in TABLE if r["kind"] == "bag" and r["colour"] != "White"}


def test_similar_items_never_include_the_product_itself(client):
    response = client.get(f"/api/v1/products/{RED_BAG}/similar?k=5")
    assert response.status_code == 200
    found = ids(response.json["results"])
    assert len(found) == 5 and RED_BAG not in found
    assert client.get("/api/v1/products/999999/similar").status_code == 404


def test_bad_uploads_get_a_clear_reason_and_the_right_status(client, app):
    def search(data: bytes, name: str = "x.jpg"):
        return client.post("/api/v1/search/image", data={"image": (io.BytesIO(data), name)})

    not_image = search(b"%PDF-1.4 this is a document", "doc.pdf")
    assert not_image.status_code == 415 and not_image.json["error"]["code"] == "image_not_an_image"
    truncated = search(garment_photo("bag", "red", fmt="JPEG")[:300])
    assert truncated.status_code == 422 and "image" in truncated.json["error"]["fields"]
    missing = client.post("/api/v1/search/image", data={"k": "3"})
    assert missing.status_code == 422 and "image" in missing.json["error"]["fields"]
    bad_k = client.post("/api/v1/search/image", data={"image": (io.BytesIO(garment_photo("bag", "red")), "a.png"), "k": "0"})
    assert bad_k.status_code == 422 and "k" in bad_k.json["error"]["fields"]

    app.config["MAX_CONTENT_LENGTH"] = 50_000
    too_big = search(b"\xff\xd8" + b"0" * 60_000)
    assert too_big.status_code == 413 and too_big.json["error"]["code"] == "payload_too_large"


def test_probes_report_alive_and_ready_with_the_index_loaded(client):
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["products_indexed"] == len(TABLE)
