"""Reviews of bought products and general feedback. Text is stored exactly as given; output escapes it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lookbook.catalog.models import utcnow
from lookbook.db import Base, UtcDateTime


class ModerationStatus(StrEnum):
    PUBLISHED = "published"
    HIDDEN = "hidden"


class Review(Base):
    __tablename__ = "reviews"
    __table_args__ = (UniqueConstraint("product_id", "user_id"),
                      CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("products.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    rating: Mapped[int] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=ModerationStatus.PUBLISHED)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Feedback(Base):
    """A message to the shop that is not about one product."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="new")  # new, read, archived
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
