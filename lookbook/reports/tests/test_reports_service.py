"""Reports computed from orders placed through the real cart, checkout and status machine, on both backends."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import text

from lookbook.errors import InvalidInput
from lookbook.orders.models import OrderStatus
from lookbook.reports import service as reports
from lookbook.reports.tests.purchases import make_customer, make_product, place_order

MARCH = reports.DateRange(date(2026, 3, 10), date(2026, 3, 15))


def at(day: int, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, second, tzinfo=timezone.utc)


@pytest.fixture
def shop(db):
    """Three products and a customer."""
    with db.session() as session:
        shirt = make_product(session, product_id=1001, name="Linen shirt", price_minor=2500).id
        scarf = make_product(session, product_id=1002, name="Wool scarf", price_minor=1200).id
        belt = make_product(session, product_id=1003, name="Belt", price_minor=999).id
        ada = make_customer(session, name="Ada Lovelace")
    return {"db": db, "shirt": shirt, "scarf": scarf, "belt": belt, "ada_id": ada.id}


def _order(shop, items: dict, status: OrderStatus, when: datetime) -> int:
    from lookbook.accounts.models import User

    with shop["db"].session() as session:
        return place_order(session, user=session.get(User, shop["ada_id"]), items=items, status=status, at=when).id


def _sales(db, period=MARCH) -> list[tuple]:
    with db.session() as session:
        return [(s.product_id, s.name, s.currency, s.units, s.revenue_minor, s.orders)
                for s in reports.sales_by_product(session, period=period)]


# ---- sales per product -------------------------------------------------------------------------------------

def test_sales_count_paid_shipped_and_delivered_orders_and_leave_out_refunded_cancelled_and_unpaid_ones(shop):
    s = shop
    _order(s, {s["shirt"]: 2, s["scarf"]: 1}, OrderStatus.PAID, at(10))
    _order(s, {s["shirt"]: 1}, OrderStatus.DELIVERED, at(11))
    _order(s, {s["belt"]: 3}, OrderStatus.SHIPPED, at(12))
    _order(s, {s["shirt"]: 5, s["scarf"]: 5}, OrderStatus.REFUNDED, at(12, 13))
    _order(s, {s["scarf"]: 2}, OrderStatus.CANCELLED, at(13))
    _order(s, {s["belt"]: 1}, OrderStatus.PENDING_PAYMENT, at(14))  # last: no later checkout expires it

    assert _sales(s["db"]) == [
        (1001, "Linen shirt", "USD", 3, 3 * 2500, 2),
        (1003, "Belt", "USD", 3, 3 * 999, 1),
        (1002, "Wool scarf", "USD", 1, 1200, 1),
    ]


def test_the_range_is_inclusive_whole_utc_days(shop):
    s = shop
    _order(s, {s["shirt"]: 1}, OrderStatus.PAID, at(9, 23, 59, 59))   # the day before: out
    _order(s, {s["shirt"]: 2}, OrderStatus.PAID, at(10, 0, 0, 0))      # first instant: in
    _order(s, {s["scarf"]: 1}, OrderStatus.PAID, at(15, 23, 59, 59))   # last second: in
    _order(s, {s["belt"]: 4}, OrderStatus.PAID, at(16, 0, 0, 0))       # the day after: out

    assert _sales(s["db"]) == [(1001, "Linen shirt", "USD", 2, 5000, 1), (1002, "Wool scarf", "USD", 1, 1200, 1)]
    one_day = reports.DateRange(date(2026, 3, 16), date(2026, 3, 16))
    assert _sales(s["db"], one_day) == [(1003, "Belt", "USD", 4, 4 * 999, 1)]


def test_sales_show_the_products_current_name_and_keep_products_that_are_gone(shop):
    from lookbook.catalog.models import Product

    s = shop
    _order(s, {s["shirt"]: 1}, OrderStatus.PAID, at(10))
    _order(s, {s["belt"]: 1}, OrderStatus.PAID, at(11))
    with s["db"].session() as session:
        session.get(Product, 1001).name = "Linen shirt, relaxed fit"
        session.delete(session.get(Product, 1003))

    assert _sales(s["db"]) == [(1001, "Linen shirt, relaxed fit", "USD", 1, 2500, 1), (1003, "Belt", "USD", 1, 999, 1)]


def test_money_in_different_currencies_is_never_added_up(shop):
    s = shop
    with s["db"].session() as session:
        euro_shirt = make_product(session, product_id=2001, name="Chemise", price_minor=3000, currency="EUR").id
    _order(s, {s["shirt"]: 1}, OrderStatus.PAID, at(10))
    _order(s, {euro_shirt: 1}, OrderStatus.PAID, at(11))

    assert _sales(s["db"]) == [(2001, "Chemise", "EUR", 1, 3000, 1), (1001, "Linen shirt", "USD", 1, 2500, 1)]
    with s["db"].session() as session:
        totals = reports.order_summary(session, period=MARCH).totals
    assert [(t.currency, t.revenue_minor) for t in totals] == [("EUR", 3000), ("USD", 2500)]


def test_a_range_whose_start_is_after_its_end_is_refused():
    with pytest.raises(InvalidInput) as refused:
        reports.date_range(date(2026, 3, 2), date(2026, 3, 1))

    assert refused.value.code == "invalid_date_range" and "from" in refused.value.fields


def test_a_range_defaults_to_the_thirty_days_up_to_today_and_has_an_upper_limit():
    assert reports.date_range(None, None, today=date(2026, 3, 31)) == reports.DateRange(date(2026, 3, 2), date(2026, 3, 31))
    assert reports.date_range(date(2026, 3, 5), date(2026, 3, 5)).days == 1
    with pytest.raises(InvalidInput):
        reports.date_range(date(2000, 1, 1), date(2026, 1, 1))
    last = reports.date_range(date(9999, 12, 1), date(9999, 12, 31))
    assert last.bounds()[1] is None  # the day after 9999-12-31 does not exist: no upper bound


# ---- order summary ------------------------------------------------------------------------------------------

def test_order_summary_counts_orders_by_status_and_revenue_by_utc_day(shop):
    s = shop
    paid = _order(s, {s["shirt"]: 1}, OrderStatus.PAID, at(10, 9))
    _order(s, {s["scarf"]: 2}, OrderStatus.DELIVERED, at(10, 23, 30))  # late evening UTC: still the 10th
    _order(s, {s["belt"]: 1}, OrderStatus.REFUNDED, at(11, 1))
    _order(s, {s["belt"]: 2}, OrderStatus.CANCELLED, at(11, 2))
    _order(s, {s["scarf"]: 1}, OrderStatus.PENDING_PAYMENT, at(12))
    assert paid

    with s["db"].session() as session:
        if session.get_bind().dialect.name == "postgresql":
            # A connection in UTC+14 would put 23:30 UTC on the next day: the report must not.
            session.execute(text("SET LOCAL TIME ZONE 'Pacific/Kiritimati'"))
        summary = reports.order_summary(session, period=MARCH)

    assert [(c.status, c.orders, c.total_minor) for c in summary.by_status] == [
        ("pending_payment", 1, 1200), ("paid", 1, 2500), ("delivered", 1, 2400), ("cancelled", 1, 1998),
        ("refunded", 1, 999)]
    assert [(d.day, d.orders, d.revenue_minor) for d in summary.by_day] == [
        (date(2026, 3, 10), 2, 2500 + 2400), (date(2026, 3, 11), 2, 0), (date(2026, 3, 12), 1, 0)]
    assert [(t.currency, t.orders, t.revenue_orders, t.revenue_minor) for t in summary.totals] == [
        ("USD", 5, 2, 4900)]


def test_an_empty_range_gives_an_empty_summary(db):
    with db.session() as session:
        summary = reports.order_summary(session, period=MARCH)

    assert (summary.by_status, summary.by_day, summary.totals) == ([], [], [])


# ---- one customer's history ---------------------------------------------------------------------------------

def test_a_customers_history_lists_their_orders_newest_first_with_lines_and_what_they_spent(shop):
    from lookbook.accounts.models import User

    s = shop
    first = _order(s, {s["shirt"]: 1, s["belt"]: 2}, OrderStatus.DELIVERED, at(1))
    second = _order(s, {s["scarf"]: 1}, OrderStatus.REFUNDED, at(2))
    third = _order(s, {s["belt"]: 1}, OrderStatus.PAID, at(3))
    with s["db"].session() as session:
        other = make_customer(session, name="Bob")
        variant = s["shirt"]
        place_order(session, user=other, items={variant: 1}, at=at(4))

    with s["db"].session() as session:
        history = reports.customer_history(session, customer=session.get(User, s["ada_id"]))
        lines_of_first = [(line.product_id, line.quantity, line.line_total_minor) for line in history.orders[2][1]]

    assert [order.id for order, _lines in history.orders] == [third, second, first]
    assert history.total == 3
    assert lines_of_first == [(1001, 1, 2500), (1003, 2, 1998)]
    assert [(t.currency, t.orders, t.revenue_minor) for t in history.spent] == [("USD", 2, 2500 + 1998 + 999)]


# ---- CSV ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["=HYPERLINK(\"http://evil.example\",\"click\")", "+1+1", "-2+3", "@SUM(A1:A9)",
                                  "\t=1", "\r=1"])
def test_a_csv_cell_that_a_spreadsheet_would_run_as_a_formula_gets_a_leading_quote(name):
    sales = [reports.ProductSales(7, name, "USD", 2, 1000, 1)]

    rows = list(csv.reader(io.StringIO(reports.sales_csv(sales))))

    assert rows == [["product_id", "name", "currency", "units", "revenue_minor", "orders"],
                    ["7", "'" + name, "USD", "2", "1000", "1"]]


def test_csv_keeps_harmless_text_numbers_and_quotes_as_they_are():
    sales = [reports.ProductSales(8, 'Shirt, "slim", 100% cotton', "USD", 3, -0, 1)]

    text_ = reports.sales_csv(sales)

    assert text_.endswith("\r\n")
    assert list(csv.reader(io.StringIO(text_)))[1] == ["8", 'Shirt, "slim", 100% cotton', "USD", "3", "0", "1"]
    assert reports.safe_cell(-5) == -5 and reports.safe_cell(None) == ""


def test_order_summary_and_history_csv_hold_the_same_numbers_as_the_reports(shop):
    from lookbook.accounts.models import User

    s = shop
    with s["db"].session() as session:
        evil = make_product(session, product_id=1666, name="=cmd|' /C calc'!A0", price_minor=100).id
    order = _order(s, {s["shirt"]: 1, evil: 2}, OrderStatus.PAID, at(10))

    with s["db"].session() as session:
        summary = list(csv.reader(io.StringIO(reports.order_summary_csv(reports.order_summary(session, period=MARCH)))))
        history = list(csv.reader(io.StringIO(reports.customer_history_csv(
            reports.customer_history(session, customer=session.get(User, s["ada_id"]), per_page=None)))))

    assert summary == [["group", "key", "currency", "orders", "amount_minor"], ["status", "paid", "USD", "1", "2700"],
                       ["day", "2026-03-10", "USD", "1", "2700"], ["total", "revenue", "USD", "1", "2700"]]
    assert [row[0] for row in history[1:]] == [str(order), str(order)]
    assert [(row[5], row[6], row[8], row[10]) for row in history[1:]] == [
        ("1001", "Linen shirt", "1", "2500"), ("1666", "'=cmd|' /C calc'!A0", "2", "200")]
