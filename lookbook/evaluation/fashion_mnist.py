"""Fashion-MNIST retrieval benchmark and the default model, both through the product's own path.

The train split is written out as a labelled catalog, imported with the catalog importer and trained with
the same function as `lookbook train`; the benchmark then embeds the 60k train images (gallery) and the
10k test images (queries) with the exported ONNX model, exactly as search would.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from lookbook.config import Paths
from lookbook.datasets import fashion_mnist
from lookbook.evaluation.retrieval import retrieval_scores
from lookbook.vision.colour import combine
from lookbook.vision.encoder import Encoder, find_model_dir


def train_on_fashion_mnist(output: Path, *, epochs: float | None = None, limit: int | None = None,
                           name: str = "lookbook-fashion-mnist", config=None) -> Path:
    """Import the train split as a catalog in a scratch data directory and run `lookbook train` on it."""
    from lookbook.catalog.importer import import_catalog
    from lookbook.catalog.service import Catalog
    from lookbook.catalog.training import train_catalog_model
    from lookbook.config import get_paths
    from lookbook.db import Database
    from lookbook.demo.build import write_fashion_mnist_catalog
    from lookbook.vision.training import TrainConfig

    scratch = Path(tempfile.mkdtemp(prefix="lookbook-fmnist-"))
    try:
        source = scratch / "source"
        write_fashion_mnist_catalog(source, split="train", limit=limit)
        # A SQLite file of its own: LOOKBOOK_DATABASE_URL names the shop's database, never this scratch one.
        catalog = Catalog(get_paths(scratch / "home"), db=Database(f"sqlite:///{scratch / 'catalog.sqlite3'}"))
        report = import_catalog(source, db=catalog.db, store=catalog.store, progress=True)
        print(f"imported {report.imported} Fashion-MNIST articles as a catalog")
        config = config or TrainConfig()
        if epochs is not None:
            config.epochs = epochs
        result, directory = train_catalog_model(catalog, config, output=output, name=name)
        for head, m in result.metrics.items():
            print(f"held-out {head}: accuracy {m.accuracy:.4f}, macro-F1 {m.macro_f1:.4f}")
        catalog.close()
        return directory
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def build_default_model(paths: Paths, *, epochs: float = 2.0, limit: int | None = None) -> Path:
    """The fashion-tuned model every data directory uses until it trains its own."""
    return train_on_fashion_mnist(paths.default_model, epochs=epochs, limit=limit, name="lookbook-default")


def embed_split(encoder: Encoder, images: np.ndarray, desc: str, batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
    shapes, colours = [], []
    for start in tqdm(range(0, len(images), batch), desc=desc, unit="batch"):
        pixels = np.stack([encoder.pixels(Image.fromarray(im).convert("RGB")) for im in images[start : start + batch]])
        e = encoder.embed_pixels(pixels)
        shapes.append(e.shape)
        colours.append(e.colour)
    return np.concatenate(shapes), np.concatenate(colours)


def evaluate_fashion_mnist(paths: Paths, *, train: bool = False, epochs: float | None = None,
                           limit: int | None = None, colour_weight: float | None = None,
                           category_weight: float | None = None, config=None) -> dict:
    """precision@5, precision@10 and mAP@10 of the current model (or one trained first with ``train``)."""
    from lookbook.catalog.indexing import DEFAULT_COLOUR_WEIGHT
    from lookbook.catalog.service import DEFAULT_CATEGORY_WEIGHT

    category_weight = DEFAULT_CATEGORY_WEIGHT if category_weight is None else category_weight
    if train:
        model_dir = train_on_fashion_mnist(paths.home / "eval" / "fashion-mnist-model", epochs=epochs, limit=limit,
                                           config=config)
    else:
        model_dir = find_model_dir(paths.catalog_model, paths.default_model)
    encoder = Encoder(model_dir)
    gallery, queries = fashion_mnist.load("train"), fashion_mnist.load("test")
    g_shape, g_colour = embed_split(encoder, gallery.images, "Embedding gallery (60k train)")
    q_shape, q_colour = embed_split(encoder, queries.images, "Embedding queries (10k test)")
    weight = DEFAULT_COLOUR_WEIGHT if colour_weight is None else colour_weight
    g_combined, q_combined = combine(g_shape, g_colour, weight), combine(q_shape, q_colour, weight)
    scores = {
        "model embedding": retrieval_scores(q_shape, queries.labels, g_shape, gallery.labels).as_dict(),
        f"with colour (weight {weight})": retrieval_scores(q_combined, queries.labels, g_combined,
                                                           gallery.labels).as_dict(),
        # The gallery is a catalog whose category is the article type: search re-ranks by agreement on it.
        f"as search ranks (colour {weight}, category agreement {category_weight})": retrieval_scores(
            q_combined, queries.labels, g_combined, gallery.labels, gallery_categories=gallery.labels,
            category_weight=category_weight).as_dict(),
    }
    return {"model": encoder.info.version, "model_dir": str(model_dir), "scores": scores,
            "held_out": encoder.info.metrics}
