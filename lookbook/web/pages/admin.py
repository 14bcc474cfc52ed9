"""The admin dashboard: sales and order charts, orders, products, deals and coupons, feedback, catalog status."""

from __future__ import annotations

from flask import render_template

from lookbook.accounts.roles import Role
from lookbook.web.pages.base import PageBlueprint

admin_bp = PageBlueprint("admin", __name__, url_prefix="/admin")


@admin_bp.route("")
@admin_bp.access(Role.ADMIN)
def dashboard():
    return render_template("admin/dashboard.html")
