"""The storefront in the browser: home, the catalog with filters, product pages, and search by photo.

The catalog fixture holds 12 products, ids 101..112: a t-shirt, trousers and a bag in black (5.00), blue (10.00),
red (19.99, out of stock) and white (25.00); odd ids are for men, even ones for women.
"""

from __future__ import annotations

import io
import re
import time
from dataclasses import replace

from PIL import Image

from conftest import garment_photo
from lookbook.catalog import management, photo_queries
from lookbook.deals import service as deals
from lookbook.feedback import service as feedback
from lookbook.reports.tests.purchases import buy
from lookbook.web import create_app
from lookbook.web.pages.tests.conftest import submit

CARD_NAMES = re.compile(r'<article class="product-card">.*?<h3>(.*?)</h3>', re.DOTALL)
SCORES = re.compile(r'<p class="score">(\d+)% similar</p>')
QUERY_PHOTO = garment_photo("tshirt", "black", seed=999)  # a new photo, not one of the catalog's
TSHIRTS = {"Black tshirt", "Blue tshirt", "Red tshirt", "White tshirt"}


def names(response) -> list[str]:
    return CARD_NAMES.findall(response.get_data(as_text=True))


def text(response) -> str:
    return response.get_data(as_text=True)


def db_session(app):
    return app.extensions["lookbook"].db.session()


def search_photo(client, data: bytes = QUERY_PHOTO, name: str = "photo.png", *, json: bool = False, **fields):
    headers = {"Accept": "application/json"} if json else {}
    return submit(client, "/search/photo", {"image": (io.BytesIO(data), name), **fields}, headers=headers)


def stored_queries(catalog) -> list:
    folder = photo_queries.queries_dir(catalog.paths.home)
    return [p for p in folder.iterdir() if not p.name.startswith(".")] if folder.exists() else []


def assert_no_inline_code(html: str) -> None:
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    assert not re.search(r"<[^>]+\sstyle=", html)
    assert not re.search(r"<[^>]+\son[a-z]+=", html)


# ---- home ------------------------------------------------------------------------------------------------------

def test_home_shows_the_best_deals_and_new_products_in_stock(app, client):
    with db_session(app) as session:
        deals.create_deal(session, name="Trouser week", kind="percent", value=2000, category="Trousers")
    response = client.get("/")
    assert response.status_code == 200
    html = text(response)
    deals_part, featured_part = html.split('id="featured-heading"')
    assert "Best deals" in deals_part and "Trouser week" in deals_part
    assert "8.00 USD" in deals_part and "10.00 USD" in deals_part  # blue trousers: deal price and list price
    assert set(CARD_NAMES.findall(deals_part)) == {"Black trousers", "Blue trousers", "White trousers"}
    featured = CARD_NAMES.findall(featured_part)
    assert len(featured) == 9 and not any(name.startswith("Red") for name in featured)  # in stock only
    assert 'href="/shop?category=Topwear"' in html
    assert 'loading="lazy"' in html and "sizes=" in html and "srcset=" in html
    assert_no_inline_code(html)


# ---- catalog ---------------------------------------------------------------------------------------------------

def test_the_catalog_filters_by_category_gender_colour_price_stock_and_words(client):
    assert len(names(client.get("/shop"))) == 12
    assert set(names(client.get("/shop?category=Tshirts"))) == TSHIRTS
    assert set(names(client.get("/shop?category=topwear"))) == TSHIRTS  # a broad category, any case
    assert set(names(client.get("/shop?gender=Women&category=Handbags"))) == {"Blue bag", "White bag"}
    assert set(names(client.get("/shop?colour=Blue"))) == {"Blue tshirt", "Blue trousers", "Blue bag"}
    # Prices in major units, exactly: 19.99 means 1999 minor units, not 1998.99...
    assert set(names(client.get("/shop?category=Tshirts&min_price=10&max_price=19.99"))) == {"Blue tshirt", "Red tshirt"}
    assert set(names(client.get("/shop?category=Tshirts&min_price=19,99"))) == {"Red tshirt", "White tshirt"}
    assert set(names(client.get("/shop?category=Tshirts&in_stock=true"))) == TSHIRTS - {"Red tshirt"}
    assert set(names(client.get("/shop?q=BLACK+tsh"))) == {"Black tshirt"}
    assert names(client.get("/shop?sort=-price&category=Bags"))[0] == "White bag"
    none = client.get("/shop?q=velvet")
    assert none.status_code == 200 and "No products match" in text(none)


def test_the_catalog_offers_the_values_the_catalog_has(client):
    html = text(client.get("/shop?category=Tshirts"))
    for value in ("Apparel", "Topwear", "Bags", "Handbags", "Trousers", "Men", "Women", "Blue", "White"):
        assert f'<option value="{value}"' in html
    assert '<option value="Tshirts" selected>' in html
    assert '<label for="f-category">' in html and '<label for="f-min_price">' in html
    assert_no_inline_code(html)


def test_the_catalog_pages_through_results_and_keeps_the_filters(client):
    first = client.get("/shop?per_page=5&in_stock=true")
    html = text(first)
    assert len(names(first)) == 5 and "Page 1 of 2" in html
    next_link = re.search(r'<a rel="next" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "in_stock=true" in next_link and "page=2" in next_link
    second = client.get(next_link)
    assert len(names(second)) == 4 and "Page 2 of 2" in text(second)
    assert not set(names(first)) & set(names(second))
    assert "There is no page 9" in text(client.get("/shop?per_page=5&page=9"))


def test_a_filter_that_makes_no_sense_gets_a_message_and_the_unfiltered_catalog(client):
    for query in ("min_price=abc", "max_price=12.345", "min_price=-5", "min_price=NaN", "max_price=1e9",
                  "sort=cheapest", "page=0", "in_stock=maybe", "colour=" + "x" * 500, "q=%00"):
        response = client.get(f"/shop?category=Tshirts&{query}")
        assert response.status_code == 422, query
        html = text(response)
        assert "We could not use these filters" in html, query
        assert len(names(response)) == 12, query  # nothing filtered, not even the valid category
    bad_price = text(client.get("/shop?min_price=abc"))
    assert "enter an amount like 12.50" in bad_price
    assert 'id="f-min_price"' in bad_price and 'aria-invalid="true"' in bad_price


# ---- product page ----------------------------------------------------------------------------------------------

def test_a_product_page_shows_the_product_its_price_and_similar_items_and_asks_visitors_to_log_in(app, client):
    with db_session(app) as session:
        deals.create_deal(session, name="Blue Monday", kind="percent", value=1000, product_id=102)
    response = client.get("/products/102")
    assert response.status_code == 200
    html = text(response)
    assert "<h1>Blue tshirt</h1>" in html
    assert "9.00 USD" in html and "10.00 USD" in html and "Blue Monday" in html
    assert "In stock" in html and "Topwear" in html and "Tshirts" in html
    assert 'srcset="/api/v1/products/102/image?width=160' in html and 'sizes="' in html
    assert 'alt="Blue tshirt"' in html
    assert 'href="/login?next=/products/102"' in html and "Log in to buy" in html
    assert "/account/cart/items" not in html and "/account/likes" not in html
    similar = html.split('id="similar-heading"')[1]
    assert len(CARD_NAMES.findall(similar)) == 8 and "Blue tshirt" not in CARD_NAMES.findall(similar)
    scores = [int(s) for s in SCORES.findall(similar)]
    assert len(scores) == 8 and scores == sorted(scores, reverse=True)
    assert_no_inline_code(html)


def test_a_customer_gets_the_buy_and_like_forms_and_an_admin_neither(app, shopper, admin_browser):
    with db_session(app) as session:
        management.add_variant(session, product_id=104, sku="WT-S", size="S", stock_count=2)
        management.add_variant(session, product_id=104, sku="WT-M", size="M", stock_count=0)
        management.add_variant(session, product_id=104, sku="WT-L", size="L", stock_count=30)
    html = text(shopper.get("/products/104"))
    form = re.search(r'<form class="buy-form" method="post" action="/account/cart/items">(.*?)</form>', html, re.DOTALL).group(1)
    assert 'name="csrf_token"' in form and 'name="next" value="/products/104"' in form
    assert '<label for="variant_id">' in form and '<label for="quantity">' in form
    assert re.search(r'<option value="\d+" selected>S — only 2 left</option>', form)
    assert re.search(r'<option value="\d+" disabled>M — out of stock</option>', form)
    assert re.search(r'<option value="\d+">L</option>', form)
    assert 'action="/account/likes/104"' in html and "Log in to buy" not in html
    assert "Customers who bought this product can review it" in html

    boss = text(admin_browser.get("/products/104"))
    assert "/account/cart/items" not in boss and "/account/likes" not in boss and "Log in to buy" not in boss
    assert "S — only 2 left" in boss  # the sizes are still listed


def test_a_customer_who_liked_a_product_gets_the_unlike_form(app, shopper):
    from lookbook.accounts import preferences

    with db_session(app) as session:
        preferences.like_product(session, user_id=shopper.account["user"]["id"], product_id=101)
    html = text(shopper.get("/products/101"))
    assert 'action="/account/likes/101/remove"' in html and "You like this." in html


def test_reviews_show_their_average_and_hostile_text_inert_and_buyers_get_the_review_form(app, shopper, customer):
    from lookbook.web.tests.conftest import register

    other = register(app.test_client(), name="Mallory <img src=x onerror=alert(1)> Hacker")
    db = app.extensions["lookbook"].db
    assert buy(db, user_id=other["user"]["id"], product_ids=[101]) == [101]
    assert buy(db, user_id=customer["user"]["id"], product_ids=[101]) == [101]
    with db_session(app) as session:
        feedback.create_review(session, user_id=other["user"]["id"], product_id=101, rating=2,
                               title="<b>loud</b>", body="<script>alert('owned')</script>\nsecond line")
    html = text(shopper.get("/products/101"))
    reviews = html.split('id="reviews-heading"')[1]
    assert "2.0 out of 5 stars on average, from 1 review." in reviews
    assert "&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt;" in reviews and "<script>alert" not in html
    assert "&lt;b&gt;loud&lt;/b&gt;" in reviews and "<b>loud" not in html
    assert "Mallory," in reviews and "onerror" not in html  # first name only
    form = re.search(r'<form class="review-form" method="post" action="/account/reviews">(.*?)</form>', html, re.DOTALL).group(1)
    assert 'name="product_id" value="101"' in form and 'name="rating"' in form and 'name="body"' in form
    assert 'name="csrf_token"' in form

    with db_session(app) as session:
        feedback.create_review(session, user_id=customer["user"]["id"], product_id=101, rating=5, body="Great")
    html = text(shopper.get("/products/101"))
    assert "3.5 out of 5 stars on average, from 2 reviews." in html
    assert "You reviewed this product" in html and "review-form" not in html


def test_an_unknown_or_retired_product_gets_the_404_page(app, client):
    with db_session(app) as session:
        management.retire_product(session, product_id=112)
    for url in ("/products/999999", "/products/112", "/products/99999999999999999999999", "/products/abc"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.mimetype == "text/html" and "We could not find that page or product" in text(response)
    assert "White bag" not in names(client.get("/shop"))


# ---- search by photo -------------------------------------------------------------------------------------------

def test_a_photo_search_redirects_to_results_with_their_similarity_and_the_photo(client, catalog):
    response = search_photo(client)
    assert response.status_code == 303
    location = response.headers["Location"]
    query_id = re.fullmatch(r"/search/photo/([A-Za-z0-9_-]{43})", location).group(1)
    results = client.get(location)
    assert results.status_code == 200
    html = text(results)
    found = names(results)
    assert len(found) == 12 and found[0].startswith("Black")
    scores = [int(s) for s in SCORES.findall(html)]
    assert len(scores) == 12 and scores == sorted(scores, reverse=True)
    assert f'src="/search/photo/{query_id}/thumbnail"' in html and 'alt="The photo you searched with"' in html
    assert_no_inline_code(html)

    thumbnail = client.get(f"/search/photo/{query_id}/thumbnail")
    assert thumbnail.status_code == 200 and thumbnail.mimetype == "image/webp"
    assert max(Image.open(io.BytesIO(thumbnail.data)).size) <= 320
    assert client.get(f"/search/photo/{query_id}/thumbnail", headers={"If-None-Match": thumbnail.headers["ETag"]}
                      ).status_code == 304
    assert len(stored_queries(catalog)) == 1


def test_a_catalog_photo_does_not_find_its_own_product(client, catalog):
    from lookbook.catalog.tests.test_search_service import BY_ID

    response = client.get(search_photo(client, BY_ID[111]["photo"]).headers["Location"])
    assert "Red bag" not in names(response) and len(names(response)) == 11


def test_the_photo_search_script_gets_the_results_address_as_json(client):
    response = search_photo(client, json=True)
    assert response.status_code == 200 and response.is_json
    assert re.fullmatch(r"/search/photo/[A-Za-z0-9_-]{43}", response.json["location"])
    assert client.get(response.json["location"]).status_code == 200


def test_bad_photos_get_a_friendly_message_and_store_nothing(client, catalog):
    corrupt = garment_photo("bag", "red", fmt="JPEG")[:300]
    document = b"Dear shop, this is not a photo at all."
    for data, name, status, words in ((corrupt, "bag.jpg", 422, "damaged or incomplete"),
                                      (document, "letter.txt", 415, "not a photo we can read"),
                                      (b"", "empty.png", 422, "Choose a photo")):
        page = search_photo(client, data, name)
        assert page.status_code == 422 and page.mimetype == "text/html", name
        html = text(page)
        assert words in html and '<details class="photo-search" open>' in html, name
        assert '<p class="flash flash-error" role="alert">' in html, name
        script = search_photo(client, data, name, json=True)
        assert script.status_code == status and words in script.json["message"], name
    form_page = client.get("/search/photo")
    assert form_page.status_code == 200 and '<details class="photo-search" open>' in text(form_page)
    missing = submit(client, "/search/photo", {}, headers={"Accept": "application/json"})
    assert missing.status_code == 422 and "Choose a photo" in missing.json["message"]
    assert stored_queries(catalog) == []


def test_an_oversized_upload_gets_a_friendly_answer_on_both_paths(app, client, catalog):
    app.config["MAX_CONTENT_LENGTH"] = 50_000
    big = b"\xff\xd8\xff" + b"0" * 60_000
    script = search_photo(client, big, json=True)
    assert script.status_code == 413 and "larger than the" in script.json["message"]
    page = search_photo(client, big)
    assert page.status_code == 413 and page.mimetype == "text/html"
    assert "larger than the" in text(page) and '<details class="photo-search" open>' in text(page)
    assert stored_queries(catalog) == []


def test_photo_results_narrow_by_category_price_and_stock_without_uploading_again(client):
    location = search_photo(client, category="Trousers").headers["Location"]
    assert "category=Trousers" in location
    assert set(names(client.get(location))) == {"Black trousers", "Blue trousers", "Red trousers", "White trousers"}
    base = location.split("?")[0]
    assert set(names(client.get(f"{base}?category=Bags&max_price=10"))) == {"Black bag", "Blue bag"}
    assert set(names(client.get(f"{base}?category=Tshirts&in_stock=true"))) == TSHIRTS - {"Red tshirt"}
    narrowed = text(client.get(f"{base}?category=Bags"))
    assert '<option value="Bags" selected>' in narrowed and "with these filters" in narrowed
    bad = client.get(f"{base}?category=Bags&min_price=cheap")
    assert bad.status_code == 422 and "enter an amount like 12.50" in text(bad) and len(names(bad)) == 12
    refused = search_photo(client, json=True, max_price="ten")
    assert refused.status_code == 422 and "enter an amount like 12.50" in refused.json["message"]


def test_an_unknown_expired_or_crafted_query_id_gets_a_friendly_404(client, catalog):
    home = catalog.paths.home
    unknown = "A" * 43
    old = photo_queries.save_query(home, vector=[0.5, 0.5], image_bytes=QUERY_PHOTO, now=time.time() - 2 * 86400)
    for query_id in (unknown, old, "x" * 44, "%2e%2e", "A" * 42 + "%0A"):
        page = client.get(f"/search/photo/{query_id}")
        assert page.status_code == 404, query_id
        html = text(page)
        assert "This photo search is no longer here" in html and '<details class="photo-search" open>' in html
        assert client.get(f"/search/photo/{query_id}/thumbnail").status_code == 404, query_id
    for path in ("..%2F..%2Fetc%2Fpasswd", "..%2Fqueries", "%2Fetc%2Fpasswd"):
        assert client.get(f"/search/photo/{path}").status_code == 404, path
        assert client.get(f"/search/photo/{path}/thumbnail").status_code == 404, path
    for crafted in ("../queries", "/etc/passwd", "..", "a/b", "A" * 42 + "/", "A" * 42 + "\n"):
        assert photo_queries.load_query(home, crafted) is None and photo_queries.load_thumbnail(home, crafted) is None
    fresh = photo_queries.save_query(home, vector=[0.5, 0.5], image_bytes=QUERY_PHOTO)  # and prunes the old one
    assert [p.name for p in stored_queries(catalog)] == [fresh]
    assert photo_queries.load_query(home, fresh).sha256 == __import__("hashlib").sha256(QUERY_PHOTO).hexdigest()


def test_photo_searches_share_the_api_rate_limit(settings, catalog):
    limited = create_app(replace(settings, rate_limits_enabled=True, rate_limit_search="2 per minute"), catalog=catalog)
    browser = limited.test_client()
    assert search_photo(browser).status_code == 303
    assert search_photo(browser, json=True).status_code == 200
    script = search_photo(browser, json=True)
    assert script.status_code == 429 and "Too many searches" in script.json["message"]
    page = search_photo(browser)
    assert page.status_code == 429 and page.mimetype == "text/html"
    assert browser.get("/shop").status_code == 200  # browsing is not limited



def test_stored_photo_queries_are_capped_and_pruned_oldest_first(tmp_path):
    now = time.time()
    ids = [photo_queries.save_query(tmp_path, vector=[1.0, 0.0], image_bytes=QUERY_PHOTO, now=now - 60 * (3 - i))
           for i in range(3)]
    assert photo_queries.prune(tmp_path, now=now, keep=2) == 1
    assert photo_queries.load_query(tmp_path, ids[0], now=now) is None
    assert photo_queries.load_query(tmp_path, ids[2], now=now).vector.tolist() == [1.0, 0.0]
    assert photo_queries.prune(tmp_path, now=now + photo_queries.MAX_AGE + 60) == 2
    assert list(photo_queries.queries_dir(tmp_path).iterdir()) == []

