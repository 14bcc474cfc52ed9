"""Admin product pages: create with exact prices, edit, retire and restore, variants and stock, and a photo
upload whose predicted labels the admin confirms or corrects; a bad photo gets the loader's message."""

from __future__ import annotations

import io

from conftest import garment_photo
from lookbook.catalog import management
from lookbook.catalog.models import Product
from lookbook.catalog.service import search_by_image
from lookbook.catalog.tests.test_search_service import BLACK_TSHIRT, BY_ID, RED_BAG
from lookbook.web.pages.tests.conftest import submit
from lookbook.web.pages.tests.test_admin_support import db_of, flashes, text

NEW = {"name": "Linen shirt", "price": "0.29", "currency": "eur", "stock": "4", "category": "Shirts",
       "gender": "", "colour": "Sand", "description": "Light.\n<b>Breezy</b>",
       "labels": "masterCategory: Apparel\n\nsubCategory : Topwear"}


def _product(app, product_id: int) -> Product:
    with db_of(app).session() as session:
        return session.get(Product, product_id)


def _variants(app, product_id: int):
    with db_of(app).session() as session:
        return management.variants_of(session, [product_id])[product_id]


def _count(app) -> int:
    with db_of(app).session() as session:
        return session.query(Product).count()


def test_creating_a_product_converts_the_price_exactly_and_keeps_the_labels(app, admin_browser):
    made = submit(admin_browser, "/admin/products/new", NEW)
    assert made.status_code == 303
    product_id = int(made.headers["Location"].rsplit("/", 1)[1])
    product = _product(app, product_id)
    assert product.price_minor == 29  # float arithmetic would make 0.29 * 100 = 28
    assert (product.name, product.currency, product.stock, product.category, product.gender) == (
        "Linen shirt", "EUR", 4, "Shirts", None)
    assert product.labels == {"masterCategory": "Apparel", "subCategory": "Topwear"}
    page = admin_browser.get(made.headers["Location"])
    assert "Linen shirt (#" in " ".join(flashes(page)) and "&lt;b&gt;Breezy&lt;/b&gt;" in text(page)
    assert 'value="0.29"' in text(page)
    listing = text(admin_browser.get("/admin/products?q=linen"))
    assert "Linen shirt" in listing and "Black tshirt" not in listing and "0.29 EUR" in listing


def test_a_bad_product_form_shows_its_problems_and_creates_nothing(app, admin_browser):
    before = _count(app)
    for field, value, message in (("price", "12.505", "at most two decimals"), ("price", "twelve", "such as 12.50"),
                                  ("price", "-3", "0 or more"), ("name", "  ", "blank"),
                                  ("currency", "EURO", "three capital letters"), ("stock", "-1", "greater than"),
                                  ("labels", "no colon here", "name: value")):
        response = submit(admin_browser, "/admin/products/new", {**NEW, field: value})
        assert response.status_code == 422, field
        html = text(response)
        assert message in html and f'aria-describedby="{field}-error"' in html, field
        assert field == "name" or 'value="Linen shirt"' in html  # what was typed stays in the form
    assert _count(app) == before


def test_editing_retiring_and_restoring_a_product(app, admin_browser):
    url = f"/admin/products/{BLACK_TSHIRT}"
    form = {"name": "Black tee", "price": "7.5", "currency": "USD", "category": "Tshirts", "gender": "",
            "colour": "Black", "description": "", "labels": "masterCategory: Apparel"}
    saved = submit(admin_browser, url, form)
    assert saved.status_code == 303
    product = _product(app, BLACK_TSHIRT)
    assert (product.name, product.price_minor, product.gender, product.labels) == (
        "Black tee", 750, None, {"masterCategory": "Apparel"})
    refused = submit(admin_browser, url, {**form, "name": "", "price": "cheap"})
    assert refused.status_code == 422 and _product(app, BLACK_TSHIRT).name == "Black tee"
    assert admin_browser.get("/admin/products/424242").status_code == 404

    assert submit(admin_browser, f"{url}/retire").status_code == 303
    assert _product(app, BLACK_TSHIRT).retired_at is not None
    retired = text(admin_browser.get("/admin/products?status=retired"))
    assert "Black tee" in retired and "Blue tshirt" not in retired
    assert "Put back on sale" in text(admin_browser.get(url))
    assert submit(admin_browser, f"{url}/restore").status_code == 303
    assert _product(app, BLACK_TSHIRT).retired_at is None


def test_variants_and_stock_are_managed_on_the_product_page(app, admin_browser):
    url = f"/admin/products/{RED_BAG}"
    added = submit(admin_browser, f"{url}/variants", {"sku": "BAG-RED-S", "size": "S", "colour": "", "price": "",
                                                      "stock": "5"})
    assert added.status_code == 303
    [variant] = _variants(app, RED_BAG)  # the first real variant replaced the default one
    assert (variant.sku, variant.size, variant.stock, variant.price_minor) == ("BAG-RED-S", "S", 5, None)
    assert _product(app, RED_BAG).stock == 5

    edited = submit(admin_browser, f"/admin/variants/{variant.id}", {"size": "Small", "colour": "Red",
                                                                     "price": "21.10", "stock": "7"})
    assert edited.status_code == 303
    [variant] = _variants(app, RED_BAG)
    assert (variant.size, variant.colour, variant.price_minor, variant.stock) == ("Small", "Red", 2110, 7)
    assert _product(app, RED_BAG).stock == 7

    bad = submit(admin_browser, f"/admin/variants/{variant.id}", {"size": "S", "price": "1.234", "stock": "x"})
    assert bad.status_code == 422 and "at most two decimals" in text(bad) and "Not a valid integer" in text(bad)
    taken = submit(admin_browser, f"{url}/variants", {"sku": "BAG-RED-S", "stock": "1"})
    assert taken.status_code == 422 and "already" in text(taken)
    last = submit(admin_browser, f"/admin/variants/{variant.id}/delete")
    assert last.status_code == 409 and "keeps at least one variant" in text(last)
    assert submit(admin_browser, f"{url}/variants", {"sku": "BAG-RED-L", "size": "L", "stock": "1"}).status_code == 303
    assert submit(admin_browser, f"/admin/variants/{variant.id}/delete").status_code == 303
    assert [v.sku for v in _variants(app, RED_BAG)] == ["BAG-RED-L"]
    assert admin_browser.post("/admin/variants/999999", data={}).status_code == 400  # no CSRF token: refused first
    assert submit(admin_browser, "/admin/variants/999999", {"stock": "1"}).status_code == 404


def test_a_photo_upload_is_searchable_at_once_and_its_predicted_labels_are_confirmed(app, admin_browser):
    made = submit(admin_browser, "/admin/products/new", {**NEW, "category": "", "colour": ""})
    product_id = int(made.headers["Location"].rsplit("/", 1)[1])
    photo = garment_photo("trousers", "blue", seed=77)

    uploaded = submit(admin_browser, f"/admin/products/{product_id}/image",
                      {"image": (io.BytesIO(photo), "trousers.png")}, content_type="multipart/form-data")
    assert uploaded.status_code == 303 and uploaded.headers["Location"] == f"/admin/products/{product_id}/labels"
    catalog = app.extensions["lookbook"].catalog
    assert search_by_image(catalog, photo, k=1, include_self=True)[0].id == product_id  # indexed at once

    page = admin_browser.get(uploaded.headers["Location"])
    html = text(page)
    suggestions = _product(app, product_id).predicted_labels
    assert set(suggestions) >= {"category", "colour"}
    for head, suggestion in suggestions.items():
        assert f'value="{head}"' in html and suggestion["label"] in html
    assert "The photo is saved and searchable now" in " ".join(flashes(page))

    confirmed = submit(admin_browser, f"/admin/products/{product_id}/labels",
                       {"accept": ["category", "colour"], "value-colour": "Navy"})
    assert confirmed.status_code == 303
    product = _product(app, product_id)
    assert product.category == suggestions["category"]["label"]  # taken as suggested
    assert product.colour == "Navy"                              # the typed correction wins
    assert product.image_sha256 is not None


def test_a_corrupt_photo_gets_the_loaders_message_and_changes_nothing(app, admin_browser):
    before = _product(app, BLACK_TSHIRT)
    broken = BY_ID[BLACK_TSHIRT]["photo"][:60]
    for data, message in ((broken, "damaged or incomplete"), (b"%PDF-1.4 not a photo", "not an image")):
        response = submit(admin_browser, f"/admin/products/{BLACK_TSHIRT}/image",
                          {"image": (io.BytesIO(data), "photo.png")}, content_type="multipart/form-data")
        assert response.status_code == 422
        html = text(response)
        assert message in html and 'id="image-error"' in html and "<h1>Black tshirt" in html
    missing = submit(admin_browser, f"/admin/products/{BLACK_TSHIRT}/image", {}, content_type="multipart/form-data")
    assert missing.status_code == 422 and "Choose a photo" in text(missing)
    after = _product(app, BLACK_TSHIRT)
    assert (after.image_sha256, after.image_key, after.predicted_labels) == (
        before.image_sha256, before.image_key, before.predicted_labels)
