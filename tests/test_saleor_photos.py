"""Keep photos honest: the Saleor demo store's studio photos, searched with the shipped default model.

Fashion-MNIST is 28×28 silhouettes; these are 1024×1024 colour photos with several views per product and
the same hoodie and polo in four colours. Every view is indexed as its own item, grouped by product.
"""

from __future__ import annotations

import numpy as np
import pytest

from lookbook.config import get_paths
from lookbook.datasets import saleor
from lookbook.search.agreement import DEFAULT_WEIGHT, agreement_ranking
from lookbook.search.index import VectorIndex
from lookbook.vision.colour import combine
from lookbook.vision.encoder import Encoder, find_model_dir
from lookbook.vision.images import load_image

COLOUR_WEIGHT = 0.3


@pytest.fixture(scope="module")
def saleor_views():
    paths = get_paths()
    encoder = Encoder(find_model_dir(paths.default_model))
    products = saleor.load()
    items = [(p, photo) for p in products for photo in p.photos]
    images = [load_image(photo.read_bytes(), min_side=encoder.input_size) for _, photo in items]
    e = encoder.embed(images)
    vectors = combine(e.shape, e.colour, COLOUR_WEIGHT)
    index = VectorIndex(vectors.shape[1])
    index.add(np.arange(len(items)), vectors)
    return items, index


def _ranked_rows(index, row, categories):
    """The other rows in rank order for one row used as the query, re-ranked by agreement on the
    Saleor categories as search ranks a catalog."""
    ids, scores = index.search(index.vectors_of([row])[0], len(categories) - 1, exclude=[row])
    codes = {c: n for n, c in enumerate(sorted(set(categories)))}
    order, _ = agreement_ranking(scores[0], np.array([codes[categories[j]] for j in ids[0]]), weight=DEFAULT_WEIGHT)
    return ids[0][order]


def _ranking(items, index, photo_name):
    """Products in rank order for one photo used as the query (the photo itself excluded)."""
    i = next(i for i, (_, photo) in enumerate(items) if photo.name == photo_name)
    return [items[j][0] for j in _ranked_rows(index, i, [p.category for p, _ in items])]


@pytest.mark.parametrize("view, product", [
    ("saleordemoproduct_sneakers_01_1.png", "Yellow Plimsolls"),
    ("saleordemoproduct_sneakers_01_3.png", "Yellow Plimsolls"),
    ("saleordemoproduct_sneakers_02_1.png", "White Plimsolls"),
    ("saleordemoproduct_sneakers_02_3.png", "White Plimsolls"),
    ("saleordemoproduct_cl_boot01_1.png", "T-shirt"),   # front finds back
    ("saleordemoproduct_cl_boot01_3.png", "T-shirt"),   # back finds front
    ("saleordemoproduct_cl_boot03_1.png", "T-shirt"),
    ("saleordemoproduct_cl_boot03_2.png", "T-shirt"),
    ("saleordemoproduct_cl_boot07_1.png", "Code Division T-shirt"),
    ("saleordemoproduct_cl_boot07_2.png", "Code Division T-shirt"),
])
def test_a_view_of_a_product_finds_the_products_other_views_first(saleor_views, view, product):
    # Whole-garment views; close-ups of a print and top-down shoe shots are measured, not pinned,
    # in benchmarks/saleor_views.py (docs/benchmarks.md).
    items, index = saleor_views
    assert _ranking(items, index, view)[0].name == product


@pytest.fixture(scope="module")
def saleor_catalog():
    """The products as a shop's catalog holds them: one vector each, from the product's first photo."""
    encoder = Encoder(find_model_dir(get_paths().default_model))
    products = saleor.load()
    e = encoder.embed([load_image(p.photos[0].read_bytes(), min_side=encoder.input_size) for p in products])
    index = VectorIndex(e.shape.shape[1] + e.colour.shape[1])
    index.add(np.arange(len(products)), combine(e.shape, e.colour, COLOUR_WEIGHT))
    return products, index


@pytest.mark.parametrize("hoodie", ["Black Hoodie", "Blue Hoodie", "Mustard Hoodie", "White Hoodie"])
def test_a_hoodie_finds_the_same_hoodie_in_the_other_colours_next(saleor_catalog, hoodie):
    products, index = saleor_catalog
    i = next(i for i, p in enumerate(products) if p.name == hoodie)
    ranked = [products[j].name for j in _ranked_rows(index, i, [p.category for p in products])]
    assert set(ranked[:3]) == {"Black Hoodie", "Blue Hoodie", "Mustard Hoodie", "White Hoodie"} - {hoodie}, ranked


def _dyed_black(image):
    """The same photo with the garment's blue dyed to black: identical shape, different colour."""
    rgb = np.asarray(image).astype(np.float32)
    blue = rgb[..., 2] > rgb[..., 0] + 40
    dark = rgb.mean(axis=2, keepdims=True) * 0.3
    rgb = np.where(blue[..., None], dark, rgb)
    from PIL import Image

    return Image.fromarray(rgb.astype(np.uint8))


def test_a_black_hoodie_ranks_black_hoodies_above_blue_ones():
    encoder = Encoder(find_model_dir(get_paths().default_model))
    photos = {p.name: p.photos[0] for p in saleor.load()}
    black = load_image(photos["Black Hoodie"].read_bytes(), min_side=encoder.input_size)
    blue = load_image(photos["Blue Hoodie"].read_bytes(), min_side=encoder.input_size)
    e = encoder.embed([black, blue, _dyed_black(blue)])
    v = combine(e.shape, e.colour, COLOUR_WEIGHT)
    # The dyed copy shares the blue hoodie's shape exactly; only colour can put it first.
    assert v[0] @ v[2] > v[0] @ v[1]
