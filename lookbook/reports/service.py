"""Reports for admins: sales per product, an order summary, one customer's history, and CSV for each.

A date range is inclusive and in UTC: ``from`` 2026-03-01 ``to`` 2026-03-31 covers every order placed from
2026-03-01 00:00 UTC up to, not including, 2026-04-01 00:00 UTC. Revenue counts orders that are paid,
shipped or delivered; pending, cancelled and refunded orders bring none. Money is in minor units and never
added across currencies: every money row names its currency.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import Date, case, cast, func, select
from sqlalchemy.orm import Session

from lookbook.accounts.models import User
from lookbook.catalog.models import Product
from lookbook.errors import InvalidInput
from lookbook.orders.models import Order, OrderLine, OrderStatus

REVENUE_STATUSES = (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED)
_REVENUE = [str(s) for s in REVENUE_STATUSES]
MAX_DAYS = 3660  # ten years: enough for any report, small enough to answer quickly
# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class DateRange:
    start: date
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def bounds(self) -> tuple[datetime, datetime | None]:
        """[first instant, first instant after) in UTC; no upper bound at the end of the calendar."""
        first = datetime.combine(self.start, time.min, tzinfo=timezone.utc)
        try:
            after = datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=timezone.utc)
        except OverflowError:
            after = None
        return first, after


def date_range(start: date | None, end: date | None, *, today: date | None = None) -> DateRange:
    """The range asked for; without ``to`` it ends today (UTC), without ``from`` it spans 30 days."""
    end = end or today or datetime.now(timezone.utc).date()
    if start is None:
        start = end - timedelta(days=29) if end > date.min + timedelta(days=29) else date.min
    if start > end:
        raise InvalidInput("'from' is after 'to'", code="invalid_date_range",
                           fields={"from": ["must not be after 'to'"]})
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidInput(f"a report covers at most {MAX_DAYS} days", code="invalid_date_range",
                           fields={"from": [f"at most {MAX_DAYS} days before 'to'"]})
    return DateRange(start, end)


def _placed_within(period: DateRange):
    first, after = period.bounds()
    conditions = [Order.created_at >= first]
    if after is not None:
        conditions.append(Order.created_at < after)
    return conditions


def _utc_day(session: Session, column):
    """The UTC calendar day of a timestamp, on each backend: SQLite keeps UTC text, PostgreSQL ``timestamptz``
    whose day would otherwise follow the connection's time zone."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    return func.date(column)


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


# ---- sales per product ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ProductSales:
    product_id: int
    name: str
    currency: str
    units: int
    revenue_minor: int  # what the lines came to after product deals, before order-wide coupons
    orders: int


def sales_by_product(session: Session, *, period: DateRange) -> list[ProductSales]:
    """Units and revenue per product from orders placed in the range that were paid, best sellers first."""
    revenue = func.sum(OrderLine.line_total_minor)
    rows = session.execute(
        select(OrderLine.product_id, Order.currency, func.max(OrderLine.name), func.max(Product.name),
               func.sum(OrderLine.quantity), revenue, func.count(func.distinct(Order.id)))
        .join(Order, Order.id == OrderLine.order_id)
        .outerjoin(Product, Product.id == OrderLine.product_id)
        .where(Order.status.in_(_REVENUE), *_placed_within(period))
        .group_by(OrderLine.product_id, Order.currency)
        .order_by(revenue.desc(), func.sum(OrderLine.quantity).desc(), OrderLine.product_id)
    )
    return [ProductSales(int(pid), current or sold_as, currency, int(units), int(money), int(orders))
            for pid, currency, sold_as, current, units, money, orders in rows]


# ---- order summary --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StatusCount:
    status: str
    currency: str
    orders: int
    total_minor: int  # what those orders came to (for refunded orders: what was refunded)


@dataclass(frozen=True)
class DayTotals:
    day: date
    currency: str
    orders: int        # placed that day, in any status
    revenue_minor: int  # from those of them that are paid, shipped or delivered


@dataclass(frozen=True)
class CurrencyTotals:
    currency: str
    orders: int
    revenue_orders: int
    revenue_minor: int


@dataclass(frozen=True)
class OrderSummary:
    period: DateRange
    by_status: list[StatusCount] = field(default_factory=list)
    by_day: list[DayTotals] = field(default_factory=list)
    totals: list[CurrencyTotals] = field(default_factory=list)


def order_summary(session: Session, *, period: DateRange) -> OrderSummary:
    """Orders placed in the range: counts and totals by status, orders and revenue by UTC day, and totals."""
    within = _placed_within(period)
    order_of_status = {str(s): i for i, s in enumerate(OrderStatus)}
    by_status = sorted(
        (StatusCount(status, currency, int(count), int(total)) for status, currency, count, total in session.execute(
            select(Order.status, Order.currency, func.count(), func.sum(Order.total_minor))
            .where(*within).group_by(Order.status, Order.currency))),
        key=lambda s: (order_of_status.get(s.status, len(order_of_status)), s.currency))

    counted = func.sum(_revenue_only(Order.total_minor))
    day = _utc_day(session, Order.created_at)
    by_day = [DayTotals(_as_date(d), currency, int(count), int(money or 0)) for d, currency, count, money in session.execute(
        select(day, Order.currency, func.count(), counted).where(*within)
        .group_by(day, Order.currency).order_by(day, Order.currency))]

    totals = [CurrencyTotals(currency, int(count), int(paid or 0), int(money or 0))
              for currency, count, paid, money in session.execute(
                  select(Order.currency, func.count(), func.sum(_revenue_only(1)), counted)
                  .where(*within).group_by(Order.currency).order_by(Order.currency))]
    return OrderSummary(period, by_status, by_day, totals)


def _revenue_only(value):
    return case((Order.status.in_(_REVENUE), value), else_=0)


# ---- one customer's history --------------------------------------------------------------------------------

@dataclass(frozen=True)
class CustomerHistory:
    customer: User
    orders: list[tuple[Order, list[OrderLine]]]
    total: int                   # orders of every status
    spent: list[CurrencyTotals]  # paid, shipped and delivered orders


def customer_history(session: Session, *, customer: User, page: int = 1, per_page: int | None = 20) -> CustomerHistory:
    """A customer's orders, newest first, with their lines, and what the customer has spent."""
    mine = Order.user_id == customer.id
    total = session.scalar(select(func.count()).select_from(Order).where(mine)) or 0
    query = select(Order).where(mine).order_by(Order.created_at.desc(), Order.id.desc())
    if per_page is not None:
        query = query.offset((page - 1) * per_page).limit(per_page)
    orders = list(session.scalars(query))
    lines: dict[int, list[OrderLine]] = {o.id: [] for o in orders}
    if orders:
        for line in session.scalars(select(OrderLine).where(OrderLine.order_id.in_(list(lines))).order_by(OrderLine.id)):
            lines[line.order_id].append(line)
    spent = [CurrencyTotals(currency, int(count), int(count), int(money))
             for currency, count, money in session.execute(
                 select(Order.currency, func.count(), func.sum(Order.total_minor))
                 .where(mine, Order.status.in_(_REVENUE)).group_by(Order.currency).order_by(Order.currency))]
    return CustomerHistory(customer, [(o, lines[o.id]) for o in orders], int(total), spent)


# ---- CSV ------------------------------------------------------------------------------------------------------

def safe_cell(value):
    """A cell as text that no spreadsheet runs as a formula: text starting with = + - @ gets a leading quote."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(header: list[str], rows) -> str:
    """CSV text (RFC 4180, CRLF line ends) with every text cell neutralised against formula injection."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return buffer.getvalue()


def sales_csv(sales: list[ProductSales]) -> str:
    return to_csv(["product_id", "name", "currency", "units", "revenue_minor", "orders"],
                  ([s.product_id, s.name, s.currency, s.units, s.revenue_minor, s.orders] for s in sales))


def order_summary_csv(summary: OrderSummary) -> str:
    """One table: rows of group ``status`` (key: the status), ``day`` (key: YYYY-MM-DD) and ``total``."""
    rows = [["status", s.status, s.currency, s.orders, s.total_minor] for s in summary.by_status]
    rows += [["day", d.day.isoformat(), d.currency, d.orders, d.revenue_minor] for d in summary.by_day]
    rows += [["total", "revenue", t.currency, t.revenue_orders, t.revenue_minor] for t in summary.totals]
    return to_csv(["group", "key", "currency", "orders", "amount_minor"], rows)


def customer_history_csv(history: CustomerHistory) -> str:
    """One row per order line (an order without lines still gets a row)."""
    rows = []
    for order, lines in history.orders:
        head = [order.id, order.created_at.isoformat(), order.status, order.currency, order.total_minor]
        for line in lines or [None]:
            rows.append(head + ([line.product_id, line.name, line.sku, line.quantity, line.unit_price_minor,
                                 line.line_total_minor] if line else [None] * 6))
    return to_csv(["order_id", "placed_at", "status", "currency", "order_total_minor", "product_id", "name", "sku",
                   "quantity", "unit_price_minor", "line_total_minor"], rows)
