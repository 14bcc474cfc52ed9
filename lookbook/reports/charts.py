"""Charts of the admin reports as SVG documents (pygal), for ``<img>`` tags on the admin dashboard.

Flask-free: each function takes what ``lookbook.reports.service`` returns and answers SVG bytes. The charts
reference no script and no external file (``js=[]``), use the system fonts and the store's colours; their
only styling is pygal's own ``<style>`` element inside the SVG. Money stays in integer minor units and is
never added across currencies: each currency is its own series, labelled with exact decimal amounts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import pygal
from pygal.style import Style

from lookbook.reports.service import OrderSummary, ProductSales

WIDTH, HEIGHT = 720, 420  # scaled down on a phone: the fonts are large enough to stay legible
DAILY_UP_TO = 62      # days; a longer period is shown by week,
WEEKLY_UP_TO = 371    # and one longer than about a year by month
TOP_PRODUCTS = 10
CENT = Decimal("0.01")

STYLE = Style(
    background="#ffffff", plot_background="#ffffff",
    foreground="#1b1f24", foreground_strong="#1b1f24", foreground_subtle="#4a5560",
    opacity=".85", opacity_hover=".95", transition="0s",
    colors=("#1d3557", "#b35c00", "#1e6b3a", "#a4161a", "#5b3e8c", "#4a5560"),
    font_family='system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif',
    label_font_size=15, major_label_font_size=15, value_font_size=15, title_font_size=18,
    legend_font_size=15, tooltip_font_size=15, no_data_font_size=22,
)


def amount(minor: float | None) -> str:
    """Minor units as an exact decimal amount ("1234.50"); pygal hands axis values over as floats."""
    if minor is None:
        return ""
    return str((Decimal(round(minor)) / 100).quantize(CENT))


def count(value: float | None) -> str:
    return "" if value is None else f"{round(value)}"


def count_axis(highest: int, ticks: int = 8) -> list[int]:
    """Whole-number ticks from 0 for counts (pygal would otherwise label 0.5 orders)."""
    step = max(1, -(-highest // ticks))
    return list(range(0, max(highest, 1) + step, step))


# ---- orders and revenue over time ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Bucket:
    start: date
    end: date  # inclusive
    label: str
    orders: int = 0
    revenue: dict[str, int] = field(default_factory=dict)  # currency -> minor units


@dataclass(frozen=True)
class Timeline:
    unit: str  # "day", "week" or "month"
    buckets: list[Bucket]
    currencies: list[str]


def _starts(start: date, end: date, unit: str) -> list[date]:
    """The first day of every bucket that overlaps [start, end]; the first one begins at ``start``."""
    starts, current = [start], start
    while True:
        try:
            if unit == "day":
                current = current + timedelta(days=1)
            elif unit == "week":
                current = current - timedelta(days=current.weekday()) + timedelta(days=7)
            else:
                current = date(current.year + current.month // 12, current.month % 12 + 1, 1)
        except (OverflowError, ValueError):  # the end of the calendar (year 9999)
            return starts
        if current > end:
            return starts
        starts.append(current)


def timeline(summary: OrderSummary) -> Timeline:
    """Orders and revenue per day (per week or month for long periods), every bucket of the period included."""
    period = summary.period
    unit = "day" if period.days <= DAILY_UP_TO else "week" if period.days <= WEEKLY_UP_TO else "month"
    starts = _starts(period.start, period.end, unit)
    ends = [s - timedelta(days=1) for s in starts[1:]] + [period.end]
    orders = [0] * len(starts)
    revenue: list[dict[str, int]] = [{} for _ in starts]
    currencies = sorted({d.currency for d in summary.by_day})
    position = 0
    for day in summary.by_day:  # oldest first, like the buckets
        while day.day > ends[position]:
            position += 1
        orders[position] += day.orders
        revenue[position][day.currency] = revenue[position].get(day.currency, 0) + day.revenue_minor

    def label(start: date, end: date) -> str:
        if unit == "day":
            return start.isoformat()
        if unit == "week":
            return f"{start.isoformat()} to {end.isoformat()}"
        return start.strftime("%Y-%m")

    buckets = [Bucket(s, e, label(s, e), orders[i], revenue[i]) for i, (s, e) in enumerate(zip(starts, ends))]
    return Timeline(unit, buckets, currencies)


def _axis_labels(line: Timeline) -> list[str]:
    if line.unit == "week":
        return [b.start.isoformat() for b in line.buckets]
    return [b.label for b in line.buckets]


def _over_time(chart_type, line: Timeline, no_data: str, **config):
    labels = _axis_labels(line)
    return chart_type(
        js=[], style=STYLE, width=WIDTH, height=HEIGHT, x_labels=labels, x_label_rotation=35,
        show_minor_x_labels=len(labels) <= 14, x_labels_major_every=max(1, len(labels) // 10),
        truncate_label=-1, legend_at_bottom=True, no_data_text=no_data, margin_right=24, **config)


def revenue_chart(line: Timeline) -> bytes:
    """Revenue per day (or week, month): one series per currency."""
    chart = _over_time(pygal.Bar, line, "No revenue in this period", value_formatter=amount,
                       show_legend=bool(line.currencies))
    for currency in line.currencies:
        chart.add(currency, [b.revenue.get(currency, 0) for b in line.buckets])
    return chart.render()


def orders_chart(line: Timeline) -> bytes:
    """Orders placed per day (or week, month), in any status."""
    highest = max((b.orders for b in line.buckets), default=0)
    axis = {"y_labels": count_axis(highest)} if highest else {}  # pygal cannot place labels on an empty chart
    chart = _over_time(pygal.Bar, line, "No orders in this period", value_formatter=count, show_legend=False, **axis)
    if highest:
        chart.add("Orders", [b.orders for b in line.buckets])
    return chart.render()


# ---- top products and statuses -----------------------------------------------------------------------------

def top_products(sales: list[ProductSales], limit: int = TOP_PRODUCTS) -> list[ProductSales]:
    """The best sellers by revenue, as the report already orders them."""
    return sales[:limit]


def top_products_chart(sales: list[ProductSales], limit: int = TOP_PRODUCTS) -> bytes:
    """Revenue of the best-selling products, one bar each (one series per currency)."""
    top = list(reversed(top_products(sales, limit)))  # a horizontal chart draws its first label at the bottom
    currencies = sorted({s.currency for s in top})
    chart = pygal.HorizontalBar(
        js=[], style=STYLE, width=WIDTH, height=max(HEIGHT, 60 + 32 * len(top)), value_formatter=amount,
        x_labels=[f"{s.name} (#{s.product_id})" for s in top], truncate_label=40, legend_at_bottom=True,
        show_legend=bool(currencies), no_data_text="No sales in this period", margin_right=24)
    for currency in currencies:
        chart.add(currency, [s.revenue_minor if s.currency == currency else None for s in top])
    return chart.render()


def status_chart(summary: OrderSummary) -> bytes:
    """How many orders of the period are in each status (counts, so currencies may be added up)."""
    counts: dict[str, int] = {}
    for row in summary.by_status:
        counts[row.status] = counts.get(row.status, 0) + row.orders
    chart = pygal.Bar(js=[], style=STYLE, width=WIDTH, height=HEIGHT, value_formatter=count, show_legend=False,
                      x_labels=[status.replace("_", " ") for status in counts], no_data_text="No orders in this period",
                      margin_right=24, **({"y_labels": count_axis(max(counts.values()))} if counts else {}))
    if counts:
        chart.add("Orders", list(counts.values()))
    return chart.render()
