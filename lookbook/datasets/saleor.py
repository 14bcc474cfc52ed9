"""The clothing of the Saleor 2.10.1 demo store (BSD-3-Clause): 15 products, colour studio photos.

The wheel is fetched from PyPI at set-up (``make data``); only the photos and ``populatedb_data.json``
are extracted. Image names in the JSON carry a 7-character suffix that the files do not have.
"""

from __future__ import annotations

import json
import re
import sys
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from lookbook.config import REPO_ROOT

DEFAULT_DIR = REPO_ROOT / "data" / "saleor"
CLOTHING = {"T-shirts": "Tshirts", "Polo Shirts": "Polo Shirts", "Hoodies": "Hoodies", "Footwear": "Casual Shoes"}
SUB_CATEGORY = {"T-shirts": "Topwear", "Polo Shirts": "Topwear", "Hoodies": "Topwear", "Footwear": "Shoes"}


@dataclass
class SaleorProduct:
    id: int
    name: str
    category: str
    sub_category: str
    price: Decimal
    description: str
    photos: list[Path] = field(default_factory=list)   # first is the main photo, the rest other views


def extract(wheel: Path, destination: Path) -> None:
    """Pull the photos and the product data out of the Saleor wheel."""
    destination.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.namelist():
            if member == "saleor/static/populatedb_data.json" or (
                member.startswith("saleor/static/placeholders/") and member.endswith(".png")
            ):
                target = destination / Path(member).name
                target.write_bytes(archive.read(member))


def _file_name(json_name: str) -> str:
    """`products/saleordemoproduct_cl_bogo01_1_j7H8d5R.png` -> `saleordemoproduct_cl_bogo01_1.png`."""
    return re.sub(r"_[A-Za-z0-9]{7}\.png$", ".png", Path(json_name).name)


def load(directory: Path = DEFAULT_DIR) -> list[SaleorProduct]:
    data = json.loads((directory / "populatedb_data.json").read_text())
    categories = {o["pk"]: o["fields"]["name"] for o in data if o["model"] == "product.category"}
    products: dict[int, SaleorProduct] = {}
    for o in data:
        if o["model"] != "product.product":
            continue
        category = categories.get(o["fields"]["category"])
        if category in CLOTHING:
            f = o["fields"]
            products[o["pk"]] = SaleorProduct(
                id=o["pk"], name=f["name"], category=CLOTHING[category], sub_category=SUB_CATEGORY[category],
                price=Decimal(f["price_amount"]), description=f.get("description") or "",
            )
    images = sorted(
        (o["fields"] for o in data if o["model"] == "product.productimage"),
        key=lambda f: (f["product"], f["sort_order"]),
    )
    for f in images:
        product = products.get(f["product"])
        path = directory / _file_name(f["image"])
        if product is not None and path.is_file():
            product.photos.append(path)
    return [p for p in products.values() if p.photos]


if __name__ == "__main__":  # python -m lookbook.datasets.saleor WHEEL DESTINATION
    extract(Path(sys.argv[1]), Path(sys.argv[2]))
