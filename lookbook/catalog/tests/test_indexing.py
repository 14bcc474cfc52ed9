"""`lookbook index`: embed what is missing or stale, resume after a kill, keep the saved index in step."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select, update

from conftest import garment_photo
from lookbook.catalog.importer import import_catalog
from lookbook.catalog.indexing import IndexManifest, index_catalog, load_vectors
from lookbook.catalog.models import Product, ProductVector
from lookbook.catalog.service import Catalog, search_by_image
from lookbook.config import get_paths
from lookbook.search.index import VectorIndex
from lookbook.vision.colour import combine
from lookbook.vision.encoder import INFO_FILE, Encoder

COLUMNS = ["id", "name", "image", "price", "stock", "category", "colour"]
# (id, kind, colour): two of each kind, ids that are clearly the source's own.
PRODUCTS = [
    (11, "tshirt", "black"), (12, "tshirt", "blue"),
    (21, "trousers", "red"), (22, "trousers", "white"),
    (31, "bag", "black"), (32, "bag", "red"),
]
ALL_IDS = [pid for pid, _, _ in PRODUCTS]


def write_source(folder: Path, products=PRODUCTS, photos: dict[int, bytes] | None = None) -> Path:
    """A plain products.csv with one synthetic photo per product under images/."""
    photos = photos or {}
    (folder / "images").mkdir(parents=True, exist_ok=True)
    with open(folder / "products.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for pid, kind, colour in products:
            (folder / "images" / f"{pid}.png").write_bytes(photos.get(pid) or garment_photo(kind, colour, seed=pid))
            writer.writerow([pid, f"{colour} {kind}", f"images/{pid}.png", "9.99", 3, kind, colour])
    return folder


@pytest.fixture
def catalog(lookbook_env, tmp_path):
    cat = Catalog(get_paths())
    report = import_catalog(write_source(tmp_path / "source"), db=cat.db, store=cat.store)
    assert report.imported == len(PRODUCTS) and not report.skipped
    yield cat
    cat.close()


def run_index(cat: Catalog, *, encoder: Encoder | None = None, **options):
    return index_catalog(db=cat.db, store=cat.store, encoder=encoder or cat.encoder, directory=cat.paths.index,
                         progress=False, **options)


def vector_rows(cat: Catalog) -> dict[int, ProductVector]:
    with cat.db.session() as session:
        return {v.product_id: v for v in session.scalars(select(ProductVector))}


def image_key(cat: Catalog, pid: int) -> str:
    with cat.db.session() as session:
        return session.get(Product, pid).image_key


def test_index_embeds_every_product_and_tags_vectors_with_the_encoder_version(catalog):
    report = run_index(catalog)

    assert (report.embedded, report.already_current, report.failed, report.indexed) == (6, 0, [], 6)
    rows = vector_rows(catalog)
    assert sorted(rows) == ALL_IDS
    assert {v.model_version for v in rows.values()} == {catalog.encoder.vector_version}
    with catalog.db.session() as session:
        hashes = {p.id: p.image_sha256 for p in session.scalars(select(Product))}
    assert {pid: v.image_sha256 for pid, v in rows.items()} == hashes
    # Stored vectors are unit length and as wide as the model says.
    _, shape, colour = load_vectors(catalog.db, catalog.encoder.vector_version)
    assert shape.shape == (6, catalog.encoder.info.embedding_dim)
    np.testing.assert_allclose(np.linalg.norm(shape, axis=1), 1.0, atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(colour, axis=1), 1.0, atol=1e-4)
    assert "embedded 6 product image(s); 0 already current; 6 product(s) in the search index" in report.summary()


def test_a_second_index_run_redoes_nothing(catalog, monkeypatch):
    run_index(catalog)
    before = {pid: (v.created_at, v.shape) for pid, v in vector_rows(catalog).items()}
    calls = []
    real = catalog.encoder.embed_pixels
    monkeypatch.setattr(catalog.encoder, "embed_pixels", lambda *a, **kw: calls.append(1) or real(*a, **kw))

    report = run_index(catalog)

    assert (report.embedded, report.already_current, report.indexed) == (0, 6, 6)
    assert calls == []  # the model never ran
    assert {pid: (v.created_at, v.shape) for pid, v in vector_rows(catalog).items()} == before


def test_an_interrupted_index_run_resumes_without_losing_or_redoing_work(catalog, monkeypatch):
    real = catalog.encoder.embed_pixels
    batches = []
    killed = {"on": True}

    def dies_after_first_batch(pixels, **kwargs):
        if killed["on"] and batches:
            raise KeyboardInterrupt("killed half-way")
        batches.append(len(pixels))
        return real(pixels, **kwargs)

    monkeypatch.setattr(catalog.encoder, "embed_pixels", dies_after_first_batch)
    with pytest.raises(KeyboardInterrupt):
        run_index(catalog, batch_size=2)
    stored_after_kill = vector_rows(catalog)
    assert batches == [2]
    assert sorted(stored_after_kill) == ALL_IDS[:2]  # the committed batch survived the kill

    killed["on"] = False
    report = run_index(catalog, batch_size=2)

    assert report.embedded + len(stored_after_kill) == len(PRODUCTS)
    assert (report.embedded, report.already_current, report.indexed) == (4, 2, 6)
    rows = vector_rows(catalog)
    assert sorted(rows) == ALL_IDS
    for pid, row in stored_after_kill.items():  # the first batch was not embedded again
        assert (rows[pid].created_at, rows[pid].shape) == (row.created_at, row.shape)
    assert VectorIndex.load(catalog.paths.index).ids.tolist() == ALL_IDS


def test_vectors_from_another_model_version_are_re_embedded(catalog):
    run_index(catalog)
    with catalog.db.session() as session:
        session.execute(update(ProductVector).where(ProductVector.product_id == 21)
                        .values(model_version="an-older-model+c1"))

    report = run_index(catalog)

    assert (report.embedded, report.already_current, report.indexed) == (1, 5, 6)
    assert vector_rows(catalog)[21].model_version == catalog.encoder.vector_version


def test_a_new_model_re_indexes_the_whole_catalog(catalog, tiny_model_dir, tmp_path):
    run_index(catalog)
    other = tmp_path / "other-model"
    shutil.copytree(tiny_model_dir, other)
    info = json.loads((other / INFO_FILE).read_text())
    info["version"] = "tiny-test-model-v2"
    (other / INFO_FILE).write_text(json.dumps(info))
    new_encoder = Encoder(other)
    assert new_encoder.vector_version != catalog.encoder.vector_version

    report = run_index(catalog, encoder=new_encoder)

    assert (report.embedded, report.already_current, report.indexed) == (6, 0, 6)
    assert {v.model_version for v in vector_rows(catalog).values()} == {"tiny-test-model-v2+c1"}
    assert IndexManifest.read(catalog.paths.index).vector_version == "tiny-test-model-v2+c1"
    assert len(load_vectors(catalog.db, catalog.encoder.vector_version)[0]) == 0  # nothing left of the old one


def test_a_product_whose_image_changed_is_re_embedded_and_its_index_vector_changes(catalog, tmp_path):
    run_index(catalog)
    before = VectorIndex.load(catalog.paths.index).vectors_of([11])[0].copy()
    others_before = VectorIndex.load(catalog.paths.index).vectors_of([12, 21])

    source = write_source(tmp_path / "source", photos={11: garment_photo("bag", "red", seed=77)})
    assert import_catalog(source, db=catalog.db, store=catalog.store).updated == 1
    report = run_index(catalog)

    assert (report.embedded, report.already_current) == (1, 5)
    index = VectorIndex.load(catalog.paths.index)
    after = index.vectors_of([11])[0]
    assert np.abs(after - before).max() > 0.05
    _, shape, colour = load_vectors(catalog.db, catalog.encoder.vector_version, ids=[11])
    expected = combine(shape, colour, IndexManifest.read(catalog.paths.index).colour_weight)[0]
    np.testing.assert_allclose(after, expected / np.linalg.norm(expected), atol=1e-5)
    np.testing.assert_array_equal(index.vectors_of([12, 21]), others_before)


def test_a_corrupt_stored_image_is_reported_and_does_not_stop_the_others(catalog):
    key = image_key(catalog, 22)
    (catalog.paths.images / key).write_bytes(b"this is not a picture at all" * 20)

    report = run_index(catalog, batch_size=2)

    assert [pid for pid, _ in report.failed] == [22]
    reason = report.failed[0][1]
    assert key in reason and "not an image" in reason
    assert (report.embedded, report.indexed) == (5, 5)
    assert 22 not in VectorIndex.load(catalog.paths.index)
    assert sorted(vector_rows(catalog)) == [11, 12, 21, 31, 32]
    assert f"skipped product 22: {reason}" in report.summary()


def test_a_missing_stored_image_is_reported_too(catalog):
    (catalog.paths.images / image_key(catalog, 31)).unlink()

    report = run_index(catalog)

    assert [pid for pid, _ in report.failed] == [31]
    assert report.indexed == 5


def test_a_deleted_product_leaves_the_saved_index(catalog):
    run_index(catalog)
    with catalog.db.session() as session:
        session.delete(session.get(Product, 12))

    report = run_index(catalog)

    assert (report.embedded, report.indexed) == (0, 5)
    assert 12 not in vector_rows(catalog)  # the vector row went with the product
    loaded = VectorIndex.load(catalog.paths.index)
    with catalog.db.session() as session:
        db_ids = sorted(session.scalars(select(Product.id)))
    assert loaded.ids.tolist() == db_ids == [11, 21, 22, 31, 32]


def test_the_saved_index_loads_back_with_the_stored_vectors(catalog):
    report = run_index(catalog, colour_weight=0.3)

    loaded = VectorIndex.load(catalog.paths.index)
    ids, shape, colour = load_vectors(catalog.db, catalog.encoder.vector_version)
    assert loaded.ids.tolist() == ids.tolist() == ALL_IDS
    assert len(loaded) == report.indexed
    expected = combine(shape, colour, 0.3)
    np.testing.assert_allclose(loaded.vectors_of(ids), expected / np.linalg.norm(expected, axis=1, keepdims=True),
                               atol=1e-5)
    assert IndexManifest.read(catalog.paths.index) == IndexManifest(catalog.encoder.vector_version, 0.3)


def test_changing_the_colour_weight_rebuilds_the_combined_vectors_without_re_embedding(catalog):
    run_index(catalog, colour_weight=0.3)
    before = VectorIndex.load(catalog.paths.index).vectors_of(ALL_IDS).copy()

    report = run_index(catalog, colour_weight=0.7)

    assert (report.embedded, report.already_current, report.indexed) == (0, 6, 6)
    assert IndexManifest.read(catalog.paths.index).colour_weight == 0.7
    after = VectorIndex.load(catalog.paths.index).vectors_of(ALL_IDS)
    ids, shape, colour = load_vectors(catalog.db, catalog.encoder.vector_version)
    expected = combine(shape, colour, 0.7)
    np.testing.assert_allclose(after, expected / np.linalg.norm(expected, axis=1, keepdims=True), atol=1e-5)
    assert np.abs(after - before).max() > 0.05

    # A catalog opened without an explicit weight uses the saved one, and search works with it.
    reopened = Catalog(get_paths())
    try:
        assert reopened.colour_weight == 0.7
        photo = catalog.store.get(image_key(catalog, 31))
        hits = search_by_image(reopened, photo, k=3, include_self=True)
        assert hits[0].id == 31 and hits[0].score == pytest.approx(1.0, abs=1e-4)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    finally:
        reopened.close()
