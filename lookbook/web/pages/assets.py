"""Static files (styles, scripts, icons) served by the app itself, under URLs that carry their content hash.

A URL with the current hash is cached for a year and marked immutable; a changed file gets a new URL, so a
return visit downloads only what changed. Nothing comes from a CDN.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, request, url_for

STATIC = Path(__file__).parent / "static"
YEAR = 365 * 24 * 3600


@lru_cache(maxsize=None)
def _digest(filename: str, mtime_ns: int) -> str:
    return hashlib.sha256((STATIC / filename).read_bytes()).hexdigest()[:12]


def asset_digest(filename: str) -> str:
    return _digest(filename, (STATIC / filename).stat().st_mtime_ns)


def asset_url(filename: str) -> str:
    """The URL of a static file, versioned by its content."""
    return url_for("assets.static", filename=filename, v=asset_digest(filename))


class AssetsBlueprint(Blueprint):
    def get_send_file_max_age(self, filename: str | None) -> int | None:
        if filename and request.args.get("v") == asset_digest(filename):
            return YEAR
        return None  # an old or missing version: revalidate with the ETag


assets_bp = AssetsBlueprint("assets", __name__, static_folder=str(STATIC), static_url_path="/assets")


@assets_bp.after_app_request
def _immutable(response):
    if request.endpoint == "assets.static" and f"max-age={YEAR}" in response.headers.get("Cache-Control", ""):
        response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    return response
