"""The admin dashboard: sales and order charts, orders, customers, products, deals and coupons, feedback,
catalog status.

One blueprint, ``admin``, shared by this module (the dashboard, its charts and CSV exports) and the modules it
imports at the end (orders, customers, products, offers, feedback, catalog). Every view admits admins only;
the views call the same services as the JSON API under ``/api/v1/admin`` and validate forms with its schemas.
View names start with the section they belong to (``orders_...``), which the sidebar marks as current.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import wraps

import marshmallow as ma
from flask import Response, flash, render_template, request

from lookbook.accounts.roles import Role
from lookbook.errors import LookbookError
from lookbook.reports import charts
from lookbook.reports import service as reports
from lookbook.web.api import PageArgs, transaction
from lookbook.web.fields import INT32_MAX, INT64_MAX
from lookbook.web.pages.base import PageBlueprint, amount_in_minor_units, error_page, load_form, service_error
from lookbook.web.reports import RangeArgs

admin_bp = PageBlueprint("admin", __name__, url_prefix="/admin")

PER_PAGE = 20
ID = f"int(max={INT32_MAX})"              # ids in URLs, bounded like the API's (a larger one is simply not found)
PRODUCT_ID = f"int(max={INT64_MAX})"
# Charts are SVG documents shown with <img>; pygal styles them with an inline <style> element, which the
# pages' policy (default-src 'self') would block inside the SVG. Their own policy allows that and no more.
SVG_POLICY = {"default-src": "'none'", "style-src": "'unsafe-inline'", "frame-ancestors": "'none'"}


# ---- helpers shared by the admin pages -------------------------------------------------------------------------

def PerPage() -> ma.fields.Integer:
    return ma.fields.Integer(load_default=PER_PAGE, validate=ma.validate.Range(min=1, max=100))


class ListArgs(PageArgs):
    per_page = PerPage()


def query_args(schema: ma.Schema) -> tuple[dict, dict]:
    """The page's query string validated by a schema: (values, {}) or (the defaults, errors), with a message."""
    values, errors = load_form(schema, request.args)
    if errors:
        flash("Some of the filters were not understood and were reset: "
              + "; ".join(f"{name}: {' '.join(map(str, problems))}" for name, problems in errors.items()), "error")
        values = schema.load({})
    return values, errors


def minor_units(text: str, *, field_name: str, allow_blank: bool = False) -> tuple[int | None, dict]:
    """A price typed in major units ("12.50", "12") as exact integer minor units (1250), never via float."""
    text = (text or "").strip()
    if not text:
        return None, ({} if allow_blank else {field_name: ["Enter an amount, such as 12.50."]})
    minor = amount_in_minor_units(text)
    if minor is None:
        return None, {field_name: ["Enter an amount of 0 or more with at most two decimals, such as 12.50."]}
    return minor, {}


def major_units(minor: int | None) -> str:
    """Minor units as the text a price field shows (1250 -> "12.50")."""
    return "" if minor is None else str((Decimal(minor) / 100).quantize(Decimal("0.01")))


def _messages(problems) -> list[str]:
    """marshmallow's messages, nested ones (a dict field's) flattened into "key: message" texts."""
    if isinstance(problems, dict):
        return [f"{key}: {text}" if not isinstance(key, int) else text
                for key, value in problems.items() for text in _messages(value)]
    if isinstance(problems, (list, tuple)):
        return [text for value in problems for text in _messages(value)]
    return [str(problems)]


def validate(schema: ma.Schema, data: dict) -> tuple[dict | None, dict]:
    """Like ``load_form`` for values the view has prepared itself (None clears a field): (values, {}) or
    (None, errors per field)."""
    try:
        return schema.load(data, unknown=ma.EXCLUDE), {}
    except ma.ValidationError as error:
        messages = error.messages if isinstance(error.messages, dict) else {"_form": error.messages}
        return None, {name: _messages(problems) for name, problems in messages.items()}


def blank_to_none(form, names) -> dict:
    """Form text fields where an empty field means "none" (clears the value)."""
    return {name: (form.get(name, "").strip() or None) for name in names}


def renamed(errors: dict, names: dict[str, str]) -> dict:
    """Schema errors under the form's field names (price_minor -> price)."""
    return {names.get(name, name): problems for name, problems in errors.items()}


def try_service(call):
    """Run a service call in one transaction: (result, {}) or (None, form errors) with the service's message
    flashed (the errors are never empty: "_form" stands for a refusal that names no field)."""
    try:
        with transaction() as session:
            return call(session), {}
    except LookbookError as error:
        return None, service_error(error) or {"_form": [error.message]}


@admin_bp.app_template_filter("admin_amount")
def _major_units_filter(minor):
    return major_units(minor)


@admin_bp.app_template_filter("admin_time")
def _when(moment) -> str:
    """A timestamp as admins read it: UTC, to the minute."""
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


# ---- dashboard ------------------------------------------------------------------------------------------------

def _period() -> tuple[reports.DateRange, dict]:
    """The period picked in the query string (default: the last 30 days), and any problems with it."""
    values, errors = load_form(RangeArgs(), request.args)
    if not errors:
        try:
            return reports.date_range(values.get("date_from"), values.get("date_to")), {}
        except LookbookError as error:
            errors = dict(error.fields or {"from": [error.message]})
    return reports.date_range(None, None), errors


def _period_args(period: reports.DateRange) -> dict:
    return {"from": period.start.isoformat(), "to": period.end.isoformat()}


@admin_bp.route("")
@admin_bp.access(Role.ADMIN)
def dashboard():
    period, errors = _period()
    with transaction() as session:
        summary = reports.order_summary(session, period=period)
        sales = reports.sales_by_product(session, period=period)
    if errors:
        flash("That period was not understood; showing the last 30 days.", "error")
    line = charts.timeline(summary)
    statuses: dict[str, int] = {}
    for row in summary.by_status:
        statuses[row.status] = statuses.get(row.status, 0) + row.orders
    units: dict[str, int] = {}
    for item in sales:
        units[item.currency] = units.get(item.currency, 0) + item.units
    today = reports.date_range(None, None).end
    presets = [(label, {"from": date.fromordinal(today.toordinal() - days + 1).isoformat(), "to": today.isoformat()})
               for label, days in (("Last 7 days", 7), ("Last 30 days", 30), ("Last 90 days", 90),
                                   ("Last 365 days", 365))]
    return render_template(
        "admin/dashboard.html", period=period, args=_period_args(period), errors=errors, summary=summary,
        timeline=line, sales=sales, top=charts.top_products(sales), statuses=statuses, units=units,
        orders_placed=sum(t.orders for t in summary.totals), presets=presets,
        values={"from": request.args.get("from", period.start.isoformat()),
                "to": request.args.get("to", period.end.isoformat())},
    ), 400 if errors else 200


def _chart_period() -> reports.DateRange | None:
    period, errors = _period()
    return None if errors else period


def _bad_period():
    return error_page(400, "That period was not understood: give 'from' and 'to' as YYYY-MM-DD, 'from' first.")


def svg_chart(view):
    """A chart route: the period from the query string, an SVG answer with the chart's own policy
    (flask-talisman reads per-view options from the registered view function)."""
    @wraps(view)
    def chart():
        period = _chart_period()
        if period is None:
            return _bad_period()
        with transaction() as session:
            document = view(session, period)
        return Response(document, mimetype="image/svg+xml")

    chart.talisman_view_options = {"content_security_policy": dict(SVG_POLICY)}
    return chart


@admin_bp.route("/charts/revenue.svg")
@admin_bp.access(Role.ADMIN)
@svg_chart
def dashboard_revenue_chart(session, period):
    return charts.revenue_chart(charts.timeline(reports.order_summary(session, period=period)))


@admin_bp.route("/charts/orders.svg")
@admin_bp.access(Role.ADMIN)
@svg_chart
def dashboard_orders_chart(session, period):
    return charts.orders_chart(charts.timeline(reports.order_summary(session, period=period)))


@admin_bp.route("/charts/statuses.svg")
@admin_bp.access(Role.ADMIN)
@svg_chart
def dashboard_status_chart(session, period):
    return charts.status_chart(reports.order_summary(session, period=period))


@admin_bp.route("/charts/top-products.svg")
@admin_bp.access(Role.ADMIN)
@svg_chart
def dashboard_top_products_chart(session, period):
    return charts.top_products_chart(reports.sales_by_product(session, period=period))


def csv_download(text: str, filename: str) -> Response:
    return Response(text, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _range_name(period: reports.DateRange) -> str:
    return f"{period.start.isoformat()}_{period.end.isoformat()}"


@admin_bp.route("/reports/sales.csv")
@admin_bp.access(Role.ADMIN)
def dashboard_sales_csv():
    period = _chart_period()
    if period is None:
        return _bad_period()
    with transaction() as session:
        sales = reports.sales_by_product(session, period=period)
    return csv_download(reports.sales_csv(sales), f"sales_{_range_name(period)}.csv")


@admin_bp.route("/reports/orders.csv")
@admin_bp.access(Role.ADMIN)
def dashboard_orders_csv():
    period = _chart_period()
    if period is None:
        return _bad_period()
    with transaction() as session:
        summary = reports.order_summary(session, period=period)
    return csv_download(reports.order_summary_csv(summary), f"orders_{_range_name(period)}.csv")


# The other sections register their views on admin_bp when imported.
from lookbook.web.pages import (  # noqa: F401
    admin_catalog_pages,
    admin_customers,
    admin_feedback,
    admin_offers,
    admin_orders,
    admin_products,
)
