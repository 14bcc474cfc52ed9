"""Cart, checkout and the order status machine.

Checkout is one transaction owned by the caller: stock reservation (conditional updates that never
oversell), coupon redemption, the order with its lines and first event, and emptying the cart either all
happen or none does. Talking to the payment provider happens after that commit (see ``lookbook.payments``);
an order whose payment never completes is cancelled at ``payment_due_at`` and its stock released, by the
next checkout or by ``lookbook orders expire``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from lookbook.accounts.models import Address, User
from lookbook.catalog import variants as stock
from lookbook.catalog.models import Product, ProductVariant
from lookbook.deals.models import Coupon, CouponRedemption
from lookbook.deals.pricing import Quote, now_utc, quote
from lookbook.errors import Conflict, InvalidInput, NotFound
from lookbook.notifications.service import notify
from lookbook.orders.models import Cart, CartItem, Order, OrderEvent, OrderEventType, OrderLine, OrderStatus

PAYMENT_WINDOW = timedelta(minutes=30)
MAX_QUANTITY = 99

# Which status may follow which. Every change goes through ``transition``.
TRANSITIONS: dict[OrderStatus, set[OrderStatus]] = {
    OrderStatus.PENDING_PAYMENT: {OrderStatus.PAID, OrderStatus.CANCELLED},
    OrderStatus.PAID: {OrderStatus.SHIPPED, OrderStatus.CANCELLED, OrderStatus.REFUNDED},
    OrderStatus.SHIPPED: {OrderStatus.DELIVERED, OrderStatus.REFUNDED},
    OrderStatus.DELIVERED: {OrderStatus.REFUNDED},
    OrderStatus.CANCELLED: set(),
    OrderStatus.REFUNDED: set(),
}
EVENT_OF = {OrderStatus.PAID: OrderEventType.PAID, OrderStatus.SHIPPED: OrderEventType.SHIPPED,
            OrderStatus.DELIVERED: OrderEventType.DELIVERED, OrderStatus.CANCELLED: OrderEventType.CANCELLED,
            OrderStatus.REFUNDED: OrderEventType.REFUNDED}
CUSTOMER_MESSAGES = {
    OrderStatus.PAID: ("Order {id} confirmed", "We received your payment of {total} and are preparing order {id}."),
    OrderStatus.SHIPPED: ("Order {id} shipped", "Order {id} is on its way."),
    OrderStatus.DELIVERED: ("Order {id} delivered", "Order {id} has been delivered. Enjoy!"),
    OrderStatus.CANCELLED: ("Order {id} cancelled", "Order {id} was cancelled."),
    OrderStatus.REFUNDED: ("Order {id} refunded", "We refunded {total} for order {id}."),
}


def format_money(minor: int, currency: str) -> str:
    return f"{minor // 100}.{minor % 100:02d} {currency}"


# ---- cart ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CartView:
    version: int
    quote: Quote
    items: list[tuple[CartItem, ProductVariant, Product]]


def _cart(session: Session, user_id: int) -> Cart:
    cart = session.get(Cart, user_id)
    if cart is None:
        cart = Cart(user_id=user_id, version=1)
        session.add(cart)
        session.flush()
    return cart


def _touch(cart: Cart) -> None:
    cart.version += 1
    cart.updated_at = now_utc()


def _sellable_variant(session: Session, variant_id: int) -> tuple[ProductVariant, Product]:
    row = session.execute(select(ProductVariant, Product).join(Product, Product.id == ProductVariant.product_id)
                          .where(ProductVariant.id == variant_id)).first()
    if row is None or row[1].retired_at is not None:
        raise NotFound(f"no product variant with id {variant_id}", code="variant_not_found")
    return row[0], row[1]


def _check_quantity(quantity: int, variant: ProductVariant) -> None:
    if not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidInput(f"quantity must be from 1 to {MAX_QUANTITY}", code="invalid_quantity",
                           fields={"quantity": [f"must be from 1 to {MAX_QUANTITY}"]})
    if quantity > variant.stock:
        raise Conflict(f"only {variant.stock} left in stock", code="out_of_stock",
                       fields={"quantity": [f"only {variant.stock} left"]})


def view_cart(session: Session, *, user_id: int, now: datetime | None = None) -> CartView:
    cart = _cart(session, user_id)
    items = [tuple(row) for row in session.execute(
        select(CartItem, ProductVariant, Product).join(ProductVariant, ProductVariant.id == CartItem.variant_id)
        .join(Product, Product.id == ProductVariant.product_id).where(CartItem.user_id == user_id)
        .order_by(CartItem.id))]
    priced = quote(session, [(v, p, i.quantity) for i, v, p in items], coupon_code=cart.coupon_code, now=now)
    return CartView(cart.version, priced, items)


def add_to_cart(session: Session, *, user_id: int, variant_id: int, quantity: int) -> None:
    """Add items; adding a variant already in the cart adds to its quantity."""
    cart = _cart(session, user_id)
    variant, _ = _sellable_variant(session, variant_id)
    item = session.scalar(select(CartItem).where(CartItem.user_id == user_id, CartItem.variant_id == variant_id))
    _check_quantity(quantity + (item.quantity if item else 0), variant)
    if item:
        item.quantity += quantity
    else:
        session.add(CartItem(user_id=user_id, variant_id=variant_id, quantity=quantity))
    _touch(cart)
    session.flush()


def _own_item(session: Session, user_id: int, item_id: int) -> CartItem:
    item = session.get(CartItem, item_id)
    if item is None or item.user_id != user_id:
        raise NotFound(f"no cart item with id {item_id}", code="cart_item_not_found")
    return item


def set_quantity(session: Session, *, user_id: int, item_id: int, quantity: int) -> None:
    item = _own_item(session, user_id, item_id)
    variant, _ = _sellable_variant(session, item.variant_id)
    _check_quantity(quantity, variant)
    item.quantity = quantity
    _touch(_cart(session, user_id))
    session.flush()


def remove_from_cart(session: Session, *, user_id: int, item_id: int) -> None:
    session.delete(_own_item(session, user_id, item_id))
    _touch(_cart(session, user_id))
    session.flush()


def apply_coupon(session: Session, *, user_id: int, code: str) -> None:
    """Remember a coupon on the cart after checking it applies to the cart as it is."""
    from lookbook.deals.pricing import find_coupon

    current = view_cart(session, user_id=user_id)
    coupon = find_coupon(session, code, current.quote.subtotal_minor)
    cart = _cart(session, user_id)
    cart.coupon_code = coupon.code
    _touch(cart)
    session.flush()


def remove_coupon(session: Session, *, user_id: int) -> None:
    cart = _cart(session, user_id)
    cart.coupon_code = None
    _touch(cart)
    session.flush()


# ---- checkout -------------------------------------------------------------------------------------------

def checkout(session: Session, *, user: User, cart_version: int, address_id: int | None = None,
             now: datetime | None = None) -> Order:
    """Turn the cart into an order awaiting payment: stock, coupon, order and empty cart, all or nothing."""
    now = now or now_utc()
    expire_unpaid_orders(session, now=now)
    cart = view_cart(session, user_id=user.id, now=now)
    if cart.version != cart_version:
        raise Conflict("the cart changed since you last saw it; review it and check out again", code="cart_changed")
    if not cart.items:
        raise InvalidInput("the cart is empty", code="cart_empty")
    code = session.get(Cart, user.id).coupon_code
    priced = quote(session, [(v, p, i.quantity) for i, v, p in cart.items], coupon_code=code, now=now,
                   strict_coupon=True)
    address = None
    if address_id is not None:
        found = session.get(Address, address_id)
        if found is None or found.user_id != user.id:
            raise NotFound(f"no address with id {address_id}", code="address_not_found")
        address = {c: getattr(found, c) for c in ("recipient", "line1", "line2", "city", "postal_code", "region", "country")}

    stock.reserve(session, {line.variant_id: line.quantity for line in priced.lines})
    order = Order(user_id=user.id, email=user.email, status=OrderStatus.PENDING_PAYMENT, currency=priced.currency,
                  subtotal_minor=priced.subtotal_minor, discount_minor=priced.discount_minor,
                  total_minor=priced.total_minor, coupon_code=priced.coupon_code, shipping_address=address,
                  payment_due_at=now + PAYMENT_WINDOW, created_at=now, updated_at=now)
    session.add(order)
    session.flush()
    if priced.coupon_code:
        _redeem(session, priced.coupon_code, order.id)
    for line in priced.lines:
        session.add(OrderLine(order_id=order.id, product_id=line.product_id, variant_id=line.variant_id,
                              name=line.name[:300], sku=line.sku, size=line.size, colour=line.colour,
                              list_price_minor=line.price.list_minor, unit_price_minor=line.price.unit_minor,
                              quantity=line.quantity, line_total_minor=line.total_minor))
    session.add(OrderEvent(order_id=order.id, type=OrderEventType.PLACED, actor_user_id=user.id, created_at=now,
                           data={"total_minor": order.total_minor, "coupon_code": order.coupon_code}))
    session.execute(delete(CartItem).where(CartItem.user_id == user.id))
    emptied = session.get(Cart, user.id)
    emptied.coupon_code = None
    _touch(emptied)
    session.flush()
    return order


def _redeem(session: Session, code: str, order_id: int) -> None:
    """Count one use of a coupon, atomically: a coupon with one use left cannot be used by two orders."""
    coupon_id = session.scalar(select(Coupon.id).where(Coupon.code == code))
    used = session.execute(
        update(Coupon).where(Coupon.id == coupon_id,
                             (Coupon.usage_limit.is_(None)) | (Coupon.used_count < Coupon.usage_limit))
        .values(used_count=Coupon.used_count + 1).execution_options(synchronize_session=False)
    ).rowcount
    if used != 1:
        raise InvalidInput("this coupon has been used up", code="coupon_used_up", fields={"code": ["used up"]})
    session.add(CouponRedemption(coupon_id=coupon_id, order_id=order_id))


# ---- the status machine ---------------------------------------------------------------------------------

def get_order(session: Session, *, order_id: int, user_id: int | None = None) -> Order:
    """An order; with ``user_id``, only that customer's (someone else's order looks missing)."""
    order = session.get(Order, order_id)
    if order is None or (user_id is not None and order.user_id != user_id):
        raise NotFound(f"no order with id {order_id}", code="order_not_found")
    return order


def lock_order(session: Session, order_id: int) -> Order:
    """Read an order for a status change; on PostgreSQL the row is locked until the transaction ends."""
    order = session.scalar(select(Order).where(Order.id == order_id).with_for_update())
    if order is None:
        raise NotFound(f"no order with id {order_id}", code="order_not_found")
    return order


def transition(session: Session, order: Order, to: OrderStatus, *, actor_user_id: int | None = None,
               data: dict | None = None, now: datetime | None = None) -> Order:
    """Move an order to a new status if the machine allows it; record the event and tell the customer."""
    now = now or now_utc()
    current = OrderStatus(order.status)
    if to not in TRANSITIONS[current]:
        raise Conflict(f"an order that is {current} cannot become {to}", code="invalid_status_change",
                       fields={"status": [f"allowed from {current}: {', '.join(sorted(TRANSITIONS[current])) or 'none'}"]})
    if to == OrderStatus.CANCELLED or (to == OrderStatus.REFUNDED and current == OrderStatus.PAID):
        _release_stock(session, order, now)
    order.status = to
    order.updated_at = now
    session.add(OrderEvent(order_id=order.id, type=EVENT_OF[to], actor_user_id=actor_user_id, data=data or {},
                           created_at=now))
    user = session.get(User, order.user_id) if order.user_id else None
    if user is not None:
        title, body = CUSTOMER_MESSAGES[to]
        values = {"id": order.id, "total": format_money(order.total_minor, order.currency)}
        notify(session, user=user, kind=f"order_{to}", title=title.format(**values), body=body.format(**values),
               data={"order_id": order.id, "status": str(to)})
    session.flush()
    return order


def _release_stock(session: Session, order: Order, now: datetime) -> None:
    quantities: dict[int, int] = {}
    for variant_id, quantity in session.execute(
            select(OrderLine.variant_id, OrderLine.quantity).where(OrderLine.order_id == order.id)):
        if variant_id is not None:
            quantities[variant_id] = quantities.get(variant_id, 0) + quantity
    stock.release(session, quantities)
    session.add(OrderEvent(order_id=order.id, type=OrderEventType.STOCK_RELEASED, data={"variants": len(quantities)},
                           created_at=now))


def cancel_unpaid(session: Session, *, order_id: int, user_id: int) -> Order:
    """A customer may cancel their own order while it awaits payment; after that the shop decides."""
    get_order(session, order_id=order_id, user_id=user_id)
    order = lock_order(session, order_id)
    if order.status != OrderStatus.PENDING_PAYMENT:
        raise Conflict("only an order awaiting payment can be cancelled here; contact the shop",
                       code="invalid_status_change")
    return transition(session, order, OrderStatus.CANCELLED, actor_user_id=user_id, data={"by": "customer"})


def record_payment_failure(session: Session, order: Order, reason: str) -> None:
    session.add(OrderEvent(order_id=order.id, type=OrderEventType.PAYMENT_FAILED, data={"reason": reason}))
    session.flush()


def record_late_payment(session: Session, order: Order, details: dict) -> None:
    """A payment succeeded after the order was cancelled: recorded so an admin refunds it."""
    session.add(OrderEvent(order_id=order.id, type=OrderEventType.PAID_AFTER_CANCEL, data=details))
    session.flush()


def expire_unpaid_orders(session: Session, *, now: datetime | None = None) -> int:
    """Cancel orders whose payment window passed and release their stock (repairs interrupted checkouts)."""
    now = now or now_utc()
    due = list(session.scalars(select(Order.id).where(Order.status == OrderStatus.PENDING_PAYMENT,
                                                      Order.payment_due_at <= now)))
    for order_id in due:
        order = lock_order(session, order_id)
        if order.status == OrderStatus.PENDING_PAYMENT:
            transition(session, order, OrderStatus.CANCELLED, data={"reason": "payment_window_expired"}, now=now)
    return len(due)


def list_orders(session: Session, *, user_id: int | None = None, status: str | None = None, page: int = 1,
                per_page: int = 20) -> tuple[list[Order], int]:
    query = select(Order)
    if user_id is not None:
        query = query.where(Order.user_id == user_id)
    if status:
        query = query.where(Order.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    orders = session.scalars(query.order_by(Order.id.desc()).offset((page - 1) * per_page).limit(per_page))
    return list(orders), int(total)


def order_lines(session: Session, order_id: int) -> list[OrderLine]:
    return list(session.scalars(select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.id)))


def order_events(session: Session, order_id: int) -> list[OrderEvent]:
    return list(session.scalars(select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id)))
