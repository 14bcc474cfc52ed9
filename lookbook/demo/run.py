"""`lookbook demo`: build the demo catalog once, keep its index current, and search it by photo."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from lookbook.catalog.importer import import_catalog
from lookbook.catalog.indexing import index_catalog
from lookbook.catalog.service import Catalog, count_products, search_by_image
from lookbook.config import Paths
from lookbook.datasets import fashion_mnist, saleor
from lookbook.demo.build import write_fashion_mnist_catalog, write_saleor_catalog


def build_demo_catalog(catalog: Catalog, *, fashion_mnist_items: int) -> None:
    source = catalog.paths.home / "demo-source"
    for folder, write in (
        (source / "saleor", lambda f: write_saleor_catalog(f)),
        (source / "fashion-mnist", lambda f: write_fashion_mnist_catalog(f, limit=fashion_mnist_items)),
    ):
        write(folder)
        report = import_catalog(folder, db=catalog.db, store=catalog.store, progress=True)
        print(report.summary())


def sample_queries(home: Path) -> list[tuple[str, Path]]:
    """A Saleor photo that is not any product's main image, and a Fashion-MNIST test article."""
    queries = []
    for product in saleor.load():
        if product.name == "Yellow Plimsolls" and len(product.photos) > 2:
            queries.append((f"another view of the {product.name} (not in the index)", product.photos[2]))
    test = fashion_mnist.load("test")
    path = home / "demo-queries" / "fashion-mnist-test-0.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(test.images[0]).save(path)
    queries.append((f"a Fashion-MNIST test {fashion_mnist.CLASS_NAMES[test.labels[0]]} (not in the catalog)", path))
    return queries


def run_demo(paths: Paths, *, fashion_mnist_items: int = 12_000) -> None:
    catalog = Catalog(paths)
    if count_products(catalog) == 0:
        build_demo_catalog(catalog, fashion_mnist_items=fashion_mnist_items)
    report = index_catalog(db=catalog.db, store=catalog.store, encoder=catalog.encoder,
                           directory=paths.index, colour_weight=catalog.colour_weight)
    print(report.summary())
    for description, photo in sample_queries(paths.home):
        print(f"\nSearch by photo: {description}\n  {photo}")
        for rank, hit in enumerate(search_by_image(catalog, photo.read_bytes(), k=5), 1):
            print(f"  {rank}. {hit.score:.3f}  #{hit.id}  {hit.name}  [{hit.category}]")
    print(f"\nCatalog: {count_products(catalog)} products in {paths.home}. Try it yourself:\n"
          f"  .venv/bin/lookbook search PHOTO --k 5\n")
