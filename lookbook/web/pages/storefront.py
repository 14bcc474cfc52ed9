"""The storefront: home with deals, the catalog with filters, product pages, and search by photo."""

from __future__ import annotations

from flask import render_template

from lookbook.web.api import PUBLIC
from lookbook.web.pages.base import PageBlueprint

storefront_bp = PageBlueprint("storefront", __name__, revalidate=True)


@storefront_bp.route("/")
@storefront_bp.access(PUBLIC)
def home():
    return render_template("storefront/home.html")


@storefront_bp.route("/shop")
@storefront_bp.access(PUBLIC)
def catalog():
    return render_template("storefront/home.html")


@storefront_bp.route("/products/<int:product_id>")
@storefront_bp.access(PUBLIC)
def product(product_id: int):
    return render_template("storefront/home.html")


@storefront_bp.route("/search/photo", methods=["POST"])
@storefront_bp.access(PUBLIC)
def photo_search():
    return render_template("storefront/home.html")
