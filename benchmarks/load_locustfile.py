"""Locust users for benchmarks/load.py: shoppers searching by photo, browsing the catalog, opening products.

Run by benchmarks/load.py, which prepares the data folder (query photos and the catalog's vocabulary) and
the server. By hand, against a running `lookbook serve` on the load benchmark's catalog:

    LOOKBOOK_LOAD_DATA=data/load-benchmark/queries .venv/bin/locust -f benchmarks/load_locustfile.py \
        --headless -u 16 -r 16 -t 10s --host http://127.0.0.1:8000 PhotoSearch

One user class per scenario (PhotoSearch, ProductListing, ProductPage), so each run measures one kind of
request. Users have no think time: each sends its next request as soon as the last one answered.
FastHttpUser (geventhttpclient, keep-alive) keeps the client's own CPU cost low, since it shares the
machine with the server. Multipart bodies are built once per photo.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from pathlib import Path
from urllib.parse import urlencode

from locust import FastHttpUser, constant, task

DATA = Path(os.environ.get("LOOKBOOK_LOAD_DATA", Path(__file__).resolve().parent.parent / "data" / "load-benchmark" / "queries"))
if not (DATA / "vocabulary.json").is_file():
    raise SystemExit(f"no load data in {DATA}: run benchmarks/load.py once (or set LOOKBOOK_LOAD_DATA)")

VOCABULARY = json.loads((DATA / "vocabulary.json").read_text())
PRODUCT_IDS: list[int] = VOCABULARY["product_ids"]
CATEGORIES: list[str] = VOCABULARY["categories"]
WORDS: list[str] = VOCABULARY["words"]
NAMES: list[str] = VOCABULARY["names"]  # product names without their numbers: what a shopper would type
LOW, MEDIAN, HIGH = VOCABULARY["price_minor"] or (0, 5000, 10000)

BOUNDARY = "lookbook-load-" + uuid.uuid4().hex
JSON_MARK = b'"results"'


def _photo_part(path: Path) -> bytes:
    mime = "image/jpeg" if path.suffix == ".jpg" else "image/png"
    return (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"{path.name}\"\r\n"
            f"Content-Type: {mime}\r\n\r\n").encode() + path.read_bytes() + b"\r\n"


def _field_part(name: str, value: str) -> bytes:
    return f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n".encode()


PHONE_PHOTOS = [_photo_part(p) for p in sorted(DATA.glob("*.jpg"))]
FASHION_MNIST = [_photo_part(p) for p in sorted(DATA.glob("*.png"))]
if not PHONE_PHOTOS or not FASHION_MNIST:
    raise SystemExit(f"no query photos in {DATA}: run benchmarks/load.py once")
END = f"--{BOUNDARY}--\r\n".encode()
MULTIPART = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


class PhotoSearch(FastHttpUser):
    """Uploads a photo and reads the results: mostly a phone photo, sometimes a Fashion-MNIST article."""

    wait_time = constant(0)

    @task
    def search(self):
        rng = random
        photo = rng.choice(PHONE_PHOTOS) if rng.random() < 0.75 else rng.choice(FASHION_MNIST)
        fields = b""
        if rng.random() < 0.2:
            fields += _field_part("k", rng.choice(["4", "12", "24"]))
        roll = rng.random()
        if roll < 0.15:
            fields += _field_part("category", rng.choice(CATEGORIES))
        elif roll < 0.2:
            fields += _field_part("in_stock", "true")
        with self.client.post("/api/v1/search/image", data=fields + photo + END, headers=MULTIPART,
                              name="POST /api/v1/search/image", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}: {(response.text or '')[:120]}")
            elif JSON_MARK not in (response.content or b""):
                response.failure("no results field in the answer")


def listing_query(rng: random.Random) -> dict:
    """What a shopper's product-list URL carries: a page, maybe filters, words, another sort or page size."""
    query: dict = {}
    roll = rng.random()
    if roll < 0.35:
        query["category"] = rng.choice(CATEGORIES)
    elif roll < 0.55:
        query["q"] = rng.choice(NAMES) if rng.random() < 0.3 else rng.choice(WORDS)
    elif roll < 0.65:
        query["category"] = rng.choice(CATEGORIES)
        query["q"] = rng.choice(WORDS)
    if rng.random() < 0.2:
        query["min_price_minor"] = rng.choice([0, LOW, (LOW + MEDIAN) // 2])
        query["max_price_minor"] = rng.choice([MEDIAN, (MEDIAN + HIGH) // 2, HIGH])
    if rng.random() < 0.15:
        query["in_stock"] = "true"
    if rng.random() < 0.3:
        query["sort"] = rng.choice(["price", "-price", "newest"])
    if rng.random() < 0.2:
        query["per_page"] = 48
    # Most shoppers stay on the first pages; a few go deep into the unfiltered catalog.
    page = min(int(rng.expovariate(1 / 2.0)) + 1, 10)
    if not query and rng.random() < 0.05:
        page = rng.randint(1, len(PRODUCT_IDS) // 24)
    if page > 1:
        query["page"] = page
    return query


class ProductListing(FastHttpUser):
    """Browses product lists (GET /api/v1/products) with varied pages, filters, words and sorting."""

    wait_time = constant(0)

    @task
    def browse(self):
        query = listing_query(random)
        path = "/api/v1/products" + ("?" + urlencode(query) if query else "")
        with self.client.get(path, name="GET /api/v1/products", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}: {(response.text or '')[:120]}")
            elif b'"items"' not in (response.content or b""):
                response.failure("no items field in the answer")


class ProductPage(FastHttpUser):
    """Opens product pages (GET /api/v1/products/{id}) of random catalog products."""

    wait_time = constant(0)

    @task
    def product(self):
        product_id = random.choice(PRODUCT_IDS)
        with self.client.get(f"/api/v1/products/{product_id}", name="GET /api/v1/products/{id}",
                             catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}: {(response.text or '')[:120]}")
