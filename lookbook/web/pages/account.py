"""The customer dashboard: cart and checkout, orders, notifications, reviews and feedback, style, settings."""

from __future__ import annotations

from flask import render_template

from lookbook.accounts.roles import Role
from lookbook.web.pages.base import PageBlueprint

account_bp = PageBlueprint("account", __name__, url_prefix="/account")


@account_bp.route("")
@account_bp.access(Role.CUSTOMER)
def dashboard():
    return render_template("account/dashboard.html")


@account_bp.route("/cart")
@account_bp.access(Role.CUSTOMER)
def cart():
    return render_template("account/dashboard.html")


@account_bp.route("/notifications")
@account_bp.access(Role.CUSTOMER)
def notifications():
    return render_template("account/dashboard.html")
