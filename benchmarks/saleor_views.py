"""Same-product retrieval on real studio photos: the Saleor demo store's clothing.

1. Every view indexed: for each photo of a product that has other photos, where does the first of its own
   other views rank? Products 113 and 114 share their photos in Saleor's data, so they count as one here.
2. One vector per product, from its first photo, as a shop's catalog holds them: for the garments sold in
   several colours (plimsolls, polo shirts, hoodies), do the other colours come next?
"""

from __future__ import annotations

import argparse

import numpy as np

from lookbook.config import get_paths
from lookbook.datasets import saleor
from lookbook.search.agreement import DEFAULT_WEIGHT, agreement_ranking
from lookbook.vision.colour import combine
from lookbook.vision.encoder import Encoder, find_model_dir
from lookbook.vision.images import load_image

SOLD_IN_COLOURS = {"Casual Shoes", "Polo Shirts", "Hoodies"}  # the same garment in two or four colours


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-dir", default=None)
    parser.add_argument("--colour-weight", type=float, default=0.3)
    parser.add_argument("--category-weight", type=float, default=DEFAULT_WEIGHT,
                        help="category agreement in the ranking, as search uses it (0: similarity alone)")
    args = parser.parse_args()
    encoder = Encoder(args.model_dir or find_model_dir(get_paths().default_model))
    products, seen = [], set()
    for p in saleor.load():
        key = tuple(photo.name for photo in p.photos)
        if key not in seen:
            seen.add(key)
            products.append(p)
    items = [(p, photo) for p in products for photo in p.photos]
    e = encoder.embed([load_image(photo.read_bytes(), min_side=encoder.input_size) for _, photo in items])
    vectors = combine(e.shape, e.colour, args.colour_weight)
    similarity = vectors @ vectors.T
    codes = {c: i for i, c in enumerate(sorted({p.category for p in products}))}
    categories = np.array([codes[p.category] for p, _ in items])
    print(f"model {encoder.info.version}, colour weight {args.colour_weight}, "
          f"category weight {args.category_weight}\n")
    print("| query photo | product | rank of its own other view | nearest other product |")
    print("|---|---|---:|---|")
    ranks = []
    for i, (product, photo) in enumerate(items):
        if len(product.photos) < 2:
            continue
        order = np.array([j for j in np.argsort(-similarity[i]) if j != i])
        reranked, _ = agreement_ranking(similarity[i][order], categories[order], weight=args.category_weight)
        order = order[reranked].tolist()
        rank = next(r for r, j in enumerate(order, 1) if items[j][0].id == product.id)
        other = next(items[j][0].name for j in order if items[j][0].id != product.id)
        ranks.append(rank)
        print(f"| {photo.name.removeprefix('saleordemoproduct_')} | {product.name} | {rank} | {other} |")
    ranks = np.array(ranks)
    print(f"\nviews whose own product ranks first: {np.mean(ranks == 1):.2f} ({(ranks == 1).sum()}/{len(ranks)}); "
          f"within the top 3: {np.mean(ranks <= 3):.2f}")

    first = np.array([i for i, (p, photo) in enumerate(items) if photo == p.photos[0]])
    catalog, catalog_similarity = [items[i][0] for i in first], similarity[np.ix_(first, first)]
    print("\n| product (first photo) | other colours of the garment | products ranked next |")
    print("|---|---:|---|")
    hits = total = 0
    for i, product in enumerate(catalog):
        if product.category not in SOLD_IN_COLOURS:
            continue
        siblings = {j for j, p in enumerate(catalog) if p.category == product.category and j != i}
        total += 1
        order = np.array([j for j in np.argsort(-catalog_similarity[i]) if j != i])
        reranked, _ = agreement_ranking(catalog_similarity[i][order], categories[first][order],
                                        weight=args.category_weight)
        order = order[reranked]
        hits += set(order[: len(siblings)].tolist()) == siblings
        print(f"| {product.name} ({product.photos[0].name.removeprefix('saleordemoproduct_')}) | {len(siblings)} | "
              + ", ".join(catalog[j].name for j in order[: len(siblings)]) + " |")
    print(f"\nproducts whose other colours all rank next: {hits}/{total}")


if __name__ == "__main__":
    main()
