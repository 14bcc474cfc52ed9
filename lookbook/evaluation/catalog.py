"""Leave-one-out retrieval on an imported catalog: does a product's nearest neighbour share its label?"""

from __future__ import annotations

import numpy as np
from sqlalchemy import select

from lookbook.catalog.indexing import load_vectors
from lookbook.catalog.models import Product, ProductVector
from lookbook.catalog.service import Catalog, product_table
from lookbook.catalog.training import product_labels
from lookbook.evaluation.retrieval import retrieval_scores
from lookbook.vision.colour import combine


def evaluate_catalog(catalog: Catalog, label: str) -> dict:
    """Scores over every indexed product that has ``label`` (a column such as category or a source label)."""
    ids, shape, colour = load_vectors(catalog.db, catalog.encoder.vector_version)
    if not len(ids):
        raise ValueError("no indexed products: run `lookbook index` first")
    # A join, not `id IN (every indexed id)`: PostgreSQL takes at most 65535 parameters in one query.
    indexed = select(Product).join(ProductVector).where(ProductVector.model_version == catalog.encoder.vector_version)
    with catalog.db.session() as session:
        values = {p.id: (product_labels(p).get(label) or p.labels.get(label)) for p in session.scalars(indexed)}
    keep = np.array([values.get(i) not in (None, "") for i in ids.tolist()])
    if keep.sum() < 2:
        raise ValueError(f"fewer than two indexed products have a {label!r} label")
    names = np.array([values[i] for i in ids[keep].tolist()])
    shape, colour = shape[keep], colour[keep]
    weight = catalog.colour_weight
    combined = combine(shape, colour, weight)
    return {
        "model": catalog.encoder.info.version,
        "label": label,
        "scores": {
            "model embedding": retrieval_scores(shape, names, shape, names, leave_one_out=True).as_dict(),
            f"with colour (weight {weight})": retrieval_scores(combined, names, combined, names,
                                                               leave_one_out=True).as_dict(),
            f"as search ranks (colour {weight}, category agreement {catalog.category_weight})": retrieval_scores(
                combined, names, combined, names, leave_one_out=True, category_weight=catalog.category_weight,
                gallery_categories=product_table(catalog).categories_of(ids[keep])).as_dict(),
        },
    }
