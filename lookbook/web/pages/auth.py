"""Log in, register and log out in the browser; each role lands on its own dashboard."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for

from lookbook.accounts import service as accounts
from lookbook.errors import LookbookError
from lookbook.web.accounts import LoginSchema, RegisterSchema
from lookbook.web.api import PUBLIC, transaction
from lookbook.web.pages.base import PageBlueprint, home_of, load_form, service_error, sign_in, sign_out

auth_bp = PageBlueprint("signin", __name__)


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site (no scheme, no host, no '//'): a login link must not send people elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


@auth_bp.route("/login", methods=["GET", "POST"])
@auth_bp.access(PUBLIC)
def login():
    errors, values = {}, {}
    if request.method == "POST":
        values = {"email": request.form.get("email", "")}
        data, errors = load_form(LoginSchema())
        if data:
            try:
                with transaction() as session:
                    user = accounts.authenticate(session, email=data["email"], password=data["password"])
                    session.expunge(user)
            except LookbookError as error:
                errors = service_error(error) or {"password": [error.message]}
            else:
                sign_in(user)
                return redirect(_safe_next(request.args.get("next")) or home_of(user), code=303)
    return render_template("auth/login.html", errors=errors, values=values), 422 if errors else 200


@auth_bp.route("/register", methods=["GET", "POST"])
@auth_bp.access(PUBLIC)
def register():
    errors, values = {}, {}
    if request.method == "POST":
        values = {k: request.form.get(k, "") for k in ("email", "name")}
        data, errors = load_form(RegisterSchema())
        if data:
            try:
                with transaction() as session:
                    user = accounts.create_user(session, **data)
                    session.expunge(user)
            except LookbookError as error:
                errors = service_error(error)
            else:
                sign_in(user)
                flash("Welcome to Lookbook! Your account is ready.", "success")
                return redirect(home_of(user), code=303)
    return render_template("auth/register.html", errors=errors, values=values), 422 if errors else 200


@auth_bp.route("/logout", methods=["POST"])
@auth_bp.access(PUBLIC)
def logout():
    sign_out()
    flash("You are logged out.", "success")
    return redirect(url_for("storefront.home"), code=303)
