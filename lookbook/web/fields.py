"""Request fields shared by every schema: text that the database can store as given."""

from __future__ import annotations

import marshmallow as ma


def _no_control_characters(value: str) -> None:
    # NUL cannot be stored in PostgreSQL text; other C0 controls have no place in a form field either.
    if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in value):
        raise ma.ValidationError("must not contain control characters")
    _encodable(value)


def _encodable(value: str) -> None:
    # JSON may carry a lone surrogate (\ud800) that no database, hash or password hasher can encode.
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
        raise ma.ValidationError("must be valid Unicode text")


def Password(*, new: bool = False, **kwargs) -> ma.fields.String:
    """A password as typed: any characters except ones that cannot be encoded, at most 256 of them; a ``new``
    one at least as long as the accounts service demands (so the OpenAPI document states the rule)."""
    from lookbook.accounts.passwords import MAX_LENGTH, MIN_LENGTH

    length = ma.validate.Length(min=MIN_LENGTH if new else 0, max=MAX_LENGTH)
    return ma.fields.String(validate=[length, _encodable], **kwargs)


def Email(**kwargs) -> ma.fields.Email:
    return ma.fields.Email(validate=[ma.validate.Length(max=254), _no_control_characters], **kwargs)


def Text(*, max: int, min: int = 0, **kwargs) -> ma.fields.String:
    """A string field bounded to its column's length, free of control characters."""
    return ma.fields.String(validate=[ma.validate.Length(min=min, max=max), _no_control_characters], **kwargs)


def Name(**kwargs) -> ma.fields.String:
    """A person's or product's name: at least one visible character."""
    return ma.fields.String(validate=[ma.validate.Length(min=1, max=200), _no_control_characters,
                                      lambda v: bool(v.strip()) or _blank()], **kwargs)


def _blank():
    raise ma.ValidationError("must not be blank")


INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
