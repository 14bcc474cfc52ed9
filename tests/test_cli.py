"""The `lookbook` command line, end to end on a small plain-CSV catalog in a temporary LOOKBOOK_HOME."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from conftest import GARMENT_COLOURS, garment_photo
from lookbook.catalog.models import Product, ProductVector
from lookbook.cli import main
from lookbook.db import Database
from lookbook.vision.encoder import ModelInfo
from lookbook.vision.training import TrainConfig

KINDS = ["tshirt", "trousers", "bag"]
PRICES = ["5.00", "10.00", "19.99", "20.00", "25.00"]


def write_source(folder: Path, count: int = 12, *, unlabelled: tuple[int, ...] = (), broken: bool = False) -> Path:
    """products.csv with `count` products, ids 1001.., kinds and colours cycling; optionally one row lacking
    its image file (skipped by the import) and some products with an empty category."""
    (folder / "images").mkdir(parents=True, exist_ok=True)
    colours = list(GARMENT_COLOURS)
    with open(folder / "products.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "name", "image", "price", "stock", "category", "colour"])
        for i in range(count):
            pid, kind, colour = 1001 + i, KINDS[i % 3], colours[(i // 3) % 4]
            (folder / "images" / f"{pid}.png").write_bytes(garment_photo(kind, colour, seed=i, size=64))
            category = "" if pid in unlabelled else kind
            writer.writerow([pid, f"{colour} {kind} {pid}", f"images/{pid}.png", PRICES[i % 5], i % 2, category,
                             colour])
        if broken:
            writer.writerow([2001, "ghost", "images/missing.png", "1.00", 1, "bag", "red"])
    return folder


def run(*args: str):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def fails_cleanly(result, code: int = 1) -> None:
    """A non-zero exit through click (a message, no Python exception escaping)."""
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit)


@pytest.fixture
def indexed(lookbook_env, tmp_path) -> Path:
    """An imported and indexed 12-product catalog; returns its source folder."""
    source = write_source(tmp_path / "source")
    assert run("catalog", "import", source).exit_code == 0
    result = run("index")
    assert result.exit_code == 0, result.output
    return source


@pytest.fixture
def db(lookbook_env, database_url):
    """The database the commands use, opened by the test itself."""
    database = Database(database_url)
    yield database
    database.dispose()


# --- catalog import ------------------------------------------------------------------------------------------


def test_catalog_import_prints_imported_and_skipped_counts(lookbook_env, tmp_path):
    source = write_source(tmp_path / "source", count=6, broken=True)

    result = run("catalog", "import", source)

    assert result.exit_code == 0, result.output
    assert "6 imported, 0 updated, 0 unchanged, 1 skipped" in result.stdout
    assert "no image file: images/missing.png" in result.stdout
    again = run("catalog", "import", source)
    assert "0 imported, 0 updated, 6 unchanged, 1 skipped" in again.stdout


def test_catalog_import_of_a_missing_folder_fails_with_a_clear_message(lookbook_env, tmp_path):
    missing = tmp_path / "no-such-folder"

    result = run("catalog", "import", missing)

    fails_cleanly(result)
    assert f"Error: {missing} does not exist" in result.output


def test_catalog_import_with_nothing_importable_exits_non_zero(lookbook_env, tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "products.csv").write_text("id,name,image\n1,ghost,missing.png\n")

    result = run("catalog", "import", folder)

    fails_cleanly(result)
    assert "0 imported, 0 updated, 0 unchanged, 1 skipped" in result.output


# --- index and search ----------------------------------------------------------------------------------------


def test_index_reports_what_it_embedded_and_a_second_run_embeds_nothing(lookbook_env, tmp_path):
    run("catalog", "import", write_source(tmp_path / "source", count=5))

    first = run("index", "--batch-size", "2")
    second = run("index")

    assert "embedded 5 product image(s); 0 already current; 5 product(s) in the search index" in first.stdout
    assert "embedded 0 product image(s); 5 already current; 5 product(s) in the search index" in second.stdout


def test_search_json_lists_the_k_best_products_with_their_source_ids(indexed, tmp_path):
    photo = tmp_path / "query.png"
    photo.write_bytes(garment_photo("bag", "red", seed=500))

    result = run("search", photo, "--k", "3", "--json")

    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert isinstance(hits, list) and len(hits) == 3
    for hit in hits:
        assert {"id", "name", "score"} <= hit.keys()
        assert 1001 <= hit["id"] <= 1012
        assert hit["name"].endswith(str(hit["id"]))
        assert isinstance(hit["score"], float)
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


def test_search_prints_ranked_lines_with_score_and_name(indexed, tmp_path):
    photo = tmp_path / "query.png"
    photo.write_bytes(garment_photo("tshirt", "black", seed=501))

    result = run("search", photo, "--k", "4")

    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 4
    for rank, line in enumerate(lines, 1):
        match = re.fullmatch(r"\s*(\d+)\. (\d\.\d{3})  #(\d+)  (\w+ \w+ \d+)  \[.*\]  \d+\.\d\d USD", line)
        assert match, line
        assert int(match[1]) == rank and match[4].endswith(match[3])


def test_a_catalog_photo_finds_itself_only_with_include_self(indexed, tmp_path):
    photo = indexed / "images" / "1005.png"

    without = json.loads(run("search", photo, "--k", "12", "--json").stdout)
    with_self = json.loads(run("search", photo, "--k", "1", "--json", "--include-self").stdout)

    assert 1005 not in [h["id"] for h in without] and len(without) == 11
    assert with_self[0]["id"] == 1005 and with_self[0]["score"] == pytest.approx(1.0, abs=1e-3)


def test_search_filters_by_category(indexed, tmp_path):
    photo = tmp_path / "query.png"
    photo.write_bytes(garment_photo("tshirt", "blue", seed=502))

    hits = json.loads(run("search", photo, "--k", "10", "--json", "--category", "Trousers").stdout)

    assert len(hits) == 4  # every trousers product, and only those
    assert {h["category"] for h in hits} == {"trousers"}


def test_search_filters_by_a_price_range_given_in_major_units(indexed, tmp_path):
    photo = tmp_path / "query.png"
    photo.write_bytes(garment_photo("bag", "white", seed=503))

    hits = json.loads(run("search", photo, "--k", "12", "--json", "--min-price", "10.00", "--max-price", "20").stdout)

    in_range = [i for i in range(12) if PRICES[i % 5] in ("10.00", "19.99", "20.00")]
    assert len(hits) == len(in_range)
    assert all(1000 <= h["price_minor"] <= 2000 for h in hits)
    assert {h["price_minor"] for h in hits} == {1000, 1999, 2000}


@pytest.mark.parametrize("option, value", [
    ("--min-price", "abc"), ("--max-price", "-1"), ("--min-price", "1.005"), ("--min-price", "nan"),
    ("--max-price", "inf"),
])
def test_search_rejects_a_bad_price_with_a_usage_error(indexed, tmp_path, option, value):
    photo = tmp_path / "query.png"
    photo.write_bytes(garment_photo("bag", "white", seed=504))

    result = run("search", photo, option, value)

    fails_cleanly(result, code=2)
    assert f"'{value}'" in result.output and "Invalid value" in result.output


def test_search_on_a_corrupt_photo_names_the_file(indexed, tmp_path):
    photo = tmp_path / "holiday-snap.jpg"
    photo.write_bytes(b"\xff\xd8\xff" + b"\x00" * 50)  # a JPEG header and then nothing

    result = run("search", photo)

    fails_cleanly(result)
    assert "holiday-snap.jpg" in result.output
    assert "damaged or incomplete" in result.output


def test_search_on_a_file_that_is_not_an_image_names_the_file(indexed, tmp_path):
    photo = tmp_path / "notes.txt"
    photo.write_text("shopping list")

    result = run("search", photo)

    fails_cleanly(result)
    assert "notes.txt" in result.output and "not an image" in result.output


# --- evaluation ----------------------------------------------------------------------------------------------


def test_eval_catalog_prints_retrieval_scores_between_zero_and_one(indexed):
    result = run("eval", "catalog", "--label", "category", "--json")

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["label"] == "category"
    assert [name.split(" (")[0] for name in report["scores"]] == ["model embedding", "with colour", "as search ranks"]
    for scores in report["scores"].values():
        for metric in ("precision@5", "precision@10", "mAP@10"):
            assert 0.0 <= scores[metric] <= 1.0
        assert scores["queries"] == 12


def test_eval_catalog_without_enough_labelled_products_fails_cleanly(indexed):
    result = run("eval", "catalog", "--label", "season")

    fails_cleanly(result)
    assert "fewer than two indexed products have a 'season' label" in result.output


# --- training ------------------------------------------------------------------------------------------------


def test_train_writes_the_catalog_model_tags_unlabelled_products_and_index_re_embeds(lookbook_env, db, tmp_path):
    unlabelled = 1040
    source = write_source(tmp_path / "source", count=40, unlabelled=(unlabelled,))
    assert run("catalog", "import", source).exit_code == 0
    assert "embedded 40" in run("index").stdout
    with db.session() as session:
        old_versions = set(session.scalars(select(ProductVector.model_version)))
    assert len(old_versions) == 1

    result = run("train", "--epochs", "0.3", "--input-size", "32", "--appearance-weight", "0")

    assert result.exit_code == 0, result.output
    model = lookbook_env / "model"
    assert (model / "encoder.onnx").is_file() and (model / "model.json").is_file()
    info = ModelInfo.read(model)
    assert info.input_size == 32
    assert info.embedding_dim == TrainConfig().embedding_dim  # no appearance part
    assert set(info.heads) == {"category", "colour"}
    for head in info.heads:
        line = re.search(rf"^\s+{head}\s+accuracy (\d\.\d{{4}})  macro-F1 (\d\.\d{{4}})", result.stdout, re.M)
        assert line, result.stdout
        assert 0.0 <= float(line[1]) <= 1.0 and 0.0 <= float(line[2]) <= 1.0
    assert "tagged 1 product(s) lacking labels" in result.stdout
    with db.session() as session:
        tagged = session.get(Product, unlabelled)
        others = list(session.scalars(select(Product).where(Product.id != unlabelled)))
    assert tagged.category is None
    assert set(tagged.predicted_labels) == {"category"}
    assert tagged.predicted_labels["category"]["label"] in info.heads["category"]
    assert 0.0 < tagged.predicted_labels["category"]["confidence"] <= 1.0
    assert all(p.predicted_labels == {} for p in others)

    # `train` re-embeds the catalog with the new model itself; a later `index` has nothing left to do.
    assert "embedded 40 product image(s); 0 already current; 40 product(s) in the search index" in result.stdout
    assert "embedded 0 product image(s); 40 already current" in run("index").stdout
    with db.session() as session:
        new_versions = set(session.scalars(select(ProductVector.model_version)))
    assert new_versions == {f"{info.version}+c1"}
    assert new_versions.isdisjoint(old_versions)
    photo = tmp_path / "query.png"
    photo.write_bytes(garment_photo("bag", "blue", seed=900))
    assert len(json.loads(run("search", photo, "--k", "3", "--json").stdout)) == 3


def test_catalog_remove_drops_products_from_search_at_once(indexed, tmp_path):
    photo = indexed / "images" / "1005.png"

    result = run("catalog", "remove", "1005", "1006")
    after = json.loads(run("search", photo, "--k", "12", "--json", "--include-self").stdout)

    assert result.exit_code == 0, result.output
    assert {1005, 1006}.isdisjoint(h["id"] for h in after) and len(after) == 10
    fails_cleanly(run("catalog", "remove", "424242"))


def test_eval_fashion_mnist_without_the_dataset_says_how_to_install_it(lookbook_env, monkeypatch, tmp_path):
    from lookbook.datasets import fashion_mnist

    monkeypatch.setattr(fashion_mnist, "SEARCH_PATHS", (tmp_path / "nowhere",))
    monkeypatch.delenv("LOOKBOOK_FASHION_MNIST", raising=False)

    result = run("eval", "fashion-mnist")

    fails_cleanly(result)
    assert "apt-get install dataset-fashion-mnist" in result.output
