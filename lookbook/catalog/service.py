"""Catalog services: open a data directory, search it by photo, add and remove products.

Plain functions and one small ``Catalog`` object that owns the database, the image store, the encoder and
the search index of one ``LOOKBOOK_HOME``; the CLI, the web app and workers all go through here.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from cachetools import LRUCache
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lookbook.catalog.browsing import ProductTable
from lookbook.catalog.freshness import ChangeStamp, watch
from lookbook.catalog.indexing import (
    DEFAULT_COLOUR_WEIGHT, IndexManifest, open_index, sync_index,
)
from lookbook.catalog.models import Product, ProductVector
from lookbook.config import Paths, get_paths
from lookbook.db import Database
from lookbook.errors import NotFound
from lookbook.search.agreement import DEFAULT_WEIGHT, agreement_ranking, candidates_for
from lookbook.search.index import MANIFEST as INDEX_MANIFEST, VectorIndex
from lookbook.storage import LocalImageStore
from lookbook.vision.colour import combine
from lookbook.vision.encoder import Encoder, find_model_dir
from lookbook.vision.images import load_image

# How much agreement with the category the nearest products vote for counts in a search's ranking.
DEFAULT_CATEGORY_WEIGHT = float(os.environ.get("LOOKBOOK_CATEGORY_WEIGHT", str(DEFAULT_WEIGHT)))


class ProductNotFoundError(NotFound, LookupError):
    """No product with that id."""


@dataclass(frozen=True)
class SearchFilters:
    category: str | None = None        # matches the specific category or a broader one (e.g. Topwear)
    gender: str | None = None
    colour: str | None = None
    min_price_minor: int | None = None
    max_price_minor: int | None = None
    in_stock: bool = False

    def is_empty(self) -> bool:
        return self == SearchFilters()


@dataclass
class SearchHit:
    id: int
    name: str
    score: float
    category: str | None
    gender: str | None
    colour: str | None
    price_minor: int | None
    currency: str
    in_stock: bool
    labels: dict = field(default_factory=dict)
    image_sha256: str | None = None

    def to_dict(self) -> dict:
        return {
            "id": self.id, "name": self.name, "score": round(self.score, 4), "category": self.category,
            "gender": self.gender, "colour": self.colour, "price_minor": self.price_minor,
            "currency": self.currency, "in_stock": self.in_stock, "labels": self.labels,
        }


class Catalog:
    """Everything one data directory holds, opened lazily."""

    def __init__(self, paths: Paths | None = None, *, colour_weight: float | None = None, db: Database | None = None,
                 category_weight: float = DEFAULT_CATEGORY_WEIGHT):
        self.paths = paths or get_paths()
        self.paths.home.mkdir(parents=True, exist_ok=True)
        self.db = db or Database(self.paths.database_url)
        self.store = LocalImageStore(self.paths.images)
        self._colour_weight = colour_weight
        self.category_weight = category_weight  # see lookbook.search.agreement; 0 ranks by similarity alone
        self._lock = threading.Lock()
        self._index_lock = threading.Lock()
        self._index: VectorIndex | None = None
        self._index_stamp: int | None = None
        self.changes = ChangeStamp(self.paths.home / "catalog.stamp")
        watch(self.db.sessions, self.changes)
        self.cache_seconds = 60.0  # see ``memo``; the web app sets it from LOOKBOOK_ANSWER_CACHE_SECONDS
        self._memo: LRUCache = LRUCache(maxsize=256)
        self._memo_lock = threading.Lock()

    @cached_property
    def encoder(self) -> Encoder:
        # LOOKBOOK_MODEL_THREADS: onnxruntime threads per process; `lookbook serve` sets 1 (docs/api.md).
        threads = os.environ.get("LOOKBOOK_MODEL_THREADS")
        if threads is not None and not (threads.isdigit() and int(threads) > 0):
            raise ValueError(f"LOOKBOOK_MODEL_THREADS must be a positive whole number, not {threads!r}")
        return Encoder(find_model_dir(self.paths.catalog_model, self.paths.default_model),
                       threads=int(threads) if threads else None)

    @property
    def colour_weight(self) -> float:
        if self._colour_weight is not None:
            return self._colour_weight
        saved = IndexManifest.read(self.paths.index)
        return saved.colour_weight if saved else DEFAULT_COLOUR_WEIGHT

    def _saved_index_stamp(self) -> int | None:
        try:
            return (self.paths.index / INDEX_MANIFEST).stat().st_mtime_ns
        except FileNotFoundError:
            return None

    @property
    def index(self) -> VectorIndex:
        """The search index, reloaded when another process (a worker, `lookbook index`) saved a newer one."""
        with self._index_lock:
            if self._index is None or self._saved_index_stamp() != self._index_stamp:
                manifest = IndexManifest(self.encoder.vector_version, self.colour_weight)
                index = open_index(self.paths.index, manifest)
                if index is None:  # first use, or the model / colour weight changed: build from stored vectors
                    index = sync_index(db=self.db, encoder=self.encoder, directory=self.paths.index,
                                       colour_weight=self.colour_weight)
                self._index, self._index_stamp = index, self._saved_index_stamp()
            return self._index

    def memo(self, key, compute):
        """``compute()``'s answer, kept in this process until the catalog changes (see ``freshness``) and for at
        most ``cache_seconds`` (writes from hosts that do not share the data directory); 0 keeps nothing."""
        if self.cache_seconds <= 0:
            return compute()
        stamp, now = self.changes.current(), time.monotonic()
        with self._memo_lock:
            kept = self._memo.get(key)
        if kept is not None and kept[0] == stamp and now < kept[1]:
            return kept[2]
        value = compute()
        with self._memo_lock:
            self._memo[key] = (stamp, now + self.cache_seconds, value)
        return value

    def save_index(self) -> None:
        """Save this process's changes to the index, without reloading them back."""
        with self._index_lock:
            self._index.save(self.paths.index)
            self._index_stamp = self._saved_index_stamp()

    def update_index(self) -> int:
        """Bring the saved search index up to date with the stored vectors (after ``embed_pending``), holding
        the catalog's write lock so an image added meanwhile is not lost; returns how many products it holds.
        Running processes reload it (its manifest changed)."""
        with self._lock:
            return len(sync_index(db=self.db, encoder=self.encoder, directory=self.paths.index,
                                  colour_weight=self.colour_weight))

    def close(self) -> None:
        self.db.dispose()


def filtered(query, filters: SearchFilters, *, text: str | None = None):
    """Narrow a product query by the shopper's filters (and words in the name); retired products never pass."""
    query = query.where(Product.retired_at.is_(None))
    if text:
        for word in text.split():
            query = query.where(Product.name.icontains(word, autoescape=True))
    if filters.category:
        name = filters.category.casefold()
        query = query.where(
            (func.lower(Product.category) == name)
            | (func.lower(Product.labels["masterCategory"].as_string()) == name)
            | (func.lower(Product.labels["subCategory"].as_string()) == name)
        )
    if filters.gender:
        query = query.where(func.lower(Product.gender) == filters.gender.casefold())
    if filters.colour:
        query = query.where(func.lower(Product.colour) == filters.colour.casefold())
    if filters.min_price_minor is not None:
        query = query.where(Product.price_minor >= filters.min_price_minor)
    if filters.max_price_minor is not None:
        query = query.where(Product.price_minor <= filters.max_price_minor)
    if filters.in_stock:
        query = query.where(Product.stock > 0)
    return query


def retired_ids(session: Session) -> list[int]:
    """Products no longer sold: the index still holds their vectors, so searches exclude them."""
    return list(session.scalars(select(Product.id).where(Product.retired_at.is_not(None))))


def _retired(catalog: Catalog) -> list[int]:
    def compute():
        with catalog.db.session() as session:
            return tuple(retired_ids(session))

    return list(catalog.memo("retired", compute))


def product_table(catalog: Catalog) -> ProductTable:
    """The listed products' browsable columns, kept in this process until the catalog changes."""
    def load():
        with catalog.db.session() as session:
            return ProductTable.load(session)

    return catalog.memo("product table", load)


def allowed_ids(catalog: Catalog, filters: SearchFilters) -> np.ndarray | None:
    """Ids of the products that pass the filters (None when there is no filter)."""
    if filters.is_empty():
        return None
    table = product_table(catalog)
    return table.ids[table.matching(filters)]


SORTS = {
    "name": (Product.name, Product.id),
    "price": (Product.price_minor.asc().nulls_last(), Product.id),
    "-price": (Product.price_minor.desc().nulls_last(), Product.id),
    "newest": (Product.created_at.desc(), Product.id.desc()),
    "id": (Product.id,),
}


def list_products(
    session: Session, *, filters: SearchFilters = SearchFilters(), text: str | None = None, sort: str = "name",
    page: int = 1, per_page: int = 24,
) -> tuple[list[Product], int]:
    """One page of products matching the filters and words, and how many match in all."""
    query = filtered(select(Product), filters, text=text)
    total = session.scalar(filtered(select(func.count(Product.id)), filters, text=text)) or 0
    products = session.scalars(query.order_by(*SORTS[sort]).offset((page - 1) * per_page).limit(per_page))
    return list(products), int(total)


def browse_products(
    catalog: Catalog, *, filters: SearchFilters = SearchFilters(), text: str | None = None, sort: str = "name",
    page: int = 1, per_page: int = 24,
) -> tuple[list[Product], int]:
    """``list_products`` for a long-lived process: answered from the kept ``product_table``, so a new question
    costs no query, and a page's products are fetched by primary key once."""
    table = product_table(catalog)
    ids = table.ids_of(table.matching(filters, text), table.order(sort))
    wanted = ids[(page - 1) * per_page: page * per_page].tolist()
    rows = catalog.memo("product rows", dict)  # id -> Product (detached, read-only), emptied by any change
    missing = [i for i in wanted if i not in rows]
    if missing:
        with catalog.db.session() as session:
            rows.update((p.id, p) for p in session.scalars(select(Product).where(Product.id.in_(missing))))
    return [rows[i] for i in wanted if i in rows], len(ids)


def get_product(session: Session, *, product_id: int) -> Product:
    product = session.get(Product, product_id)
    if product is None:
        raise ProductNotFoundError(f"no product with id {product_id}", code="product_not_found")
    return product


IMAGE_WIDTHS = (160, 320, 640, 1024)


def product_image(catalog: Catalog, *, product_id: int, width: int) -> tuple[bytes, str]:
    """The product's image as WEBP at most ``width`` pixels wide, and its content hash.

    Renditions are made once per image version and kept in the image store.
    """
    if width not in IMAGE_WIDTHS:
        raise ValueError(f"width must be one of {IMAGE_WIDTHS}")
    with catalog.db.session() as session:
        product = get_product(session, product_id=product_id)
        key, digest = product.image_key, product.image_sha256
    if not key or not digest:
        raise ProductNotFoundError(f"product {product_id} has no image", code="image_not_found")
    rendition = f"renditions/{digest}/{width}.webp"
    if catalog.store.exists(rendition):
        return catalog.store.get(rendition), digest
    image = load_image(catalog.store.get(key), name=f"product {product_id} image")
    if image.width > width:
        image = image.resize((width, max(1, round(image.height * width / image.width))), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", quality=82, method=4)
    data = buffer.getvalue()
    catalog.store.put(rendition, data)
    return data, digest


def _hits(catalog: Catalog, ids: np.ndarray, scores: np.ndarray) -> list[SearchHit]:
    keep = ids >= 0
    ids, scores = ids[keep], scores[keep]
    with catalog.db.session() as session:
        products = {p.id: p for p in session.scalars(select(Product).where(Product.id.in_(ids.tolist())))}
    return [
        SearchHit(
            id=p.id, name=p.name, score=float(s), category=p.category, gender=p.gender, colour=p.colour,
            price_minor=p.price_minor, currency=p.currency, in_stock=p.in_stock, labels=dict(p.labels),
            image_sha256=p.image_sha256,
        )
        for i, s in zip(ids.tolist(), scores.tolist())
        if (p := products.get(i)) is not None
    ]


def _agreeing_hits(catalog: Catalog, ids: np.ndarray, scores: np.ndarray, k: int, *,
                   of_product: int | None = None) -> list[SearchHit]:
    """The top k of the neighbours once re-ranked by category agreement (``lookbook.search.agreement``); the
    neighbours vote on a photo's category, a catalog product brings its own."""
    keep = ids >= 0
    ids, scores = ids[keep], scores[keep]
    if catalog.category_weight > 0 and len(ids):
        table = product_table(catalog)
        label = None
        if of_product is not None:
            label = int(table.categories_of(np.array([of_product]))[0])
            label = label if label >= 0 else None
        order, scores = agreement_ranking(scores, table.categories_of(ids), weight=catalog.category_weight,
                                          label=label)
        ids = ids[order]
    return _hits(catalog, ids[:k], scores[:k])


def query_vector(catalog: Catalog, image_bytes: bytes) -> np.ndarray:
    """Decode an uploaded photo safely and turn it into the index's vector space."""
    image = load_image(image_bytes, min_side=catalog.encoder.input_size, name="query photo")
    embedding = catalog.encoder.embed([image])
    return combine(embedding.shape, embedding.colour, catalog.colour_weight)[0]


def search_by_image(
    catalog: Catalog, image_bytes: bytes, *, k: int = 5, filters: SearchFilters = SearchFilters(),
    include_self: bool = False,
) -> list[SearchHit]:
    """The k catalog products most similar to a photo; a catalog image does not find itself unless asked."""
    digest = None if include_self else hashlib.sha256(image_bytes).hexdigest()
    return search_by_vector(catalog, query_vector(catalog, image_bytes), k=k, filters=filters, exclude_image=digest)


def search_by_vector(
    catalog: Catalog, vector: np.ndarray, *, k: int = 5, filters: SearchFilters = SearchFilters(),
    exclude_image: str | None = None,
) -> list[SearchHit]:
    """The k products nearest to a query vector (from ``query_vector``), leaving out retired products and the
    products whose image has the SHA-256 ``exclude_image`` (the query photo itself)."""
    exclude = _retired(catalog)
    if exclude_image:
        with catalog.db.session() as session:
            exclude += session.scalars(select(Product.id).where(Product.image_sha256 == exclude_image))
    ids, scores = catalog.index.search(vector, candidates_for(k), allowed=allowed_ids(catalog, filters),
                                       exclude=exclude or None)
    return _agreeing_hits(catalog, ids[0], scores[0], k)


def similar_products(
    catalog: Catalog, product_id: int, *, k: int = 5, filters: SearchFilters = SearchFilters()
) -> list[SearchHit]:
    """The k products most similar to one product, never the product itself nor a retired one."""
    with catalog.db.session() as session:
        product = session.get(Product, product_id)
        if product is None or product.retired_at is not None:
            raise ProductNotFoundError(f"no product with id {product_id}", code="product_not_found")
        exclude = [product_id, *retired_ids(session)]
    if product_id not in catalog.index:
        return []
    vector = catalog.index.vectors_of([product_id])[0]
    ids, scores = catalog.index.search(vector, candidates_for(k), allowed=allowed_ids(catalog, filters),
                                       exclude=exclude)
    return _agreeing_hits(catalog, ids[0], scores[0], k, of_product=product_id)


def add_product_image(catalog: Catalog, product_id: int, image_bytes: bytes, *, suffix: str = ".jpg") -> dict:
    """Store, embed and index one product's image at once (no index rebuild); returns predicted labels.

    The file is written before the row commits (a committed row never names a missing file) and put back as it
    was if the commit fails; an old image under another key is deleted only once the new one is committed.
    """
    image = load_image(image_bytes, min_side=catalog.encoder.input_size, name=f"product {product_id} image")
    embedding = catalog.encoder.embed([image], with_predictions=True)
    digest = hashlib.sha256(image_bytes).hexdigest()
    key = f"products/{product_id}{suffix}"
    with catalog._lock:
        written, replaced, old_key = False, None, None
        try:
            with catalog.db.session() as session:
                product = session.get(Product, product_id)
                if product is None:
                    raise ProductNotFoundError(f"no product with id {product_id}")
                old_key = product.image_key
                product.image_key, product.image_sha256 = key, digest
                predicted = {h: {"label": label, "confidence": round(p, 4)}
                             for h, [(label, p)] in embedding.predictions.items()}
                product.predicted_labels = predicted
                session.merge(ProductVector(
                    product_id=product_id, model_version=catalog.encoder.vector_version, image_sha256=digest,
                    shape=embedding.shape[0].tobytes(), colour=embedding.colour[0].tobytes(),
                ))
                session.flush()
                replaced = catalog.store.get(key) if catalog.store.exists(key) else None
                catalog.store.put(key, image_bytes)
                written = True
        except BaseException:
            if written and replaced is not None:
                catalog.store.put(key, replaced)
            elif written:
                catalog.store.delete(key)
            raise
        if old_key and old_key != key:
            catalog.store.delete(old_key)
        catalog.index.add([product_id], combine(embedding.shape, embedding.colour, catalog.colour_weight))
        catalog.save_index()
    return predicted


def remove_product(catalog: Catalog, product_id: int) -> None:
    """Delete a product, its image and its vector, and drop it from the index (no rebuild)."""
    with catalog._lock:
        with catalog.db.session() as session:
            product = session.get(Product, product_id)
            if product is None:
                raise ProductNotFoundError(f"no product with id {product_id}")
            key = product.image_key
            session.delete(product)
        if key:
            catalog.store.delete(key)
        catalog.index.remove([product_id])
        catalog.save_index()


def count_products(catalog: Catalog) -> int:
    with catalog.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(Product)) or 0)


def filter_values(session: Session) -> dict[str, list[str]]:
    """The filter values the products on sale have, for a shopper to choose from: ``categories`` (specific),
    ``broad_categories`` (the source's masterCategory and subCategory that are not also specific ones),
    ``genders`` and ``colours``, each sorted."""
    def distinct(column) -> set[str]:
        query = select(column).where(Product.retired_at.is_(None), column.is_not(None)).distinct()
        return {value for value in session.scalars(query) if value and value.strip()}

    def ordered(values: set[str]) -> list[str]:
        return sorted(values, key=lambda v: (v.casefold(), v))

    specific = distinct(Product.category)
    folded = {name.casefold() for name in specific}
    broad = {name for name in distinct(Product.labels["masterCategory"].as_string())
             | distinct(Product.labels["subCategory"].as_string()) if name.casefold() not in folded}
    return {"categories": ordered(specific), "broad_categories": ordered(broad),
            "genders": ordered(distinct(Product.gender)), "colours": ordered(distinct(Product.colour))}
