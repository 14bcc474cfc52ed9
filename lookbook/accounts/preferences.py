"""A customer's style preferences and liked products, kept for recommendations and deal notifications."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lookbook.accounts.models import ProductLike, StylePreferences
from lookbook.catalog.models import Product
from lookbook.errors import InvalidInput, NotFound

# Short lists of short words: enough to describe a wardrobe, too little to store a novel.
MAX_ITEMS = 20
MAX_LENGTH = {"sizes": 20, "categories": 120, "colours": 60}  # as long as the catalog's own columns
INT64_MAX = 2**63 - 1


@dataclass(frozen=True)
class Preferences:
    sizes: list[str]
    categories: list[str]
    colours: list[str]
    budget_min_minor: int | None
    budget_max_minor: int | None
    updated_at: datetime | None  # None: never set


def _view(row: StylePreferences | None) -> Preferences:
    if row is None:
        return Preferences([], [], [], None, None, None)
    return Preferences(list(row.sizes or []), list(row.categories or []), list(row.colours or []),
                       row.budget_min_minor, row.budget_max_minor, row.updated_at)


def get_preferences(session: Session, *, user_id: int) -> Preferences:
    """The customer's preferences; empty ones for a customer who never set any."""
    return _view(session.get(StylePreferences, user_id))


def _words(name: str, values: list[str]) -> list[str]:
    """A list of distinct, non-blank, short strings, in the order given."""
    limit = MAX_LENGTH[name]
    problems = []
    if len(values) > MAX_ITEMS:
        problems.append(f"at most {MAX_ITEMS} items")
    for value in values:
        if not isinstance(value, str) or not value.strip():
            problems.append("every item must be a non-blank string")
        elif len(value) > limit:
            problems.append(f"every item must be at most {limit} characters")
    if problems:
        raise InvalidInput(f"check {name}", code="invalid_preferences", fields={name: sorted(set(problems))})
    return list(dict.fromkeys(values))


def _budget(minimum: int | None, maximum: int | None) -> None:
    fields = {}
    for name, value in (("budget_min_minor", minimum), ("budget_max_minor", maximum)):
        if value is not None and not 0 <= value <= INT64_MAX:
            fields[name] = ["must be from 0 (minor units)"]
    if not fields and minimum is not None and maximum is not None and minimum > maximum:
        fields["budget_min_minor"] = ["must not be more than budget_max_minor"]
    if fields:
        raise InvalidInput("check the budget", code="invalid_preferences", fields=fields)


def set_preferences(session: Session, *, user_id: int, sizes: list[str] = (), categories: list[str] = (),
                    colours: list[str] = (), budget_min_minor: int | None = None,
                    budget_max_minor: int | None = None) -> Preferences:
    """Replace the customer's preferences as a whole (what is left out is cleared)."""
    cleaned = {"sizes": _words("sizes", list(sizes)), "categories": _words("categories", list(categories)),
               "colours": _words("colours", list(colours))}
    _budget(budget_min_minor, budget_max_minor)
    row = session.get(StylePreferences, user_id)
    if row is None:
        row = StylePreferences(user_id=user_id)
        session.add(row)
    for name, values in cleaned.items():
        setattr(row, name, values)
    row.budget_min_minor, row.budget_max_minor = budget_min_minor, budget_max_minor
    session.flush()
    return _view(row)


# ---- likes --------------------------------------------------------------------------------------------------

def likes(session: Session, *, user_id: int, product_id: int) -> bool:
    """Whether the customer likes this product."""
    return session.scalar(select(ProductLike.id).where(ProductLike.user_id == user_id,
                                                       ProductLike.product_id == product_id)) is not None


def like_product(session: Session, *, user_id: int, product_id: int) -> None:
    """Like a product; liking it again changes nothing."""
    product = session.get(Product, product_id)
    if product is None or product.retired_at is not None:
        raise NotFound(f"no product with id {product_id}", code="product_not_found")
    if likes(session, user_id=user_id, product_id=product_id):
        return
    try:
        with session.begin_nested():  # the same like from two tabs at once: one row, no error
            session.add(ProductLike(user_id=user_id, product_id=product_id))
    except IntegrityError:
        pass


def unlike_product(session: Session, *, user_id: int, product_id: int) -> None:
    """Forget a like; forgetting one that is not there changes nothing."""
    session.execute(delete(ProductLike).where(ProductLike.user_id == user_id, ProductLike.product_id == product_id))


def liked_products(session: Session, *, user_id: int, page: int = 1,
                   per_page: int = 24) -> tuple[list[tuple[Product, datetime]], int]:
    """The products the customer likes that are still sold, most recently liked first, with when."""
    query = (select(Product, ProductLike.created_at).join(ProductLike, ProductLike.product_id == Product.id)
             .where(ProductLike.user_id == user_id, Product.retired_at.is_(None)))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(ProductLike.created_at.desc(), ProductLike.id.desc())
                           .offset((page - 1) * per_page).limit(per_page))
    return [tuple(row) for row in rows], int(total)
