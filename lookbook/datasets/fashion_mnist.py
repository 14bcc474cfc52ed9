"""Fashion-MNIST (MIT, Zalando Research) from Debian's ``dataset-fashion-mnist`` package.

70,000 labelled 28×28 grayscale articles. They are stored light-on-black; inverted, they look like product
shots on a white background, which is how Lookbook uses them.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lookbook.config import REPO_ROOT

CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
# Broader labels in the Kaggle catalog's vocabulary, so demo items filter like imported ones.
MASTER_CATEGORY = ["Apparel", "Apparel", "Apparel", "Apparel", "Apparel", "Footwear", "Apparel", "Footwear", "Accessories", "Footwear"]
SUB_CATEGORY = ["Topwear", "Bottomwear", "Topwear", "Dress", "Topwear", "Sandal", "Topwear", "Shoes", "Bags", "Shoes"]

SEARCH_PATHS = (Path("/usr/share/datasets/fashion-mnist"), REPO_ROOT / "data" / "fashion-mnist")
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


class DatasetNotInstalledError(FileNotFoundError):
    pass


@dataclass
class Split:
    images: np.ndarray   # (n, 28, 28) uint8, dark garment on white
    labels: np.ndarray   # (n,) int64 class index

    def names(self) -> list[str]:
        return [CLASS_NAMES[i] for i in self.labels]


def dataset_dir() -> Path:
    candidates = ([Path(os.environ["LOOKBOOK_FASHION_MNIST"])] if os.environ.get("LOOKBOOK_FASHION_MNIST") else []) + list(SEARCH_PATHS)
    for path in candidates:
        if (path / FILES["train"][0]).is_file():
            return path
    raise DatasetNotInstalledError(
        "Fashion-MNIST not found; install it with `apt-get install dataset-fashion-mnist` (the Makefile does)"
    )


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(split: str = "train") -> Split:
    """One split, inverted to dark-on-white."""
    images_file, labels_file = FILES[split]
    directory = dataset_dir()
    images = 255 - _read_idx(directory / images_file)
    return Split(images=np.ascontiguousarray(images), labels=_read_idx(directory / labels_file).astype(np.int64))
