import json

from lookbook.catalog.importer import import_catalog
from lookbook.catalog.service import Catalog, count_products
from lookbook.config import get_paths
from lookbook.datasets import fashion_mnist
from lookbook.demo.build import write_fashion_mnist_catalog
from lookbook.evaluation.fashion_mnist import train_on_fashion_mnist


def test_articles_are_inverted_to_dark_garments_on_white():
    test = fashion_mnist.load("test")
    assert test.images.shape == (10_000, 28, 28) and test.labels.shape == (10_000,)
    corners = test.images[:, [0, 0, -1, -1], [0, -1, 0, -1]]
    assert corners.mean() > 240 and test.images.mean() < corners.mean()


def test_the_train_split_imports_as_a_labelled_catalog(lookbook_env, tmp_path):
    write_fashion_mnist_catalog(tmp_path / "source", limit=30, progress=False)
    catalog = Catalog(get_paths())

    try:
        report = import_catalog(tmp_path / "source", db=catalog.db, store=catalog.store)

        assert report.imported == 30 and not report.skipped
        assert count_products(catalog) == 30
        first = fashion_mnist.load("train").names()[0]
        from lookbook.catalog.models import Product

        with catalog.db.session() as session:
            product = session.get(Product, 100_000)
            assert product.category == first
            assert product.labels["masterCategory"] in {"Apparel", "Footwear", "Accessories"}
            assert product.price_minor % 100 == 99 and product.image_key == "products/100000.png"
    finally:
        catalog.close()


def test_training_on_fashion_mnist_goes_through_the_catalog_path(tmp_path, monkeypatch):
    from lookbook.vision.training import TrainConfig

    shop = tmp_path / "shop.sqlite3"
    monkeypatch.setenv("LOOKBOOK_DATABASE_URL", f"sqlite:///{shop}")
    config = TrainConfig(input_size=32, epochs=0.2, batch_size=16, embedding_dim=16)
    model = train_on_fashion_mnist(tmp_path / "model", limit=200, config=config, name="fm-check")

    assert not shop.exists()  # the scratch catalog never goes into the shop's database

    info = json.loads((model / "model.json").read_text())
    assert info["version"].startswith("fm-check-")
    assert set(info["heads"]) == {"category"}  # sub/master categories follow from it
    assert set(info["derived_heads"]) == {"subCategory", "masterCategory"}
    assert info["config"]["grayscale"] is True
    assert (model / "encoder.onnx").is_file()
