"""What every API blueprint shares: the role check, the error format, pagination and the request's services.

One mechanism checks roles: every endpoint is declared with ``@bp.access(...)`` (or ``PUBLIC``), the
declaration is written into the OpenAPI document (``x-roles``), and the app refuses to start if an
endpoint lacks one.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import wraps
from typing import Iterator

import flask_smorest
import marshmallow as ma
from flask import current_app, g, jsonify, request
from sqlalchemy.orm import Session
from webargs.flaskparser import FlaskParser
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import CombinedMultiDict
from werkzeug.exceptions import HTTPException

from lookbook.accounts import service as accounts
from lookbook.accounts.models import User
from lookbook.accounts.roles import Role
from lookbook.errors import (
    AuthenticationFailed, Conflict, InvalidInput, LookbookError, NotFound, PaymentFailed, PermissionDenied,
)
from lookbook.vision.images import ImageError

log = logging.getLogger(__name__)

PUBLIC = "anonymous"
ROLES_ATTRIBUTE = "_lookbook_roles"
RATE_LIMIT_ATTRIBUTE = "_lookbook_rate_limit"


# ---- services of the running app ---------------------------------------------------------------------------

@dataclass
class Services:
    settings: "object"
    db: "object"
    catalog: "object"
    payment_providers: dict = field(default_factory=dict)  # name -> PaymentProvider


def services() -> Services:
    return current_app.extensions["lookbook"]


@contextmanager
def transaction() -> Iterator[Session]:
    """One database transaction for one request's work: commits on success, rolls back on any error."""
    with services().db.session() as session:
        yield session


# ---- roles -----------------------------------------------------------------------------------------------

def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def current_user() -> User:
    """The signed-in user of this request (only inside endpoints that admit a role)."""
    return g.user


def _multipart_parser() -> FlaskParser:
    """webargs' parser plus a ``multipart`` location: form fields and files of one multipart body, one schema."""
    parser = FlaskParser()

    @parser.location_loader("multipart")
    def load_multipart(req, schema):
        return MultiDictProxy(CombinedMultiDict([req.form, req.files]), schema)

    return parser


class ApiBlueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = _multipart_parser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {
        **flask_smorest.Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING, "multipart": "multipart/form-data"}

    def access(self, *roles: str):
        """Admit only these roles (``PUBLIC`` admits anyone, signed in or not)."""
        allowed = {str(r) for r in roles}
        unknown = allowed - {PUBLIC, *map(str, Role)}
        if unknown or not allowed:
            raise ValueError(f"unknown roles {unknown}")
        public = PUBLIC in allowed

        def decorator(view):
            @wraps(view)
            def checked(*args, **kwargs):
                token = _bearer_token()
                g.user = None
                if token is not None or not public:
                    if token is None:
                        raise AuthenticationFailed("log in first: send 'Authorization: Bearer <access token>'",
                                                   code="not_authenticated")
                    with transaction() as session:
                        g.user, g.session_id = accounts.user_for_access_token(
                            session, token=token, settings=services().settings.tokens)
                    if not public and g.user.role not in allowed:
                        raise PermissionDenied("your account may not do this", code="forbidden")
                return view(*args, **kwargs)

            setattr(checked, ROLES_ATTRIBUTE, sorted(allowed))
            doc = {"x-roles": sorted(allowed)}
            if not public:
                doc["security"] = [{"bearerAuth": []}]
                responses = {"401": "UNAUTHORIZED"}
                if allowed != {str(r) for r in Role}:
                    responses["403"] = "FORBIDDEN"
                doc["responses"] = responses
            else:
                doc["security"] = [{}, {"bearerAuth": []}]
            return self.doc(**doc)(checked)

        return decorator

    def rate_limited(self, name: str):
        """Subject this endpoint to the configured ``rate_limit_<name>`` (enforced by the app's limiter)."""
        def decorator(view):
            setattr(view, RATE_LIMIT_ATTRIBUTE, name)
            return self.doc(responses={"429": "TOO_MANY_REQUESTS"})(view)

        return decorator


def check_every_endpoint_declares_its_roles(app) -> None:
    for endpoint, view in app.view_functions.items():
        if endpoint == "static" or endpoint.endswith(".static") or endpoint.startswith("api-docs."):
            continue
        if not hasattr(view, ROLES_ATTRIBUTE):
            raise RuntimeError(f"endpoint {endpoint} does not declare who may call it (@bp.access)")


# ---- one error format ------------------------------------------------------------------------------------

class ErrorDetailSchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"description": "Stable machine-readable error code"})
    message = ma.fields.String(required=True, metadata={"description": "What went wrong, for a person"})
    fields = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Raw(),
                            metadata={"description": "Problems per request field"})


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorDetailSchema, required=True)


STATUS_OF = [(InvalidInput, 422), (NotFound, 404), (Conflict, 409), (AuthenticationFailed, 401),
             (PermissionDenied, 403), (PaymentFailed, 402)]
IMAGE_STATUS = {"too_large": 413, "too_many_pixels": 413, "not_an_image": 415, "corrupt": 422, "unreadable": 422}


def error_response(status: int, code: str, message: str, fields: dict | None = None, headers: dict | None = None):
    body = {"error": {"code": code, "message": message}}
    if fields:
        body["error"]["fields"] = fields
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="lookbook"'
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _flatten_webargs(messages: dict) -> dict:
    """webargs nests messages by location (json, query, form, files); clients want them by field name."""
    fields: dict = {}
    for location_messages in messages.values():
        if isinstance(location_messages, dict):
            fields.update(location_messages)
    return fields


def handle_lookbook_error(error: LookbookError):
    status = next((s for cls, s in STATUS_OF if isinstance(error, cls)), 400)
    return error_response(status, error.code, error.message, error.fields)


def handle_image_error(error: ImageError):
    return error_response(IMAGE_STATUS.get(error.reason, 422), f"image_{error.reason}", str(error),
                          {"image": [str(error)]})


HTTP_CODES = {400: "bad_request", 401: "not_authenticated", 402: "payment_failed", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 406: "not_acceptable", 409: "conflict", 413: "payload_too_large",
              415: "unsupported_media_type", 422: "invalid_input", 428: "precondition_required",
              429: "rate_limited", 500: "internal_error"}


def handle_http_exception(error: HTTPException):
    data = getattr(error, "data", None) or {}
    status = error.code or 500
    if status == 422 and "messages" in data:
        fields = _flatten_webargs(data["messages"])
        names = ", ".join(sorted(fields)) or "the request"
        return error_response(422, "invalid_input", f"check these fields: {names}", fields)
    if status == 429:
        return error_response(429, "rate_limited", f"too many requests ({error.description}); try again later")
    if status == 413:
        limit = services().settings.max_upload_bytes // (1024 * 1024)
        return error_response(413, "payload_too_large", f"the upload is larger than the {limit} MB limit")
    message = error.description or error.name
    headers = dict(error.get_headers()) if status == 405 else {}
    headers.pop("Content-Type", None)
    return error_response(status, HTTP_CODES.get(status, "error"), message, headers=headers)


def handle_unexpected(error: Exception):
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(500, "internal_error", "something went wrong on our side; it has been logged")


def register_error_handlers(app) -> None:
    app.register_error_handler(LookbookError, handle_lookbook_error)
    app.register_error_handler(ImageError, handle_image_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)


def attributes(obj, schema: type[ma.Schema], *, exclude: tuple[str, ...] = ()) -> dict:
    """The object's attributes that the response schema shows, for views that add fields of their own."""
    return {name: getattr(obj, name) for name in schema().fields if name not in exclude}


# ---- pagination --------------------------------------------------------------------------------------------

class PageArgs(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=100_000))
    per_page = ma.fields.Integer(load_default=24, validate=ma.validate.Range(min=1, max=100))


def page_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """The one envelope of every list: items plus where this page sits."""
    return ma.Schema.from_dict({
        "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
        "page": ma.fields.Integer(required=True),
        "per_page": ma.fields.Integer(required=True),
        "total": ma.fields.Integer(required=True),
        "pages": ma.fields.Integer(required=True),
    }, name=name)


def page_of(items, total: int, args: dict) -> dict:
    per_page = args["per_page"]
    return {"items": items, "page": args["page"], "per_page": per_page, "total": total,
            "pages": (total + per_page - 1) // per_page}
