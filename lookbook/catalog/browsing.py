"""The catalog's browsable columns in memory, so a listing or a filtered search never waits for a query.

A shop's catalog is small (tens of thousands of products), and shoppers ask it many different questions: a
category, a few words, a price range, another sort, the next page. Asked of the database, each new question
costs a scan of the products table (the category filter reads JSON labels row by row); asked of these few
numpy columns, it costs well under a millisecond. The table is loaded once per catalog change (see
``Catalog.memo``) and answers exactly like ``service.filtered`` + ``service.SORTS`` (a test compares them on
SQLite and PostgreSQL); the name order is taken from the database, so it follows the database's collation.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import numpy as np
from cachetools import LRUCache
from sqlalchemy import select
from sqlalchemy.orm import Session

from lookbook.catalog.models import Product

if TYPE_CHECKING:
    from lookbook.catalog.service import SearchFilters

NO_PRICE = np.iinfo(np.int64).max
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _predicted_category(predicted: dict | None) -> str | None:
    guess = (predicted or {}).get("category")
    return guess.get("label") if isinstance(guess, dict) else None


def _microseconds(moment: datetime) -> int:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return (aware - EPOCH) // timedelta(microseconds=1)


def _codes(values: list[str | None], vocabulary: dict[str, int]) -> np.ndarray:
    """Each value as the code of its case-folded form (-1 when empty), growing ``vocabulary``."""
    return np.array([vocabulary.setdefault(v.casefold(), len(vocabulary)) if v else -1 for v in values],
                    dtype=np.int32)


@dataclass
class ProductTable:
    """The listed (not retired) products, one numpy column per thing a shopper filters or sorts by."""

    ids: np.ndarray               # in the database's name order (name, id)
    names: list[str]              # lower-cased, for words in the name
    category: np.ndarray          # codes of the specific category and of the two broader source labels
    master_category: np.ndarray
    sub_category: np.ndarray
    gender: np.ndarray
    colour: np.ndarray
    ranked_category: np.ndarray   # the category, else the model's prediction of it (for search's ranking only)
    price: np.ndarray             # minor units, NO_PRICE when unpriced
    stock: np.ndarray
    created: np.ndarray           # microseconds since the epoch
    vocabulary: dict[str, int]
    _orders: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _words: LRUCache = field(default_factory=lambda: LRUCache(maxsize=256), repr=False)
    _words_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)  # LRUCache is not thread-safe

    @classmethod
    def load(cls, session: Session) -> ProductTable:
        rows = session.execute(
            select(Product.id, Product.name, Product.category, Product.labels["masterCategory"].as_string(),
                   Product.labels["subCategory"].as_string(), Product.gender, Product.colour, Product.price_minor,
                   Product.stock, Product.created_at, Product.predicted_labels)
            .where(Product.retired_at.is_(None)).order_by(Product.name, Product.id)
        ).all()
        columns = list(zip(*rows)) if rows else [[] for _ in range(11)]
        vocabulary: dict[str, int] = {}
        return cls(
            ids=np.array(columns[0], dtype=np.int64),
            names=[n.lower() for n in columns[1]],
            category=_codes(columns[2], vocabulary),
            master_category=_codes(columns[3], vocabulary),
            sub_category=_codes(columns[4], vocabulary),
            gender=_codes(columns[5], vocabulary),
            colour=_codes(columns[6], vocabulary),
            ranked_category=_codes([c or _predicted_category(p) for c, p in zip(columns[2], columns[10])], vocabulary),
            price=np.array([NO_PRICE if p is None else p for p in columns[7]], dtype=np.int64),
            stock=np.array(columns[8], dtype=np.int64),
            created=np.array([_microseconds(c) for c in columns[9]], dtype=np.int64),
            vocabulary=vocabulary,
        )

    def __len__(self) -> int:
        return len(self.ids)

    def matching(self, filters: SearchFilters, text: str | None = None) -> np.ndarray:
        """A boolean mask of the products that pass the filters and contain every word of ``text``."""
        mask = np.ones(len(self), dtype=bool)
        if text:
            for word in text.lower().split():
                mask &= self._containing(word)
        if filters.category:
            code = self.vocabulary.get(filters.category.casefold(), -2)
            mask &= (self.category == code) | (self.master_category == code) | (self.sub_category == code)
        for column, value in ((self.gender, filters.gender), (self.colour, filters.colour)):
            if value:
                mask &= column == self.vocabulary.get(value.casefold(), -2)
        if filters.min_price_minor is not None:
            mask &= (self.price >= filters.min_price_minor) & (self.price != NO_PRICE)
        if filters.max_price_minor is not None:
            mask &= self.price <= filters.max_price_minor
        if filters.in_stock:
            mask &= self.stock > 0
        return mask

    def _containing(self, word: str) -> np.ndarray:
        """Which names contain ``word``; kept for the most recent words (shoppers type the same few)."""
        with self._words_lock:
            found = self._words.get(word)
        if found is None:
            found = np.fromiter((word in name for name in self.names), dtype=bool, count=len(self))
            with self._words_lock:
                self._words[word] = found
        return found

    def order(self, sort: str) -> np.ndarray:
        """Row positions in the order of ``service.SORTS[sort]`` (worked out once per sort)."""
        if sort not in self._orders:
            self._orders[sort] = self._sorted(sort)
        return self._orders[sort]

    def _sorted(self, sort: str) -> np.ndarray:
        if sort == "name":
            return np.arange(len(self))
        if sort == "price":
            return np.lexsort((self.ids, self.price))
        if sort == "-price":
            return np.lexsort((self.ids, np.where(self.price == NO_PRICE, NO_PRICE, -self.price)))
        if sort == "newest":
            return np.lexsort((-self.ids, -self.created))
        if sort == "id":
            return np.argsort(self.ids, kind="stable")
        raise ValueError(f"unknown sort {sort!r}")

    def categories_of(self, ids: np.ndarray) -> np.ndarray:
        """The category code of each id for ranking (its category, else the predicted one; -1 for neither or a
        product not listed)."""
        if "by id" not in self._orders:
            self._orders["by id"] = np.argsort(self.ids, kind="stable")
        by_id = self._orders["by id"]
        if not len(by_id):
            return np.full(len(ids), -1, dtype=np.int32)
        at = by_id[np.minimum(np.searchsorted(self.ids[by_id], ids), len(by_id) - 1)]
        return np.where(self.ids[at] == ids, self.ranked_category[at], -1)

    def ids_of(self, mask: np.ndarray, order: np.ndarray) -> np.ndarray:
        """The ids that pass ``mask``, in ``order``."""
        return self.ids[order[mask[order]]]
