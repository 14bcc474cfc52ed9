"""Reviews and feedback that exist, for the API contract and fuzz tests (lookbook/web/tests), made through the
real flow: a paid order first, then the review."""

from __future__ import annotations

from sqlalchemy import delete, select

from lookbook.catalog.models import Product
from lookbook.db import Database
from lookbook.feedback import service as feedback
from lookbook.feedback.models import Feedback, Review
from lookbook.orders.models import OrderStatus
from lookbook.reports.tests.purchases import buy, default_variant


def make_buyer(db: Database, *, user_id: int, product_id: int) -> None:
    """Make the user a buyer of the product (a paid order), topping up its stock if it ran out."""
    with db.session() as session:
        if feedback.has_bought(session, user_id=user_id, product_id=product_id):
            return
        variant = default_variant(session, product_id)
        if variant.stock < 1:
            variant.stock += 1
            session.get(Product, product_id).stock += 1
    buy(db, user_id=user_id, product_ids=[product_id], status=OrderStatus.PAID)


def ready_to_review(db: Database, *, user_id: int, product_id: int) -> None:
    """A buyer of the product without a review of it, so that reviewing it succeeds."""
    make_buyer(db, user_id=user_id, product_id=product_id)
    with db.session() as session:
        session.execute(delete(Review).where(Review.user_id == user_id, Review.product_id == product_id))


def review_of(db: Database, *, user_id: int, product_id: int) -> int:
    """A review by this customer: one they wrote, or a new one of the product."""
    with db.session() as session:
        existing = session.scalar(select(Review.id).where(Review.user_id == user_id).order_by(Review.id))
    if existing is not None:
        return existing
    make_buyer(db, user_id=user_id, product_id=product_id)
    with db.session() as session:
        return feedback.create_review(session, user_id=user_id, product_id=product_id, rating=4, body="Fits well").id


def feedback_of(db: Database, *, user_id: int) -> int:
    """Feedback from this customer: some they sent, or a new message."""
    with db.session() as session:
        existing = session.scalar(select(Feedback.id).where(Feedback.user_id == user_id).order_by(Feedback.id))
        if existing is not None:
            return existing
        return feedback.send_feedback(session, user_id=user_id, subject="Sizes", body="They run small").id
