"""Deals (automatic discounts on products or categories) and coupon codes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lookbook.catalog.models import utcnow
from lookbook.db import Base, UtcDateTime


class DiscountKind(StrEnum):
    PERCENT = "percent"  # value in basis points: 1500 = 15 %
    FIXED = "fixed"      # value in minor units


class Deal(Base):
    """A discount applied automatically to a product, to a category, or to everything."""

    __tablename__ = "deals"
    __table_args__ = (CheckConstraint("value > 0", name="value_positive"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))
    value: Mapped[int] = mapped_column(BigInteger)
    product_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("products.id", ondelete="CASCADE"), index=True)
    category: Mapped[str | None] = mapped_column(String(120))   # specific or broad category; None with no product: all
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Coupon(Base):
    __tablename__ = "coupons"
    __table_args__ = (CheckConstraint("value > 0", name="value_positive"),
                      CheckConstraint("used_count >= 0", name="used_count_not_negative"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # stored upper-case
    kind: Mapped[str] = mapped_column(String(10))
    value: Mapped[int] = mapped_column(BigInteger)
    min_order_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    usage_limit: Mapped[int | None] = mapped_column(Integer)
    used_count: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class CouponRedemption(Base):
    __tablename__ = "coupon_redemptions"
    __table_args__ = (UniqueConstraint("coupon_id", "order_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
