"""Admin pages: deals (automatic discounts, with alerts to the customers they suit) and coupon codes.

The forms are validated with the API's schemas (lookbook.web.deals). A discount is typed as people say it: a
percentage ("15" or "12.5") becomes basis points, a fixed amount ("5.00") minor units, both exactly.
Times are UTC, as ``datetime-local`` fields without an offset (the API takes those as UTC too).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from flask import flash, redirect, render_template, request, url_for

from lookbook.accounts.roles import Role
from lookbook.deals import pricing
from lookbook.deals import service as deals
from lookbook.deals.models import DiscountKind
from lookbook.web.api import transaction
from lookbook.web.deals import (
    CouponChangesSchema,
    CouponInputSchema,
    DealChangesSchema,
    DealInputSchema,
    OfferListArgs,
)
from lookbook.web.pages.admin import (
    ID,
    PerPage,
    admin_bp,
    blank_to_none,
    major_units,
    minor_units,
    query_args,
    renamed,
    try_service,
    validate,
)

KINDS = [(str(DiscountKind.PERCENT), "Percentage off"), (str(DiscountKind.FIXED), "Amount off")]


class OfferArgs(OfferListArgs):
    per_page = PerPage()


def discount_text(kind: str, value: int) -> str:
    """15 % (from 1500 basis points) or 5.00 off (from 500 minor units)."""
    if kind == DiscountKind.PERCENT:
        return f"{(Decimal(value) / 100).normalize():f} %"
    return f"{major_units(value)} off"


@admin_bp.app_template_filter("admin_discount")
def _discount_filter(offer) -> str:
    return discount_text(offer.kind, offer.value)


def _local(moment: datetime | None) -> str:
    """A UTC time as a datetime-local field shows it."""
    return "" if moment is None else moment.strftime("%Y-%m-%dT%H:%M")


def _discount_value(form) -> tuple[int | None, dict]:
    """Percent and fixed values are both hundredths of what is typed: basis points and minor units."""
    value, errors = minor_units(form.get("value", ""), field_name="value")
    if not errors and value == 0:
        errors = {"value": ["A discount must be more than 0."]}
    return value, errors


def _times(form, *, new: bool) -> dict:
    """An empty start means now (new) or unchanged (edit); an empty end means no end."""
    starts, ends = form.get("starts_at", "").strip(), form.get("ends_at", "").strip()
    times = {"starts_at": starts} if starts else {}
    if ends or not new:
        times["ends_at"] = ends or None
    return times


def _status(offer) -> str:
    if hasattr(offer, "code"):
        return deals.coupon_status(offer, pricing.now_utc())
    return deals.status_of(active=offer.active, starts_at=offer.starts_at, ends_at=offer.ends_at, now=pricing.now_utc())


@admin_bp.app_template_global("admin_offer_status")
def _offer_status(offer) -> str:
    return _status(offer)


def _list_args() -> tuple[dict, dict]:
    return query_args(OfferArgs())


def _pages(total: int, args: dict) -> dict:
    return {"page": args["page"], "pages": (total + args["per_page"] - 1) // args["per_page"]}


def _filters(args: dict) -> dict:
    return {"active": "true" if args["active"] else "false"} if args.get("active") is not None else {}


# ---- deals ------------------------------------------------------------------------------------------------------

def _deal_form(form, *, new: bool) -> tuple[dict | None, dict]:
    value, value_errors = _discount_value(form)
    data = {"name": form.get("name", ""), "kind": form.get("kind", ""), **_times(form, new=new),
            "active": "active" in form, **({"value": value} if value is not None else {})}
    target = blank_to_none(form, ("product_id", "category"))
    data.update(target if not new else {k: v for k, v in target.items() if v is not None})
    fields, errors = validate(DealInputSchema() if new else DealChangesSchema(), data)
    errors = {**errors, **value_errors}
    return (None, errors) if errors else (fields, {})


def _deal_values(deal=None) -> dict:
    if deal is None:
        return {"kind": str(DiscountKind.PERCENT), "active": True}
    return {"name": deal.name, "kind": deal.kind, "value": major_units(deal.value), "product_id": deal.product_id or "",
            "category": deal.category or "", "starts_at": _local(deal.starts_at), "ends_at": _local(deal.ends_at),
            "active": deal.active}


def _typed(form, names) -> dict:
    return {**{name: form.get(name, "") for name in names}, "active": "active" in form}


DEAL_FIELDS = ("name", "kind", "value", "product_id", "category", "starts_at", "ends_at")
COUPON_FIELDS = ("code", "kind", "value", "min_order", "usage_limit", "starts_at", "ends_at")


def _alerted(deal, alerted: int) -> str:
    status = _status(deal)
    told = f" {alerted} customer{'' if alerted == 1 else 's'} who asked for deal alerts {'was' if alerted == 1 else 'were'} told." \
        if alerted else ""
    return f"Deal {deal.name} is {status}.{told}"


@admin_bp.route("/deals")
@admin_bp.access(Role.ADMIN)
def deals_list():
    args, errors = _list_args()
    with transaction() as session:
        found, total = deals.list_deals(session, page=args["page"], per_page=args["per_page"], active=args.get("active"))
    return render_template("admin/deals.html", deals=found, total=total, args=args, page=_pages(total, args),
                           filters=_filters(args)), 400 if errors else 200


@admin_bp.route("/deals/new", methods=["GET", "POST"])
@admin_bp.access(Role.ADMIN)
def deals_new():
    values, errors = _deal_values(), {}
    if request.method == "POST":
        values = _typed(request.form, DEAL_FIELDS)
        fields, errors = _deal_form(request.form, new=True)
        if fields is not None:
            made, errors = try_service(lambda session: deals.create_deal(session, **fields))
            if made is not None:
                deal, alerted = made
                flash(_alerted(deal, alerted), "success")
                return redirect(url_for("admin.deals_list"), code=303)
    return render_template("admin/deal_form.html", deal=None, values=values, errors=errors, kinds=KINDS), \
        422 if errors else 200


@admin_bp.route(f"/deals/<{ID}:deal_id>", methods=["GET", "POST"])
@admin_bp.access(Role.ADMIN)
def deals_edit(deal_id: int):
    with transaction() as session:
        deal = deals.get_deal(session, deal_id=deal_id)
    values, errors = _deal_values(deal), {}
    if request.method == "POST":
        values = _typed(request.form, DEAL_FIELDS)
        changes, errors = _deal_form(request.form, new=False)
        if changes is not None:
            changed, errors = try_service(lambda session: deals.update_deal(session, deal_id=deal_id, changes=changes))
            if changed is not None:
                flash(_alerted(*changed), "success")
                return redirect(url_for("admin.deals_list"), code=303)
    return render_template("admin/deal_form.html", deal=deal, values=values, errors=errors, kinds=KINDS), \
        422 if errors else 200


@admin_bp.route(f"/deals/<{ID}:deal_id>/deactivate", methods=["POST"])
@admin_bp.access(Role.ADMIN)
def deals_deactivate(deal_id: int):
    with transaction() as session:
        deal = deals.deactivate_deal(session, deal_id=deal_id)
    flash(f"Deal {deal.name} is switched off; prices are back to normal.", "success")
    return redirect(url_for("admin.deals_list"), code=303)


# ---- coupons -----------------------------------------------------------------------------------------------------

def _coupon_form(form, *, new: bool) -> tuple[dict | None, dict]:
    value, value_errors = _discount_value(form)
    minimum, minimum_errors = minor_units(form.get("min_order", ""), field_name="min_order", allow_blank=True)
    data = {"code": form.get("code", "").strip(), "kind": form.get("kind", ""), **_times(form, new=new),
            "active": "active" in form, "min_order_minor": minimum or 0,
            **({"value": value} if value is not None else {})}
    limit = form.get("usage_limit", "").strip()
    if limit or not new:
        data["usage_limit"] = limit or None
    fields, errors = validate(CouponInputSchema() if new else CouponChangesSchema(), data)
    errors = {**renamed(errors, {"min_order_minor": "min_order"}), **value_errors, **minimum_errors}
    return (None, errors) if errors else (fields, {})


def _coupon_values(coupon=None) -> dict:
    if coupon is None:
        return {"kind": str(DiscountKind.PERCENT), "active": True, "min_order": ""}
    return {"code": coupon.code, "kind": coupon.kind, "value": major_units(coupon.value),
            "min_order": major_units(coupon.min_order_minor) if coupon.min_order_minor else "",
            "usage_limit": coupon.usage_limit or "", "starts_at": _local(coupon.starts_at),
            "ends_at": _local(coupon.ends_at), "active": coupon.active}


@admin_bp.route("/coupons")
@admin_bp.access(Role.ADMIN)
def coupons_list():
    args, errors = _list_args()
    with transaction() as session:
        found, total = deals.list_coupons(session, page=args["page"], per_page=args["per_page"],
                                          active=args.get("active"))
    return render_template("admin/coupons.html", coupons=found, total=total, args=args, page=_pages(total, args),
                           filters=_filters(args)), 400 if errors else 200


@admin_bp.route("/coupons/new", methods=["GET", "POST"])
@admin_bp.access(Role.ADMIN)
def coupons_new():
    values, errors = _coupon_values(), {}
    if request.method == "POST":
        values = _typed(request.form, COUPON_FIELDS)
        fields, errors = _coupon_form(request.form, new=True)
        if fields is not None:
            coupon, errors = try_service(lambda session: deals.create_coupon(session, **fields))
            if coupon is not None:
                flash(f"Coupon {coupon.code} is created ({_status(coupon)}).", "success")
                return redirect(url_for("admin.coupons_list"), code=303)
    return render_template("admin/coupon_form.html", coupon=None, values=values, errors=errors, kinds=KINDS), \
        422 if errors else 200


@admin_bp.route(f"/coupons/<{ID}:coupon_id>", methods=["GET", "POST"])
@admin_bp.access(Role.ADMIN)
def coupons_edit(coupon_id: int):
    with transaction() as session:
        coupon = deals.get_coupon(session, coupon_id=coupon_id)
    values, errors = _coupon_values(coupon), {}
    if request.method == "POST":
        values = _typed(request.form, COUPON_FIELDS)
        changes, errors = _coupon_form(request.form, new=False)
        if changes is not None:
            changed, errors = try_service(lambda session: deals.update_coupon(session, coupon_id=coupon_id,
                                                                              changes=changes))
            if changed is not None:
                flash(f"Coupon {changed.code} is saved ({_status(changed)}).", "success")
                return redirect(url_for("admin.coupons_list"), code=303)
    return render_template("admin/coupon_form.html", coupon=coupon, values=values, errors=errors, kinds=KINDS), \
        422 if errors else 200


@admin_bp.route(f"/coupons/<{ID}:coupon_id>/deactivate", methods=["POST"])
@admin_bp.access(Role.ADMIN)
def coupons_deactivate(coupon_id: int):
    with transaction() as session:
        coupon = deals.deactivate_coupon(session, coupon_id=coupon_id)
    flash(f"Coupon {coupon.code} is switched off; carts can no longer use it.", "success")
    return redirect(url_for("admin.coupons_list"), code=303)

