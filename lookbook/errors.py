"""Typed errors that every domain raises and every interface (API, CLI, pages) reports the same way.

Each error carries a stable ``code`` that a client can act on; the web layer maps the error's class to an
HTTP status, so domains never know about HTTP.
"""

from __future__ import annotations


class LookbookError(Exception):
    """Base of every error a user can cause."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields or {}


class InvalidInput(LookbookError):
    """The request was understood but its content is wrong (a field, a file, a value)."""

    code = "invalid_input"


class NotFound(LookbookError):
    code = "not_found"


class Conflict(LookbookError):
    """The request clashes with the current state (an email already registered, a stale cart)."""

    code = "conflict"


class AuthenticationFailed(LookbookError):
    """Missing, expired, forged or revoked credentials."""

    code = "not_authenticated"


class PermissionDenied(LookbookError):
    code = "forbidden"


class PaymentFailed(LookbookError):
    """The payment provider refused the payment (declined card, insufficient funds, ...)."""

    code = "payment_failed"
