"""Deals and coupons as services: the rules they keep, the strongest offers, and who hears of a new deal."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lookbook.accounts.roles import Role
from lookbook.catalog.models import Product, ProductVariant
from lookbook.catalog.service import SearchHit
from lookbook.deals import service as deals
from lookbook.deals.models import Coupon, Deal
from lookbook.deals.pricing import active_deals, quote
from lookbook.deals.tests.conftest import add_customer, add_product, at
from lookbook.errors import Conflict, InvalidInput, NotFound
from lookbook.notifications.models import Notification, OutboxEmail

NOW = at(10)
WEEK = {"starts_at": at(1), "ends_at": at(20)}


def _deal(session, **fields) -> Deal:
    deal, _alerted = deals.create_deal(session, **{"name": "Sale", "kind": "percent", "value": 1000, **WEEK, **fields},
                                       now=NOW)
    return deal


def _problem(call) -> InvalidInput | Conflict | NotFound:
    with pytest.raises((InvalidInput, Conflict, NotFound)) as caught:
        call()
    return caught.value


# ---- deals: the rules -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fields, field", [
    ({"kind": "half"}, "kind"),
    ({"value": 0}, "value"),
    ({"value": -5}, "value"),
    ({"kind": "percent", "value": 10_001}, "value"),
    ({"ends_at": at(1)}, "ends_at"),
    ({"starts_at": at(5), "ends_at": at(4)}, "ends_at"),
    ({"product_id": 999}, "product_id"),
    ({"product_id": 1, "category": "Tshirts"}, "category"),
    ({"category": "   "}, "category"),
    ({"name": " "}, "name"),
])
def test_a_deal_that_breaks_a_rule_is_refused_naming_the_field(db, fields, field):
    with db.session() as session:
        add_product(session, 1, price_minor=1000)
        problem = _problem(lambda: _deal(session, **fields))

    assert isinstance(problem, InvalidInput) and field in problem.fields
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Deal)) == 0


def test_a_full_percentage_and_any_positive_fixed_amount_are_valid_deals(db):
    with db.session() as session:
        full = _deal(session, kind="percent", value=10_000)
        fixed = _deal(session, kind="fixed", value=1, ends_at=None)

    assert (full.value, deals.deal_target(full)) == (10_000, "everything")
    assert fixed.ends_at is None and deals.status_of(active=True, starts_at=fixed.starts_at, ends_at=None,
                                                     now=NOW) == "live"


def test_a_deal_targets_a_retired_product_never(db):
    with db.session() as session:
        add_product(session, 1, price_minor=1000, retired=True)
        assert "product_id" in _problem(lambda: _deal(session, product_id=1)).fields


def test_changing_a_deals_target_replaces_the_whole_target(db):
    with db.session() as session:
        add_product(session, 1, price_minor=1000)
        deal = _deal(session, product_id=1)
        deals.update_deal(session, deal_id=deal.id, changes={"category": "Topwear"}, now=NOW)
        assert (deal.product_id, deal.category, deals.deal_target(deal)) == (None, "Topwear", "category")
        deals.update_deal(session, deal_id=deal.id, changes={"category": None}, now=NOW)
        assert deals.deal_target(deal) == "everything"


def test_a_change_is_checked_against_the_whole_deal(db):
    with db.session() as session:
        deal = _deal(session, kind="fixed", value=50_000)
        deal_id = deal.id
        assert "value" in _problem(lambda: deals.update_deal(session, deal_id=deal_id, changes={"kind": "percent"},
                                                             now=NOW)).fields
    with db.session() as session:
        assert "ends_at" in _problem(lambda: deals.update_deal(session, deal_id=deal_id, changes={"starts_at": at(25)},
                                                               now=NOW)).fields
    with db.session() as session:
        assert (session.get(Deal, deal_id).kind, session.get(Deal, deal_id).starts_at) == ("fixed", at(1))


def test_an_unknown_deal_or_coupon_is_not_found(db):
    with db.session() as session:
        for call in (lambda: deals.get_deal(session, deal_id=5),
                     lambda: deals.update_deal(session, deal_id=5, changes={"name": "x"}),
                     lambda: deals.deactivate_deal(session, deal_id=5),
                     lambda: deals.get_coupon(session, coupon_id=5),
                     lambda: deals.update_coupon(session, coupon_id=5, changes={"value": 1}),
                     lambda: deals.deactivate_coupon(session, coupon_id=5)):
            assert isinstance(_problem(call), NotFound)


def test_a_deactivated_deal_no_longer_prices_anything_and_is_listed_as_inactive(db):
    with db.session() as session:
        deal = _deal(session)
        deals.deactivate_deal(session, deal_id=deal.id)

        assert active_deals(session, NOW) == []
        assert deals.list_deals(session, active=False) == ([deal], 1)
        assert deals.list_deals(session, active=True) == ([], 0)


# ---- coupons --------------------------------------------------------------------------------------------------


def test_a_coupon_code_is_stored_upper_case_and_unique_whatever_the_case(db):
    with db.session() as session:
        coupon = deals.create_coupon(session, code="spring-25_a", kind="percent", value=2500, now=NOW)
        assert coupon.code == "SPRING-25_A" and coupon.used_count == 0 and coupon.starts_at == NOW

    with db.session() as session:
        problem = _problem(lambda: deals.create_coupon(session, code="Spring-25_A", kind="fixed", value=500))
    assert isinstance(problem, Conflict) and problem.code == "coupon_code_taken" and "code" in problem.fields
    with db.session() as session:
        other = deals.create_coupon(session, code="OTHER", kind="fixed", value=500)
        other_id = other.id
    with db.session() as session:
        problem = _problem(lambda: deals.update_coupon(session, coupon_id=other_id, changes={"code": "spring-25_a"}))
    assert problem.code == "coupon_code_taken"
    with db.session() as session:
        assert sorted(session.scalars(select(Coupon.code))) == ["OTHER", "SPRING-25_A"]
        deals.update_coupon(session, coupon_id=other_id, changes={"code": "other", "value": 700})  # its own code
        assert session.get(Coupon, other_id).value == 700


@pytest.mark.parametrize("fields, field", [
    ({"code": "TWO WORDS"}, "code"),
    ({"code": "NEWLINE\n"}, "code"),
    ({"code": "X" * 41}, "code"),
    ({"kind": "bogo"}, "kind"),
    ({"value": 0}, "value"),
    ({"kind": "percent", "value": 12_000}, "value"),
    ({"min_order_minor": -1}, "min_order_minor"),
    ({"usage_limit": 0}, "usage_limit"),
    ({"starts_at": at(3), "ends_at": at(3)}, "ends_at"),
])
def test_a_coupon_that_breaks_a_rule_is_refused_naming_the_field(db, fields, field):
    with db.session() as session:
        problem = _problem(lambda: deals.create_coupon(session, **{"code": "OK", "kind": "fixed", "value": 500,
                                                                     **fields}))
    assert isinstance(problem, InvalidInput) and field in problem.fields


def test_a_coupon_shows_whether_it_is_live_scheduled_ended_used_up_or_inactive(db):
    with db.session() as session:
        coupon = deals.create_coupon(session, code="C", kind="fixed", value=500, starts_at=at(5), ends_at=at(9),
                                     usage_limit=2)
        assert [deals.coupon_status(coupon, moment) for moment in (at(4), at(6), at(9))] == [
            "scheduled", "live", "ended"]
        coupon.used_count = 2
        assert deals.coupon_status(coupon, at(6)) == "used_up"
        deals.deactivate_coupon(session, coupon_id=coupon.id)
        assert deals.coupon_status(coupon, at(6)) == "inactive"


# ---- the strongest offers ---------------------------------------------------------------------------------------


def _cart_price(session, product_id: int) -> int:
    """What the cart charges for one of the product (its default variant), through pricing.quote."""
    product = session.get(Product, product_id)
    variant = session.scalar(select(ProductVariant).where(ProductVariant.product_id == product_id))
    return quote(session, [(variant, product, 1)], now=NOW).lines[0].price.unit_minor


def test_best_deals_rank_by_rate_then_amount_saved_and_charge_what_the_cart_charges(db):
    with db.session() as session:
        add_product(session, 1, price_minor=2000)                      # 20 % of 20.00 = 4.00
        add_product(session, 2, price_minor=5000)                      # 20 % of 50.00 = 10.00
        add_product(session, 3, price_minor=4000, category="Jeans")    # 15.00 off 40.00 = 37.5 %
        add_product(session, 4, price_minor=1000, category="Handbags")  # 5 % everywhere
        add_product(session, 5, price_minor=3000, category="Shirts")   # 25 % on this one product
        _deal(session, name="Tee week", category="Tshirts", value=2000)
        _deal(session, name="Denim", category="Jeans", kind="fixed", value=1500)
        _deal(session, name="Shop-wide", value=500)
        _deal(session, name="Shirt of the day", product_id=5, value=2500)

        offers = deals.best_deals(session, limit=10, now=NOW)

        assert [(o.product.id, o.deal.name, o.price.list_minor, o.price.unit_minor, o.price.saving_minor,
                 o.saving_percent) for o in offers] == [
            (3, "Denim", 4000, 2500, 1500, 38),
            (5, "Shirt of the day", 3000, 2250, 750, 25),
            (2, "Tee week", 5000, 4000, 1000, 20),
            (1, "Tee week", 2000, 1600, 400, 20),
            (4, "Shop-wide", 1000, 950, 50, 5),
        ]
        assert all(o.price.unit_minor == _cart_price(session, o.product.id) for o in offers)
        assert [o.product.id for o in deals.best_deals(session, limit=2, now=NOW)] == [3, 5]


def test_best_deals_show_only_products_that_can_be_bought_under_a_deal_running_now(db):
    with db.session() as session:
        add_product(session, 1, price_minor=2000, stock=0)
        add_product(session, 2, price_minor=2000, retired=True)
        add_product(session, 3, price_minor=None)
        add_product(session, 4, price_minor=2000, category="Jeans")
        add_product(session, 5, price_minor=2000, category="Handbags")
        _deal(session, category="Tshirts")
        _deal(session, category="Jeans", starts_at=at(11))              # not started
        _deal(session, category="Jeans", starts_at=at(1), ends_at=at(10))  # ends at NOW
        deals.deactivate_deal(session, deal_id=_deal(session, category="Handbags").id)

        assert deals.best_deals(session, now=NOW) == []
        assert [o.product.id for o in deals.best_deals(session, now=at(12))] == [4]


def test_best_deals_from_a_few_candidates_per_deal_equal_ranking_the_whole_catalog(db):
    """Candidates are limited per deal in SQL; the answer must be the one a full scan gives."""
    prices = [(37 * i) % 1900 + 100 for i in range(60)]
    with db.session() as session:
        for i, price in enumerate(prices):
            add_product(session, 100 + i, price_minor=price, category=["Tshirts", "Jeans", "Handbags"][i % 3])
        _deal(session, name="tees", category="Topwear", value=1500)
        _deal(session, name="jeans fixed", category="Jeans", kind="fixed", value=700)
        _deal(session, name="free-ish", category="Handbags", kind="fixed", value=400)
        _deal(session, name="shop", value=300)
        _deal(session, name="one", product_id=130, value=9000)
        everything = [deals.Offer(p, price, next(d for d in active_deals(session, NOW) if d.id == price.deal_id))
                      for p in session.scalars(select(Product))
                      if (price := deals.unit_price(p, None, active_deals(session, NOW))).deal_id is not None]
        everything.sort(key=lambda o: (-o.rate, -o.price.saving_minor, o.product.id))

        for limit in (1, 3, 8, 20):
            found = deals.best_deals(session, limit=limit, now=NOW)
            assert [(o.product.id, o.price) for o in found] == [(o.product.id, o.price) for o in everything[:limit]]


def test_a_search_hit_is_shown_with_the_same_deal_price_as_its_product(db):
    with db.session() as session:
        product = add_product(session, 1, price_minor=1999)
        add_product(session, 2, price_minor=1999, category="Jeans")
        _deal(session, name="Topwear", category="topwear", value=3333)
        running = active_deals(session, NOW)
        hit = SearchHit(id=1, name="x", score=1.0, category="Tshirts", gender=None, colour=None, price_minor=1999,
                        currency="USD", in_stock=True, labels={"masterCategory": "Apparel", "subCategory": "Topwear"})

        assert deals.sale_of(hit, running) == deals.sale_of(product, running)
        assert deals.sale_of(product, running).price.unit_minor == _cart_price(session, 1) == 1999 - 666
        assert deals.sale_of(session.get(Product, 2), running) is None


# ---- deal alerts ------------------------------------------------------------------------------------------------


def _alerted(session) -> dict[str, list[int]]:
    """Deal alerts by customer name: the deal ids each was told about."""
    rows = session.execute(select(Notification).where(Notification.kind == "deal").order_by(Notification.id))
    told: dict[str, list[int]] = {}
    for (notification,) in rows:
        from lookbook.accounts.models import User

        told.setdefault(session.get(User, notification.user_id).name, []).append(notification.data["deal_id"])
    return told


@pytest.fixture
def shoppers(db):
    with db.session() as session:
        add_product(session, 1, price_minor=2000, category="Tshirts")
        add_product(session, 2, price_minor=2000, category="Handbags")
        add_customer(session, "Tess", deals=True, categories=["tshirts"])
        add_customer(session, "Tom", deals=True, categories=["Topwear"])
        add_customer(session, "Bea", deals=True, categories=["Bags", "Jeans"])
        add_customer(session, "Nina", deals=True)                       # no preferences at all
        add_customer(session, "Emma", deals=True, categories=[])        # preferences without categories
        add_customer(session, "Otto", deals=False, categories=["Tshirts", "Topwear", "Bags"])
        add_customer(session, "Ada", deals=True, categories=["Tshirts"], role=Role.ADMIN)
    return db


def test_a_category_deal_alerts_exactly_the_opted_in_customers_who_favour_that_category(shoppers):
    with shoppers.session() as session:
        tees, told = deals.create_deal(session, name="Tees", kind="percent", value=2000, category="Tshirts", now=NOW)
        assert told == 2
    with shoppers.session() as session:
        topwear, told = deals.create_deal(session, name="Tops", kind="percent", value=2000, category="topwear", now=NOW)
        assert told == 2
        assert _alerted(session) == {"Tess": [tees.id, topwear.id], "Tom": [tees.id, topwear.id]}


def test_a_product_deal_alerts_customers_who_favour_any_of_its_categories(shoppers):
    with shoppers.session() as session:
        bag, _ = deals.create_deal(session, name="Bag", kind="fixed", value=500, product_id=2, now=NOW)
        tee, _ = deals.create_deal(session, name="Tee", kind="fixed", value=500, product_id=1, now=NOW)

        assert _alerted(session) == {"Bea": [bag.id], "Tess": [tee.id], "Tom": [tee.id]}


def test_a_shop_wide_deal_alerts_every_opted_in_customer_and_nobody_else(shoppers):
    with shoppers.session() as session:
        deal, told = deals.create_deal(session, name="Everything", kind="percent", value=1000, now=NOW)

        assert told == 5
        assert _alerted(session) == {name: [deal.id] for name in ("Tess", "Tom", "Bea", "Nina", "Emma")}
        notification = session.scalar(select(Notification).where(Notification.kind == "deal").limit(1))
        assert notification.title == "New deal: Everything" and "10 % off everything" in notification.body
        assert session.scalar(select(func.count()).select_from(OutboxEmail)) == 5


def test_a_deal_alert_goes_once_however_often_the_deal_is_switched_on(shoppers):
    with shoppers.session() as session:
        deal, told = deals.create_deal(session, name="Later", kind="percent", value=1000, category="Tshirts",
                                       active=False, now=NOW)
        assert told == 0 and _alerted(session) == {}
        assert deals.update_deal(session, deal_id=deal.id, changes={"active": True}, now=NOW)[1] == 2
        deals.deactivate_deal(session, deal_id=deal.id)
        assert deals.update_deal(session, deal_id=deal.id, changes={"active": True, "category": "Topwear"},
                                 now=NOW)[1] == 0
        assert deals.update_deal(session, deal_id=deal.id, changes={"name": "Renamed"}, now=NOW)[1] == 0
        assert deals.send_deal_alerts(session, deal=deal, now=NOW) == 0

        assert _alerted(session) == {"Tess": [deal.id], "Tom": [deal.id]}


def test_a_deal_that_has_ended_alerts_nobody(shoppers):
    with shoppers.session() as session:
        _, told = deals.create_deal(session, name="Past", kind="percent", value=1000, starts_at=at(1), ends_at=at(2),
                                    now=NOW)
        assert told == 0 and _alerted(session) == {}


def test_deal_alerts_are_written_in_the_deals_transaction_and_vanish_with_it(shoppers):
    with pytest.raises(RuntimeError):
        with shoppers.session() as session:
            deals.create_deal(session, name="Oops", kind="percent", value=1000, now=NOW)
            assert len(_alerted(session)) == 5
            raise RuntimeError("the request failed after the deal was created")

    with shoppers.session() as session:
        assert _alerted(session) == {}
        assert session.scalar(select(func.count()).select_from(Deal)) == 0
        assert session.scalar(select(func.count()).select_from(OutboxEmail)) == 0
