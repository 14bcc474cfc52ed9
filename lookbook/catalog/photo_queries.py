"""Photo searches kept for a day, so that search results have an address a shopper can reload and narrow.

A query is saved under ``<data directory>/queries/<id>/``: the photo's vector (``vector.npy``), a small WEBP
thumbnail to show beside the results (``thumbnail.webp``) and the SHA-256 of the uploaded bytes
(``sha256``), so that a catalog photo does not find its own product. The id is random and unguessable
(``secrets.token_urlsafe``); whoever has it may see the thumbnail, nobody can list queries. Ids are checked
strictly before they touch the file system, so a crafted id cannot reach outside the queries folder.

Saving a query prunes those older than ``MAX_AGE`` and the oldest beyond ``MAX_QUERIES``; loading an older
one answers None even before pruning. No Flask here: the web pages, the CLI or a worker may all call it.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from lookbook.vision.images import load_image

MAX_AGE = 24 * 3600          # seconds a query stays usable
MAX_QUERIES = 10_000         # kept at most (about 30 kB each), however many arrive in a day
THUMBNAIL_SIDE = 320          # pixels, the longer side at most
ID_BYTES = 32                 # token_urlsafe(32): 43 characters, 256 random bits
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")
_VECTOR, _THUMBNAIL, _DIGEST, _VERSION = "vector.npy", "thumbnail.webp", "sha256", "vector_version"
_DIGEST_PATTERN = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class PhotoQuery:
    id: str
    vector: np.ndarray   # float32, in the search index's space
    sha256: str          # of the uploaded bytes
    saved_at: float      # seconds since the epoch


def queries_dir(home: Path) -> Path:
    """Where a data directory keeps its photo queries."""
    return Path(home) / "queries"


def is_valid_id(query_id: object) -> bool:
    return isinstance(query_id, str) and ID_PATTERN.fullmatch(query_id) is not None


def thumbnail_of(image_bytes: bytes, *, side: int = THUMBNAIL_SIDE) -> bytes:
    """A WEBP at most ``side`` pixels on its longer side, decoded with the safe loader."""
    image = load_image(image_bytes, min_side=side, name="query photo")
    image.thumbnail((side, side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", quality=80, method=4)
    return buffer.getvalue()


def save_query(home: Path, *, vector: np.ndarray, image_bytes: bytes, vector_version: str = "",
               now: float | None = None) -> str:
    """Keep a photo search (its vector and the model version that made it, a thumbnail, the photo's SHA-256);
    returns its new id.

    The files are written into a temporary folder that is renamed into place, so a reader never sees half a
    query. Queries older than ``MAX_AGE`` are removed first.
    """
    now = time.time() if now is None else now
    folder = queries_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    prune(home, now=now, keep=MAX_QUERIES - 1)
    thumbnail = thumbnail_of(image_bytes)
    staging = Path(tempfile.mkdtemp(prefix=".new-", dir=folder))
    try:
        np.save(staging / _VECTOR, np.asarray(vector, dtype=np.float32), allow_pickle=False)
        (staging / _THUMBNAIL).write_bytes(thumbnail)
        (staging / _DIGEST).write_text(hashlib.sha256(image_bytes).hexdigest())
        (staging / _VERSION).write_text(vector_version)
        os.utime(staging, (now, now))
        while True:
            query_id = secrets.token_urlsafe(ID_BYTES)
            if not (folder / query_id).exists():  # 256 random bits: in practice the first one
                break
        os.rename(staging, folder / query_id)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return query_id


def _folder_of(home: Path, query_id: str) -> Path | None:
    """The query's folder, or None for a malformed id (which never reaches the file system)."""
    if not is_valid_id(query_id):
        return None
    return queries_dir(home) / query_id


def _age_ok(folder: Path, now: float) -> float | None:
    """When the query was saved, or None when it is gone or too old."""
    try:
        saved_at = folder.stat().st_mtime
    except (FileNotFoundError, NotADirectoryError):
        return None
    return saved_at if now - saved_at <= MAX_AGE else None


def load_query(home: Path, query_id: str, *, vector_version: str | None = None,
               now: float | None = None) -> PhotoQuery | None:
    """A saved query, or None when the id is malformed, unknown or older than ``MAX_AGE``, or when its vector was
    made by another model than ``vector_version`` (the shop retrained: the old vector means nothing now)."""
    folder = _folder_of(home, query_id)
    if folder is None:
        return None
    saved_at = _age_ok(folder, time.time() if now is None else now)
    if saved_at is None:
        return None
    try:
        vector = np.load(folder / _VECTOR, allow_pickle=False)
        digest = (folder / _DIGEST).read_text().strip()
        if vector_version is not None and (folder / _VERSION).read_text() != vector_version:
            return None
    except (OSError, ValueError):  # pruned meanwhile, or damaged
        return None
    if vector.ndim != 1 or vector.dtype != np.float32 or not _DIGEST_PATTERN.fullmatch(digest):
        return None
    return PhotoQuery(id=query_id, vector=vector, sha256=digest, saved_at=saved_at)


def load_thumbnail(home: Path, query_id: str, *, now: float | None = None) -> bytes | None:
    """The query's WEBP thumbnail, or None like ``load_query``."""
    folder = _folder_of(home, query_id)
    if folder is None or _age_ok(folder, time.time() if now is None else now) is None:
        return None
    try:
        return (folder / _THUMBNAIL).read_bytes()
    except OSError:
        return None


def prune(home: Path, *, now: float | None = None, keep: int = MAX_QUERIES) -> int:
    """Remove the queries (and abandoned half-written ones) older than ``MAX_AGE``, and the oldest beyond ``keep``
    (so a flood of uploads cannot fill the disk within a day); returns how many were removed."""
    now = time.time() if now is None else now
    try:
        entries = list(os.scandir(queries_dir(home)))
    except FileNotFoundError:
        return 0
    aged = []
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                aged.append((entry.stat(follow_symlinks=False).st_mtime, entry.path))
        except FileNotFoundError:  # another process pruned it first
            continue
    aged.sort(reverse=True)  # newest first
    doomed = [path for position, (saved_at, path) in enumerate(aged) if now - saved_at > MAX_AGE or position >= keep]
    for path in doomed:
        shutil.rmtree(path, ignore_errors=True)
    return len(doomed)
