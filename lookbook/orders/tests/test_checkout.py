"""Cart and checkout: prices from the one pricing function, stock reserved exactly once, all or nothing."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lookbook.catalog.models import Product, ProductVariant
from lookbook.deals.models import Coupon, Deal
from lookbook.deals.pricing import now_utc
from lookbook.errors import Conflict, InvalidInput, NotFound
from lookbook.notifications.models import Notification, OutboxEmail
from lookbook.orders import service as orders
from lookbook.orders.models import CartItem, Order, OrderEvent, OrderStatus
from lookbook.orders.tests.conftest import make_customer, make_product


def _add(db, user, variant_id, quantity=1):
    with db.session() as session:
        orders.add_to_cart(session, user_id=user.id, variant_id=variant_id, quantity=quantity)


def _checkout(db, user, **kwargs):
    with db.session() as session:
        version = orders.view_cart(session, user_id=user.id).version
        return orders.checkout(session, user=session.merge(user), cart_version=version, **kwargs)


def _stock(db, variant_id) -> int:
    with db.session() as session:
        return session.get(ProductVariant, variant_id).stock


def test_checkout_reserves_stock_creates_the_order_and_empties_the_cart(db):
    ada = make_customer(db)
    product_id, [variant] = make_product(db, price_minor=2500, stock=5)
    _add(db, ada, variant, 2)

    order = _checkout(db, ada)

    assert order.status == OrderStatus.PENDING_PAYMENT and order.total_minor == 5000
    assert _stock(db, variant) == 3
    with db.session() as session:
        assert session.get(Product, product_id).stock == 3
        assert session.scalar(select(func.count()).select_from(CartItem)) == 0
        assert [e.type for e in orders.order_events(session, order.id)] == ["placed"]
        assert orders.order_lines(session, order.id)[0].line_total_minor == 5000


def test_cart_quantities_are_checked_against_stock_and_bounds(db):
    ada = make_customer(db)
    _, [variant] = make_product(db, stock=2)

    with pytest.raises(Conflict) as too_many:
        _add(db, ada, variant, 3)
    assert too_many.value.code == "out_of_stock"
    for wrong in (0, -1):
        with pytest.raises(InvalidInput):
            _add(db, ada, variant, wrong)
    with pytest.raises(NotFound):
        _add(db, ada, 999_999)
    _add(db, ada, variant, 2)
    with pytest.raises(Conflict):
        _add(db, ada, variant, 1)  # 2 in the cart + 1 is more than the stock


def test_checkout_refuses_a_cart_that_changed_since_the_customer_saw_it(db):
    ada = make_customer(db)
    _, [variant] = make_product(db)
    _add(db, ada, variant)
    with db.session() as session:
        seen = orders.view_cart(session, user_id=ada.id).version
    _add(db, ada, variant)  # e.g. another tab

    with db.session() as session, pytest.raises(Conflict) as changed:
        orders.checkout(session, user=session.merge(ada), cart_version=seen)
    assert changed.value.code == "cart_changed"
    assert _stock(db, variant) == 5


def test_deals_and_coupons_price_the_cart_and_the_order_the_same(db):
    ada = make_customer(db)
    product_id, [variant] = make_product(db, price_minor=3000)
    with db.session() as session:
        session.add(Deal(name="Tee week", kind="percent", value=1000, category="topwear"))  # 10 % off
        session.add(Coupon(code="WELCOME5", kind="fixed", value=500, min_order_minor=5000))
    _add(db, ada, variant, 2)
    with db.session() as session:
        orders.apply_coupon(session, user_id=ada.id, code="welcome5")
        shown = orders.view_cart(session, user_id=ada.id).quote

    order = _checkout(db, ada)

    assert shown.lines[0].price.unit_minor == 2700 and shown.subtotal_minor == 5400
    assert (order.subtotal_minor, order.discount_minor, order.total_minor) == (5400, 500, 4900) == (
        shown.subtotal_minor, shown.discount_minor, shown.total_minor)
    with db.session() as session:
        assert session.scalar(select(Coupon.used_count)) == 1


def test_coupons_that_expired_are_used_up_or_below_their_minimum_are_refused(db):
    ada = make_customer(db)
    _, [variant] = make_product(db, price_minor=1000)
    with db.session() as session:
        session.add_all([
            Coupon(code="OLD", kind="fixed", value=100, ends_at=now_utc() - timedelta(days=1)),
            Coupon(code="GONE", kind="fixed", value=100, usage_limit=1, used_count=1),
            Coupon(code="BIG", kind="fixed", value=100, min_order_minor=10_000),
        ])
    _add(db, ada, variant)
    for code, reason in (("OLD", "coupon_expired"), ("GONE", "coupon_used_up"), ("BIG", "coupon_below_minimum"),
                         ("NOPE", "coupon_unknown")):
        with db.session() as session, pytest.raises(InvalidInput) as refused:
            orders.apply_coupon(session, user_id=ada.id, code=code)
        assert refused.value.code == reason


def test_a_coupon_that_expires_after_it_was_applied_fails_checkout_and_changes_nothing(db):
    ada = make_customer(db)
    _, [variant] = make_product(db, price_minor=1000)
    with db.session() as session:
        session.add(Coupon(code="SOON", kind="percent", value=5000, ends_at=now_utc() + timedelta(minutes=5)))
    _add(db, ada, variant)
    with db.session() as session:
        orders.apply_coupon(session, user_id=ada.id, code="SOON")
        version = orders.view_cart(session, user_id=ada.id).version

    with db.session() as session, pytest.raises(InvalidInput) as refused:
        orders.checkout(session, user=session.merge(ada), cart_version=version, now=now_utc() + timedelta(hours=1))
    assert refused.value.code == "coupon_expired"
    assert _stock(db, variant) == 5
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 0


def test_concurrent_checkouts_for_the_last_items_never_oversell(db):
    _, [variant] = make_product(db, stock=3)
    customers = [make_customer(db, f"C{i}") for i in range(8)]
    for customer in customers:
        _add(db, customer, variant)
    start, outcomes = threading.Barrier(len(customers)), []

    def buy(customer):
        start.wait()
        try:
            _checkout(db, customer)
            outcomes.append("ordered")
        except Conflict as error:
            outcomes.append(error.code)

    threads = [threading.Thread(target=buy, args=(c,)) for c in customers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(outcomes) == ["ordered"] * 3 + ["out_of_stock"] * 5
    assert _stock(db, variant) == 0
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 3


def test_a_coupon_with_one_use_left_goes_to_exactly_one_of_two_concurrent_orders(db):
    _, [variant] = make_product(db, stock=10)
    with db.session() as session:
        session.add(Coupon(code="LAST", kind="fixed", value=100, usage_limit=1))
    buyers = [make_customer(db, f"B{i}") for i in range(2)]
    for buyer in buyers:
        _add(db, buyer, variant)
        with db.session() as session:
            orders.apply_coupon(session, user_id=buyer.id, code="LAST")
    start, outcomes = threading.Barrier(2), []

    def buy(buyer):
        start.wait()
        try:
            outcomes.append(_checkout(db, buyer).coupon_code)
        except InvalidInput as error:
            outcomes.append(error.code)

    threads = [threading.Thread(target=buy, args=(b,)) for b in buyers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["LAST", "coupon_used_up"]
    assert _stock(db, variant) == 9  # the refused checkout took nothing


def test_an_unpaid_order_past_its_window_is_cancelled_and_its_stock_released(db):
    ada = make_customer(db)
    _, [variant] = make_product(db, stock=2)
    _add(db, ada, variant, 2)
    order = _checkout(db, ada)
    assert _stock(db, variant) == 0

    with db.session() as session:
        assert orders.expire_unpaid_orders(session, now=now_utc()) == 0
        assert orders.expire_unpaid_orders(session, now=now_utc() + orders.PAYMENT_WINDOW + timedelta(seconds=1)) == 1
    with db.session() as session:
        assert session.get(Order, order.id).status == OrderStatus.CANCELLED
        types = [e.type for e in orders.order_events(session, order.id)]
        assert types == ["placed", "stock_released", "cancelled"]
    assert _stock(db, variant) == 2


def test_the_status_machine_allows_only_its_transitions_and_tells_the_customer(db):
    ada = make_customer(db)
    _, [variant] = make_product(db)
    _add(db, ada, variant)
    order = _checkout(db, ada)

    with db.session() as session, pytest.raises(Conflict) as refused:
        orders.transition(session, orders.lock_order(session, order.id), OrderStatus.SHIPPED)
    assert refused.value.code == "invalid_status_change"
    for status in (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED):
        with db.session() as session:
            orders.transition(session, orders.lock_order(session, order.id), status)
    with db.session() as session, pytest.raises(Conflict):
        orders.transition(session, orders.lock_order(session, order.id), OrderStatus.CANCELLED)
    with db.session() as session:
        kinds = [n.kind for n in session.scalars(select(Notification).order_by(Notification.id))]
        assert kinds == ["order_paid", "order_shipped", "order_delivered"]
        assert session.scalar(select(func.count()).select_from(OutboxEmail)) == 3
        assert [e.type for e in session.scalars(select(OrderEvent).order_by(OrderEvent.id))] == [
            "placed", "paid", "shipped", "delivered"]
