"""Lookbook: a fashion store with visual search."""

__version__ = "0.1.0"
