"""Keep product vectors and the search index in step with the catalog.

Vectors are the source of truth and live in the database, one row per product, tagged with the encoder's
vector version and the image's hash. ``index_catalog`` embeds only what is missing or stale and commits
after every batch, so an interrupted run loses at most one batch and the next run resumes. The search
index is derived from those rows and saved beside the database.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
from sqlalchemy import delete, func, or_, select

from lookbook.catalog.models import Product, ProductVector
from lookbook.db import Database
from lookbook.search.index import VectorIndex
from lookbook.storage import ImageStore
from lookbook.vision.colour import COLOUR_DIM, combine
from lookbook.vision.encoder import Encoder
from lookbook.vision.images import ImageError, load_image

DEFAULT_COLOUR_WEIGHT = float(os.environ.get("LOOKBOOK_COLOUR_WEIGHT", "0.3"))
MANIFEST = "catalog.json"


@dataclass
class IndexReport:
    embedded: int = 0
    already_current: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)
    indexed: int = 0

    def summary(self) -> str:
        lines = [
            f"embedded {self.embedded} product image(s); {self.already_current} already current; "
            f"{self.indexed} product(s) in the search index"
        ]
        for product_id, reason in self.failed[:20]:
            lines.append(f"  skipped product {product_id}: {reason}")
        if len(self.failed) > 20:
            lines.append(f"  ... and {len(self.failed) - 20} more skipped")
        return "\n".join(lines)


def _stale_products(db: Database, vector_version: str) -> tuple[list[tuple[int, str, str]], int]:
    """Products whose image has no vector from the current model (or whose image changed since)."""
    with db.session() as session:
        rows = session.execute(
            select(Product.id, Product.image_key, Product.image_sha256)
            .outerjoin(ProductVector, ProductVector.product_id == Product.id)
            .where(Product.image_key.is_not(None))
            .where(
                or_(
                    ProductVector.product_id.is_(None),
                    ProductVector.model_version != vector_version,
                    ProductVector.image_sha256 != Product.image_sha256,
                )
            )
            .order_by(Product.id)
        ).all()
        total = session.scalar(select(func.count()).select_from(Product).where(Product.image_key.is_not(None)))
    return [tuple(r) for r in rows], int(total or 0)


def _decoded(store: ImageStore, encoder: Encoder, rows, threads: int = 2) -> Iterator[tuple[int, str, np.ndarray | str]]:
    """Decode images on worker threads (Pillow releases the GIL) while the model runs on the main one."""

    def work(row):
        product_id, key, sha = row
        try:
            image = load_image(store.get(key), min_side=encoder.input_size, name=key)
            return product_id, sha, encoder.pixels(image)
        except (ImageError, OSError) as error:
            return product_id, sha, str(error)

    with ThreadPoolExecutor(threads) as pool:
        yield from pool.map(work, rows)


def embed_pending(
    *, db: Database, store: ImageStore, encoder: Encoder, batch_size: int = 64, progress: bool = True
) -> IndexReport:
    """Embed every product image not yet embedded with the current model, one committed batch at a time."""
    from tqdm.auto import tqdm

    version = encoder.vector_version
    rows, total = _stale_products(db, version)
    report = IndexReport(already_current=total - len(rows))
    batch: list[tuple[int, str, np.ndarray]] = []

    def flush():
        if not batch:
            return
        embeddings = encoder.embed_pixels(np.stack([p for _, _, p in batch]))
        with db.session() as session:
            ids = [pid for pid, _, _ in batch]
            session.execute(delete(ProductVector).where(ProductVector.product_id.in_(ids)))
            session.add_all(
                ProductVector(
                    product_id=pid, model_version=version, image_sha256=sha,
                    shape=embeddings.shape[i].tobytes(), colour=embeddings.colour[i].tobytes(),
                )
                for i, (pid, sha, _) in enumerate(batch)
            )
        report.embedded += len(batch)
        batch.clear()

    with tqdm(total=len(rows), desc="Embedding product images", unit="img", disable=not progress) as bar:
        for product_id, sha, pixels in _decoded(store, encoder, rows):
            if isinstance(pixels, str):
                report.failed.append((product_id, pixels))
            else:
                batch.append((product_id, sha, pixels))
                if len(batch) >= batch_size:
                    flush()
            bar.update(1)
        flush()
    return report


def load_vectors(db: Database, vector_version: str, ids=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ids, shape vectors, colour vectors) of current vectors, optionally for some products only."""
    query = select(ProductVector.product_id, ProductVector.shape, ProductVector.colour).where(
        ProductVector.model_version == vector_version
    )
    if ids is not None:
        query = query.where(ProductVector.product_id.in_([int(i) for i in ids]))
    with db.session() as session:
        rows = session.execute(query.order_by(ProductVector.product_id)).all()
    if not rows:
        return np.zeros(0, np.int64), np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32)
    product_ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    shape = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1)
    colour = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32).reshape(len(rows), -1)
    return product_ids, shape, colour


@dataclass(frozen=True)
class IndexManifest:
    vector_version: str
    colour_weight: float

    @classmethod
    def read(cls, directory: Path) -> "IndexManifest | None":
        try:
            data = json.loads((directory / MANIFEST).read_text())
            return cls(vector_version=data["vector_version"], colour_weight=float(data["colour_weight"]))
        except (OSError, ValueError, KeyError):
            return None

    def write(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps({"vector_version": self.vector_version, "colour_weight": self.colour_weight}))
        tmp.replace(directory / MANIFEST)


def open_index(directory: Path, manifest: IndexManifest) -> VectorIndex | None:
    """The saved index if it was built from the same vectors and colour weight, else None."""
    if IndexManifest.read(directory) != manifest:
        return None
    try:
        return VectorIndex.load(directory)
    except (OSError, ValueError):
        return None


def sync_index(*, db: Database, encoder: Encoder, directory: Path, colour_weight: float) -> VectorIndex:
    """Bring the saved index in line with the stored vectors, rebuilding only after a model or weight change."""
    manifest = IndexManifest(encoder.vector_version, colour_weight)
    ids, shape, colour = load_vectors(db, encoder.vector_version)
    vectors = combine(shape, colour, colour_weight) if len(ids) else np.zeros((0, 0), np.float32)
    index = open_index(directory, manifest)
    if index is None:
        # Forget the old manifest first: a crash before the new one is written then means "rebuild".
        (directory / MANIFEST).unlink(missing_ok=True)
        index = VectorIndex(encoder.info.embedding_dim + COLOUR_DIM)
    present = index.ids
    gone = np.setdiff1d(present, ids)
    if len(gone):
        index.remove(gone)
    if len(ids):
        known = np.isin(ids, present)
        changed = ~known
        if known.any():
            current = index.vectors_of(ids[known])
            expected = vectors[known] / np.linalg.norm(vectors[known], axis=1, keepdims=True)
            changed[np.flatnonzero(known)] = np.abs(current - expected).max(axis=1) > 1e-5
        if changed.any():
            index.add(ids[changed], vectors[changed])
    index.save(directory)
    manifest.write(directory)
    return index


def index_catalog(
    *, db: Database, store: ImageStore, encoder: Encoder, directory: Path,
    colour_weight: float = DEFAULT_COLOUR_WEIGHT, batch_size: int = 64, progress: bool = True,
) -> IndexReport:
    """Embed what is missing, then update the saved search index."""
    report = embed_pending(db=db, store=store, encoder=encoder, batch_size=batch_size, progress=progress)
    report.indexed = len(sync_index(db=db, encoder=encoder, directory=directory, colour_weight=colour_weight))
    return report
