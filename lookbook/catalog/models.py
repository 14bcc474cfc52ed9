"""Catalog tables: products and their stored vectors."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, BigInteger, Boolean, CheckConstraint, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lookbook.db import Base, UtcDateTime


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Product(Base):
    """A product of the shop. ``id`` is the source catalog's id (the Kaggle ``id``), not a surrogate."""

    __tablename__ = "products"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(Text, index=True)  # the listing's default order
    # Most specific category (Kaggle articleType); broader ones stay in ``labels``.
    category: Mapped[str | None] = mapped_column(String(120), index=True)
    gender: Mapped[str | None] = mapped_column(String(40), index=True)
    colour: Mapped[str | None] = mapped_column(String(60), index=True)
    # Every label column the source had (masterCategory, subCategory, season, usage, ...).
    labels: Mapped[dict] = mapped_column(JSON, default=dict)
    # Labels the trained model predicted where the source had none; shown as suggestions.
    predicted_labels: Mapped[dict] = mapped_column(JSON, default=dict)
    price_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    stock: Mapped[int] = mapped_column(Integer, default=0)
    description: Mapped[str | None] = mapped_column(Text)
    # Key of the main image in the image store; None when the source had no image.
    image_key: Mapped[str | None] = mapped_column(String(300))
    image_sha256: Mapped[str | None] = mapped_column(String(64), index=True)  # a search photo finds itself by hash
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)
    # Retired products stay for order history and reports but are no longer listed, searched or sold.
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)

    @property
    def in_stock(self) -> bool:
        return self.stock > 0

    def category_names(self) -> set[str]:
        """Every category a filter may name: the specific one and the broader source labels."""
        names = {self.category} | {self.labels.get(k) for k in ("masterCategory", "subCategory")}
        return {n.casefold() for n in names if n}


class ProductVector(Base):
    """The embedding of a product's image, tagged with the model that made it."""

    __tablename__ = "product_vectors"

    product_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    model_version: Mapped[str] = mapped_column(String(80), index=True)
    image_sha256: Mapped[str] = mapped_column(String(64))
    shape: Mapped[bytes] = mapped_column(LargeBinary)   # float32, L2-normalised, from the encoder
    colour: Mapped[bytes] = mapped_column(LargeBinary)  # float32, L2-normalised colour descriptor
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ProductVariant(Base):
    """What a customer actually buys: a size and/or colour of a product, with its own stock.

    Every product has at least one variant; an imported product gets one default variant that carries the
    product's stock. ``Product.stock`` is the total over the product's variants, kept for fast filtering.
    """

    __tablename__ = "product_variants"
    __table_args__ = (CheckConstraint("stock >= 0", name="stock_not_negative"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("products.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[str | None] = mapped_column(String(20))
    colour: Mapped[str | None] = mapped_column(String(60))
    # A price of its own (minor units); None: the product's price.
    price_minor: Mapped[int | None] = mapped_column(BigInteger)
    stock: Mapped[int] = mapped_column(Integer, default=0)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
