"""Deals and coupons over HTTP: admin CRUD and its errors, the best-deals list, sale prices on every product
view (gone once a deal ends), and deal alerts to opted-in customers."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from conftest import garment_photo
from lookbook.accounts.models import StylePreferences, User
from lookbook.catalog.models import Product, ProductVariant
from lookbook.catalog.tests.test_search_service import BLACK_TSHIRT, BLUE_TSHIRT, RED_BAG, RED_TSHIRT, WHITE_TSHIRT
from lookbook.deals import pricing
from lookbook.deals.tests.conftest import at
from lookbook.notifications.models import Notification
from lookbook.web.tests.conftest import bearer, register

DEALS, COUPONS = "/api/v1/admin/deals", "/api/v1/admin/coupons"
MARCH = {"starts_at": "2031-03-01T00:00:00Z", "ends_at": "2031-03-08T00:00:00Z"}
BLACK_TROUSERS, BLUE_TROUSERS, WHITE_BAG = 105, 106, 112


def _iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def headers(admin) -> dict:
    return bearer(admin["access_token"])


@pytest.fixture
def clock(monkeypatch):
    """Set the time the deals are judged by: ``clock(at(4))``."""
    def set_time(moment):
        monkeypatch.setattr(pricing, "now_utc", lambda: moment)
    return set_time


def _create(client, headers, url=DEALS, **fields):
    response = client.post(url, headers=headers, json=fields)
    assert response.status_code == 201, response.json
    return response.json


# ---- admin CRUD -------------------------------------------------------------------------------------------------


def test_admins_create_list_change_and_deactivate_deals(client, headers, clock):
    clock(at(4))
    tees = _create(client, headers, name="Tee week", kind="percent", value=1500, category="Tshirts", **MARCH)
    bag = _create(client, headers, name="Bag of the day", kind="fixed", value=300, product_id=RED_BAG,
                  starts_at="2031-03-05T12:00:00+02:00")

    assert {k: tees[k] for k in ("name", "kind", "value", "target", "category", "product_id", "active", "status")} == {
        "name": "Tee week", "kind": "percent", "value": 1500, "target": "category", "category": "Tshirts",
        "product_id": None, "active": True, "status": "live"}
    assert (tees["starts_at"], tees["ends_at"]) == ("2031-03-01T00:00:00+00:00", "2031-03-08T00:00:00+00:00")
    assert (bag["target"], bag["starts_at"], bag["ends_at"], bag["status"]) == (
        "product", "2031-03-05T10:00:00+00:00", None, "scheduled")
    listed = client.get(DEALS, headers=headers).json
    assert [d["id"] for d in listed["items"]] == [bag["id"], tees["id"]] and listed["total"] == 2

    changed = client.patch(f"{DEALS}/{tees['id']}", headers=headers, json={"value": 2000, "category": None})
    assert changed.status_code == 200
    assert (changed.json["value"], changed.json["target"]) == (2000, "everything")
    gone = client.delete(f"{DEALS}/{tees['id']}", headers=headers)
    assert gone.status_code == 200 and (gone.json["active"], gone.json["status"]) == (False, "inactive")
    assert client.get(f"{DEALS}/{tees['id']}", headers=headers).json["active"] is False
    assert [d["id"] for d in client.get(f"{DEALS}?active=true", headers=headers).json["items"]] == [bag["id"]]
    clock(at(9))
    assert client.get(f"{DEALS}/{tees['id']}", headers=headers).json["status"] == "inactive"
    assert client.patch(f"{DEALS}/{tees['id']}", headers=headers, json={"active": True}).json["status"] == "ended"


BAD_DEALS = [  # (fields over a valid deal, the field the 422 must name)
    ({"kind": "half"}, "kind"),
    ({"kind": None}, "kind"),
    ({"value": 0}, "value"),
    ({"value": 10_001}, "value"),
    ({"value": "lots"}, "value"),
    ({"ends_at": "2031-02-28T00:00:00Z"}, "ends_at"),
    ({"ends_at": "2031-03-01T00:00:00Z"}, "ends_at"),
    ({"starts_at": "1999-12-31T23:59:59Z"}, "starts_at"),
    ({"ends_at": "9999-12-31T23:59:59-23:59"}, "ends_at"),
    ({"starts_at": "tomorrow"}, "starts_at"),
    ({"product_id": 999_999}, "product_id"),
    ({"product_id": RED_BAG, "category": "Bags"}, "product_id"),
    ({"category": ""}, "category"),
    ({"name": ""}, "name"),
    ({"name": "a\x00b"}, "name"),
    ({"used_count": 3}, "used_count"),
]
BAD_COUPONS = [
    ({"code": "two words"}, "code"),
    ({"code": "SALE\n"}, "code"),
    ({"code": "\u017fale"}, "code"),  # "ſale": upper-cases to SALE, but is not what the admin may type
    ({"code": "X" * 41}, "code"),
    ({"kind": "bogo"}, "kind"),
    ({"value": 0}, "value"),
    ({"kind": "percent", "value": 10_001}, "value"),
    ({"min_order_minor": -1}, "min_order_minor"),
    ({"usage_limit": 0}, "usage_limit"),
    ({"starts_at": "2031-03-02T00:00:00Z", "ends_at": "2031-03-01T00:00:00Z"}, "ends_at"),
    ({"used_count": 3}, "used_count"),
]


def test_a_bad_deal_or_coupon_is_a_422_naming_the_field_and_nothing_is_created(client, headers):
    cases = [(DEALS, {"name": "Sale", "kind": "percent", "value": 1000, "starts_at": "2031-03-01T00:00:00Z"}, bad)
             for bad in BAD_DEALS]
    cases += [(COUPONS, {"code": "OK", "kind": "fixed", "value": 500}, bad) for bad in BAD_COUPONS]

    for url, valid, (fields, field) in cases:
        response = client.post(url, headers=headers, json={**valid, **fields})
        assert response.status_code == 422 and field in response.json["error"]["fields"], (fields, response.json)
    assert client.get(DEALS, headers=headers).json["total"] == 0
    assert client.get(COUPONS, headers=headers).json["total"] == 0


def test_a_bad_change_is_a_422_naming_the_field_and_the_deal_stays_as_it_was(client, headers):
    deal = _create(client, headers, name="Sale", kind="fixed", value=50_000, **MARCH)

    for changes, field in [({"kind": "percent"}, "value"), ({"starts_at": "2031-03-09T00:00:00Z"}, "ends_at"),
                           ({"name": None}, "name"), ({"category": "Bags", "product_id": RED_BAG}, "product_id")]:
        response = client.patch(f"{DEALS}/{deal['id']}", headers=headers, json=changes)
        assert response.status_code == 422 and field in response.json["error"]["fields"], (changes, response.json)
    unchanged = {k: v for k, v in deal.items() if k != "alerts_sent"}
    assert client.get(f"{DEALS}/{deal['id']}", headers=headers).json == unchanged


def test_admins_create_change_and_deactivate_coupons_with_unique_upper_case_codes(client, headers):
    coupon = _create(client, headers, COUPONS, code="spring-25", kind="percent", value=2500, min_order_minor=5000,
                     usage_limit=100, **MARCH)
    shown = ("code", "kind", "value", "min_order_minor", "usage_limit", "used_count", "active")
    assert {k: coupon[k] for k in shown} == {
        "code": "SPRING-25", "kind": "percent", "value": 2500, "min_order_minor": 5000, "usage_limit": 100,
        "used_count": 0, "active": True}

    taken = client.post(COUPONS, headers=headers, json={"code": "Spring-25", "kind": "fixed", "value": 100})
    assert taken.status_code == 409 and taken.json["error"]["code"] == "coupon_code_taken"
    assert "code" in taken.json["error"]["fields"]
    other = _create(client, headers, COUPONS, code="WELCOME", kind="fixed", value=500)
    assert client.patch(f"{COUPONS}/{other['id']}", headers=headers, json={"code": "spring-25"}).status_code == 409
    read_only = client.patch(f"{COUPONS}/{coupon['id']}", headers=headers, json={"used_count": 0})
    assert read_only.status_code == 422 and "used_count" in read_only.json["error"]["fields"]
    changed = client.patch(f"{COUPONS}/{coupon['id']}", headers=headers, json={"usage_limit": None, "value": 3000})
    assert changed.status_code == 200 and (changed.json["usage_limit"], changed.json["value"]) == (None, 3000)
    gone = client.delete(f"{COUPONS}/{other['id']}", headers=headers)
    assert gone.status_code == 200 and (gone.json["active"], gone.json["status"]) == (False, "inactive")
    assert [c["code"] for c in client.get(COUPONS, headers=headers).json["items"]] == ["WELCOME", "SPRING-25"]
    assert [c["code"] for c in client.get(f"{COUPONS}?active=false", headers=headers).json["items"]] == ["WELCOME"]


def test_unknown_deal_and_coupon_ids_are_404(client, headers):
    for url, code in ((f"{DEALS}/4242", "deal_not_found"), (f"{COUPONS}/4242", "coupon_not_found")):
        for method, body in (("GET", None), ("PATCH", {"active": True}), ("DELETE", None)):
            response = client.open(url, method=method, headers=headers, json=body)
            assert (response.status_code, response.json["error"]["code"]) == (404, code), (method, url)


def test_customers_may_not_run_deals_or_coupons(client, customer, headers):
    deal = _create(client, headers, name="Sale", kind="percent", value=1000)
    coupon = _create(client, headers, COUPONS, code="SALE", kind="percent", value=1000)
    shopper = bearer(customer["access_token"])

    for method, url, body in [("GET", DEALS, None), ("POST", DEALS, {"name": "Mine", "kind": "percent", "value": 9000}),
                              ("PATCH", f"{DEALS}/{deal['id']}", {"value": 9000}),
                              ("DELETE", f"{DEALS}/{deal['id']}", None), ("GET", COUPONS, None),
                              ("POST", COUPONS, {"code": "FREE", "kind": "percent", "value": 10000}),
                              ("PATCH", f"{COUPONS}/{coupon['id']}", {"value": 9000}),
                              ("DELETE", f"{COUPONS}/{coupon['id']}", None)]:
        refused = client.open(url, method=method, headers=shopper, json=body)
        assert (refused.status_code, refused.json["error"]["code"]) == (403, "forbidden"), (method, url)
        assert client.open(url, method=method, json=body).status_code == 401
    assert client.get(f"{DEALS}/{deal['id']}", headers=headers).json["value"] == 1000
    assert client.get(COUPONS, headers=headers).json["total"] == 1


# ---- best deals and prices shown with deals ----------------------------------------------------------------------


def _cart_unit_price(app, product_id: int) -> int:
    """What pricing.quote charges for one of the product in a cart, now."""
    with app.extensions["lookbook"].db.session() as session:
        variant, product = session.execute(select(ProductVariant, Product).join(Product)
                                           .where(Product.id == product_id)).first()
        return pricing.quote(session, [(variant, product, 1)]).lines[0].price.unit_minor


def test_best_deals_rank_in_stock_offers_by_percentage_then_saving_at_the_price_the_cart_charges(app, client, headers,
                                                                                                 clock):
    clock(at(4))
    _create(client, headers, name="Tees", kind="percent", value=2000, category="Tshirts", **MARCH)
    _create(client, headers, name="Trousers", kind="fixed", value=250, category="Bottomwear", **MARCH)
    _create(client, headers, name="White bag", kind="percent", value=3000, product_id=WHITE_BAG, **MARCH)
    _create(client, headers, name="Later", kind="percent", value=9000, starts_at="2031-03-05T00:00:00Z",
            ends_at="2031-03-06T00:00:00Z")

    response = client.get("/api/v1/deals/best?limit=5")

    assert response.status_code == 200 and response.headers["Cache-Control"] == "public, max-age=60"
    items = response.json["items"]
    assert [(i["product"]["id"], i["deal_name"], i["list_price_minor"], i["deal_price_minor"], i["saving_minor"],
             i["saving_percent"]) for i in items] == [
        (BLACK_TROUSERS, "Trousers", 500, 250, 250, 50),   # 50 %
        (WHITE_BAG, "White bag", 2500, 1750, 750, 30),     # 30 %
        (BLUE_TROUSERS, "Trousers", 1000, 750, 250, 25),     # 25 %
        (WHITE_TSHIRT, "Tees", 2500, 2000, 500, 20),       # 20 %, the largest saving first
        (BLUE_TSHIRT, "Tees", 1000, 800, 200, 20),         # the red tee is out of stock
    ]
    assert all(i["ends_at"] == "2031-03-08T00:00:00+00:00" and i["currency"] == "USD" for i in items)
    assert all(i["deal_price_minor"] == _cart_unit_price(app, i["product"]["id"]) for i in items)
    listed = client.get("/api/v1/products?category=Tshirts").json["items"]
    assert items[3]["product"] == next(p for p in listed if p["id"] == WHITE_TSHIRT)  # the products API's shape
    assert items[3]["product"]["sale_price_minor"] == 2000
    assert [i["product"]["id"] for i in client.get("/api/v1/deals/best?limit=2").json["items"]] == [BLACK_TROUSERS,
                                                                                                  WHITE_BAG]
    assert client.get("/api/v1/deals/best?limit=0").status_code == 422
    clock(at(9))
    assert client.get("/api/v1/deals/best").json == {"items": []}


def test_every_product_view_shows_the_deal_price_while_the_deal_runs_and_not_after(client, headers, clock):
    _create(client, headers, name="Tee week", kind="percent", value=1000, category="Topwear", **MARCH)
    photo = garment_photo("tshirt", "black", seed=999)

    def views() -> dict[str, dict]:
        """The black tee (500 minor units) as each product view shows it."""
        listed = client.get("/api/v1/products?category=Tshirts&per_page=10").json["items"]
        similar = client.get(f"/api/v1/products/{BLUE_TSHIRT}/similar?k=11").json["results"]
        found = client.post("/api/v1/search/image", data={"image": (io.BytesIO(photo), "q.png"), "k": "11"}).json
        return {"list": next(p for p in listed if p["id"] == BLACK_TSHIRT),
                "detail": client.get(f"/api/v1/products/{BLACK_TSHIRT}").json,
                "similar": next(p for p in similar if p["id"] == BLACK_TSHIRT),
                "search": next(p for p in found["results"] if p["id"] == BLACK_TSHIRT)}

    def deal_fields(view: dict) -> tuple:
        return view["price_minor"], view.get("sale_price_minor"), view.get("deal")

    running = (500, 450, {"name": "Tee week", "ends_at": "2031-03-08T00:00:00+00:00"})
    for moment, expected in [(at(1) - timedelta(seconds=1), (500, None, None)), (at(1), running), (at(7, 23), running),
                             (at(8), (500, None, None))]:
        clock(moment)
        assert {name: deal_fields(view) for name, view in views().items()} == dict.fromkeys(
            ["list", "detail", "similar", "search"], expected), moment
    clock(at(4))
    bag = client.get(f"/api/v1/products/{RED_BAG}").json
    assert "sale_price_minor" not in bag and "deal" not in bag  # not Topwear
    assert client.get(f"/api/v1/products/{RED_TSHIRT}").json["sale_price_minor"] == 1799  # 19.99 less 2.00 (rounded)


# ---- deal alerts ------------------------------------------------------------------------------------------------


def test_a_new_deal_alerts_exactly_the_opted_in_customers_whose_preferences_match(app, client, headers):
    def shopper(name: str, *, deals: bool, categories: list[str] | None) -> int:
        body = register(client, name=name)
        if deals:
            opt_in = client.patch("/api/v1/me", headers=bearer(body["access_token"]),
                                  json={"email_preferences": {"deals": True}})
            assert opt_in.status_code == 200 and opt_in.json["email_preferences"]["deals"] is True
        if categories is not None:
            with app.extensions["lookbook"].db.session() as session:
                session.add(StylePreferences(user_id=body["user"]["id"], categories=categories, sizes=[], colours=[]))
        return body["user"]["id"]

    shopper("Tess", deals=True, categories=["Tshirts"])
    shopper("Bea", deals=True, categories=["Handbags"])
    shopper("Nina", deals=True, categories=None)
    shopper("Otto", deals=False, categories=["Tshirts"])

    def alerted() -> dict[str, list[str]]:
        with app.extensions["lookbook"].db.session() as session:
            rows = session.execute(select(User.name, Notification.title).join(User, User.id == Notification.user_id)
                                   .where(Notification.kind == "deal").order_by(Notification.id))
            found: dict[str, list[str]] = {}
            for name, title in rows:
                found.setdefault(name, []).append(title)
            return found

    assert _create(client, headers, name="Tees", kind="percent", value=1000, category="Topwear")["alerts_sent"] == 1
    black_tee = _create(client, headers, name="Black tee", kind="fixed", value=100, product_id=BLACK_TSHIRT)
    assert black_tee["alerts_sent"] == 1
    everything = _create(client, headers, name="All", kind="percent", value=500, active=False)
    assert everything["alerts_sent"] == 0
    assert client.patch(f"{DEALS}/{everything['id']}", headers=headers, json={"active": True}).json["alerts_sent"] == 3
    client.delete(f"{DEALS}/{everything['id']}", headers=headers)
    assert client.patch(f"{DEALS}/{everything['id']}", headers=headers, json={"active": True}).json["alerts_sent"] == 0

    assert alerted() == {"Tess": ["New deal: Tees", "New deal: Black tee", "New deal: All"],
                         "Bea": ["New deal: All"], "Nina": ["New deal: All"]}
