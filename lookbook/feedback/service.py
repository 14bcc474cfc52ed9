"""Reviews of bought products and general feedback to the shop, with moderation for admins.

Text is stored exactly as the customer wrote it (no trimming, no escaping): whoever shows it escapes it
for its medium. The public sees a reviewer's first name only, never the email.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lookbook.accounts.models import User
from lookbook.catalog.models import Product
from lookbook.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from lookbook.feedback.models import Feedback, ModerationStatus, Review
from lookbook.orders.models import Order, OrderLine, OrderStatus

# An order counts as a purchase once it is paid; a cancelled or refunded one does not.
BOUGHT_STATUSES = (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED)
RATINGS = range(1, 6)
REVIEW_FIELDS = ("rating", "title", "body")


class FeedbackStatus(StrEnum):
    NEW = "new"
    READ = "read"
    ARCHIVED = "archived"


@dataclass(frozen=True)
class PublicReview:
    review: Review
    reviewer: str  # first name only


@dataclass(frozen=True)
class ProductReviews:
    items: list[PublicReview]
    total: int              # published reviews
    average_rating: float | None
    ratings: dict[int, int]  # stars -> published reviews with that many


def first_name(name: str | None) -> str:
    """What the public sees of a reviewer: the first word of the name, never the email."""
    words = (name or "").split()
    return words[0] if words else "Customer"


def _check_rating(rating: int) -> None:
    if rating not in RATINGS:
        raise InvalidInput("a rating is from 1 to 5 stars", code="invalid_rating", fields={"rating": ["must be 1 to 5"]})


def _check_not_blank(**values: str) -> None:
    blank = {name: ["must not be blank"] for name, value in values.items() if not value.strip()}
    if blank:
        raise InvalidInput(f"write something in: {', '.join(blank)}", code="invalid_input", fields=blank)


# ---- reviews ------------------------------------------------------------------------------------------------

def has_bought(session: Session, *, user_id: int, product_id: int) -> bool:
    """Only buyers review: a line for the product in one of the customer's paid, shipped or delivered orders."""
    return bool(session.scalar(select(exists().where(
        OrderLine.product_id == product_id, OrderLine.order_id == Order.id, Order.user_id == user_id,
        Order.status.in_([str(s) for s in BOUGHT_STATUSES])))))


def _product(session: Session, product_id: int) -> Product:
    product = session.get(Product, product_id)
    if product is None:
        raise NotFound(f"no product with id {product_id}", code="product_not_found")
    return product


def create_review(session: Session, *, user_id: int, product_id: int, rating: int, body: str = "",
                  title: str | None = None) -> Review:
    """A buyer's one review of a product; published at once, admins may hide it later."""
    _product(session, product_id)
    _check_rating(rating)
    if not has_bought(session, user_id=user_id, product_id=product_id):
        raise PermissionDenied("only customers who bought this product (and paid for it) can review it",
                               code="not_a_buyer")
    if session.scalar(select(Review.id).where(Review.user_id == user_id, Review.product_id == product_id)):
        raise _already_reviewed()
    review = Review(user_id=user_id, product_id=product_id, rating=rating, title=title, body=body,
                    status=ModerationStatus.PUBLISHED)
    try:
        with session.begin_nested():  # a concurrent second review hits the unique constraint instead
            session.add(review)
    except IntegrityError:
        raise _already_reviewed() from None
    return review


def _already_reviewed() -> Conflict:
    return Conflict("you already reviewed this product; edit or delete that review instead", code="already_reviewed")


def _own_review(session: Session, user_id: int, review_id: int) -> Review:
    review = session.get(Review, review_id)
    if review is None or review.user_id != user_id:  # someone else's review looks like a missing one
        raise NotFound(f"no review with id {review_id}", code="review_not_found")
    return review


def update_review(session: Session, *, user_id: int, review_id: int, changes: dict) -> Review:
    """The author corrects their review; a hidden review stays hidden."""
    review = _own_review(session, user_id, review_id)
    if "rating" in changes:
        _check_rating(changes["rating"])
    for name in REVIEW_FIELDS:
        if name in changes:
            setattr(review, name, changes[name])
    session.flush()
    return review


def delete_review(session: Session, *, user_id: int, review_id: int) -> None:
    session.delete(_own_review(session, user_id, review_id))
    session.flush()


def my_reviews(session: Session, *, user_id: int) -> list[Review]:
    return list(session.scalars(select(Review).where(Review.user_id == user_id).order_by(Review.id.desc())))


def product_reviews(session: Session, *, product_id: int, page: int = 1, per_page: int = 20) -> ProductReviews:
    """A product's published reviews, newest first, with their average and count."""
    _product(session, product_id)
    published = (Review.product_id == product_id, Review.status == str(ModerationStatus.PUBLISHED))
    ratings = {stars: 0 for stars in RATINGS}
    for stars, count in session.execute(select(Review.rating, func.count()).where(*published).group_by(Review.rating)):
        ratings[int(stars)] = int(count)
    total = sum(ratings.values())
    average = round(sum(s * n for s, n in ratings.items()) / total, 2) if total else None
    rows = session.execute(select(Review, User.name).join(User, User.id == Review.user_id).where(*published)
                           .order_by(Review.created_at.desc(), Review.id.desc())
                           .offset((page - 1) * per_page).limit(per_page))
    return ProductReviews([PublicReview(review, first_name(name)) for review, name in rows], total, average, ratings)


def list_reviews(session: Session, *, status: str | None = None, product_id: int | None = None,
                 rating: int | None = None, user_id: int | None = None, page: int = 1,
                 per_page: int = 20) -> tuple[list[tuple[Review, User]], int]:
    """Every review, newest first, for moderation; each with its author."""
    query = select(Review, User).join(User, User.id == Review.user_id)
    if status:
        query = query.where(Review.status == status)
    if product_id is not None:
        query = query.where(Review.product_id == product_id)
    if rating is not None:
        query = query.where(Review.rating == rating)
    if user_id is not None:
        query = query.where(Review.user_id == user_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(Review.id.desc()).offset((page - 1) * per_page).limit(per_page))
    return [tuple(row) for row in rows], int(total)


def moderate_review(session: Session, *, review_id: int, status: str) -> Review:
    """Hide a review from the public, or publish it again."""
    if status not in set(ModerationStatus):
        raise InvalidInput(f"a review is {' or '.join(ModerationStatus)}", code="invalid_status",
                           fields={"status": [f"one of {', '.join(ModerationStatus)}"]})
    review = session.get(Review, review_id)
    if review is None:
        raise NotFound(f"no review with id {review_id}", code="review_not_found")
    review.status = status
    session.flush()
    return review


# ---- general feedback ------------------------------------------------------------------------------------

def send_feedback(session: Session, *, user_id: int, subject: str, body: str) -> Feedback:
    """A message to the shop that is not about one product; admins read it."""
    _check_not_blank(subject=subject, body=body)
    feedback = Feedback(user_id=user_id, subject=subject, body=body, status=FeedbackStatus.NEW)
    session.add(feedback)
    session.flush()
    return feedback


def list_feedback(session: Session, *, user_id: int | None = None, status: str | None = None, page: int = 1,
                  per_page: int = 20) -> tuple[list[tuple[Feedback, User]], int]:
    """Feedback, newest first, each with its author: one customer's (``user_id``) or everyone's."""
    query = select(Feedback, User).join(User, User.id == Feedback.user_id)
    if user_id is not None:
        query = query.where(Feedback.user_id == user_id)
    if status:
        query = query.where(Feedback.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(Feedback.id.desc()).offset((page - 1) * per_page).limit(per_page))
    return [tuple(row) for row in rows], int(total)


def set_feedback_status(session: Session, *, feedback_id: int, status: str) -> Feedback:
    """Mark feedback read or archived (or new again)."""
    if status not in set(FeedbackStatus):
        raise InvalidInput(f"feedback is {', '.join(FeedbackStatus)}", code="invalid_status",
                           fields={"status": [f"one of {', '.join(FeedbackStatus)}"]})
    feedback = session.get(Feedback, feedback_id)
    if feedback is None:
        raise NotFound(f"no feedback with id {feedback_id}", code="feedback_not_found")
    feedback.status = status
    session.flush()
    return feedback
