"""Train the catalog's own model on its labels, then tag the products that lack them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from sqlalchemy import select
from tqdm.auto import tqdm

from lookbook.catalog.models import Product
from lookbook.catalog.service import Catalog
from lookbook.vision.encoder import Encoder, fit_square
from lookbook.vision.images import ImageError, load_image

# Label columns learned as classification heads; the first one also stratifies the held-out split.
LABEL_COLUMNS = ("category", "subCategory", "masterCategory", "gender", "colour", "usage", "season")


def product_labels(product: Product) -> dict[str, str | None]:
    return {
        "category": product.category, "gender": product.gender, "colour": product.colour,
        **{c: product.labels.get(c) for c in ("subCategory", "masterCategory", "usage", "season")},
    }


def catalog_training_set(catalog: Catalog, input_size: int, *, limit: int | None = None,
                         progress: bool = True) -> tuple[np.ndarray, dict[str, list[str | None]], list[int]]:
    """Decoded, squared pixels of every product with an image, with its labels per column."""
    with catalog.db.session() as session:
        query = select(Product).where(Product.image_key.is_not(None)).order_by(Product.id)
        products = list(session.scalars(query.limit(limit) if limit else query))
        rows = [(p.id, p.image_key, product_labels(p)) for p in products]

    def decode(row):
        try:
            return fit_square(load_image(catalog.store.get(row[1]), min_side=input_size, name=row[1]), input_size)
        except (ImageError, OSError):
            return None

    pixels, labels, ids = [], {c: [] for c in LABEL_COLUMNS}, []
    with ThreadPoolExecutor(2) as pool:
        for row, image in tqdm(zip(rows, pool.map(decode, rows)), total=len(rows), desc="Loading catalog images",
                               unit="img", disable=not progress):
            if image is None:
                continue
            pixels.append(image)
            ids.append(row[0])
            for column in LABEL_COLUMNS:
                labels[column].append(row[2][column])
    if not pixels:
        raise ValueError("the catalog has no usable product images to train on")
    return np.stack(pixels), labels, ids


def train_catalog_model(catalog: Catalog, config=None, *, limit: int | None = None, output: Path | None = None,
                        name: str = "lookbook-catalog", progress: bool = True):
    """`lookbook train`: fit the model on this catalog's labels and export it (the CLI then tags and re-indexes)."""
    from lookbook.vision.training import TrainConfig, export, train

    config = config or TrainConfig()
    pixels, labels, _ = catalog_training_set(catalog, config.input_size, limit=limit, progress=progress)
    result = train(pixels, labels, config, progress=progress)
    directory = export(result, output or catalog.paths.catalog_model, name=name, trained_on=str(catalog.paths.home))
    return result, directory


def tag_unlabelled_products(catalog: Catalog, encoder: Encoder, *, progress: bool = True) -> int:
    """Store the model's label predictions for products that lack any label it knows; returns how many."""
    heads = encoder.info.label_columns
    with catalog.db.session() as session:
        products = [p for p in session.scalars(select(Product).where(Product.image_key.is_not(None)))
                    if any(product_labels(p).get(h) in (None, "") for h in heads)]
        work = [(p.id, p.image_key) for p in products]
    tagged = 0
    for start in tqdm(range(0, len(work), 64), desc="Tagging unlabelled products", disable=not progress):
        chunk, images = [], []
        for product_id, key in work[start : start + 64]:
            try:
                images.append(load_image(catalog.store.get(key), min_side=encoder.input_size, name=key))
                chunk.append(product_id)
            except (ImageError, OSError):
                continue
        if not chunk:
            continue
        predictions = encoder.embed(images, with_predictions=True).predictions
        with catalog.db.session() as session:
            for i, product_id in enumerate(chunk):
                product = session.get(Product, product_id)
                known = product_labels(product)
                product.predicted_labels = {
                    h: {"label": predictions[h][i][0], "confidence": round(predictions[h][i][1], 4)}
                    for h in heads if known.get(h) in (None, "")
                }
                tagged += 1
    return tagged
