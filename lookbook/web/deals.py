"""Deals and coupons over HTTP: the strongest offers for everyone; creating and running them, for admins."""

from __future__ import annotations

from datetime import datetime, timezone

import marshmallow as ma

from lookbook.accounts.roles import Role
from lookbook.deals import pricing
from lookbook.deals import service as deals
from lookbook.deals.models import DiscountKind
from lookbook.web.api import PUBLIC, ApiBlueprint, PageArgs, page_of, page_schema, transaction
from lookbook.web.catalog import LIST_CACHE, ProductSchema, deals_in_force, product_dict
from lookbook.web.fields import INT32_MAX, INT64_MAX, Name, Text

deals_bp = ApiBlueprint("deals", __name__, url_prefix="/api/v1/deals", description="Offers: products on a deal")
admin_deals_bp = ApiBlueprint("admin_deals", __name__, url_prefix="/api/v1/admin/deals",
                              description="Deals (automatic discounts), for admins")
admin_coupons_bp = ApiBlueprint("admin_coupons", __name__, url_prefix="/api/v1/admin/coupons",
                                description="Coupon codes, for admins")

DEAL_ID = f"<int(max={INT32_MAX}):deal_id>"
COUPON_ID = f"<int(max={INT32_MAX}):coupon_id>"
KINDS = [str(kind) for kind in DiscountKind]
EARLIEST, LATEST = datetime(2000, 1, 1, tzinfo=timezone.utc), datetime(3000, 1, 1, tzinfo=timezone.utc)
STATUSES = ["inactive", "scheduled", "live", "ended"]


def _within_years(value: datetime) -> None:
    # Bounded so that every value converts to UTC and fits both databases' timestamp types.
    if not EARLIEST <= value < LATEST:
        raise ma.ValidationError("must be from year 2000 to 2999")


def When(**kwargs) -> ma.fields.AwareDateTime:
    """An RFC 3339 date-time; one without an offset is taken as UTC."""
    return ma.fields.AwareDateTime(default_timezone=timezone.utc, validate=_within_years, **kwargs)


KIND_DOC = "percent: value in basis points (1500 = 15 %, 1..10000); fixed: value in minor units"
CODE_DOC = "Letters, digits, - and _; stored upper-case, so customers may type it in any case"
# The pattern documents the code; the service checks it in full (Python's $ would let a final newline through).
CODE_RULES = [ma.validate.Length(min=1, max=40),
              ma.validate.Regexp(r"^[A-Za-z0-9_-]+$", error="letters, digits, - and _ only")]


# ---- schemas -----------------------------------------------------------------------------------------------------

class DealChangesSchema(ma.Schema):
    """Any subset of a deal's fields; product_id or category replaces the whole target."""

    name = Name()
    kind = ma.fields.String(validate=ma.validate.OneOf(KINDS), metadata={"description": KIND_DOC})
    value = ma.fields.Integer(validate=ma.validate.Range(min=1, max=INT64_MAX))
    product_id = ma.fields.Integer(allow_none=True, validate=ma.validate.Range(min=1, max=INT64_MAX),
                                   metadata={"description": "The one product on the deal"})
    category = Text(min=1, max=120, allow_none=True,
                    metadata={"description": "A category, specific (Tshirts) or broad (Topwear); "
                                             "no product and no category: everything"})
    starts_at = When()
    ends_at = When(allow_none=True, metadata={"description": "After starts_at; null: until deactivated"})
    active = ma.fields.Boolean()


class DealInputSchema(DealChangesSchema):
    name = Name(required=True)
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(KINDS), metadata={"description": KIND_DOC})
    value = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=INT64_MAX))
    starts_at = When(metadata={"description": "Default: now"})


class AdminDealSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(KINDS))
    value = ma.fields.Integer(required=True)
    target = ma.fields.String(required=True, validate=ma.validate.OneOf(["product", "category", "everything"]))
    product_id = ma.fields.Integer(allow_none=True)
    category = ma.fields.String(allow_none=True)
    starts_at = ma.fields.DateTime(required=True)
    ends_at = ma.fields.DateTime(allow_none=True)
    active = ma.fields.Boolean(required=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(STATUSES))
    created_at = ma.fields.DateTime(required=True)
    alerts_sent = ma.fields.Integer(metadata={"description": "Customers alerted by this request (create, activate)"})


class CouponChangesSchema(ma.Schema):
    """Any subset of a coupon's writable fields."""

    code = ma.fields.String(validate=CODE_RULES, metadata={"description": CODE_DOC})
    kind = ma.fields.String(validate=ma.validate.OneOf(KINDS), metadata={"description": KIND_DOC})
    value = ma.fields.Integer(validate=ma.validate.Range(min=1, max=INT64_MAX))
    min_order_minor = ma.fields.Integer(validate=ma.validate.Range(min=0, max=INT64_MAX),
                                        metadata={"description": "Smallest cart subtotal it applies to"})
    starts_at = When()
    ends_at = When(allow_none=True, metadata={"description": "After starts_at; null: until deactivated"})
    usage_limit = ma.fields.Integer(allow_none=True, validate=ma.validate.Range(min=1, max=INT32_MAX),
                                    metadata={"description": "Orders it may be used on in all; null: no limit"})
    active = ma.fields.Boolean()


class CouponInputSchema(CouponChangesSchema):
    code = ma.fields.String(required=True, validate=CODE_RULES, metadata={"description": CODE_DOC})
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(KINDS), metadata={"description": KIND_DOC})
    value = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=INT64_MAX))
    starts_at = When(metadata={"description": "Default: now"})


class AdminCouponSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    code = ma.fields.String(required=True)
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(KINDS))
    value = ma.fields.Integer(required=True)
    min_order_minor = ma.fields.Integer(required=True)
    starts_at = ma.fields.DateTime(required=True)
    ends_at = ma.fields.DateTime(allow_none=True)
    usage_limit = ma.fields.Integer(allow_none=True)
    used_count = ma.fields.Integer(required=True, dump_only=True, metadata={"description": "Orders that used it"})
    active = ma.fields.Boolean(required=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf([*STATUSES, "used_up"]))
    created_at = ma.fields.DateTime(required=True)


class OfferListArgs(PageArgs):
    active = ma.fields.Boolean(metadata={"description": "Only active (true) or inactive (false) ones"})


class BestDealsArgs(ma.Schema):
    limit = ma.fields.Integer(load_default=12, validate=ma.validate.Range(min=1, max=50))


class BestDealSchema(ma.Schema):
    product = ma.fields.Nested(ProductSchema, required=True)
    currency = ma.fields.String(required=True)
    list_price_minor = ma.fields.Integer(required=True)
    deal_price_minor = ma.fields.Integer(required=True, metadata={"description": "What the cart charges for one"})
    saving_minor = ma.fields.Integer(required=True)
    saving_percent = ma.fields.Integer(required=True, metadata={"description": "Of the list price, rounded"})
    deal_id = ma.fields.Integer(required=True)
    deal_name = ma.fields.String(required=True)
    ends_at = ma.fields.DateTime(allow_none=True, metadata={"description": "When the deal ends; null: open-ended"})


class BestDealsSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(BestDealSchema), required=True)


# ---- views -------------------------------------------------------------------------------------------------------

def _deal(deal, alerts_sent: int | None = None) -> dict:
    body = {name: getattr(deal, name) for name in ("id", "name", "kind", "value", "product_id", "category",
                                                    "starts_at", "ends_at", "active", "created_at")}
    body["target"] = deals.deal_target(deal)
    body["status"] = deals.status_of(active=deal.active, starts_at=deal.starts_at, ends_at=deal.ends_at,
                                     now=pricing.now_utc())
    if alerts_sent is not None:
        body["alerts_sent"] = alerts_sent
    return body


def _coupon(coupon) -> dict:
    body = {name: getattr(coupon, name) for name in ("id", "code", "kind", "value", "min_order_minor", "starts_at",
                                                      "ends_at", "usage_limit", "used_count", "active", "created_at")}
    body["status"] = deals.coupon_status(coupon, pricing.now_utc())
    return body


@deals_bp.route("/best", methods=["GET"])
@deals_bp.access(PUBLIC)
@deals_bp.arguments(BestDealsArgs, location="query")
@deals_bp.response(200, BestDealsSchema)
def best_deals(args):
    """The strongest offers now: in-stock products on a deal, by percentage saved, then by amount saved."""
    with transaction() as session:
        offers = deals.best_deals(session, limit=args["limit"], deals=deals_in_force())
        items = [{"product": product_dict(offer.product), "currency": offer.product.currency,
                  "list_price_minor": offer.price.list_minor, "deal_price_minor": offer.price.unit_minor,
                  "saving_minor": offer.price.saving_minor, "saving_percent": offer.saving_percent,
                  "deal_id": offer.deal.id, "deal_name": offer.deal.name, "ends_at": offer.deal.ends_at}
                 for offer in offers]
    return {"items": items}, 200, {"Cache-Control": LIST_CACHE}


@admin_deals_bp.route("", methods=["GET"])
@admin_deals_bp.access(Role.ADMIN)
@admin_deals_bp.arguments(OfferListArgs, location="query")
@admin_deals_bp.response(200, page_schema(AdminDealSchema, "AdminDealPage"))
def list_deals(args):
    """Deals, newest first."""
    with transaction() as session:
        found, total = deals.list_deals(session, page=args["page"], per_page=args["per_page"],
                                        active=args.get("active"))
        return page_of([_deal(deal) for deal in found], total, args)


@admin_deals_bp.route("", methods=["POST"])
@admin_deals_bp.access(Role.ADMIN)
@admin_deals_bp.arguments(DealInputSchema)
@admin_deals_bp.response(201, AdminDealSchema)
def create_deal(data):
    """Start a deal on a product, a category or everything; opted-in customers it suits are alerted."""
    with transaction() as session:
        deal, alerted = deals.create_deal(session, **data)
        return _deal(deal, alerted)


@admin_deals_bp.route(f"/{DEAL_ID}", methods=["GET"])
@admin_deals_bp.access(Role.ADMIN)
@admin_deals_bp.response(200, AdminDealSchema)
@admin_deals_bp.doc(responses={"404": "NOT_FOUND"})
def get_deal(deal_id):
    """One deal."""
    with transaction() as session:
        return _deal(deals.get_deal(session, deal_id=deal_id))


@admin_deals_bp.route(f"/{DEAL_ID}", methods=["PATCH"])
@admin_deals_bp.access(Role.ADMIN)
@admin_deals_bp.arguments(DealChangesSchema)
@admin_deals_bp.response(200, AdminDealSchema)
@admin_deals_bp.doc(responses={"404": "NOT_FOUND"})
def update_deal(changes, deal_id):
    """Change a deal; setting active to true alerts the customers it suits who were not alerted yet."""
    with transaction() as session:
        deal, alerted = deals.update_deal(session, deal_id=deal_id, changes=changes)
        return _deal(deal, alerted)


@admin_deals_bp.route(f"/{DEAL_ID}", methods=["DELETE"])
@admin_deals_bp.access(Role.ADMIN)
@admin_deals_bp.response(200, AdminDealSchema)
@admin_deals_bp.doc(responses={"404": "NOT_FOUND"})
def deactivate_deal(deal_id):
    """Deactivate a deal at once (it is kept; PATCH active=true switches it back on)."""
    with transaction() as session:
        return _deal(deals.deactivate_deal(session, deal_id=deal_id))


@admin_coupons_bp.route("", methods=["GET"])
@admin_coupons_bp.access(Role.ADMIN)
@admin_coupons_bp.arguments(OfferListArgs, location="query")
@admin_coupons_bp.response(200, page_schema(AdminCouponSchema, "AdminCouponPage"))
def list_coupons(args):
    """Coupons, newest first."""
    with transaction() as session:
        found, total = deals.list_coupons(session, page=args["page"], per_page=args["per_page"],
                                          active=args.get("active"))
        return page_of([_coupon(coupon) for coupon in found], total, args)


@admin_coupons_bp.route("", methods=["POST"])
@admin_coupons_bp.access(Role.ADMIN)
@admin_coupons_bp.arguments(CouponInputSchema)
@admin_coupons_bp.response(201, AdminCouponSchema)
@admin_coupons_bp.doc(responses={"409": "CONFLICT"})
def create_coupon(data):
    """Create a coupon code (409 coupon_code_taken if another coupon has it, in any case)."""
    with transaction() as session:
        return _coupon(deals.create_coupon(session, **data))


@admin_coupons_bp.route(f"/{COUPON_ID}", methods=["GET"])
@admin_coupons_bp.access(Role.ADMIN)
@admin_coupons_bp.response(200, AdminCouponSchema)
@admin_coupons_bp.doc(responses={"404": "NOT_FOUND"})
def get_coupon(coupon_id):
    """One coupon."""
    with transaction() as session:
        return _coupon(deals.get_coupon(session, coupon_id=coupon_id))


@admin_coupons_bp.route(f"/{COUPON_ID}", methods=["PATCH"])
@admin_coupons_bp.access(Role.ADMIN)
@admin_coupons_bp.arguments(CouponChangesSchema)
@admin_coupons_bp.response(200, AdminCouponSchema)
@admin_coupons_bp.doc(responses={"404": "NOT_FOUND", "409": "CONFLICT"})
def update_coupon(changes, coupon_id):
    """Change a coupon (used_count is read-only)."""
    with transaction() as session:
        return _coupon(deals.update_coupon(session, coupon_id=coupon_id, changes=changes))


@admin_coupons_bp.route(f"/{COUPON_ID}", methods=["DELETE"])
@admin_coupons_bp.access(Role.ADMIN)
@admin_coupons_bp.response(200, AdminCouponSchema)
@admin_coupons_bp.doc(responses={"404": "NOT_FOUND"})
def deactivate_coupon(coupon_id):
    """Deactivate a coupon at once (it is kept for the orders that used it; PATCH active=true revives it)."""
    with transaction() as session:
        return _coupon(deals.deactivate_coupon(session, coupon_id=coupon_id))
