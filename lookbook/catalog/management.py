"""Catalog management for admins: products, their variants and labels, retiring and restoring.

Stock still changes only through ``lookbook.catalog.variants`` (``Product.stock`` stays the sum of its
variants'), and images only through ``service.add_product_image`` (the safe loader, then the index at once).
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import exists, false, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lookbook.catalog import variants as stock
from lookbook.catalog.importer import MAX_ID, MAX_STOCK
from lookbook.catalog.models import Product, ProductVariant
from lookbook.catalog.service import SORTS, Catalog, ProductNotFoundError, add_product_image, get_product
from lookbook.errors import Conflict, InvalidInput, NotFound
from lookbook.orders.models import OrderLine

STATUSES = ("all", "active", "retired")
PRODUCT_FIELDS = ("name", "category", "gender", "colour", "description", "price_minor", "currency", "labels")
VARIANT_FIELDS = ("size", "colour", "price_minor")  # and stock, which goes through variants.set_stock
# Model heads that name a product column; every other head (subCategory, usage, ...) is a label.
COLUMN_OF_HEAD = {"category": "category", "gender": "gender", "colour": "colour"}
# The image store key's suffix, from the file's signature (never from the uploaded file's name).
SUFFIXES = ((b"\xff\xd8\xff", ".jpg"), (b"\x89PNG\r\n\x1a\n", ".png"), (b"GIF87a", ".gif"), (b"GIF89a", ".gif"))
# Shoppers see at most this many units per variant: enough for "only 3 left", without publishing inventory.
SHOWN_STOCK_CAP = 10
NEW_PRODUCT_LOCK = 0x6C6B6E70  # PostgreSQL advisory lock key held while taking a new product id ("lknp")


class VariantNotFoundError(NotFound, LookupError):
    """No product variant with that id."""


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


# ---- products ----------------------------------------------------------------------------------------------

def public_product(session: Session, *, product_id: int) -> Product:
    """A product the shop still sells: a retired one is gone for shoppers (orders keep their own copy)."""
    product = get_product(session, product_id=product_id)
    if product.retired_at is not None:
        raise ProductNotFoundError(f"no product with id {product_id}", code="product_not_found")
    return product


def variants_of(session: Session, product_ids: list[int]) -> dict[int, list[ProductVariant]]:
    """Each product's variants in the order they were added, in one query for a whole page."""
    found: dict[int, list[ProductVariant]] = {pid: [] for pid in product_ids}
    query = select(ProductVariant).where(ProductVariant.product_id.in_(product_ids)).order_by(ProductVariant.id)
    for variant in session.scalars(query):
        found[variant.product_id].append(variant)
    return found


def shown_stock(variant: ProductVariant) -> int:
    return min(variant.stock, SHOWN_STOCK_CAP)


def list_admin_products(session: Session, *, status: str = "all", text: str | None = None, sort: str = "id",
                        page: int = 1, per_page: int = 24) -> tuple[list[Product], int]:
    """One page of every product, retired ones too unless the status filter says otherwise."""
    if status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}", fields={"status": ["unknown status"]})

    def narrowed(query):
        if status == "active":
            query = query.where(Product.retired_at.is_(None))
        elif status == "retired":
            query = query.where(Product.retired_at.is_not(None))
        for word in (text or "").split():
            query = query.where(Product.name.icontains(word, autoescape=True))
        return query

    total = session.scalar(narrowed(select(func.count(Product.id)))) or 0
    products = session.scalars(narrowed(select(Product)).order_by(*SORTS[sort])
                               .offset((page - 1) * per_page).limit(per_page))
    return list(products), int(total)


def next_product_id(session: Session) -> int:
    """Ids come from the source catalogs, so a new product takes the next id above all of them."""
    highest = session.scalar(select(func.max(Product.id))) or 0
    if highest >= MAX_ID:
        raise Conflict("no product id is left above the highest one", code="product_ids_exhausted")
    return highest + 1


def create_product(session: Session, *, fields: dict, stock_count: int = 0) -> Product:
    """A new product with one default variant carrying ``stock_count`` (sizes can be added as variants later)."""
    _check_fields(fields, PRODUCT_FIELDS)
    _serialise_new_ids(session)
    product_id = next_product_id(session)
    product = Product(id=product_id, **{"labels": {}, "currency": "USD", **fields}, stock=0)
    session.add(product)
    session.flush()
    session.add(ProductVariant(product_id=product_id, sku=_default_sku(session, product_id), stock=stock_count,
                               is_default=True))
    stock.refresh_product_stock(session, [product_id])
    session.refresh(product)
    return product


def update_product(session: Session, *, product_id: int, changes: dict) -> Product:
    """Correct a product's details; only the fields given change (``labels`` is replaced whole)."""
    _check_fields(changes, PRODUCT_FIELDS)
    product = get_product(session, product_id=product_id)
    for name, value in changes.items():
        setattr(product, name, value)
    session.flush()
    return product


def retire_product(session: Session, *, product_id: int, now: datetime | None = None) -> Product:
    """Stop selling a product: gone from listing, search and similar items, and from new carts; orders keep it."""
    product = get_product(session, product_id=product_id)
    if product.retired_at is None:
        product.retired_at = now or now_utc()
        session.flush()
    return product


def restore_product(session: Session, *, product_id: int) -> Product:
    """Sell a retired product again, with its variants, stock and image as they were."""
    product = get_product(session, product_id=product_id)
    if product.retired_at is not None:
        product.retired_at = None
        session.flush()
    return product


def confirm_labels(session: Session, *, product_id: int, accept: list[str] = (), values: dict | None = None) -> Product:
    """Take the model's suggestions for the heads in ``accept``, then the admin's own ``values`` over them.

    ``values`` may set ``category``, ``gender`` and ``colour`` and merge ``labels`` (a label set to None is
    removed); the suggestions stay on the product for the next look.
    """
    product = get_product(session, product_id=product_id)
    values = dict(values or {})
    _check_fields(values, ("category", "gender", "colour", "labels"))
    suggestions = product.predicted_labels or {}
    unknown = [head for head in accept if head not in suggestions]
    if unknown:
        raise InvalidInput(f"no suggestion to accept for {', '.join(unknown)}", code="no_suggestion",
                           fields={"accept": [f"the product has no suggestion for {head}" for head in unknown]})
    columns: dict = {}
    labels = dict(product.labels or {})
    for head in accept:
        label = suggestions[head]["label"]
        if head in COLUMN_OF_HEAD:
            columns[COLUMN_OF_HEAD[head]] = label
        else:
            labels[head] = label
    for name, value in values.pop("labels", {}).items():
        if value is None:
            labels.pop(name, None)
        else:
            labels[name] = value
    columns.update(values)
    for name, value in columns.items():
        setattr(product, name, value)
    product.labels = labels
    session.flush()
    return product


def upload_product_image(catalog: Catalog, *, product_id: int, image_bytes: bytes) -> dict:
    """Give a product a new image (searchable at once) and return the model's label suggestions for it."""
    suffix = next((s for signature, s in SUFFIXES if image_bytes.startswith(signature)), None)
    if suffix is None and image_bytes[:4] == b"RIFF" and image_bytes[8:12] == b"WEBP":
        suffix = ".webp"
    # An unknown signature still goes through the safe loader, which says what is wrong with the file.
    return add_product_image(catalog, product_id, image_bytes, suffix=suffix or ".img")


# ---- variants ----------------------------------------------------------------------------------------------

def get_variant(session: Session, *, variant_id: int) -> ProductVariant:
    variant = session.get(ProductVariant, variant_id)
    if variant is None:
        raise VariantNotFoundError(f"no product variant with id {variant_id}", code="variant_not_found")
    return variant


def was_ordered(session: Session, variant_id: int) -> bool:
    return bool(session.scalar(select(exists().where(OrderLine.variant_id == variant_id))))


def add_variant(session: Session, *, product_id: int, sku: str, size: str | None = None, colour: str | None = None,
                price_minor: int | None = None, stock_count: int = 0) -> ProductVariant:
    """Add a size or colour with its own stock.

    The product's first real variant replaces its default variant (which carried the stock of a product
    without sizes), so no unit is counted twice: the default is deleted if it was never ordered, otherwise
    kept for order history with no stock.
    """
    product = get_product(session, product_id=product_id)
    existing = variants_of(session, [product_id])[product_id]
    replaced = existing if all(v.is_default for v in existing) else []  # this is the first real variant
    _check_total(session, product_id, stock_count, leaving=[v.id for v in replaced])
    kept = [v for v in replaced if was_ordered(session, v.id)]
    deleted = [v for v in replaced if v not in kept]
    # A default about to be deleted frees its sku (the product id) for the new variant.
    if session.scalar(select(exists().where(ProductVariant.sku == sku,
                                            ProductVariant.id.not_in([v.id for v in deleted])))):
        raise _sku_taken(sku)
    for default in kept:
        stock.set_stock(session, variant_id=default.id, stock=0)
        session.expire(default, ["stock"])
    for default in deleted:
        session.delete(default)
    session.flush()  # deletes first: the new variant may reuse a deleted default's sku
    variant = ProductVariant(product_id=product_id, sku=sku, size=size, colour=colour, price_minor=price_minor,
                             stock=stock_count, is_default=False)
    session.add(variant)
    try:
        session.flush()
    except IntegrityError as error:  # the same sku, added at the same moment: the whole request fails
        if "sku" in str(error.orig):
            raise _sku_taken(sku) from None
        raise
    stock.refresh_product_stock(session, [product_id])
    session.expire(product, ["stock"])
    return variant


def update_variant(session: Session, *, variant_id: int, changes: dict) -> ProductVariant:
    """Correct a variant's size, colour or price, or count its stock anew."""
    changes = dict(changes)
    new_stock = changes.pop("stock", None)
    _check_fields(changes, VARIANT_FIELDS)
    variant = get_variant(session, variant_id=variant_id)
    if new_stock is not None:
        _check_total(session, variant.product_id, new_stock, leaving=[variant.id])
    for name, value in changes.items():
        setattr(variant, name, value)
    session.flush()
    if new_stock is not None:
        stock.set_stock(session, variant_id=variant.id, stock=new_stock)
        session.expire(variant, ["stock"])
        product = session.get(Product, variant.product_id)
        session.expire(product, ["stock"])
    return variant


def delete_variant(session: Session, *, variant_id: int) -> None:
    """Delete a variant that was never ordered (orders point at what they sold); a product keeps at least one."""
    variant = get_variant(session, variant_id=variant_id)
    if was_ordered(session, variant_id):
        raise Conflict("this variant has been ordered, so order history needs it; set its stock to 0 instead",
                       code="variant_ordered")
    if session.scalar(select(func.count(ProductVariant.id)).where(ProductVariant.product_id == variant.product_id)) == 1:
        raise Conflict("a product keeps at least one variant; retire the product instead", code="last_variant")
    product_id = variant.product_id
    session.delete(variant)
    stock.refresh_product_stock(session, [product_id])
    product = session.get(Product, product_id)
    session.expire(product, ["stock"])


# ---- checks ------------------------------------------------------------------------------------------------

def _check_fields(fields: dict, allowed: tuple[str, ...]) -> None:
    unknown = set(fields) - set(allowed)
    if unknown:
        raise InvalidInput(f"unknown fields: {', '.join(sorted(unknown))}",
                           fields={name: ["unknown field"] for name in sorted(unknown)})


def _check_total(session: Session, product_id: int, new_stock: int, *, leaving: list[int]) -> None:
    """The product's total must still fit its stock column once this variant holds ``new_stock``."""
    others = session.scalar(select(func.coalesce(func.sum(ProductVariant.stock), 0)).where(
        ProductVariant.product_id == product_id, ProductVariant.id.not_in(leaving))) or 0
    if new_stock < 0 or others + new_stock > MAX_STOCK:
        raise InvalidInput(f"a product holds at most {MAX_STOCK} units over all its variants", code="stock_too_large",
                           fields={"stock": [f"at most {MAX_STOCK - others} for this variant"]})


def _serialise_new_ids(session: Session) -> None:
    """Two admins creating at once must not both read the same highest id: the second waits for the first."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": NEW_PRODUCT_LOCK})
    else:  # SQLite: a write (here one that changes nothing) takes the database's one write lock before the read
        session.execute(update(Product).where(false()).values(stock=Product.stock)
                        .execution_options(synchronize_session=False))


def _sku_taken(sku: str) -> Conflict:
    return Conflict(f"another variant already has the sku {sku!r}", code="sku_taken", fields={"sku": ["already taken"]})


def _default_sku(session: Session, product_id: int) -> str:
    """The importer's default sku is the product id; an admin may already have used that for another variant."""
    candidate, n = str(product_id), 1
    while session.scalar(select(exists().where(ProductVariant.sku == candidate))):
        n += 1
        candidate = f"{product_id}-{n}"
    return candidate
