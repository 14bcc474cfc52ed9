"""What every page blueprint shares: the signed-in shopper from the session cookie, the role check, CSRF,
friendly error pages and form helpers."""

from __future__ import annotations

import re
from functools import wraps
from pathlib import Path

import marshmallow as ma
from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf
from werkzeug.exceptions import HTTPException

from lookbook.accounts import service as accounts
from lookbook.accounts.models import User
from lookbook.accounts.roles import HOME, Role
from lookbook.errors import AuthenticationFailed, LookbookError
from lookbook.vision.images import ImageError
from lookbook.web import api
from lookbook.web.api import PUBLIC, ROLES_ATTRIBUTE, STATUS_OF, services, transaction

TEMPLATES = Path(__file__).parent / "templates"
csrf = CSRFProtect()
_BLUEPRINTS: list[Blueprint] = []
SESSION_KEY = "signed_in"  # {"user_id", "session_id"} in the signed session cookie


class PageBlueprint(Blueprint):
    """A blueprint of HTML pages: CSRF on every unsafe request, roles declared per view.

    ``revalidate`` pages (the storefront) may be kept by the browser and revalidated with their ETag; the
    others (dashboards with personal data) are never stored.
    """

    def __init__(self, *args, revalidate: bool = False, **kwargs):
        super().__init__(*args, template_folder=str(TEMPLATES), **kwargs)
        self.before_request(_reuse_csrf_token)
        self.before_request(csrf.protect)
        if revalidate:
            self.after_request(_revalidate)
        _BLUEPRINTS.append(self)

    def access(self, *roles: str):
        """Admit only these roles (``PUBLIC``: anyone). Anonymous visitors are sent to log in; a signed-in
        user of another role gets a 403 page."""
        allowed = {str(r) for r in roles}
        if not allowed or allowed - {PUBLIC, *map(str, Role)}:
            raise ValueError(f"unknown roles {allowed}")

        def decorator(view):
            @wraps(view)
            def checked(*args, **kwargs):
                user = signed_in_user()
                if PUBLIC not in allowed:
                    if user is None:
                        return redirect(url_for("signin.login", next=request.full_path.rstrip("?")))
                    if user.role not in allowed:
                        abort(403)
                return view(*args, **kwargs)

            setattr(checked, ROLES_ATTRIBUTE, sorted(allowed))
            return checked

        return decorator


def _reuse_csrf_token() -> None:
    """One signed CSRF token per session (not one per page view), so an unchanged page keeps its ETag."""
    signed = session.get("csrf_signed")
    if signed and "csrf_token" in session:
        g.csrf_token = signed  # flask-wtf's generate_csrf returns g.csrf_token when set
    else:
        session["csrf_signed"] = generate_csrf()


def _revalidate(response):
    if request.method == "GET" and response.status_code == 200:
        response.headers["Cache-Control"] = "private, no-cache"
        response.vary.add("Cookie")
    return response


def page_blueprints() -> list[Blueprint]:
    return list(_BLUEPRINTS)


def is_page_request() -> bool:
    if request.blueprint:
        return request.blueprint in {bp.name for bp in _BLUEPRINTS}
    return not request.path.startswith("/api/")


# ---- who is signed in ---------------------------------------------------------------------------------------

def sign_in(user: User) -> None:
    """Start a browser session: a server-side sign-in (revocable) named in a fresh, expiring cookie."""
    with transaction() as db_session:
        session_id = accounts.open_session(db_session, user=user)
    session.clear()
    session.permanent = True
    session[SESSION_KEY] = {"user_id": user.id, "session_id": session_id}


def sign_out() -> None:
    signed = session.get(SESSION_KEY)
    if signed:
        with transaction() as db_session:
            accounts.revoke_session(db_session, session_id=signed["session_id"])
    session.clear()


def signed_in_user() -> User | None:
    """The user of this browser session, or None; a revoked sign-in or deleted account signs the browser out."""
    if "page_user" in g:
        return g.page_user
    g.page_user = None
    signed = session.get(SESSION_KEY)
    if signed:
        with transaction() as db_session:
            try:
                g.page_user = accounts.user_for_session(db_session, user_id=signed["user_id"],
                                                        session_id=signed["session_id"])
                db_session.expunge(g.page_user)
            except AuthenticationFailed:
                session.pop(SESSION_KEY, None)
    return g.page_user


def home_of(user: User) -> str:
    return HOME[Role(user.role)]


# ---- forms ---------------------------------------------------------------------------------------------------

def load_form(schema: ma.Schema, data=None) -> tuple[dict | None, dict]:
    """Validate a submitted form with a marshmallow schema (usually the API's): (values, {}) or (None, errors).

    Empty fields count as missing, as a browser sends every input of a form.
    """
    data = request.form if data is None else data
    present = {k: v for k, v in data.items() if k != "csrf_token" and v != ""}
    try:
        return schema.load(present, unknown=ma.EXCLUDE), {}
    except ma.ValidationError as error:
        return None, {k: v if isinstance(v, list) else [str(v)] for k, v in error.messages.items()}


AMOUNT = re.compile(r"(\d{1,15})(?:[.,](\d{1,2}))?")


def amount_in_minor_units(text: str | None) -> int | None:
    """An amount a person typed in major units ("12", "12.5", "12,50") as exact integer minor units (1250), or
    None when it is not one (negative, more than two decimals, not a number). No floats on the way."""
    match = AMOUNT.fullmatch((text or "").strip())
    if match is None:
        return None
    return int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))


def service_error(error: LookbookError) -> dict:
    """A service's refusal as form errors (field problems) plus a flashed message."""
    flash(error.message, "error")
    return dict(error.fields or {})


# ---- error pages ---------------------------------------------------------------------------------------------

MESSAGES = {
    400: "That request did not make sense to us.",
    403: "Your account may not open this page.",
    404: "We could not find that page or product.",
    405: "That page does not accept this kind of request.",
    413: "That upload is too large.",
    429: "Too many requests in a short time; wait a minute and try again.",
    500: "Something went wrong on our side; it has been logged.",
}


def error_page(status: int, message: str | None = None):
    return render_template("error.html", status=status, message=message or MESSAGES.get(status, "Something went wrong.")), status


def register_page_errors(app) -> None:
    """Page requests get HTML error pages; API requests keep the JSON error format."""
    def choose(page_handler, api_handler):
        def handle(error):
            return page_handler(error) if is_page_request() else api_handler(error)
        return handle

    def http_page(error: HTTPException):
        if isinstance(error, CSRFError):
            return error_page(400, "This form expired or came from another site. Go back, reload the page and try again.")
        if error.code == 413:
            limit = services().settings.max_upload_bytes // (1024 * 1024)
            return error_page(413, f"That upload is larger than the {limit} MB limit.")
        return error_page(error.code or 500)

    def lookbook_page(error: LookbookError):
        status = next((s for cls, s in STATUS_OF if isinstance(error, cls)), 400)
        return error_page(status, error.message)

    def unexpected_page(error: Exception):
        api.handle_unexpected(error)  # logs it
        return error_page(500)

    app.register_error_handler(HTTPException, choose(http_page, api.handle_http_exception))
    app.register_error_handler(LookbookError, choose(lookbook_page, api.handle_lookbook_error))
    app.register_error_handler(ImageError, choose(lambda e: error_page(422, str(e)), api.handle_image_error))
    app.register_error_handler(Exception, choose(unexpected_page, api.handle_unexpected))
