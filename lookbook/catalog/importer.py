"""Import a product catalog into the database and the image store.

Two layouts are understood: the Kaggle "Fashion Product Images" dataset (``styles.csv`` + ``images/<id>.jpg``)
and a plain ``products.csv`` / ``products.json`` with explicit columns. The import is a merge keyed by the
source's own ids: new ids are inserted, changed rows updated, identical rows left untouched (so running it
twice is harmless) and products missing from the source are never deleted. A bad row or image is reported
in the `ImportReport` and never stops the import; only a source that cannot be read at all raises
`CatalogImportError`, and it does so before anything is written.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import select
from tqdm import tqdm

from lookbook.catalog.models import Product
from lookbook.catalog.variants import sync_default_variants
from lookbook.db import Database
from lookbook.storage import ImageStore
from lookbook.vision.images import ImageError, load_image, read_image_bytes

BATCH_SIZE = 500
VALIDATION_SIDE = 256
KAGGLE_FILE = "styles.csv"
KAGGLE_NAME = "productDisplayName"
# Kaggle columns that are not labels; every other column the file has becomes a label.
KAGGLE_NOT_LABELS = {"id", KAGGLE_NAME, "price", "currency"}
PLAIN_FIELDS = {"id", "name", "image", "price", "currency", "stock", "category", "gender", "colour", "description"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif"}  # what load_image accepts
MAX_ID = MAX_PRICE_MINOR = 2**63 - 1  # BigInteger
MAX_STOCK = 2**31 - 1  # Integer


class CatalogImportError(Exception):
    """The source as a whole cannot be imported: missing, unrecognised, unreadable or lacking required columns."""


@dataclass
class Skipped:
    where: str  # "styles.csv line 1234", "images/99999.jpg", "products.json item 3"
    id: int | None
    reason: str


@dataclass
class ImportReport:
    imported: int = 0  # new products
    updated: int = 0  # existing products whose fields or image changed
    unchanged: int = 0  # identical re-import
    skipped: list[Skipped] = field(default_factory=list)

    def summary(self, examples: int = 5) -> str:
        """Counts, then skipped rows grouped by kind of reason (44k rows may skip hundreds), a few examples each."""
        lines = [
            f"{self.imported} imported, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.skipped)} skipped"
        ]
        groups: dict[str, list[Skipped]] = defaultdict(list)
        for skip in self.skipped:
            groups[_reason_kind(skip.reason)].append(skip)
        for kind, items in sorted(groups.items(), key=lambda group: -len(group[1])):
            lines.append(f"  {kind}: {len(items)}")
            for skip in items[:examples]:
                ident = f" (id {skip.id})" if skip.id is not None else ""
                detail = f": {skip.reason}" if skip.reason != kind else ""
                lines.append(f"    {skip.where}{ident}{detail}")
            if len(items) > examples:
                lines.append(f"    ... and {len(items) - examples} more")
        return "\n".join(lines)


def _reason_kind(reason: str) -> str:
    """'duplicate id 5 (first at line 2)' and 'image is unusable: ...' group by the words before the details."""
    return re.split(r"[:\d(']", reason, maxsplit=1)[0].strip() or reason


def import_catalog(
    path: str | os.PathLike,
    *,
    db: Database,
    store: ImageStore,
    default_stock: int = 0,
    default_currency: str = "USD",
    progress: bool = False,
) -> ImportReport:
    """Import (or re-import) the catalog at `path`; see the module docstring for the layouts and rules."""
    try:
        default_currency = _parse_currency(default_currency, None)
    except _RowError as err:
        raise ValueError(f"default_currency: {err.reason}") from None
    if isinstance(default_stock, bool) or not isinstance(default_stock, int) or not 0 <= default_stock <= MAX_STOCK:
        raise ValueError(f"default_stock must be a whole number from 0 to {MAX_STOCK}, not {default_stock!r}")
    # Parse (and check) the whole source first so that a broken source raises before anything is written.
    source = _Source(default_currency)
    _read(Path(path), source)
    report = ImportReport(skipped=source.skipped)
    # What a new product gets for the fields its source does not state (labels default in the model).
    defaults = dict(category=None, gender=None, colour=None, price_minor=None, currency=default_currency,
                    stock=default_stock, description=None, image_key=None, image_sha256=None)
    rows = source.rows
    with tqdm(total=len(rows), disable=not progress, unit="product", desc="Importing") as bar:
        for start in range(0, len(rows), BATCH_SIZE):
            batch = rows[start:start + BATCH_SIZE]
            # One transaction per batch: fast for 44k rows, and an interruption leaves only complete rows.
            with db.session() as session:
                ids = [row.id for row in batch]
                existing = {p.id: p for p in session.scalars(select(Product).where(Product.id.in_(ids)))}
                for row in batch:
                    _apply(row, existing.get(row.id), session, store, report, defaults)
                sync_default_variants(session, ids)
            bar.update(len(batch))
    return report


# --- writing -------------------------------------------------------------------------------------------------


@dataclass
class _Row:
    id: int
    where: str
    # Only the fields the source states; on update, fields it does not state keep their stored value
    # (a price list without a stock column must not reset the shop's stock).
    fields: dict[str, Any]
    states_image: bool = True
    image: Path | None = None  # None with states_image: the source says the product has no image
    image_name: str | None = None  # how messages name the image, e.g. "images/15970.jpg"


def _apply(row: _Row, product: Product | None, session, store: ImageStore, report: ImportReport,
           defaults: dict) -> None:
    fields = dict(row.fields)
    if row.states_image:
        try:
            fields.update(_store_image(row, product, store))
        except ImageError as err:
            report.skipped.append(Skipped(row.where, row.id, f"image is unusable: {err}"))
            return
    if product is None:
        session.add(Product(id=row.id, **{**defaults, **fields}))
        report.imported += 1
        return
    changes = {key: value for key, value in fields.items() if getattr(product, key) != value}
    for key, value in changes.items():
        setattr(product, key, value)
    if changes:
        report.updated += 1
    else:
        report.unchanged += 1


def _store_image(row: _Row, product: Product | None, store: ImageStore) -> dict[str, Any]:
    """Validate and store the row's image before its row is committed; return the image fields.

    An image whose bytes match what is already stored under the same key was validated by the import that
    stored it, so a re-import only hashes it instead of decoding 44k photos again.
    """
    if row.image is None:
        return {"image_key": None, "image_sha256": None}
    data = read_image_bytes(row.image, name=row.image_name)
    sha = hashlib.sha256(data).hexdigest()
    key = f"products/{row.id}{row.image.suffix.lower()}"
    known = product is not None and product.image_key == key and product.image_sha256 == sha
    if not (known and store.exists(key)):
        # A reduced-scale JPEG decode still reads every byte of the stream, so damage is still caught.
        load_image(data, min_side=VALIDATION_SIDE, name=row.image_name)
        store.put(key, data)
    return {"image_key": key, "image_sha256": sha}


# --- reading -------------------------------------------------------------------------------------------------


class _RowError(Exception):
    """One row cannot be imported; `reason` goes into the report."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class _Source:
    """Rows parsed from a source, with the skipped ones and duplicate detection shared by every layout."""

    def __init__(self, default_currency: str):
        self.default_currency = default_currency
        self.rows: list[_Row] = []
        self.skipped: list[Skipped] = []
        self.first: dict[int, str] = {}  # id -> where it first appeared ("line 12")

    def add(self, file: str, at: str, raw_id: Any, build: Callable[[int, str], _Row]) -> None:
        """Parse the id, drop duplicates (the first row wins even if it is itself invalid), then build the row."""
        where, pid = f"{file} {at}", None
        try:
            pid = _parse_id(raw_id)
            if pid in self.first:
                raise _RowError(f"duplicate id {pid} (first at {self.first[pid]})")
            self.first[pid] = at
            row = build(pid, where)
            _check_text(row.fields)
            self.rows.append(row)
        except _RowError as err:
            self.skipped.append(Skipped(where, pid, err.reason))


def _read(path: Path, source: _Source) -> None:
    if not path.exists():
        raise CatalogImportError(f"{path} does not exist")
    file = _find_file(path) if path.is_dir() else path
    suffix = file.suffix.lower()
    if suffix == ".json":
        _read_json(file, source)
    elif suffix == ".csv":
        text = _read_text(file)
        header = _header(text)
        if file.name == KAGGLE_FILE or (KAGGLE_NAME in header and "name" not in header):
            _read_kaggle(file, text, source)
        else:
            _read_plain_csv(file, text, source)
    else:
        raise CatalogImportError(f"{file} is not a .csv or .json catalog")


def _find_file(folder: Path) -> Path:
    for name in (KAGGLE_FILE, "products.csv", "products.json"):
        if (folder / name).is_file():
            return folder / name
    # The Kaggle archives unpack into one folder (fashion-dataset/ or myntradataset/): accept its parent.
    nested = sorted(p for p in folder.glob(f"*/{KAGGLE_FILE}") if p.is_file())
    if len(nested) == 1:
        return nested[0]
    if nested:
        found = ", ".join(str(p.parent.name) for p in nested)
        raise CatalogImportError(f"{folder} holds several catalogs ({found}); point at one of them")
    raise CatalogImportError(
        f"no catalog found in {folder}: expected {KAGGLE_FILE} with images/, products.csv or products.json"
    )


def _read_text(file: Path) -> str:
    """The whole file as text; UTF-8 with or without a BOM, line endings untouched (csv handles them)."""
    try:
        with open(file, encoding="utf-8-sig", newline="") as f:
            return f.read()
    except UnicodeDecodeError as err:
        raise CatalogImportError(f"{file} is not UTF-8 text ({err})") from err
    except OSError as err:
        raise CatalogImportError(f"{file} cannot be read ({err.strerror or err})") from err


def _header(text: str) -> list[str]:
    for line in text.split("\n"):
        if line.strip():
            return [name.strip() for name in next(csv.reader([line]))]
    return []


def _require(file: Path, header: list[str], required: tuple[str, ...]) -> None:
    missing = [name for name in required if name not in header]
    if missing:
        raise CatalogImportError(f"{file} lacks the required column(s): {', '.join(missing)}")
    duplicated = sorted({name for name in header if name and header.count(name) > 1})
    if duplicated:
        raise CatalogImportError(f"{file} has duplicate column(s): {', '.join(duplicated)}")


def _read_kaggle(file: Path, text: str, source: _Source) -> None:
    header = _header(text)
    _require(file, header, ("id", KAGGLE_NAME))
    images_dir = file.parent / "images"
    if not images_dir.is_dir():
        raise CatalogImportError(f"{file} has no images/ folder next to it")
    images, stray = _index_images(images_dir)
    seen_header = False
    # The file is one record per line and a few names hold an unquoted comma, so parse line by line: a
    # stray quote can then never swallow the following rows, and line numbers are exact.
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        if not seen_header:
            seen_header = True
            continue
        cells = next(csv.reader([line]))
        source.add(file.name, f"line {number}", cells[0],
                   lambda pid, where: _kaggle_row(pid, where, cells, header, images, source.default_currency))
    claimed = source.first.keys()
    orphans = [(f"images/{p.name}", pid) for pid, p in sorted(images.items()) if pid not in claimed]
    orphans += [(f"images/{name}", None) for name in stray]
    source.skipped += [Skipped(where, pid, f"image has no row in {file.name}") for where, pid in orphans]


def _index_images(folder: Path) -> tuple[dict[int, Path], list[str]]:
    """Map id -> image file with one directory listing (44k stat calls would be slow); list the unnamed ones."""
    images: dict[int, Path] = {}
    stray: list[str] = []
    # Sorted so that 123.jpg wins over 123.png, deterministically.
    names = sorted((e.name for e in os.scandir(folder) if e.is_file() and not e.name.startswith(".")),
                   key=lambda name: (os.path.splitext(name)[1].lower() != ".jpg", name))
    for name in names:
        stem, suffix = os.path.splitext(name)
        if suffix.lower() not in IMAGE_SUFFIXES:
            continue
        if re.fullmatch(r"[0-9]+", stem):
            images.setdefault(int(stem), folder / name)
        else:
            stray.append(name)
    return images, sorted(stray)


def _kaggle_row(pid: int, where: str, cells: list[str], header: list[str], images: dict[int, Path],
                default_currency: str) -> _Row:
    extra = len(cells) - len(header)
    if extra < 0:
        raise _RowError(f"too few fields ({len(cells)} of {len(header)})")
    if extra:  # an unquoted comma in the name: glue the pieces back together
        at = header.index(KAGGLE_NAME)
        cells = cells[:at] + [",".join(cells[at:at + extra + 1])] + cells[at + extra + 1:]
    values = {name: (cell.strip() or None) for name, cell in zip(header, cells) if name}
    image = images.get(pid)
    if image is None:
        raise _RowError("no image file")
    fields = {
        "name": values[KAGGLE_NAME] or f"{values.get('articleType') or 'Product'} {pid}",
        "category": _sized(values.get("articleType"), "category"),
        "gender": _sized(values.get("gender"), "gender"),
        "colour": _sized(values.get("baseColour"), "colour"),
        "labels": {k: v for k, v in values.items() if k not in KAGGLE_NOT_LABELS and v is not None},
    }
    _add_price(fields, values, default_currency)
    return _Row(pid, where, fields, image=image, image_name=f"images/{image.name}")


def _read_plain_csv(file: Path, text: str, source: _Source) -> None:
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    end = 0  # line where the previous record ended, so a record's own line is end + 1
    for cells in reader:
        start, end = end + 1, reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if header is None:
            header = [name.strip() for name in cells]
            _require(file, header, ("id", "name"))
            continue
        values = dict(zip(header, cells))

        def build(pid: int, where: str, cells=cells, values=values) -> _Row:
            if len(cells) != len(header):
                raise _RowError(f"wrong number of fields ({len(cells)}, the header has {len(header)})")
            return _plain_row(pid, where, values, file.parent, source.default_currency)

        source.add(file.name, f"line {start}", values.get("id"), build)
    if header is None:
        raise CatalogImportError(f"{file} is empty")


def _read_json(file: Path, source: _Source) -> None:
    try:
        # parse_float=Decimal: prices like 19.99 never pass through a binary float.
        items = json.loads(_read_text(file), parse_float=Decimal)
    except json.JSONDecodeError as err:
        raise CatalogImportError(f"{file} is not valid JSON ({err})") from err
    if isinstance(items, dict) and isinstance(items.get("products"), list):
        items = items["products"]
    if not isinstance(items, list):
        raise CatalogImportError(f"{file} must hold a list of products")
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            source.skipped.append(Skipped(f"{file.name} item {number}", None, "not an object"))
            continue
        source.add(file.name, f"item {number}", item.get("id"),
                   lambda pid, where: _plain_row(pid, where, item, file.parent, source.default_currency))


def _plain_row(pid: int, where: str, values: dict[str, Any], base: Path, default_currency: str) -> _Row:
    name = _text(values.get("name"), "name")
    if not name:
        raise _RowError("missing name")
    fields: dict[str, Any] = {"name": name}
    for key in ("category", "gender", "colour", "description"):
        if key in values:
            fields[key] = _sized(_text(values[key], key), key)
    _add_price(fields, values, default_currency)
    if "stock" in values and (stock := _parse_stock(values["stock"])) is not None:
        fields["stock"] = stock  # an empty cell keeps the stored stock
    labels, has_labels = {}, False
    nested = values.get("labels")
    if isinstance(nested, dict):
        has_labels = True
        labels.update({str(k): v for k, v in nested.items()})
    elif nested is not None:
        raise _RowError("labels is not an object")
    for key, value in values.items():
        if key and key not in PLAIN_FIELDS and key != "labels":
            has_labels = True
            labels[key.removeprefix("labels.")] = value
    if has_labels:
        fields["labels"] = {k: t for k, v in labels.items() if (t := _text(v, f"label {k}")) is not None}
    row = _Row(pid, where, fields, states_image="image" in values)
    if image := _text(values.get("image"), "image"):
        path = Path(image) if Path(image).is_absolute() else base / image
        if not path.is_file():
            raise _RowError(f"no image file: {image}")
        row.image, row.image_name = path, image
    return row


# --- values --------------------------------------------------------------------------------------------------


def _text(value: Any, what: str) -> str | None:
    """A text cell: stripped, empty means None; JSON numbers become their text (year 2012 -> "2012")."""
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        raise _RowError(f"{what} is not text: {value!r}")
    if isinstance(value, bool):
        value = "true" if value else "false"
    return str(value).strip() or None


def _check_text(fields: dict[str, Any]) -> None:
    """Reject text PostgreSQL cannot store (a NUL character; in a JSON label it breaks every category filter)
    and text no database can store (a lone surrogate from a JSON escape): either would fail the whole batch."""
    texts = [(key, value) for key, value in fields.items() if isinstance(value, str)]
    for key, value in fields.get("labels", {}).items():
        texts += [("a label name", key), (f"label {key}", value)]
    for what, text in texts:
        if "\x00" in text:
            raise _RowError(f"{what} contains a NUL character")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise _RowError(f"{what} is not valid Unicode text") from None


def _sized(value: str | None, column: str) -> str | None:
    """Reject what the column cannot hold: SQLite would store it, PostgreSQL would fail the whole batch."""
    limit = Product.__table__.c[column].type.length
    if value is not None and limit is not None and len(value) > limit:
        raise _RowError(f"{column} is longer than {limit} characters")
    return value


def _parse_id(value: Any) -> int:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise _RowError("missing id")
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"\s*[0-9]+\s*", value):
        number = int(value)
    else:
        raise _RowError(f"id is not an integer: {str(value) if isinstance(value, Decimal) else value!r}")
    if not 0 <= number <= MAX_ID:
        raise _RowError(f"id is out of range: {number}")
    return number


def _add_price(fields: dict[str, Any], values: dict[str, Any], default_currency: str) -> None:
    """Price and currency travel together: a stated price is in the stated (or default) currency."""
    if "price" in values:
        fields["price_minor"] = _parse_price(values["price"])
    if "price" in values or "currency" in values:
        fields["currency"] = _parse_currency(values.get("currency"), default_currency)


def _parse_price(value: Any) -> int | None:
    """A decimal amount in major units -> integer minor units, exactly (Decimal, never float)."""
    if isinstance(value, str):
        value = value.strip()
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise _RowError(f"price is not a decimal amount: {value!r}")
    try:
        amount = Decimal(value)
        exact = amount.is_finite() and amount == amount.quantize(Decimal("0.01"))
    except InvalidOperation:
        raise _RowError(f"price is not a decimal amount: {str(value)!r}") from None
    if amount < 0:
        raise _RowError(f"price is negative: {str(value)!r}")
    if not exact:
        raise _RowError(f"price has more than 2 decimals: {str(value)!r}")
    if amount * 100 > MAX_PRICE_MINOR:
        raise _RowError(f"price is out of range: {str(value)!r}")
    return int(amount * 100)


def _parse_currency(value: Any, default: str | None) -> str:
    code = _text(value, "currency")
    if code is None and default is not None:
        return default
    if code is None or not re.fullmatch(r"[A-Za-z]{3}", code):
        raise _RowError(f"currency is not a 3-letter code: {value!r}")
    return code.upper()


def _parse_stock(value: Any) -> int | None:
    if isinstance(value, str):
        value = value.strip()
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        stock = value
    elif isinstance(value, str) and re.fullmatch(r"[0-9]+", value):
        stock = int(value)
    else:
        raise _RowError(f"stock is not a whole number >= 0: {str(value)!r}")
    if stock > MAX_STOCK:
        raise _RowError(f"stock is out of range: {stock}")
    return stock
