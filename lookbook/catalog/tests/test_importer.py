"""The catalog importer, on tiny Kaggle-style and plain fixtures that carry the real dataset's quirks."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from lookbook.catalog import importer
from lookbook.catalog.importer import CatalogImportError, Skipped, import_catalog
from lookbook.catalog.models import Product
from lookbook.db import Database
from lookbook.storage import LocalImageStore

HEADER = "id,gender,masterCategory,subCategory,articleType,baseColour,season,year,usage,productDisplayName"
STYLES = [
    HEADER,
    "1,Men,Apparel,Topwear,Tshirts,Navy Blue,Fall,2011,Casual,Turtle Check Men Navy Blue Shirt",
    "2,Women,Apparel,Topwear,Tops,Black,Summer,2012,Casual,Nike Women Black Top, Just Do It",  # 11 fields
    "3,Women,Apparel,Dress,Dresses,Red,Summer,,Casual,Ärmelloses Kleid — Été",  # empty year
    "",
    "4,Men,Footwear,Shoes,Casual Shoes,White,Winter,2013,Casual,Puma Men White Shoes",  # no image
    "5,Men,Accessories,Watches,Watches,Silver,Winter,2016,Casual,Titan Men Watch",  # corrupt image
    "1,Men,Apparel,Topwear,Tshirts,Red,Fall,2011,Casual,A later row with id 1",  # duplicate
    "x,Men,Apparel,Topwear,Tshirts,Red,Fall,2011,Casual,No id",
    "7,Men,Apparel",
]
NAME_WITH_COMMA = "Nike Women Black Top, Just Do It"
NON_ASCII_NAME = "Ärmelloses Kleid — Été"


def jpeg(colour: tuple[int, int, int], size: int = 8) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, "PNG")
    return buffer.getvalue()


def write_kaggle(folder: Path, lines: list[str] = STYLES) -> Path:
    """A Kaggle folder: styles.csv (UTF-8 with a BOM) and images/, with one corrupt and one row-less image."""
    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    (folder / "styles.csv").write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    for pid, colour in ((1, (200, 0, 0)), (2, (0, 200, 0)), (3, (0, 0, 200)), (7, (9, 9, 9)), (99, (90, 90, 9))):
        (images / f"{pid}.jpg").write_bytes(jpeg(colour))
    (images / "5.jpg").write_bytes(bytes(range(256)) * 4)  # random bytes, not an image
    return folder


def rows(db: Database) -> dict[int, dict]:
    """Every product with every column, to compare database states exactly."""
    with db.session() as s:
        return {
            p.id: {c.key: getattr(p, c.key) for c in Product.__mapper__.column_attrs}
            for p in s.scalars(select(Product))
        }


def product(db: Database, pid: int) -> Product | None:
    with db.session() as s:
        return s.get(Product, pid)


@pytest.fixture
def db(database_url):
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def store(tmp_path):
    return LocalImageStore(tmp_path / "store")


@pytest.fixture
def kaggle(tmp_path):
    return write_kaggle(tmp_path / "fashion-dataset")


# --- Kaggle layout ---------------------------------------------------------------------------------------------


def test_source_ids_are_kept(kaggle, db, store):
    report = import_catalog(kaggle, db=db, store=store, default_stock=3)

    assert (report.imported, report.updated, report.unchanged) == (3, 0, 0)
    assert set(rows(db)) == {1, 2, 3}
    p = product(db, 1)
    data = (kaggle / "images" / "1.jpg").read_bytes()
    assert p.image_key == "products/1.jpg"
    assert p.image_sha256 == hashlib.sha256(data).hexdigest()
    assert store.get("products/1.jpg") == data
    assert (p.name, p.category, p.gender, p.colour) == (
        "Turtle Check Men Navy Blue Shirt", "Tshirts", "Men", "Navy Blue"
    )
    assert p.labels == {
        "gender": "Men", "masterCategory": "Apparel", "subCategory": "Topwear", "articleType": "Tshirts",
        "baseColour": "Navy Blue", "season": "Fall", "year": "2011", "usage": "Casual",
    }
    assert (p.price_minor, p.currency, p.stock) == (None, "USD", 3)


def test_line_with_unquoted_comma_in_name_is_parsed_not_dropped(kaggle, db, store):
    import_catalog(kaggle, db=db, store=store)

    p = product(db, 2)
    assert p.name == NAME_WITH_COMMA
    assert p.labels["usage"] == "Casual" and p.category == "Tops"


def test_non_ascii_name_is_kept_and_empty_year_is_not_a_label(kaggle, db, store):
    import_catalog(kaggle, db=db, store=store)

    p = product(db, 3)
    assert p.name == NON_ASCII_NAME
    assert "year" not in p.labels
    assert p.labels["season"] == "Summer"


def test_row_without_image_is_skipped_with_reason(kaggle, db, store):
    report = import_catalog(kaggle, db=db, store=store)

    assert Skipped("styles.csv line 6", 4, "no image file") in report.skipped
    assert product(db, 4) is None


def test_image_without_row_is_reported(kaggle, db, store):
    report = import_catalog(kaggle, db=db, store=store)

    assert Skipped("images/99.jpg", 99, "image has no row in styles.csv") in report.skipped
    assert not store.exists("products/99.jpg")
    # Row 7 exists (it is skipped for too few fields), so its image is not reported as row-less.
    assert not any(s.where == "images/7.jpg" for s in report.skipped)


def test_corrupt_image_is_skipped_and_nothing_written_for_it(kaggle, db, store):
    report = import_catalog(kaggle, db=db, store=store)

    [skip] = [s for s in report.skipped if s.id == 5]
    assert skip.where == "styles.csv line 7"
    assert skip.reason.startswith("image is unusable: ")
    assert product(db, 5) is None
    assert not store.exists("products/5.jpg")


def test_corrupt_new_image_leaves_existing_product_untouched(kaggle, db, store):
    good = jpeg((50, 60, 70))
    (kaggle / "images" / "5.jpg").write_bytes(good)
    import_catalog(kaggle, db=db, store=store)
    before = rows(db)[5]

    write_kaggle(kaggle, [line.replace("Titan Men Watch", "Renamed") for line in STYLES])
    (kaggle / "images" / "5.jpg").write_bytes(b"\xff\xd8\xff" + b"\x00" * 100)  # a damaged JPEG
    report = import_catalog(kaggle, db=db, store=store)

    assert any(s.id == 5 and s.reason.startswith("image is unusable") for s in report.skipped)
    assert rows(db)[5] == before
    assert store.get("products/5.jpg") == good


def test_duplicate_id_keeps_first(kaggle, db, store):
    report = import_catalog(kaggle, db=db, store=store)

    assert product(db, 1).name == "Turtle Check Men Navy Blue Shirt"
    assert Skipped("styles.csv line 8", 1, "duplicate id 1 (first at line 2)") in report.skipped


def test_malformed_lines_are_skipped_with_their_line_number(kaggle, db, store):
    report = import_catalog(kaggle, db=db, store=store)

    assert Skipped("styles.csv line 9", None, "id is not an integer: 'x'") in report.skipped
    assert Skipped("styles.csv line 10", 7, "too few fields (3 of 10)") in report.skipped
    assert product(db, 7) is None
    assert len(report.skipped) == 6  # 4, 5, duplicate 1, x, 7, image 99


def test_reimport_is_idempotent(kaggle, db, store):
    import_catalog(kaggle, db=db, store=store)
    before = rows(db)

    report = import_catalog(kaggle, db=db, store=store)

    assert (report.imported, report.updated, report.unchanged) == (0, 0, 3)
    assert rows(db) == before


def test_changed_row_is_updated(kaggle, db, store):
    import_catalog(kaggle, db=db, store=store)
    old_sha = product(db, 2).image_sha256
    changed = [line.replace("Turtle Check Men Navy Blue Shirt", "Renamed Shirt").replace(",Fall,", ",Winter,")
               for line in STYLES if not line.startswith("3,")]  # product 3 leaves the file
    write_kaggle(kaggle, changed)
    new_image = jpeg((255, 255, 0))
    (kaggle / "images" / "2.jpg").write_bytes(new_image)

    report = import_catalog(kaggle, db=db, store=store)

    assert (report.imported, report.updated, report.unchanged) == (0, 2, 0)
    p1, p2 = product(db, 1), product(db, 2)
    assert p1.name == "Renamed Shirt" and p1.labels["season"] == "Winter"
    assert p2.image_sha256 == hashlib.sha256(new_image).hexdigest() != old_sha
    assert store.get("products/2.jpg") == new_image
    assert product(db, 3).name == NON_ASCII_NAME  # import never deletes


def test_small_variant_layout_is_found(tmp_path, db, store):
    write_kaggle(tmp_path / "archive" / "myntradataset", STYLES[:3])

    report = import_catalog(tmp_path / "archive", db=db, store=store)

    assert report.imported == 2
    assert product(db, 2).name == NAME_WITH_COMMA
    # The folder itself and its styles.csv work too.
    again = import_catalog(tmp_path / "archive" / "myntradataset" / "styles.csv", db=db, store=store)
    assert again.unchanged == 2


def test_parent_with_two_catalogs_is_ambiguous(tmp_path, db, store):
    write_kaggle(tmp_path / "a", STYLES[:2])
    write_kaggle(tmp_path / "b", STYLES[:2])

    with pytest.raises(CatalogImportError, match="several catalogs"):
        import_catalog(tmp_path, db=db, store=store)


def test_writes_are_batched_and_an_interrupted_import_leaves_complete_rows(kaggle, db, store, monkeypatch):
    monkeypatch.setattr(importer, "BATCH_SIZE", 2)
    put = store.put

    def failing_put(key, data):
        if key == "products/3.jpg":  # the first row of the second batch
            raise OSError("disk full")
        put(key, data)

    monkeypatch.setattr(store, "put", failing_put)
    with pytest.raises(OSError):
        import_catalog(kaggle, db=db, store=store)

    assert set(rows(db)) == {1, 2}
    assert all(store.get(p["image_key"]) for p in rows(db).values())

    monkeypatch.setattr(store, "put", put)
    report = import_catalog(kaggle, db=db, store=store)
    assert (report.imported, report.unchanged) == (1, 2)


def test_summary_groups_skips_by_reason(kaggle, db, store):
    text = import_catalog(kaggle, db=db, store=store).summary(examples=1)

    assert text.splitlines()[0] == "3 imported, 0 updated, 0 unchanged, 6 skipped"
    assert "  no image file: 1" in text
    assert "  duplicate id: 1" in text
    assert "    styles.csv line 8 (id 1): duplicate id 1 (first at line 2)" in text


# --- plain layout --------------------------------------------------------------------------------------------


def test_plain_csv_prices_are_integer_minor_units(tmp_path, db, store):
    (tmp_path / "pics").mkdir()
    for pid in range(1, 8):
        (tmp_path / "pics" / f"{pid}.PNG").write_bytes(png((pid * 30, 0, 0)))
    (tmp_path / "products.csv").write_text(
        "id,name,image,price,currency,stock,labels.season,material\n"
        "1,Shirt,pics/1.PNG,19.99,eur,4,Summer,cotton\n"
        "2,Socks,pics/2.PNG,0.29,,,,\n"  # 0.29 * 100 is 28.999999999999996 as a float
        "3,Coat,pics/3.PNG,1200,USD,0,Winter,\n"
        "4,Free,pics/4.PNG,,,,,\n"
        "5,Too precise,pics/5.PNG,5.999,,,,\n"
        "6,Negative,pics/6.PNG,-1,,,,\n"
        '7,"Scarf, wool",pics/7.PNG,abc,,,,\n',
        encoding="utf-8",
    )

    report = import_catalog(tmp_path, db=db, store=store, default_currency="GBP", default_stock=2)

    found = rows(db)
    assert {pid: (p["price_minor"], p["currency"], p["stock"]) for pid, p in found.items()} == {
        1: (1999, "EUR", 4), 2: (29, "GBP", 2), 3: (120000, "USD", 0), 4: (None, "GBP", 2),
    }
    assert all(type(p["price_minor"]) is int for p in found.values() if p["price_minor"] is not None)
    assert found[1]["labels"] == {"season": "Summer", "material": "cotton"}
    assert found[2]["labels"] == {}
    assert found[1]["image_key"] == "products/1.png"
    assert {(s.where, s.id, s.reason) for s in report.skipped} == {
        ("products.csv line 6", 5, "price has more than 2 decimals: '5.999'"),
        ("products.csv line 7", 6, "price is negative: '-1'"),
        ("products.csv line 8", 7, "price is not a decimal amount: 'abc'"),
    }


def test_plain_reimport_without_stock_or_image_columns_keeps_them(tmp_path, db, store):
    (tmp_path / "1.jpg").write_bytes(jpeg((1, 2, 3)))
    (tmp_path / "products.csv").write_text("id,name,image,stock,price\n1,Shirt,1.jpg,7,10.00\n")
    import_catalog(tmp_path / "products.csv", db=db, store=store)

    (tmp_path / "prices.csv").write_text("id,name,price\n1,Shirt,12.50\n")
    report = import_catalog(tmp_path / "prices.csv", db=db, store=store)

    p = product(db, 1)
    assert report.updated == 1
    assert (p.price_minor, p.stock, p.image_key) == (1250, 7, "products/1.jpg")


def test_plain_json_layout(tmp_path, db, store):
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.jpg").write_bytes(jpeg((10, 20, 30)))
    absolute = tmp_path / "elsewhere.jpg"
    absolute.write_bytes(jpeg((30, 20, 10)))
    items = [
        {"id": 10, "name": "Dress", "image": "img/a.jpg", "price": 19.99, "category": "Dresses",
         "labels": {"season": "Summer", "year": 2012}, "fit": "slim"},
        {"id": "11", "name": "Bag", "image": str(absolute), "price": "5", "currency": "jpy", "stock": 3},
        {"id": 12, "name": "Lost", "image": "img/missing.jpg"},
        {"name": "No id", "image": "img/a.jpg"},
        "not an object",
    ]
    # Written by hand so that 19.99 is a JSON number, as a shop's export would have it.
    (tmp_path / "products.json").write_text(json.dumps(items))

    report = import_catalog(tmp_path, db=db, store=store)

    dress, bag = product(db, 10), product(db, 11)
    assert (dress.price_minor, dress.currency, dress.category) == (1999, "USD", "Dresses")
    assert dress.labels == {"season": "Summer", "year": "2012", "fit": "slim"}
    assert dress.image_key == "products/10.jpg"
    assert (bag.price_minor, bag.currency, bag.stock) == (500, "JPY", 3)
    assert store.get(bag.image_key) == absolute.read_bytes()
    assert {(s.where, s.id, s.reason) for s in report.skipped} == {
        ("products.json item 3", 12, "no image file: img/missing.jpg"),
        ("products.json item 4", None, "missing id"),
        ("products.json item 5", None, "not an object"),
    }


def test_values_a_database_cannot_store_skip_their_row_not_the_batch(tmp_path, db, store):
    items = [
        {"id": 1, "name": "Null\u0000name"},
        {"id": 2, "name": "Shirt", "labels": {"season": "Sum\u0000mer"}},
        {"id": 3, "name": "Shirt", "labels": {"sea\u0000son": "Summer"}},
        {"id": 4, "name": "Lone \ud800 surrogate"},
        {"id": 5, "name": "Shirt", "stock": 2**31},
        {"id": 6, "name": "Shirt", "price": "92233720368547758.08"},
        {"id": 7, "name": "Fine", "stock": 2**31 - 1, "price": "92233720368547758.07", "labels": {"season": "Summer"}},
    ]
    (tmp_path / "products.json").write_text(json.dumps(items))

    report = import_catalog(tmp_path / "products.json", db=db, store=store)

    assert report.imported == 1
    fine = product(db, 7)
    assert (fine.stock, fine.price_minor, fine.labels) == (2**31 - 1, 2**63 - 1, {"season": "Summer"})
    assert {(s.id, s.reason) for s in report.skipped} == {
        (1, "name contains a NUL character"),
        (2, "label season contains a NUL character"),
        (3, "a label name contains a NUL character"),
        (4, "name is not valid Unicode text"),
        (5, f"stock is out of range: {2**31}"),
        (6, "price is out of range: '92233720368547758.08'"),
    }


# --- sources that cannot be imported -------------------------------------------------------------------------


def test_missing_folder_raises_before_writing(tmp_path, db, store):
    with pytest.raises(CatalogImportError, match="does not exist"):
        import_catalog(tmp_path / "nope", db=db, store=store)

    (tmp_path / "empty").mkdir()
    with pytest.raises(CatalogImportError, match="no catalog found"):
        import_catalog(tmp_path / "empty", db=db, store=store)

    (tmp_path / "1.jpg").write_bytes(jpeg((1, 2, 3)))
    (tmp_path / "products.csv").write_text("id,title,image\n1,Shirt,1.jpg\n")
    with pytest.raises(CatalogImportError, match="required column.*name"):
        import_catalog(tmp_path, db=db, store=store)

    assert rows(db) == {}
    assert not (tmp_path / "store").exists()


def test_kaggle_csv_without_images_folder_raises(tmp_path, db, store):
    (tmp_path / "styles.csv").write_text(HEADER + "\n1,Men,Apparel,Topwear,Tshirts,Blue,Fall,2011,Casual,Shirt\n")

    with pytest.raises(CatalogImportError, match="images/"):
        import_catalog(tmp_path, db=db, store=store)
