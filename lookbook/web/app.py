"""The store's Flask app factory: JSON API under /api/v1, described by OpenAPI, with the brief's security."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, request
from flask_cors import CORS
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_smorest import Api
from flask_talisman import Talisman
from werkzeug.middleware.proxy_fix import ProxyFix

from lookbook.catalog.service import Catalog
from lookbook.db import Database
from lookbook.payments.providers import SandboxProvider
from lookbook.vision.encoder import ModelNotFoundError
from lookbook.web.answers import AnswerCache
from lookbook.web.api import (
    RATE_LIMIT_ATTRIBUTE, ErrorSchema, Services, check_every_endpoint_declares_its_roles, error_response,
    register_error_handlers,
)
from lookbook.web.pages import register_pages
from lookbook.web.pages.base import register_page_errors
from lookbook.web.settings import Settings

log = logging.getLogger(__name__)

API_VERSION = "1.0.0"

CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "img-src": ["'self'", "data:", "blob:"],
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def content_security_policy(settings: Settings, providers: dict) -> dict:
    """Our own scripts only; with Stripe, also Stripe.js, its frames and its API (Stripe's documented CSP)."""
    policy = dict(CONTENT_SECURITY_POLICY)
    if "stripe" in providers and settings.stripe_publishable_key:
        js = _origin(settings.stripe_js_url)
        policy["script-src"] = ["'self'", js]
        policy["frame-src"] = [js, "https://hooks.stripe.com"]
        policy["connect-src"] = ["'self'", _origin(settings.stripe_api_base or "https://api.stripe.com")]
    return policy


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class LookbookApi(Api):
    ERROR_SCHEMA = ErrorSchema


def _blueprints():
    from lookbook.web.accounts import admin_customers_bp, auth_bp, me_bp
    from lookbook.web.admin_catalog import admin_products_bp, admin_variants_bp
    from lookbook.web.catalog import products_bp, search_bp
    from lookbook.web.deals import admin_coupons_bp, admin_deals_bp, deals_bp
    from lookbook.web.feedback import feedback_bp, reviews_bp
    from lookbook.web.health import health_bp
    from lookbook.web.notifications import notifications_bp
    from lookbook.web.orders import admin_orders_bp, cart_bp, orders_bp
    from lookbook.web.payments import payments_bp
    from lookbook.web.preferences import preferences_bp
    from lookbook.web.reports import reports_bp

    return [health_bp, auth_bp, me_bp, products_bp, search_bp, admin_customers_bp, cart_bp, orders_bp,
            admin_orders_bp, notifications_bp, admin_products_bp, admin_variants_bp, payments_bp,
            reviews_bp, feedback_bp, preferences_bp, reports_bp, deals_bp, admin_deals_bp, admin_coupons_bp]


def payment_providers(settings: Settings) -> dict:
    """The sandbox (test cards, no money moves) unless switched off, as production does by default; Stripe too
    when its secret key is configured."""
    providers = {"sandbox": SandboxProvider()} if settings.sandbox_payments else {}
    if settings.stripe_secret_key:
        from lookbook.payments.stripe_provider import StripeProvider

        providers["stripe"] = StripeProvider(secret_key=settings.stripe_secret_key,
                                             webhook_secret=settings.stripe_webhook_secret,
                                             api_base=settings.stripe_api_base)
    return providers


def create_app(settings: Settings | None = None, *, catalog: Catalog | None = None) -> Flask:
    """Build the store for one data directory; a test passes its own ``settings`` (and catalog)."""
    settings = settings or Settings.from_env()
    app = Flask("lookbook")
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_upload_bytes,
        API_TITLE="Lookbook",
        API_VERSION=API_VERSION,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        ETAG_DISABLED=True,  # ETags are set for every GET below, not per view
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.https,
        PERMANENT_SESSION_LIFETIME=settings.browser_session_ttl,
        SESSION_REFRESH_EACH_REQUEST=False,  # a cookie only when the session changes, never on a cacheable answer
        RATELIMIT_HEADERS_ENABLED=True,
    )
    app.json.sort_keys = False
    if settings.trusted_proxies:
        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    db = catalog.db if catalog else Database(settings.database_url, migrate=settings.migrate_on_start)
    app.extensions["lookbook"] = Services(settings=settings, db=db, catalog=catalog or Catalog(settings.paths, db=db),
                                          payment_providers=payment_providers(settings))

    app.extensions["lookbook"].catalog.cache_seconds = settings.answer_cache_seconds
    app.extensions["lookbook_answers"] = AnswerCache(app.extensions["lookbook"].catalog.changes,
                                                     ttl=settings.answer_cache_seconds)

    api = LookbookApi(app, spec_kwargs={"info": {"description": "Lookbook's JSON API: a fashion store with visual search."}})
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    for blueprint in _blueprints():
        api.register_blueprint(blueprint)
    register_pages(app)
    check_every_endpoint_declares_its_roles(app)
    _rate_limits(app, settings)
    register_error_handlers(app)
    register_page_errors(app)
    app.register_error_handler(ModelNotFoundError, lambda e: error_response(
        503, "search_unavailable", "visual search has no model yet; run 'make setup' or 'lookbook train'"))

    Talisman(
        app,
        force_https=False,  # TLS ends at `lookbook serve --https` or at the ingress
        strict_transport_security=True,  # sent only on requests that arrived over HTTPS
        content_security_policy=content_security_policy(settings, app.extensions["lookbook"].payment_providers),
        frame_options="DENY",
        referrer_policy="strict-origin-when-cross-origin",
        session_cookie_secure=settings.https,
        session_cookie_http_only=True,
    )
    if settings.cors_origins:
        CORS(app, resources={r"/api/*": {"origins": list(settings.cors_origins)}},
             expose_headers=["ETag", "Retry-After"], allow_headers=["Authorization", "Content-Type", "If-None-Match"])

    @app.after_request
    def _conditional_get(response):
        # Any GET answer gets an ETag, so a return visit downloads nothing that did not change.
        if request.method == "GET" and response.status_code == 200 and not response.direct_passthrough:
            if "ETag" not in response.headers:
                response.add_etag()
            response.make_conditional(request)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    if settings.smtp_host:
        _start_outbox_delivery(app, db, settings)
    return app


def _start_outbox_delivery(app: Flask, db: Database, settings: Settings) -> None:
    """One thread per process sends the email outbox; claims keep several processes from sending one email twice."""
    import atexit

    from lookbook.notifications.outbox import OutboxWorker, SmtpMailer

    worker = OutboxWorker(db, mailer=SmtpMailer.from_settings(settings), interval=settings.outbox_interval).start()
    app.extensions["lookbook_outbox"] = worker  # worker.stop() ends it; so does the process's exit
    atexit.register(worker.stop, timeout=10)


def _rate_limits(app: Flask, settings: Settings) -> None:
    """Enforce each endpoint's declared limit with this app's limiter (memory, or Redis shared by replicas)."""
    limiter = Limiter(get_remote_address, app=app, storage_uri=settings.rate_limit_storage,
                      enabled=settings.rate_limits_enabled, key_prefix="lookbook")
    for endpoint, view in list(app.view_functions.items()):
        name = getattr(view, RATE_LIMIT_ATTRIBUTE, None)
        if name:
            limit = getattr(settings, f"rate_limit_{name}")
            app.view_functions[endpoint] = limiter.limit(limit, scope=name)(view)
    app.extensions["lookbook_limiter"] = limiter  # the limiter holds itself weakly; the app keeps it alive
