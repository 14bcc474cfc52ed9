"""Deals and coupons for admins, the strongest offers for shoppers, the deal price a product is shown with, and
deal alerts to customers who asked for them.

Every price here comes from ``lookbook.deals.pricing`` (``active_deals`` + ``unit_price``), the function the
cart and checkout use, so an offer never shows a price that the cart would not charge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from fractions import Fraction

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lookbook.accounts.models import StylePreferences, User
from lookbook.accounts.roles import Role
from lookbook.catalog.models import Product
from lookbook.catalog.service import SearchFilters, filtered
from lookbook.deals import pricing
from lookbook.deals.models import Coupon, Deal, DiscountKind
from lookbook.deals.pricing import UnitPrice, active_deals, unit_price
from lookbook.errors import Conflict, InvalidInput, NotFound
from lookbook.notifications.models import Notification
from lookbook.notifications.service import notify

MAX_BASIS_POINTS = 10_000  # 100 %
COUPON_CODE = re.compile(r"[A-Za-z0-9_-]{1,40}")
DEAL_ALERT = "deal"  # the notification kind of a deal alert
DEAL_FIELDS = ("name", "kind", "value", "product_id", "category", "starts_at", "ends_at", "active")
COUPON_FIELDS = ("code", "kind", "value", "min_order_minor", "starts_at", "ends_at", "usage_limit", "active")


# ---- rules shared by deals and coupons ------------------------------------------------------------------------

def _check_discount(kind: str, value: int) -> None:
    if kind not in set(DiscountKind):
        raise InvalidInput(f"kind must be one of {', '.join(DiscountKind)}", code="invalid_discount",
                           fields={"kind": [f"must be one of {', '.join(DiscountKind)}"]})
    if value < 1 or (kind == DiscountKind.PERCENT and value > MAX_BASIS_POINTS):
        limit = f"1 to {MAX_BASIS_POINTS} basis points" if kind == DiscountKind.PERCENT else "at least 1 minor unit"
        raise InvalidInput(f"a {kind} discount must be {limit}", code="invalid_discount", fields={"value": [limit]})


def _check_period(starts_at: datetime, ends_at: datetime | None) -> None:
    if ends_at is not None and ends_at <= starts_at:
        raise InvalidInput("ends_at must be after starts_at", code="ends_before_start",
                           fields={"ends_at": ["must be after starts_at"]})


def _utc(moment: datetime | None) -> datetime | None:
    """Times are kept and shown in UTC, as the database hands them back; a naive time is taken as UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def status_of(*, active: bool, starts_at: datetime, ends_at: datetime | None, now: datetime) -> str:
    """Where an offer stands now, so an admin sees at a glance which ones customers get."""
    if not active:
        return "inactive"
    if starts_at > now:
        return "scheduled"
    if ends_at is not None and ends_at <= now:
        return "ended"
    return "live"


def _page(session: Session, query, order, page: int, per_page: int) -> tuple[list, int]:
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    return list(session.scalars(query.order_by(*order).offset((page - 1) * per_page).limit(per_page))), int(total)


# ---- deals ------------------------------------------------------------------------------------------------------

def deal_target(deal: Deal) -> str:
    if deal.product_id is not None:
        return "product"
    return "category" if deal.category else "everything"


def _check_deal(session: Session, deal: Deal) -> None:
    """The whole deal, after a create or a change: one place for every rule."""
    if not deal.name or not deal.name.strip():
        raise InvalidInput("a deal needs a name", code="invalid_deal", fields={"name": ["must not be blank"]})
    _check_discount(deal.kind, deal.value)
    if deal.category is not None and not deal.category.strip():
        raise InvalidInput("a category must not be blank", code="invalid_deal",
                           fields={"category": ["must not be blank"]})
    if deal.product_id is not None and deal.category:
        both = ["give product_id or category, not both"]
        raise InvalidInput("a deal targets one product, one category or everything", code="deal_target_ambiguous",
                           fields={"product_id": both, "category": both})
    if deal.product_id is not None:
        product = session.get(Product, deal.product_id)
        if product is None or product.retired_at is not None:
            raise InvalidInput(f"there is no product {deal.product_id} on sale", code="product_not_found",
                               fields={"product_id": ["no such product"]})
    _check_period(deal.starts_at, deal.ends_at)


def get_deal(session: Session, *, deal_id: int) -> Deal:
    deal = session.get(Deal, deal_id)
    if deal is None:
        raise NotFound(f"no deal with id {deal_id}", code="deal_not_found")
    return deal


def list_deals(
    session: Session, *, page: int = 1, per_page: int = 24, active: bool | None = None,
) -> tuple[list[Deal], int]:
    """Deals, newest first, optionally only the active (or inactive) ones, and how many there are."""
    query = select(Deal)
    if active is not None:
        query = query.where(Deal.active.is_(active))
    return _page(session, query, (Deal.id.desc(),), page, per_page)


def create_deal(
    session: Session, *, name: str, kind: str, value: int, product_id: int | None = None, category: str | None = None,
    starts_at: datetime | None = None, ends_at: datetime | None = None, active: bool = True,
    now: datetime | None = None,
) -> tuple[Deal, int]:
    """Start a deal and, in the same transaction, alert the customers it suits; returns it and how many."""
    now = now or pricing.now_utc()
    deal = Deal(name=name.strip() if name else name, kind=kind, value=value, product_id=product_id,
                category=category.strip() if category else category, starts_at=_utc(starts_at or now),
                ends_at=_utc(ends_at), active=active, created_at=now)
    _check_deal(session, deal)
    session.add(deal)
    session.flush()
    return deal, send_deal_alerts(session, deal=deal, now=now)


def update_deal(session: Session, *, deal_id: int, changes: dict, now: datetime | None = None) -> tuple[Deal, int]:
    """Change a deal; giving ``product_id`` or ``category`` replaces the whole target (the one left out is
    cleared). Activating a deal alerts the customers it suits who have not heard of it yet."""
    now = now or pricing.now_utc()
    deal = get_deal(session, deal_id=deal_id)
    was_active = deal.active
    changes = {key: value.strip() if isinstance(value, str) else _utc(value) if isinstance(value, datetime) else value
               for key, value in changes.items() if key in DEAL_FIELDS}
    if "product_id" in changes or "category" in changes:
        changes.setdefault("product_id", None)
        changes.setdefault("category", None)
    for key in ("name", "kind", "value", "starts_at", "active"):
        if key in changes and changes[key] is None:
            raise InvalidInput(f"{key} cannot be removed", code="invalid_deal", fields={key: ["must not be null"]})
    _check_deal(session, Deal(**{**{key: getattr(deal, key) for key in DEAL_FIELDS}, **changes}))  # before any change
    for key, value in changes.items():
        setattr(deal, key, value)
    session.flush()
    alerted = send_deal_alerts(session, deal=deal, now=now) if deal.active and not was_active else 0
    return deal, alerted


def deactivate_deal(session: Session, *, deal_id: int) -> Deal:
    """Stop a deal at once; it is kept, so an admin can see it and switch it back on."""
    deal = get_deal(session, deal_id=deal_id)
    deal.active = False
    session.flush()
    return deal


# ---- coupons ----------------------------------------------------------------------------------------------------

def _check_coupon(coupon: Coupon) -> None:
    if not isinstance(coupon.code, str) or not COUPON_CODE.fullmatch(coupon.code):
        raise InvalidInput("a coupon code is 1 to 40 letters, digits, '-' or '_'", code="invalid_coupon",
                           fields={"code": ["1 to 40 letters, digits, '-' or '_'"]})
    _check_discount(coupon.kind, coupon.value)
    if coupon.min_order_minor < 0:
        raise InvalidInput("min_order_minor must not be negative", code="invalid_coupon",
                           fields={"min_order_minor": ["must be at least 0"]})
    if coupon.usage_limit is not None and coupon.usage_limit < 1:
        raise InvalidInput("usage_limit must be at least 1 (or null for no limit)", code="invalid_coupon",
                           fields={"usage_limit": ["must be at least 1, or null"]})
    _check_period(coupon.starts_at, coupon.ends_at)


def _upper(code):
    # Only ASCII: "ſale".upper() would be "SALE", a code the admin never typed.
    return code.upper() if isinstance(code, str) and code.isascii() else code


def _code_taken(code: str) -> Conflict:
    return Conflict(f"the coupon code {code} is taken", code="coupon_code_taken",
                    fields={"code": ["already used by another coupon"]})


def _check_code_free(session: Session, code: str, coupon_id: int | None = None) -> None:
    """Codes are unique without regard to case (they are stored upper-case)."""
    query = select(Coupon.id).where(Coupon.code == code)
    if coupon_id is not None:
        query = query.where(Coupon.id != coupon_id)
    if session.scalar(query) is not None:
        raise _code_taken(code)


def _flush_code(session: Session, code: str) -> None:
    try:
        session.flush()
    except IntegrityError:  # another admin took the code at the same moment: the unique index settles it
        raise _code_taken(code) from None


def get_coupon(session: Session, *, coupon_id: int) -> Coupon:
    coupon = session.get(Coupon, coupon_id)
    if coupon is None:
        raise NotFound(f"no coupon with id {coupon_id}", code="coupon_not_found")
    return coupon


def list_coupons(
    session: Session, *, page: int = 1, per_page: int = 24, active: bool | None = None,
) -> tuple[list[Coupon], int]:
    """Coupons, newest first, optionally only the active (or inactive) ones, and how many there are."""
    query = select(Coupon)
    if active is not None:
        query = query.where(Coupon.active.is_(active))
    return _page(session, query, (Coupon.id.desc(),), page, per_page)


def create_coupon(
    session: Session, *, code: str, kind: str, value: int, min_order_minor: int = 0, starts_at: datetime | None = None,
    ends_at: datetime | None = None, usage_limit: int | None = None, active: bool = True, now: datetime | None = None,
) -> Coupon:
    """A new coupon; its code is stored upper-case, so customers may type it in any case."""
    now = now or pricing.now_utc()
    coupon = Coupon(code=_upper(code), kind=kind, value=value,
                    min_order_minor=min_order_minor, starts_at=_utc(starts_at or now), ends_at=_utc(ends_at),
                    usage_limit=usage_limit, used_count=0, active=active, created_at=now)
    _check_coupon(coupon)
    _check_code_free(session, coupon.code)
    session.add(coupon)
    _flush_code(session, coupon.code)
    return coupon


def update_coupon(session: Session, *, coupon_id: int, changes: dict) -> Coupon:
    """Change a coupon; ``used_count`` only checkout changes."""
    coupon = get_coupon(session, coupon_id=coupon_id)
    changes = {key: _utc(value) if isinstance(value, datetime) else value
               for key, value in changes.items() if key in COUPON_FIELDS}
    if "code" in changes:
        changes["code"] = _upper(changes["code"])
    for key in ("code", "kind", "value", "min_order_minor", "starts_at", "active"):
        if key in changes and changes[key] is None:
            raise InvalidInput(f"{key} cannot be removed", code="invalid_coupon", fields={key: ["must not be null"]})
    _check_coupon(Coupon(**{**{key: getattr(coupon, key) for key in COUPON_FIELDS}, **changes}))  # before any change
    _check_code_free(session, changes.get("code", coupon.code), coupon.id)
    for key, value in changes.items():
        setattr(coupon, key, value)
    _flush_code(session, coupon.code)
    return coupon


def deactivate_coupon(session: Session, *, coupon_id: int) -> Coupon:
    """Stop a coupon at once; it stays for the orders that used it."""
    coupon = get_coupon(session, coupon_id=coupon_id)
    coupon.active = False
    session.flush()
    return coupon


def coupon_status(coupon: Coupon, now: datetime) -> str:
    status = status_of(active=coupon.active, starts_at=coupon.starts_at, ends_at=coupon.ends_at, now=now)
    if status == "live" and coupon.usage_limit is not None and coupon.used_count >= coupon.usage_limit:
        return "used_up"
    return status


# ---- prices shown with deals --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sale:
    """A product's price under the deal that gives it."""

    price: UnitPrice
    deal: Deal


def sale_of(item, deals: list[Deal]) -> Sale | None:
    """The deal price a product is shown with, or None without a deal.

    ``item`` is a Product or a search hit (same id, category, labels and price): a hit is priced as a
    transient Product so that ``pricing.unit_price`` stays the only pricing rule.
    """
    if not deals:
        return None
    product = item if isinstance(item, Product) else Product(
        id=item.id, category=item.category, labels=dict(item.labels or {}), price_minor=item.price_minor)
    price = unit_price(product, None, deals)
    if price is None or price.deal_id is None:
        return None
    return Sale(price, next(deal for deal in deals if deal.id == price.deal_id))


# ---- the strongest offers -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Offer:
    product: Product
    price: UnitPrice
    deal: Deal

    @property
    def rate(self) -> Fraction:
        """The deal's own rate on this price: 15 % for every product of a 15 % deal, whatever the rounding."""
        if self.deal.kind == DiscountKind.PERCENT:
            return Fraction(min(self.deal.value, MAX_BASIS_POINTS), MAX_BASIS_POINTS)
        return Fraction(min(self.deal.value, self.price.list_minor), self.price.list_minor)

    @property
    def saving_percent(self) -> int:
        """The saving as a whole percentage of the list price, rounded half up."""
        return (self.price.saving_minor * 200 + self.price.list_minor) // (2 * self.price.list_minor)


def _candidates(session: Session, deal: Deal, limit: int) -> list[Product]:
    """The products where this deal alone saves the most, best first, at most ``limit`` (twice for fixed deals).

    A category or shop-wide deal covers thousands of products, but only the in-stock, priced, unretired ones
    are offers, and the order of its savings is known from the price alone: a percentage saves the same rate
    everywhere and the most on the dearest products (price descending); a fixed amount saves the highest rate
    on the cheapest products above it (price ascending) and makes products at or below it free, the dearest
    of those saving most (price descending). So ``limit`` rows per ordering, from ORDER BY price LIMIT in
    SQL (one pass over the category's rows, none of them loaded into Python), are enough: a product left out
    is beaten by ``limit`` products under this deal alone, and another deal can only make those better.
    """
    query = filtered(select(Product), SearchFilters(category=deal.category or None, in_stock=True)).where(
        Product.price_minor.is_not(None), Product.price_minor > 0)
    if deal.product_id is not None:
        return list(session.scalars(query.where(Product.id == deal.product_id)))
    if deal.kind == DiscountKind.PERCENT:
        orderings = [query.order_by(Product.price_minor.desc(), Product.id)]
    else:
        orderings = [query.where(Product.price_minor <= deal.value).order_by(Product.price_minor.desc(), Product.id),
                     query.where(Product.price_minor > deal.value).order_by(Product.price_minor.asc(), Product.id)]
    return [product for ordered in orderings for product in session.scalars(ordered.limit(limit))]


def best_deals(
    session: Session, *, limit: int = 12, now: datetime | None = None, deals: list[Deal] | None = None,
) -> list[Offer]:
    """The strongest offers now: products with a deal, by the deal's rate on them, then by the amount saved.

    Each product is priced with ``pricing.unit_price`` over every active deal (the one a cart would apply),
    after gathering a few candidates per deal in SQL (see ``_candidates``): a handful of queries per deal,
    whatever the size of the catalog. ``deals``: the active deals when the caller has read them already.
    """
    deals = active_deals(session, now) if deals is None else deals
    products: dict[int, Product] = {}
    for deal in deals:
        for product in _candidates(session, deal, limit):
            products[product.id] = product
    by_id = {deal.id: deal for deal in deals}
    offers = []
    for product in products.values():
        price = unit_price(product, None, deals)
        if price is not None and price.deal_id is not None:
            offers.append(Offer(product, price, by_id[price.deal_id]))
    offers.sort(key=lambda offer: (-offer.rate, -offer.price.saving_minor, offer.product.id))
    return offers[:limit]


# ---- deal alerts ----------------------------------------------------------------------------------------------------

def categories_covered(session: Session, deal: Deal) -> set[str] | None:
    """Every category name (casefolded) of the products a deal covers; None for a shop-wide deal.

    A deal on "Topwear" covers "Tshirts" and "Apparel" too, so a customer who favours either hears of it,
    just as a deal on one product matches its specific and its broader categories.
    """
    if deal.product_id is not None:
        product = session.get(Product, deal.product_id)
        return product.category_names() if product is not None else set()
    if not deal.category:
        return None
    names = {deal.category.casefold()}
    rows = session.execute(filtered(select(
        Product.category, Product.labels["masterCategory"].as_string(), Product.labels["subCategory"].as_string(),
    ), SearchFilters(category=deal.category)).distinct())
    names.update(name.casefold() for row in rows for name in row if name)
    return names


def _announcement(deal: Deal, now: datetime) -> tuple[str, str]:
    if deal.kind == DiscountKind.PERCENT:
        whole, part = divmod(deal.value, 100)
        amount = f"{whole}.{part:02d}".rstrip("0").rstrip(".") + " %"
    else:
        amount = f"{deal.value // 100}.{deal.value % 100:02d}"
    what = {"product": "a product you may like", "category": deal.category,
            "everything": "everything"}[deal_target(deal)]
    period = f" from {deal.starts_at:%Y-%m-%d %H:%M} UTC" if deal.starts_at > now else ""
    until = f" until {deal.ends_at:%Y-%m-%d %H:%M} UTC" if deal.ends_at is not None else ""
    return f"New deal: {deal.name}"[:200], f"{deal.name}: {amount} off {what}{period}{until}."


def send_deal_alerts(session: Session, *, deal: Deal, now: datetime | None = None) -> int:
    """Tell each customer who opted in to deal emails and whose favourite categories the deal covers (every
    opted-in customer for a shop-wide deal), at most once per deal; returns how many were told."""
    now = now or pricing.now_utc()
    if not deal.active or (deal.ends_at is not None and deal.ends_at <= now):
        return 0
    covered = categories_covered(session, deal)
    already = set(session.scalars(select(Notification.user_id).where(
        Notification.kind == DEAL_ALERT, Notification.data["deal_id"].as_integer() == deal.id)))
    opted_in = session.execute(
        select(User, StylePreferences.categories).outerjoin(StylePreferences, StylePreferences.user_id == User.id)
        .where(User.role == str(Role.CUSTOMER), User.email_preferences["deals"].as_boolean().is_(True))
        .order_by(User.id))
    title, body = _announcement(deal, now)
    told = 0
    for user, favourites in opted_in:
        if user.id in already:
            continue
        if covered is not None:
            liked = {name.strip().casefold() for name in favourites or [] if isinstance(name, str)}
            if not liked & covered:
                continue
        notify(session, user=user, kind=DEAL_ALERT, title=title, body=body,
               data={"deal_id": deal.id, "product_id": deal.product_id, "category": deal.category})
        told += 1
    return told
