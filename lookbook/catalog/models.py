"""Catalog tables: products and their stored vectors."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lookbook.db import Base, UtcDateTime


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Product(Base):
    """A product of the shop. ``id`` is the source catalog's id (the Kaggle ``id``), not a surrogate."""

    __tablename__ = "products"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(Text)
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
    image_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

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
