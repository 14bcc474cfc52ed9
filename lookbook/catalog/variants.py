"""Variants and their stock: the one place stock changes, with conditional updates that never oversell."""

from __future__ import annotations

from sqlalchemy import exists, func, insert, select, update
from sqlalchemy.orm import Session

from lookbook.catalog.models import Product, ProductVariant
from lookbook.errors import Conflict


def sync_default_variants(session: Session, product_ids: list[int]) -> None:
    """After an import: products without variants get a default one; a lone default variant follows the
    product's imported stock; a product with real variants keeps the sum of their stock."""
    if not product_ids:
        return
    session.flush()
    no_variant = ~exists().where(ProductVariant.product_id == Product.id)
    session.execute(insert(ProductVariant).from_select(
        ["product_id", "sku", "stock", "is_default"],
        select(Product.id, func.cast(Product.id, ProductVariant.sku.type), Product.stock, True)
        .where(Product.id.in_(product_ids), no_variant),
    ))
    only_default = ~exists().where(ProductVariant.product_id == Product.id, ProductVariant.is_default.is_(False))
    session.execute(
        update(ProductVariant)
        .where(ProductVariant.product_id.in_(product_ids), ProductVariant.is_default.is_(True),
               ProductVariant.stock != select(Product.stock).where(Product.id == ProductVariant.product_id, only_default)
               .scalar_subquery())
        .values(stock=select(Product.stock).where(Product.id == ProductVariant.product_id, only_default)
                .scalar_subquery())
        .execution_options(synchronize_session=False)
    )
    _refresh_product_stock(session, product_ids)


def set_stock(session: Session, *, variant_id: int, stock: int) -> None:
    """Count a variant's stock anew (an admin's stock take) and keep its product's total in step."""
    product_id = session.scalar(select(ProductVariant.product_id).where(ProductVariant.id == variant_id))
    session.execute(update(ProductVariant).where(ProductVariant.id == variant_id).values(stock=stock)
                    .execution_options(synchronize_session=False))
    _refresh_product_stock(session, [product_id])


def refresh_product_stock(session: Session, product_ids) -> None:
    """Make each product's stock the total of its variants' again (after variants were added or deleted)."""
    session.flush()
    _refresh_product_stock(session, product_ids)


def _refresh_product_stock(session: Session, product_ids) -> None:
    total = (select(func.coalesce(func.sum(ProductVariant.stock), 0))
             .where(ProductVariant.product_id == Product.id).scalar_subquery())
    session.execute(update(Product).where(Product.id.in_(list(product_ids)), Product.stock != total)
                    .values(stock=total).execution_options(synchronize_session=False))


def reserve(session: Session, quantities: dict[int, int]) -> None:
    """Take stock for {variant id: quantity}, all or nothing.

    Each variant is decremented by one conditional UPDATE (``stock >= quantity``), which the database
    serialises per row: two customers buying the last item cannot both succeed, on SQLite or PostgreSQL.
    Variants are updated in id order so concurrent checkouts never deadlock.
    """
    short: list[int] = []
    for variant_id in sorted(quantities):
        taken = session.execute(
            update(ProductVariant)
            .where(ProductVariant.id == variant_id, ProductVariant.stock >= quantities[variant_id])
            .values(stock=ProductVariant.stock - quantities[variant_id])
            .execution_options(synchronize_session=False)
        ).rowcount
        if taken != 1:
            short.append(variant_id)
    if short:
        raise Conflict("some items are no longer in stock in the quantity asked", code="out_of_stock",
                       fields={"variant_ids": [str(v) for v in short]})
    _refresh_product_stock(session, _products_of(session, quantities))


def release(session: Session, quantities: dict[int, int]) -> None:
    """Put stock back (a cancelled or expired order)."""
    for variant_id in sorted(quantities):
        session.execute(update(ProductVariant).where(ProductVariant.id == variant_id)
                        .values(stock=ProductVariant.stock + quantities[variant_id])
                        .execution_options(synchronize_session=False))
    _refresh_product_stock(session, _products_of(session, quantities))


def _products_of(session: Session, quantities: dict[int, int]) -> set[int]:
    return set(session.scalars(select(ProductVariant.product_id).where(ProductVariant.id.in_(list(quantities)))))
