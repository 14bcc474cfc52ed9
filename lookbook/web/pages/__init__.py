"""The store in the browser: server-rendered pages over the same services as the JSON API.

Pages sign people in with a session cookie (the API uses bearer tokens); every page view declares who may
open it with ``@bp.access(...)``, like the API, and every form is CSRF-protected. The pages add no business
rules: they call the domain services and show what they return.
"""

from __future__ import annotations

from flask import Flask

from lookbook.accounts.passwords import MIN_LENGTH
from lookbook.orders.service import format_money
from lookbook.web.pages.base import csrf, page_blueprints, signed_in_user


def money(minor: int | None, currency: str = "USD") -> str:
    """Integer minor units as a price people read ("12.99 USD"); empty when there is no price."""
    return "" if minor is None else format_money(minor, currency)


def unread_notifications() -> int:
    from lookbook.notifications.service import count_unread
    from lookbook.web.api import transaction

    user = signed_in_user()
    if user is None:
        return 0
    with transaction() as session:
        return count_unread(session, user_id=user.id)


def register_pages(app: Flask) -> None:
    from lookbook.web.pages import account, admin, auth, storefront  # noqa: F401  (their views join the blueprints)
    from lookbook.web.pages.assets import assets_bp, asset_url

    app.config.update(WTF_CSRF_CHECK_DEFAULT=False,  # the API uses bearer tokens; page blueprints check CSRF
                      WTF_CSRF_TIME_LIMIT=None)      # a token lives as long as the session cookie
    csrf.init_app(app)
    app.register_blueprint(assets_bp)
    for blueprint in page_blueprints():
        app.register_blueprint(blueprint)
    app.add_template_global(asset_url)
    app.add_template_global(signed_in_user)
    app.add_template_global(unread_notifications)
    app.add_template_filter(money)
    app.add_template_global(MIN_LENGTH, "min_password_length")
