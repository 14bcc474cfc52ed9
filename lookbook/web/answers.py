"""Finished answers of public catalog reads, kept in memory while the catalog is unchanged.

Browsing asks the same few questions again and again (the first pages, the popular categories). An answer
is kept until the catalog's change stamp moves (a product, stock or deal was written, in any process sharing
the data directory), and for at most ``ttl`` seconds (bounds the staleness of hosts that do not share the
data directory). Keys are the request's path and query string plus the deals in force at the moment, so a
deal that starts or ends on its own changes the key. Answers are the serialised JSON and its ETag.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from typing import Callable

import marshmallow as ma
from cachetools import TTLCache
from flask import Response, current_app, g, json, request

from lookbook.catalog.freshness import ChangeStamp
from lookbook.deals import pricing
from lookbook.web.api import services


@dataclass(frozen=True)
class Answer:
    stamp: tuple[int, int] | None
    body: bytes
    etag: str


class AnswerCache:
    def __init__(self, stamp: ChangeStamp, *, ttl: float, max_bytes: int = 64 * 1024 * 1024):
        self.stamp = stamp
        self.enabled = ttl > 0
        # Bounded by size (a list answer is 20-50 KB): the least recently used answers go first.
        self._answers: TTLCache = TTLCache(maxsize=max_bytes, ttl=max(ttl, 0.001), getsizeof=lambda a: len(a.body))
        self._lock = threading.Lock()

    def answer(self, key: str, compute: Callable[[], bytes]) -> Answer:
        stamp = self.stamp.current()
        if self.enabled:
            with self._lock:
                kept = self._answers.get(key)
            if kept is not None and kept.stamp == stamp:
                return kept
        body = compute()
        kept = Answer(stamp, body, hashlib.sha256(body).hexdigest()[:32])
        if self.enabled:
            with self._lock:
                self._answers[key] = kept
        return kept


def deal_ids_in_force() -> tuple[int, ...]:
    """Ids of the deals pricing products right now (once per request), from the deal schedule kept until the
    catalog changes."""
    if "deal_ids_in_force" not in g:
        catalog = services().catalog

        def schedule():
            with catalog.db.session() as session:
                return pricing.deal_schedule(session)

        g.deal_ids_in_force = pricing.in_force(catalog.memo("deal schedule", schedule))
    return g.deal_ids_in_force


def cached_json(schema: type[ma.Schema] | None, compute: Callable[[], object], *, cache_control: str) -> Response:
    """The JSON answer of this GET request (``compute()`` dumped with ``schema``, or bytes when ``schema`` is
    None), from memory when unchanged."""
    def serialise() -> bytes:
        return compute() if schema is None else json.dumps(schema().dump(compute())).encode()

    key = f"{request.full_path} deals={deal_ids_in_force()}"
    answer = current_app.extensions["lookbook_answers"].answer(key, serialise)
    response = Response(answer.body, mimetype="application/json", headers={"Cache-Control": cache_control})
    response.set_etag(answer.etag)
    return response
