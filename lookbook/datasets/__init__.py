"""Data sets that install offline (Debian and PyPI packages), used for the demo, training and evaluation."""
