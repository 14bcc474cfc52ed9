"""The one pricing function. Product pages, the cart, checkout and the charged amount all come from here,
so the price shown, the cart total and the amount charged always agree.

Money is integer minor units. A percentage is in basis points (1500 = 15 %) and rounds half up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from lookbook.catalog.models import Product, ProductVariant
from lookbook.deals.models import Coupon, Deal, DiscountKind
from lookbook.errors import InvalidInput


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def discount_of(kind: str, value: int, amount: int) -> int:
    """How much a discount takes off an amount, never more than the amount."""
    if kind == DiscountKind.PERCENT:
        off = (amount * value + 5000) // 10000
    else:
        off = value
    return max(0, min(off, amount))


def active_deals(session: Session, now: datetime | None = None) -> list[Deal]:
    now = now or now_utc()
    return list(session.scalars(
        select(Deal).where(Deal.active.is_(True), Deal.starts_at <= now, or_(Deal.ends_at.is_(None), Deal.ends_at > now))
        .order_by(Deal.id)
    ))


def deal_schedule(session: Session) -> tuple[tuple[int, bool, datetime, datetime | None], ...]:
    """When each deal runs: (id, active, starts_at, ends_at). With ``in_force`` it tells which deals price
    products at any moment without asking the database again."""
    return tuple(tuple(row) for row in session.execute(
        select(Deal.id, Deal.active, Deal.starts_at, Deal.ends_at).order_by(Deal.id)))


def in_force(schedule, now: datetime | None = None) -> tuple[int, ...]:
    """Ids of the deals of a ``deal_schedule`` that run at ``now`` (the same rule as ``active_deals``)."""
    now = now or now_utc()
    return tuple(i for i, active, starts, ends in schedule if active and starts <= now and (ends is None or ends > now))


def deal_applies(deal: Deal, product: Product) -> bool:
    if deal.product_id is not None:
        return deal.product_id == product.id
    if deal.category:
        return deal.category.casefold() in product.category_names()
    return True  # a shop-wide deal


@dataclass(frozen=True)
class UnitPrice:
    list_minor: int
    unit_minor: int
    deal_id: int | None = None
    deal_name: str | None = None

    @property
    def saving_minor(self) -> int:
        return self.list_minor - self.unit_minor


def unit_price(product: Product, variant: ProductVariant | None, deals: list[Deal]) -> UnitPrice | None:
    """The price of one item after the best deal that applies (deals do not stack); None if not for sale."""
    list_minor = variant.price_minor if variant is not None and variant.price_minor is not None else product.price_minor
    if list_minor is None:
        return None
    best, best_off = None, 0
    for deal in deals:
        if deal_applies(deal, product):
            off = discount_of(deal.kind, deal.value, list_minor)
            if off > best_off:
                best, best_off = deal, off
    return UnitPrice(list_minor, list_minor - best_off, best.id if best else None, best.name if best else None)


@dataclass(frozen=True)
class QuoteLine:
    variant_id: int
    product_id: int
    name: str
    sku: str
    size: str | None
    colour: str | None
    quantity: int
    price: UnitPrice

    @property
    def total_minor(self) -> int:
        return self.price.unit_minor * self.quantity


@dataclass(frozen=True)
class Quote:
    lines: list[QuoteLine]
    currency: str
    coupon_code: str | None = None
    discount_minor: int = 0
    problems: list[str] = field(default_factory=list)  # e.g. why a remembered coupon no longer applies

    @property
    def subtotal_minor(self) -> int:
        return sum(line.total_minor for line in self.lines)

    @property
    def total_minor(self) -> int:
        return self.subtotal_minor - self.discount_minor


def find_coupon(session: Session, code: str, subtotal_minor: int, now: datetime | None = None) -> Coupon:
    """The coupon for this code if it can be used on this subtotal now; otherwise a typed error."""
    now = now or now_utc()
    coupon = session.scalar(select(Coupon).where(Coupon.code == code.strip().upper()))
    if coupon is None or not coupon.active:
        raise InvalidInput(f"there is no coupon {code!r}", code="coupon_unknown", fields={"code": ["unknown coupon"]})
    if coupon.starts_at > now:
        raise InvalidInput("this coupon is not valid yet", code="coupon_not_started", fields={"code": ["not valid yet"]})
    if coupon.ends_at is not None and coupon.ends_at <= now:
        raise InvalidInput("this coupon has expired", code="coupon_expired", fields={"code": ["expired"]})
    if coupon.usage_limit is not None and coupon.used_count >= coupon.usage_limit:
        raise InvalidInput("this coupon has been used up", code="coupon_used_up", fields={"code": ["used up"]})
    if subtotal_minor < coupon.min_order_minor:
        raise InvalidInput(f"this coupon needs an order of at least {coupon.min_order_minor} minor units",
                           code="coupon_below_minimum", fields={"code": ["order total below the coupon's minimum"]})
    return coupon


def quote(
    session: Session, items: list[tuple[ProductVariant, Product, int]], *, coupon_code: str | None = None,
    now: datetime | None = None, strict_coupon: bool = False,
) -> Quote:
    """Price a list of (variant, product, quantity): deals per item, then the coupon on the subtotal.

    With ``strict_coupon`` an unusable coupon raises (checkout); otherwise it is dropped and reported in
    ``problems`` (showing a cart).
    """
    deals = active_deals(session, now)
    lines, currencies = [], set()
    for variant, product, quantity in items:
        price = unit_price(product, variant, deals)
        if price is None:
            raise InvalidInput(f"{product.name} has no price and cannot be sold", code="not_for_sale")
        currencies.add(product.currency)
        lines.append(QuoteLine(variant.id, product.id, product.name, variant.sku, variant.size, variant.colour,
                               quantity, price))
    if len(currencies) > 1:
        raise InvalidInput("the cart mixes currencies", code="mixed_currencies")
    currency = currencies.pop() if currencies else "USD"
    subtotal = sum(line.total_minor for line in lines)
    if not coupon_code:
        return Quote(lines, currency)
    try:
        coupon = find_coupon(session, coupon_code, subtotal, now)
    except InvalidInput as problem:
        if strict_coupon:
            raise
        return Quote(lines, currency, problems=[problem.message])
    return Quote(lines, currency, coupon.code, discount_of(coupon.kind, coupon.value, subtotal))
