"""Reports for admins over HTTP, as JSON and as CSV downloads (``.csv`` beside each JSON route).

Dates are inclusive UTC days (``from``/``to`` as YYYY-MM-DD); revenue counts paid, shipped and delivered
orders. CSV cells that a spreadsheet would run as a formula are prefixed with a quote.
"""

from __future__ import annotations

import marshmallow as ma
from flask import Response

from lookbook.accounts import service as accounts
from lookbook.accounts.roles import Role
from lookbook.orders.models import OrderStatus
from lookbook.reports import service as reports
from lookbook.web.api import attributes, ApiBlueprint, PageArgs, page_of, page_schema, transaction
from lookbook.web.fields import INT32_MAX
from lookbook.web.orders import OrderLineSchema

reports_bp = ApiBlueprint("reports", __name__, url_prefix="/api/v1/admin",
                          description="Sales and order reports and customers' order histories, for admins")

CUSTOMER_ID = f"<int(max={INT32_MAX}):customer_id>"


def csv_response_doc(what: str) -> dict:
    return {"200": {
        "description": f"{what} as CSV (UTF-8, a header row, CRLF line ends)",
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "headers": {"Content-Disposition": {
            "description": 'attachment; filename="<report>.csv": browsers save it as a file',
            "required": True, "schema": {"type": "string"}}},
    }}


# ---- schemas ----------------------------------------------------------------------------------------------

class RangeArgs(ma.Schema):
    date_from = ma.fields.Date(data_key="from", metadata={"description": "First day (UTC), inclusive; default: 29 days before 'to'"})
    date_to = ma.fields.Date(data_key="to", metadata={"description": "Last day (UTC), inclusive; default: today"})


class RangeSchema(ma.Schema):
    date_from = ma.fields.Date(data_key="from", required=True)
    date_to = ma.fields.Date(data_key="to", required=True)


class ProductSalesSchema(ma.Schema):
    product_id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    currency = ma.fields.String(required=True)
    units = ma.fields.Integer(required=True)
    revenue_minor = ma.fields.Integer(required=True, metadata={"description": "Line totals after product deals, before coupons"})
    orders = ma.fields.Integer(required=True)


class SalesTotalSchema(ma.Schema):
    currency = ma.fields.String(required=True)
    units = ma.fields.Integer(required=True)
    revenue_minor = ma.fields.Integer(required=True)


class SalesReportSchema(RangeSchema):
    items = ma.fields.List(ma.fields.Nested(ProductSalesSchema), required=True,
                           metadata={"description": "Per product and currency, highest revenue first"})
    totals = ma.fields.List(ma.fields.Nested(SalesTotalSchema), required=True)


class StatusCountSchema(ma.Schema):
    status = ma.fields.String(required=True, validate=ma.validate.OneOf([str(s) for s in OrderStatus]))
    currency = ma.fields.String(required=True)
    orders = ma.fields.Integer(required=True)
    total_minor = ma.fields.Integer(required=True, metadata={"description": "What these orders came to"})


class DayTotalsSchema(ma.Schema):
    date = ma.fields.Date(required=True, attribute="day")
    currency = ma.fields.String(required=True)
    orders = ma.fields.Integer(required=True, metadata={"description": "Placed that day, in any status"})
    revenue_minor = ma.fields.Integer(required=True, metadata={"description": "From the paid, shipped and delivered ones"})


class CurrencyTotalsSchema(ma.Schema):
    currency = ma.fields.String(required=True)
    orders = ma.fields.Integer(required=True, metadata={"description": "In any status"})
    revenue_orders = ma.fields.Integer(required=True, metadata={"description": "Paid, shipped or delivered"})
    revenue_minor = ma.fields.Integer(required=True)


class OrderSummarySchema(RangeSchema):
    by_status = ma.fields.List(ma.fields.Nested(StatusCountSchema), required=True)
    by_day = ma.fields.List(ma.fields.Nested(DayTotalsSchema), required=True,
                            metadata={"description": "Days with orders only, oldest first"})
    totals = ma.fields.List(ma.fields.Nested(CurrencyTotalsSchema), required=True)


class HistoryOrderSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf([str(s) for s in OrderStatus]))
    currency = ma.fields.String(required=True)
    subtotal_minor = ma.fields.Integer(required=True)
    discount_minor = ma.fields.Integer(required=True)
    total_minor = ma.fields.Integer(required=True)
    coupon_code = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime(required=True)
    lines = ma.fields.List(ma.fields.Nested(OrderLineSchema), required=True)


class CustomerRefSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    email = ma.fields.String(required=True)


class SpentSchema(ma.Schema):
    currency = ma.fields.String(required=True)
    orders = ma.fields.Integer(required=True, metadata={"description": "Paid, shipped or delivered orders"})
    spent_minor = ma.fields.Integer(required=True, attribute="revenue_minor")


class CustomerHistorySchema(page_schema(HistoryOrderSchema, "CustomerOrderPage")):
    customer = ma.fields.Nested(CustomerRefSchema, required=True)
    spent = ma.fields.List(ma.fields.Nested(SpentSchema), required=True)


# ---- views --------------------------------------------------------------------------------------------------

def _period(args: dict) -> reports.DateRange:
    return reports.date_range(args.get("date_from"), args.get("date_to"))


def _csv(text: str, filename: str) -> Response:
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _sales(period: reports.DateRange) -> list[reports.ProductSales]:
    with transaction() as session:
        return reports.sales_by_product(session, period=period)


def _range_name(period: reports.DateRange) -> str:
    return f"{period.start.isoformat()}_{period.end.isoformat()}"


@reports_bp.route("/reports/sales", methods=["GET"])
@reports_bp.access(Role.ADMIN)
@reports_bp.arguments(RangeArgs, location="query")
@reports_bp.response(200, SalesReportSchema)
def sales_report(args):
    """Units and revenue per product from orders placed in the range that were paid (shipped, delivered)."""
    period = _period(args)
    items = _sales(period)
    totals: dict[str, dict] = {}
    for item in items:
        total = totals.setdefault(item.currency, {"currency": item.currency, "units": 0, "revenue_minor": 0})
        total["units"] += item.units
        total["revenue_minor"] += item.revenue_minor
    return {"date_from": period.start, "date_to": period.end, "items": items,
            "totals": [totals[c] for c in sorted(totals)]}


@reports_bp.route("/reports/sales.csv", methods=["GET"])
@reports_bp.access(Role.ADMIN)
@reports_bp.arguments(RangeArgs, location="query")
@reports_bp.doc(responses=csv_response_doc("Sales per product"))
def sales_report_csv(args):
    """The sales report as a CSV download: product_id, name, currency, units, revenue_minor, orders."""
    period = _period(args)
    return _csv(reports.sales_csv(_sales(period)), f"sales_{_range_name(period)}.csv")


def _summary(args: dict) -> reports.OrderSummary:
    period = _period(args)
    with transaction() as session:
        return reports.order_summary(session, period=period)


@reports_bp.route("/reports/orders", methods=["GET"])
@reports_bp.access(Role.ADMIN)
@reports_bp.arguments(RangeArgs, location="query")
@reports_bp.response(200, OrderSummarySchema)
def order_report(args):
    """Orders placed in the range: counts and totals by status, orders and revenue by UTC day, and totals."""
    summary = _summary(args)
    return {"date_from": summary.period.start, "date_to": summary.period.end, "by_status": summary.by_status,
            "by_day": summary.by_day, "totals": summary.totals}


@reports_bp.route("/reports/orders.csv", methods=["GET"])
@reports_bp.access(Role.ADMIN)
@reports_bp.arguments(RangeArgs, location="query")
@reports_bp.doc(responses=csv_response_doc("The order summary"))
def order_report_csv(args):
    """The order summary as a CSV download: group (status, day, total), key, currency, orders, amount_minor."""
    summary = _summary(args)
    return _csv(reports.order_summary_csv(summary), f"orders_{_range_name(summary.period)}.csv")


@reports_bp.route(f"/customers/{CUSTOMER_ID}/orders", methods=["GET"])
@reports_bp.access(Role.ADMIN)
@reports_bp.arguments(PageArgs, location="query")
@reports_bp.response(200, CustomerHistorySchema)
@reports_bp.doc(responses={"404": "NOT_FOUND"})
def customer_orders(args, customer_id):
    """One customer's orders, newest first, with their lines, and what the customer has spent."""
    with transaction() as session:
        customer = accounts.get_customer(session, user_id=customer_id)
        history = reports.customer_history(session, customer=customer, page=args["page"], per_page=args["per_page"])
        items = [{**attributes(order, HistoryOrderSchema, exclude=("lines",)),
                  "lines": lines} for order, lines in history.orders]
        return {**page_of(items, history.total, args), "customer": customer, "spent": history.spent}


@reports_bp.route(f"/customers/{CUSTOMER_ID}/orders.csv", methods=["GET"])
@reports_bp.access(Role.ADMIN)
@reports_bp.doc(responses={**csv_response_doc("The customer's order lines"), "404": "NOT_FOUND"})
def customer_orders_csv(customer_id):
    """All of one customer's orders as a CSV download, one row per order line."""
    with transaction() as session:
        customer = accounts.get_customer(session, user_id=customer_id)
        text = reports.customer_history_csv(reports.customer_history(session, customer=customer, per_page=None))
    return _csv(text, f"customer_{customer_id}_orders.csv")
