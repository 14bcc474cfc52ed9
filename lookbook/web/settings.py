"""The store's settings, read from the environment (and secret files) once, replaceable whole by a test."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

from lookbook.accounts.tokens import TokenSettings
from lookbook.config import Paths, get_paths, read_secret


class ConfigurationError(RuntimeError):
    """The store cannot start with this configuration (the message says what to set)."""


def _minutes(name: str, default: float) -> timedelta:
    return timedelta(minutes=float(os.environ.get(name, default)))


def _dev_secret(paths: Paths, name: str) -> str:
    """A random secret kept in the data directory, so every worker and restart agrees on it (development only)."""
    path = paths.home / "secrets" / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


@dataclass(frozen=True)
class Settings:
    paths: Paths
    database_url: str
    production: bool = False
    secret_key: str = field(default="", repr=False)
    token_signing_key: str = field(default="", repr=False)
    access_token_ttl: timedelta = timedelta(minutes=15)
    refresh_token_ttl: timedelta = timedelta(days=14)
    browser_session_ttl: timedelta = timedelta(hours=12)  # the store's session cookie expires after this
    cors_origins: tuple[str, ...] = ()           # empty: same origin only
    https: bool = False                         # served over TLS: HSTS and Secure cookies
    trusted_proxies: int = 0                    # X-Forwarded-* hops to trust (behind an ingress)
    max_upload_bytes: int = 10 * 1024 * 1024
    rate_limit_storage: str = "memory://"       # redis://host:6379/0 to share limits between replicas
    rate_limit_login: str = "10 per minute"
    rate_limit_register: str = "5 per minute"
    rate_limit_search: str = "120 per minute"
    rate_limits_enabled: bool = True
    answer_cache_seconds: float = 60.0          # catalog reads kept in memory at most this long (0: off)
    migrate_on_start: bool = True               # off for workers whose master (or a deploy job) migrated
    # Payments: the sandbox (off in production unless asked for); Stripe when a secret key is configured.
    sandbox_payments: bool = True
    stripe_secret_key: str | None = field(default=None, repr=False)
    stripe_publishable_key: str | None = None
    stripe_webhook_secret: str | None = field(default=None, repr=False)
    stripe_api_base: str | None = None          # e.g. a localstripe server in tests
    stripe_js_url: str = "https://js.stripe.com/v3/"  # Stripe.js for Elements on the payment page
    # Email: the outbox is delivered through this SMTP server when a host is set.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_starttls: bool = False
    mail_from: str = "Lookbook <shop@localhost>"
    outbox_interval: float = 5.0                # seconds between outbox deliveries in each web process

    @classmethod
    def from_env(cls, paths: Paths | None = None, **overrides) -> "Settings":
        """Read ``LOOKBOOK_*`` variables; in production (``LOOKBOOK_ENV=production``) secrets are required."""
        paths = paths or get_paths()
        production = os.environ.get("LOOKBOOK_ENV", "development") == "production"
        secret_key, token_key = read_secret("SECRET_KEY"), read_secret("TOKEN_SIGNING_KEY")
        if production:
            missing = [n for n, v in (("SECRET_KEY", secret_key), ("TOKEN_SIGNING_KEY", token_key)) if not v]
            if missing:
                raise ConfigurationError(
                    "production mode needs " + " and ".join(f"LOOKBOOK_{n} (or LOOKBOOK_{n}_FILE)" for n in missing))
            short = [n for n, v in (("SECRET_KEY", secret_key), ("TOKEN_SIGNING_KEY", token_key)) if len(v) < 32]
            if short:
                raise ConfigurationError(", ".join(f"LOOKBOOK_{n}" for n in short) + " must be at least 32 characters")
        access_ttl = _minutes("LOOKBOOK_ACCESS_TOKEN_MINUTES", 15)
        if not timedelta(0) < access_ttl <= timedelta(minutes=15):
            raise ConfigurationError("LOOKBOOK_ACCESS_TOKEN_MINUTES must be more than 0 and at most 15")
        env = os.environ.get
        settings = cls(
            paths=paths,
            database_url=paths.database_url,
            production=production,
            secret_key=secret_key or _dev_secret(paths, "secret_key"),
            token_signing_key=token_key or _dev_secret(paths, "token_signing_key"),
            access_token_ttl=access_ttl,
            refresh_token_ttl=_minutes("LOOKBOOK_REFRESH_TOKEN_MINUTES", 14 * 24 * 60),
            browser_session_ttl=_minutes("LOOKBOOK_BROWSER_SESSION_MINUTES", 12 * 60),
            cors_origins=tuple(o.strip() for o in env("LOOKBOOK_CORS_ORIGINS", "").split(",") if o.strip()),
            https=env("LOOKBOOK_HTTPS", "0") == "1",
            trusted_proxies=int(env("LOOKBOOK_TRUSTED_PROXIES", "0")),
            max_upload_bytes=int(env("LOOKBOOK_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)),
            sandbox_payments=env("LOOKBOOK_SANDBOX_PAYMENTS", "0" if production else "1") == "1",
            answer_cache_seconds=float(env("LOOKBOOK_ANSWER_CACHE_SECONDS", cls.answer_cache_seconds)),
            rate_limit_storage=env("LOOKBOOK_RATE_LIMIT_STORAGE", "memory://"),
            rate_limit_login=env("LOOKBOOK_RATE_LIMIT_LOGIN", cls.rate_limit_login),
            rate_limit_register=env("LOOKBOOK_RATE_LIMIT_REGISTER", cls.rate_limit_register),
            rate_limit_search=env("LOOKBOOK_RATE_LIMIT_SEARCH", cls.rate_limit_search),
            rate_limits_enabled=env("LOOKBOOK_RATE_LIMITS", "1") != "0",
            migrate_on_start=env("LOOKBOOK_MIGRATE_ON_START", "1") != "0",
            stripe_secret_key=read_secret("STRIPE_SECRET_KEY"),
            stripe_publishable_key=env("LOOKBOOK_STRIPE_PUBLISHABLE_KEY"),
            stripe_webhook_secret=read_secret("STRIPE_WEBHOOK_SECRET"),
            stripe_api_base=env("LOOKBOOK_STRIPE_API_BASE"),
            stripe_js_url=env("LOOKBOOK_STRIPE_JS_URL", cls.stripe_js_url),
            smtp_host=env("LOOKBOOK_SMTP_HOST"),
            smtp_port=int(env("LOOKBOOK_SMTP_PORT", "25")),
            smtp_username=env("LOOKBOOK_SMTP_USERNAME"),
            smtp_password=read_secret("SMTP_PASSWORD"),
            smtp_starttls=env("LOOKBOOK_SMTP_STARTTLS", "0") == "1",
            mail_from=env("LOOKBOOK_MAIL_FROM", cls.mail_from),
            outbox_interval=float(env("LOOKBOOK_OUTBOX_INTERVAL", cls.outbox_interval)),
        )
        return replace(settings, **overrides)

    @property
    def tokens(self) -> TokenSettings:
        return TokenSettings(self.token_signing_key, self.access_token_ttl, self.refresh_token_ttl)

    @property
    def tls_directory(self) -> Path:
        return self.paths.home / "tls"
