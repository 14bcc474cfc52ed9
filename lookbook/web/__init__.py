"""The store's web interface: the JSON API (and later the pages) over the domain services."""

from lookbook.web.app import create_app

__all__ = ["create_app"]
