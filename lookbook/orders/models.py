"""Cart and order tables. Orders copy what was bought (names, prices, address) so history never changes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lookbook.catalog.models import utcnow
from lookbook.db import Base, UtcDateTime


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"              # payment confirmed: the order is confirmed
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class OrderEventType(StrEnum):
    PLACED = "placed"
    PAYMENT_FAILED = "payment_failed"
    PAID = "paid"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    STOCK_RELEASED = "stock_released"
    PAID_AFTER_CANCEL = "paid_after_cancel"  # money arrived for a cancelled order: to be refunded


class Cart(Base):
    """A customer's cart; ``version`` changes with every edit so checkout can tell it saw the latest one."""

    __tablename__ = "carts"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    coupon_code: Mapped[str | None] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class CartItem(Base):
    __tablename__ = "cart_items"
    __table_args__ = (UniqueConstraint("user_id", "variant_id"), CheckConstraint("quantity > 0", name="quantity_positive"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("carts.user_id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("product_variants.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer)
    added_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Kept when the customer deletes their account (SET NULL): the shop's books must still add up.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(20), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    subtotal_minor: Mapped[int] = mapped_column(BigInteger)   # after product deals
    discount_minor: Mapped[int] = mapped_column(BigInteger)   # coupon discount
    total_minor: Mapped[int] = mapped_column(BigInteger)      # what is charged
    coupon_code: Mapped[str | None] = mapped_column(String(40))
    shipping_address: Mapped[dict | None] = mapped_column(JSON)
    # Stock is held until then; an unpaid order past it is cancelled and its stock released.
    payment_due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class OrderLine(Base):
    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(BigInteger, index=True)  # no FK: history outlives the product
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("product_variants.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(300))
    sku: Mapped[str] = mapped_column(String(64))
    size: Mapped[str | None] = mapped_column(String(20))
    colour: Mapped[str | None] = mapped_column(String(60))
    list_price_minor: Mapped[int] = mapped_column(BigInteger)   # before deals
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)   # after deals
    quantity: Mapped[int] = mapped_column(Integer)
    line_total_minor: Mapped[int] = mapped_column(BigInteger)


class OrderEvent(Base):
    """One typed step in an order's history."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(30))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
