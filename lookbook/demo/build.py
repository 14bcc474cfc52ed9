"""The demo catalog: Saleor's clothing photos plus Fashion-MNIST articles as product shots.

Both are written in the plain catalog layout (``products.csv`` + images) and imported through the same
importer a shop uses, so the demo exercises the real path.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from lookbook.datasets import fashion_mnist, saleor

FASHION_MNIST_ID_BASE = {"train": 100_000, "test": 200_000}
COLUMNS = ["id", "name", "image", "price", "currency", "stock", "category", "masterCategory", "subCategory", "description"]


def fashion_mnist_id(split: str, index: int) -> int:
    return FASHION_MNIST_ID_BASE[split] + index


def write_fashion_mnist_catalog(folder: Path, *, split: str = "train", limit: int | None = None,
                                seed: int = 0, progress: bool = True) -> Path:
    """Write Fashion-MNIST articles as a labelled catalog (28×28 PNGs, demo prices and stock)."""
    data = fashion_mnist.load(split)
    count = len(data.labels) if limit is None else min(limit, len(data.labels))
    rng = np.random.default_rng(seed)
    prices = rng.integers(9, 120, size=count)
    stock = rng.integers(0, 25, size=count)
    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    with open(folder / "products.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for i in tqdm(range(count), desc=f"Writing Fashion-MNIST {split} articles", unit="img", disable=not progress):
            label = int(data.labels[i])
            product_id = fashion_mnist_id(split, i)
            name = f"{fashion_mnist.CLASS_NAMES[label]} {product_id}"
            path = images / f"{product_id}.png"
            if not path.exists():
                Image.fromarray(data.images[i]).save(path, optimize=False, compress_level=1)
            writer.writerow([
                product_id, name, f"images/{product_id}.png", f"{prices[i]}.99", "USD", int(stock[i]),
                fashion_mnist.CLASS_NAMES[label], fashion_mnist.MASTER_CATEGORY[label],
                fashion_mnist.SUB_CATEGORY[label], "",
            ])
    return folder / "products.csv"


def write_saleor_catalog(folder: Path, source: Path = saleor.DEFAULT_DIR) -> Path:
    """Write Saleor's clothing as a catalog; each product's first photo is its main image."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "products.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for p in saleor.load(source):
            writer.writerow([
                p.id, p.name, str(p.photos[0]), str(p.price.quantize(Decimal("0.01"))), "USD", 20,
                p.category, "Footwear" if p.sub_category == "Shoes" else "Apparel", p.sub_category, p.description,
            ])
    return folder / "products.csv"
