"""The API keeps the promises of its OpenAPI document: routes, roles, privacy between customers, errors.

* Every route of the app is documented with the same methods, and every documented operation exists.
* Every operation says who may call it (``x-roles``); every signed-in operation declares bearer auth and 401.
* The role matrix: every documented operation, called with a minimal valid request as an anonymous visitor,
  a customer and an admin, refuses exactly the roles it does not admit (401 anonymous, 403 signed in) and
  serves the others.
* A customer never reaches another customer's data: customer routes take no user id at all, and someone
  else's address id behaves like a missing one.
* One error format, ``{"error": {"code", "message", "fields"?}}`` as JSON, for every kind of error.
"""

from __future__ import annotations

import io
import itertools
import re

import pytest

from conftest import garment_photo
from lookbook.web.api import ROLES_ATTRIBUTE
from lookbook.web.pages.base import page_blueprints
from lookbook.web.tests.conftest import PASSWORD, bearer, make_admin, register

OPENAPI = "/api/v1/openapi.json"
ROLES = ("anonymous", "customer", "admin")
SIGNED_IN = {"customer", "admin"}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
REAL_PRODUCT = 101
ADDRESS = {"label": "Home", "recipient": "Ada King", "line1": "12 St James's Square", "city": "London",
           "postal_code": "SW1Y 4JH", "country": "GB"}
USER_ID_NAME = re.compile(r"(^|_)(user|customer|owner|account|member)s?(_?id)?$|^id$", re.IGNORECASE)

_emails = itertools.count()
_skus = itertools.count()
VARIANT_PRODUCT = 112


def _email() -> str:
    return f"contract{next(_emails)}@example.com"


def _document(client) -> dict:
    response = client.get(OPENAPI)
    assert response.status_code == 200
    return response.json


def _operations(doc: dict):
    """(method, path, operation, path-level parameters) for every documented operation."""
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield method.upper(), path, operation, item.get("parameters", [])


def _parameters(operation: dict, path_parameters: list) -> list[dict]:
    return [*path_parameters, *operation.get("parameters", [])]


def _openapi_path(rule: str) -> str:
    """Flask's ``/products/<int(max=9):product_id>`` is OpenAPI's ``/products/{product_id}``."""
    return re.sub(r"<(?:[^<>:]+:)?([^<>:]+)>", r"{\1}", rule)


def _resolve(doc: dict, node: dict) -> dict:
    while "$ref" in node:
        kind, name = node["$ref"].split("/")[-2:]
        node = doc["components"][kind][name]
    return node


# ---- routes and document ---------------------------------------------------------------------------------


def test_every_route_is_documented_with_the_same_methods_and_every_documented_operation_exists(app, client):
    routes: dict[str, set[str]] = {}
    pages = {bp.name for bp in page_blueprints()}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.endswith("static") or rule.rule == OPENAPI or rule.endpoint.split(".")[0] in pages:
            continue  # the store's HTML pages and static files are not API operations
        routes.setdefault(_openapi_path(rule.rule), set()).update(set(rule.methods) - {"HEAD", "OPTIONS"})
    documented: dict[str, set[str]] = {}
    for method, path, _operation, _params in _operations(_document(client)):
        documented.setdefault(path, set()).add(method)

    assert {p: sorted(m) for p, m in routes.items()} == {p: sorted(m) for p, m in documented.items()}


def test_every_reference_in_the_document_resolves(client):
    doc = _document(client)
    dangling = set()

    def walk(node):
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                parts = ref.removeprefix("#/").split("/")
                target = doc
                for part in parts:
                    target = target.get(part) if isinstance(target, dict) else None
                if target is None:
                    dangling.add(ref)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    assert dangling == set()


def test_every_operation_declares_its_roles_and_signed_in_operations_declare_bearer_auth_and_401(app, client):
    doc = _document(client)
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer",
                                                                  "bearerFormat": "JWT"}
    views = {(_openapi_path(rule.rule), method): app.view_functions[rule.endpoint]
             for rule in app.url_map.iter_rules() for method in rule.methods}
    problems = []

    for method, path, operation, _params in _operations(doc):
        label = f"{method} {path}"
        roles = operation.get("x-roles")
        if not roles or not set(roles) <= set(ROLES):
            problems.append(f"{label}: x-roles is {roles!r}")
            continue
        enforced = getattr(views[(path, method)], ROLES_ATTRIBUTE, None)
        if roles != enforced:
            problems.append(f"{label}: documents {roles} but the view admits {enforced}")
        if "anonymous" in roles:
            if {} not in operation.get("security", []):
                problems.append(f"{label}: public, but its security does not allow no credentials")
            continue
        if operation.get("security") != [{"bearerAuth": []}]:
            problems.append(f"{label}: security is {operation.get('security')!r}, not bearerAuth")
        if "401" not in operation["responses"]:
            problems.append(f"{label}: does not document 401")
        if set(roles) != SIGNED_IN and "403" not in operation["responses"]:
            problems.append(f"{label}: admits only {roles} but does not document 403")

    assert problems == []


# ---- the role matrix -------------------------------------------------------------------------------------


class Callers:
    """Signed-in customers and admins of one app, and ids that exist, to fill in minimal valid requests."""

    def __init__(self, app, client):
        self.app, self.client = app, client
        self.customer = register(client, email=_email(), name="Matrix Customer")
        self.admin = make_admin(app, email="matrix-admin@example.com")
        self.other_customer_id = register(client, email=_email(), name="Looked Up")["user"]["id"]

    def tokens(self, role: str, *, fresh: bool) -> dict | None:
        """The role's tokens; ``fresh`` for an operation that ends the sign-in or the account it is called with."""
        if role == "anonymous":
            return None
        if role == "customer":
            return register(self.client, email=_email(), name="Fresh Customer") if fresh else self.customer
        if not fresh:
            return self.admin
        login = self.client.post("/api/v1/auth/login", json={"email": "matrix-admin@example.com", "password": PASSWORD})
        assert login.status_code == 200, login.json
        return login.json

    def address_of(self, tokens: dict | None) -> int:
        """A new address of the caller (of some customer, for an anonymous caller)."""
        owner = tokens or self.customer
        response = self.client.post("/api/v1/me/addresses", json=ADDRESS, headers=bearer(owner["access_token"]))
        assert response.status_code == 201, response.json
        return response.json["id"]

    def path_value(self, name: str, tokens: dict | None) -> int:
        if name == "product_id":
            return REAL_PRODUCT
        if name == "address_id":
            return self.address_of(tokens)
        if name == "customer_id":
            return self.other_customer_id
        if name == "notification_id":
            return self.notification_of(tokens)
        if name == "variant_id":
            return self.variant()
        if name in ("review_id", "feedback_id"):  # the caller's own; for an admin or anonymous caller, a customer's
            from lookbook.feedback.tests.real_ids import feedback_of, review_of

            owner = (tokens if tokens and tokens["role"] == "customer" else self.customer)["user"]["id"]
            db = self.app.extensions["lookbook"].db
            if name == "review_id":
                return review_of(db, user_id=owner, product_id=REAL_PRODUCT)
            return feedback_of(db, user_id=owner)
        if name in ("deal_id", "coupon_id"):
            from lookbook.deals.tests.real_ids import coupon_of, deal_of

            return (deal_of if name == "deal_id" else coupon_of)(self.app.extensions["lookbook"].db)
        if name in ("item_id", "order_id"):  # the caller's own; for an admin or anonymous caller, a customer's
            from lookbook.orders.tests.real_ids import cart_item_of, order_of

            owner = (tokens if tokens and tokens["role"] == "customer" else self.customer)["user"]["id"]
            db = self.app.extensions["lookbook"].db
            return (cart_item_of if name == "item_id" else order_of)(db, user_id=owner)
        raise AssertionError(f"no real value known for the path parameter {name!r}: add one to Callers.path_value")

    def notification_of(self, tokens: dict | None) -> int:
        """A new notification of the caller (of some customer, for an anonymous caller)."""
        from lookbook.accounts.models import User
        from lookbook.notifications.service import notify

        owner = tokens or self.customer
        with self.app.extensions["lookbook"].db.session() as session:
            user = session.get(User, owner["user"]["id"])
            return notify(session, user=user, kind="order_shipped", title="Order 1 shipped", body="On its way.").id


    def variant(self) -> int:
        """A new variant of a product the other rows leave alone, never ordered and not its last one: an admin
        may delete it."""
        from lookbook.catalog.management import add_variant

        with self.app.extensions["lookbook"].db.session() as session:
            for _ in range(2):
                variant = add_variant(session, product_id=VARIANT_PRODUCT, sku=f"MATRIX-{next(_skus)}", stock_count=1)
            return variant.id


def _photo_upload() -> dict:
    return {"data": {"image": (io.BytesIO(garment_photo("tshirt", "blue", seed=777)), "photo.png"), "k": "3"},
            "content_type": "multipart/form-data"}


def _signed_stripe_event(callers, tokens) -> dict:
    """A Stripe event the shop ignores, signed for a Stripe provider configured on the spot (checking a signature
    needs no network; payments through Stripe are tested against localstripe in lookbook/payments/tests)."""
    import json

    import stripe

    from lookbook.payments.stripe_provider import StripeProvider

    secret = "whsec_contract"
    callers.app.extensions["lookbook"].payment_providers.setdefault(
        "stripe", StripeProvider(secret_key="sk_test_contract", webhook_secret=secret))
    body = json.dumps({"id": f"evt_contract_{next(_emails)}", "object": "event", "type": "customer.created",
                       "data": {"object": {"id": "cus_contract", "object": "customer"}}})
    signature = stripe.WebhookSignature.generate_signature_header(body, secret)
    return {"data": body, "content_type": "application/json", "environ_base": {"HTTP_STRIPE_SIGNATURE": signature}}


def _stocked(callers) -> int:
    from lookbook.orders.tests.real_ids import stocked_variant

    return stocked_variant(callers.app.extensions["lookbook"].db)


def _version(db, *, user_id: int) -> int:
    from lookbook.orders.tests.real_ids import cart_version_of

    return cart_version_of(db, user_id=user_id)


def _own(callers, tokens, make) -> dict:
    """What ``make(db, user_id=...)`` returns for a customer caller (None for others: they are refused anyway)."""
    if tokens and tokens["role"] == "customer":
        return make(callers.app.extensions["lookbook"].db, user_id=tokens["user"]["id"])
    return None


def _cart_with_coupon(callers, tokens) -> dict:
    from lookbook.deals.tests.real_ids import coupon_of
    from lookbook.deals.models import Coupon
    from lookbook.orders.tests.real_ids import cart_item_of

    _own(callers, tokens, cart_item_of)
    db = callers.app.extensions["lookbook"].db
    with db.session() as session:
        code = session.get(Coupon, coupon_of(db)).code
    return {"json": {"code": code}}


def _ready_to_review(callers, tokens) -> dict:
    """A review of the real product, by a customer who bought it and has not reviewed it yet."""
    if tokens and tokens["role"] == "customer":
        from lookbook.feedback.tests.real_ids import ready_to_review

        ready_to_review(callers.app.extensions["lookbook"].db, user_id=tokens["user"]["id"], product_id=REAL_PRODUCT)
    return {"json": {"rating": 5, "title": "Great", "body": "Fits well"}}


# A minimal valid request per operation (beyond path parameters and the caller's token). A new operation
# without an entry here fails test_the_request_table_covers_every_operation.
REQUESTS = {
    "GET /healthz": lambda callers, tokens: {},
    "GET /readyz": lambda callers, tokens: {},
    "POST /api/v1/auth/register": lambda callers, tokens: {
        "json": {"email": _email(), "password": PASSWORD, "name": "New Customer"}},
    "POST /api/v1/auth/login": lambda callers, tokens: {
        "json": {"email": callers.customer["user"]["email"], "password": PASSWORD}},
    "POST /api/v1/auth/refresh": lambda callers, tokens: {
        "json": {"refresh_token": register(callers.client, email=_email())["refresh_token"]}},
    "POST /api/v1/auth/logout": lambda callers, tokens: {},
    "GET /api/v1/me": lambda callers, tokens: {},
    "PATCH /api/v1/me": lambda callers, tokens: {"json": {"phone": "+44 20 7946 0000"}},
    "DELETE /api/v1/me": lambda callers, tokens: {},
    "GET /api/v1/me/addresses": lambda callers, tokens: {},
    "POST /api/v1/me/addresses": lambda callers, tokens: {"json": ADDRESS},
    "PATCH /api/v1/me/addresses/{address_id}": lambda callers, tokens: {"json": {"city": "Paris"}},
    "DELETE /api/v1/me/addresses/{address_id}": lambda callers, tokens: {},
    "GET /api/v1/products": lambda callers, tokens: {"query_string": {"per_page": 5}},
    "GET /api/v1/products/{product_id}": lambda callers, tokens: {},
    "GET /api/v1/products/{product_id}/similar": lambda callers, tokens: {"query_string": {"k": 3}},
    "GET /api/v1/products/{product_id}/image": lambda callers, tokens: {},
    "POST /api/v1/search/image": lambda callers, tokens: _photo_upload(),
    "GET /api/v1/admin/customers": lambda callers, tokens: {},
    "GET /api/v1/admin/customers/{customer_id}": lambda callers, tokens: {},
    "GET /api/v1/admin/products": lambda callers, tokens: {"query_string": {"status": "all"}},
    "POST /api/v1/admin/products": lambda callers, tokens: {"json": {"name": "Matrix shirt", "price_minor": 1500}},
    "GET /api/v1/admin/products/{product_id}": lambda callers, tokens: {},
    "PATCH /api/v1/admin/products/{product_id}": lambda callers, tokens: {"json": {"description": "Checked"}},
    "POST /api/v1/admin/products/{product_id}/retire": lambda callers, tokens: {},  # restored by the next row
    "POST /api/v1/admin/products/{product_id}/restore": lambda callers, tokens: {},
    "POST /api/v1/admin/products/{product_id}/image": lambda callers, tokens: {
        "data": {"image": (io.BytesIO(garment_photo("tshirt", "black", seed=REAL_PRODUCT)), "photo.png")},
        "content_type": "multipart/form-data"},
    "POST /api/v1/admin/products/{product_id}/labels": lambda callers, tokens: {"json": {"labels": {"usage": "Casual"}}},
    "POST /api/v1/admin/products/{product_id}/variants": lambda callers, tokens: {
        "json": {"sku": f"MATRIX-{next(_skus)}", "size": "M", "stock": 5}},
    "PATCH /api/v1/admin/variants/{variant_id}": lambda callers, tokens: {"json": {"stock": 2}},
    "DELETE /api/v1/admin/variants/{variant_id}": lambda callers, tokens: {},
    "GET /api/v1/payments/config": lambda callers, tokens: {},
    "POST /api/v1/payments/stripe/webhook": _signed_stripe_event,
    "GET /api/v1/me/notifications": lambda callers, tokens: {"query_string": {"unread_only": "true"}},
    "POST /api/v1/me/notifications/{notification_id}/read": lambda callers, tokens: {},
    "POST /api/v1/me/notifications/read-all": lambda callers, tokens: {},
    **{f"GET /api/v1/admin/{report}": lambda callers, tokens: {"query_string": {"from": "2026-01-01", "to": "2026-01-31"}}
       for report in ("reports/sales", "reports/sales.csv", "reports/orders", "reports/orders.csv")},
    "GET /api/v1/admin/customers/{customer_id}/orders": lambda callers, tokens: {},
    "GET /api/v1/admin/customers/{customer_id}/orders.csv": lambda callers, tokens: {},
    "GET /api/v1/products/{product_id}/reviews": lambda callers, tokens: {},
    "POST /api/v1/products/{product_id}/reviews": lambda callers, tokens: _ready_to_review(callers, tokens),
    "GET /api/v1/me/reviews": lambda callers, tokens: {},
    "PATCH /api/v1/me/reviews/{review_id}": lambda callers, tokens: {"json": {"rating": 3}},
    "DELETE /api/v1/me/reviews/{review_id}": lambda callers, tokens: {},
    "GET /api/v1/admin/reviews": lambda callers, tokens: {"query_string": {"status": "published"}},
    "PATCH /api/v1/admin/reviews/{review_id}": lambda callers, tokens: {"json": {"status": "hidden"}},
    "POST /api/v1/me/feedback": lambda callers, tokens: {"json": {"subject": "Sizes", "body": "They run small"}},
    "GET /api/v1/me/feedback": lambda callers, tokens: {},
    "GET /api/v1/admin/feedback": lambda callers, tokens: {"query_string": {"status": "new"}},
    "PATCH /api/v1/admin/feedback/{feedback_id}": lambda callers, tokens: {"json": {"status": "read"}},
    "GET /api/v1/me/preferences": lambda callers, tokens: {},
    "PUT /api/v1/me/preferences": lambda callers, tokens: {"json": {"sizes": ["M"], "budget_max_minor": 5000}},
    "GET /api/v1/me/likes": lambda callers, tokens: {},
    "PUT /api/v1/me/likes/{product_id}": lambda callers, tokens: {},
    "DELETE /api/v1/me/likes/{product_id}": lambda callers, tokens: {},
    "GET /api/v1/deals/best": lambda callers, tokens: {"query_string": {"limit": 5}},
    "GET /api/v1/admin/deals": lambda callers, tokens: {"query_string": {"active": "true"}},
    "POST /api/v1/admin/deals": lambda callers, tokens: {
        "json": {"name": "Matrix sale", "kind": "percent", "value": 1000, "category": "Topwear"}},
    "GET /api/v1/admin/deals/{deal_id}": lambda callers, tokens: {},
    "PATCH /api/v1/admin/deals/{deal_id}": lambda callers, tokens: {"json": {"value": 1500}},
    "DELETE /api/v1/admin/deals/{deal_id}": lambda callers, tokens: {},
    "GET /api/v1/admin/coupons": lambda callers, tokens: {},
    "POST /api/v1/admin/coupons": lambda callers, tokens: {
        "json": {"code": f"MATRIX-{next(_skus)}", "kind": "fixed", "value": 500}},
    "GET /api/v1/admin/coupons/{coupon_id}": lambda callers, tokens: {},
    "PATCH /api/v1/admin/coupons/{coupon_id}": lambda callers, tokens: {"json": {"usage_limit": 10}},
    "DELETE /api/v1/admin/coupons/{coupon_id}": lambda callers, tokens: {},
    "GET /api/v1/cart": lambda callers, tokens: {},
    "POST /api/v1/cart/items": lambda callers, tokens: {"json": {"variant_id": _stocked(callers), "quantity": 1}},
    "PATCH /api/v1/cart/items/{item_id}": lambda callers, tokens: {"json": {"quantity": 2}},
    "DELETE /api/v1/cart/items/{item_id}": lambda callers, tokens: {},
    "PUT /api/v1/cart/coupon": _cart_with_coupon,
    "DELETE /api/v1/cart/coupon": lambda callers, tokens: {},
    "POST /api/v1/checkout": lambda callers, tokens: {"json": {"cart_version": _own(callers, tokens, _version) or 1}},
    "GET /api/v1/orders": lambda callers, tokens: {"query_string": {"status": "pending_payment"}},
    "GET /api/v1/orders/{order_id}": lambda callers, tokens: {},
    "POST /api/v1/orders/{order_id}/payment": lambda callers, tokens: {
        "json": {"provider": "sandbox", "card_number": "4242 4242 4242 4242"}},
    "POST /api/v1/orders/{order_id}/cancel": lambda callers, tokens: {},
    "GET /api/v1/admin/orders": lambda callers, tokens: {"query_string": {"status": "pending_payment"}},
    "GET /api/v1/admin/orders/{order_id}": lambda callers, tokens: {},
    "POST /api/v1/admin/orders/{order_id}/status": lambda callers, tokens: {"json": {"status": "cancelled"}},
}
# Operations that end the sign-in (or the account) they are called with: each call gets a fresh one.
ENDS_THE_SIGN_IN = {"POST /api/v1/auth/logout", "DELETE /api/v1/me"}


def test_the_request_table_covers_every_operation(client):
    documented = {f"{method} {path}" for method, path, _o, _p in _operations(_document(client))}

    assert set(REQUESTS) == documented
    assert ENDS_THE_SIGN_IN <= documented


def test_every_operation_refuses_exactly_the_roles_it_does_not_admit_and_serves_the_others(app, client):
    doc = _document(client)
    callers = Callers(app, client)
    outcomes, problems = [], []

    for method, path, operation, path_parameters in _operations(doc):
        label = f"{method} {path}"
        admitted = set(operation["x-roles"])
        success = min(code for code in operation["responses"] if code.startswith("2"))
        for role in ROLES:
            tokens = callers.tokens(role, fresh=label in ENDS_THE_SIGN_IN)
            values = {p["name"]: callers.path_value(p["name"], tokens)
                      for p in _parameters(operation, path_parameters) if p["in"] == "path"}
            url = path.format(**values)
            headers = bearer(tokens["access_token"]) if tokens else {}
            response = client.open(url, method=method, headers=headers, **REQUESTS[label](callers, tokens))
            status = response.status_code
            outcomes.append((label, role, status))
            if "anonymous" in admitted or role in admitted:
                if str(status) != success:
                    body = response.get_data(as_text=True)[:200]
                    problems.append(f"{label} as {role}: {status}, expected {success}: {body}")
            elif role == "anonymous":
                if status != 401 or response.json["error"]["code"] != "not_authenticated":
                    problems.append(f"{label} as anonymous: {status}, expected 401")
                elif not response.headers.get("WWW-Authenticate", "").startswith("Bearer"):
                    problems.append(f"{label} as anonymous: 401 without WWW-Authenticate: Bearer")
            elif status != 403 or response.json["error"]["code"] != "forbidden":
                problems.append(f"{label} as {role}: {status}, expected 403")

    assert problems == []
    assert {label for label, _r, _s in outcomes} == set(REQUESTS)  # every operation, every role
    assert len(outcomes) == len(REQUESTS) * len(ROLES)
    # Logout and account deletion got sign-ins of their own: the shared ones still work.
    assert client.get("/api/v1/me", headers=bearer(callers.customer["access_token"])).status_code == 200
    assert client.get("/api/v1/me", headers=bearer(callers.admin["access_token"])).status_code == 200


RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")


def test_timestamps_are_rfc3339_date_times_with_an_offset(client, admin):
    """The document promises ``format: date-time`` (RFC 3339), which requires an offset, on every backend
    (SQLite hands back naive datetimes unless the column type adds UTC)."""
    body = register(client, email=_email())
    headers = bearer(admin["access_token"])
    shown = {
        "register": body["user"]["created_at"],
        "me": client.get("/api/v1/me", headers=bearer(body["access_token"])).json["created_at"],
        "admin list": client.get("/api/v1/admin/customers", headers=headers).json["items"][0]["created_at"],
        "admin detail": client.get(f"/api/v1/admin/customers/{body['user']['id']}", headers=headers).json["created_at"],
    }

    assert {view: value for view, value in shown.items() if not RFC3339.fullmatch(value)} == {}


# ---- customers' privacy ----------------------------------------------------------------------------------


def test_no_customer_operation_takes_a_user_id(client):
    doc = _document(client)
    offending = []

    for method, path, operation, path_parameters in _operations(doc):
        if "customer" not in operation["x-roles"] and "anonymous" not in operation["x-roles"]:
            continue  # admins only
        for parameter in _parameters(operation, path_parameters):
            if USER_ID_NAME.search(parameter["name"]):
                offending.append(f"{method} {path}: {parameter['in']} parameter {parameter['name']}")
        for content in operation.get("requestBody", {}).get("content", {}).values():
            for name, prop in _resolve(doc, content["schema"]).get("properties", {}).items():
                if USER_ID_NAME.search(name) and not _resolve(doc, prop).get("readOnly"):
                    offending.append(f"{method} {path}: body field {name}")
        if path.startswith("/api/v1/me"):
            names = {p["name"] for p in _parameters(operation, path_parameters) if p["in"] == "path"}
            assert names <= {"address_id", "notification_id", "product_id", "review_id"}, f"{method} {path} takes {names}"

    assert offending == []


def test_a_customer_can_neither_see_nor_change_another_customers_address(client):
    ada = bearer(register(client, email=_email(), name="Ada")["access_token"])
    bob = bearer(register(client, email=_email(), name="Bob")["access_token"])
    created = client.post("/api/v1/me/addresses", headers=ada, json=ADDRESS)
    assert created.status_code == 201
    address_id = created.json["id"]
    before = client.get("/api/v1/me/addresses", headers=ada).json

    attempts = [
        client.patch(f"/api/v1/me/addresses/{address_id}", headers=bob, json={"city": "Paris"}),
        client.patch(f"/api/v1/me/addresses/{address_id}", headers=bob, json={}),
        client.delete(f"/api/v1/me/addresses/{address_id}", headers=bob),
    ]
    missing = client.delete("/api/v1/me/addresses/2147483647", headers=bob).json["error"]
    missing["message"] = missing["message"].replace("2147483647", str(address_id))

    for response in attempts:  # indistinguishable from an address that does not exist
        assert response.status_code == 404
        assert response.json == {"error": missing}
    assert client.get("/api/v1/me/addresses", headers=ada).json == before
    assert client.get("/api/v1/me/addresses", headers=bob).json == []
    assert client.get("/api/v1/me", headers=bob).json["name"] == "Bob"
    assert "Paris" not in str(client.get("/api/v1/me/addresses", headers=ada).json)


def test_a_customer_cannot_reach_the_admin_views_of_customers(client):
    ada = register(client, email=_email(), name="Ada")
    bob = bearer(register(client, email=_email(), name="Bob")["access_token"])

    for url in ("/api/v1/admin/customers", f"/api/v1/admin/customers/{ada['user']['id']}",
                "/api/v1/admin/customers?q=Ada"):
        response = client.get(url, headers=bob)
        assert response.status_code == 403 and response.json["error"]["code"] == "forbidden"
        assert "Ada" not in response.get_data(as_text=True)


# ---- one error format ------------------------------------------------------------------------------------


def _assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    body = response.json
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) <= {"code", "message", "fields"} and {"code", "message"} <= set(error)
    assert isinstance(error["code"], str) and re.fullmatch(r"[a-z][a-z0-9_]*", error["code"])
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error.get("fields", {}), dict)
    if code:
        assert error["code"] == code
    return error


@pytest.mark.parametrize("method, url, status, code", [
    ("GET", "/api/v1/no-such-thing", 404, "not_found"),
    ("GET", "/api/v1/no-such-thing", 404, "not_found"),
    ("GET", "/api/v1/products/999999", 404, "product_not_found"),
    ("GET", "/api/v1/products/999999/similar", 404, None),
    ("GET", "/api/v1/products/999999/image", 404, None),
    ("GET", "/api/v1/products/not-a-number", 404, "not_found"),
    ("GET", f"/api/v1/products/{2**63}", 404, "not_found"),  # beyond the documented maximum
    ("PUT", "/api/v1/me", 405, "method_not_allowed"),
    ("DELETE", "/api/v1/products", 405, "method_not_allowed"),
    ("GET", "/api/v1/auth/login", 405, "method_not_allowed"),
    ("GET", "/api/v1/me", 401, "not_authenticated"),
    ("GET", "/api/v1/admin/customers", 401, "not_authenticated"),
])
def test_errors_have_one_json_shape(client, method, url, status, code):
    response = client.open(url, method=method)

    _assert_error(response, status, code)
    if status == 405:
        assert response.headers["Allow"]
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("url, field", [
    ("/api/v1/products?per_page=abc", "per_page"),
    ("/api/v1/products?page=0", "page"),
    ("/api/v1/products?per_page=101", "per_page"),
    ("/api/v1/products?sort=price;drop", "sort"),
    ("/api/v1/products?min_price_minor=-1", "min_price_minor"),
    ("/api/v1/products?in_stock=perhaps", "in_stock"),
    ("/api/v1/products/101/similar?k=abc", "k"),
    ("/api/v1/products/101/image?width=123", "width"),
])
def test_a_wrong_type_or_value_is_a_422_naming_the_field(client, url, field):
    error = _assert_error(client.get(url), 422, "invalid_input")

    assert field in error["fields"]


def test_a_wrong_body_is_a_422_naming_each_field_and_broken_json_is_a_400(client, customer):
    headers = bearer(customer["access_token"])

    error = _assert_error(client.post("/api/v1/me/addresses", headers=headers, json={"country": 7, "extra": 1}), 422,
                          "invalid_input")
    assert {"country", "extra", "recipient", "line1", "city", "postal_code"} <= set(error["fields"])
    error = _assert_error(client.patch("/api/v1/me", headers=headers, json={"email_preferences": {"deals": "maybe"}}),
                          422, "invalid_input")
    assert "email_preferences" in error["fields"]
    _assert_error(client.post("/api/v1/auth/login", data="{not json", content_type="application/json"), 400,
                  "bad_request")


def test_authentication_permission_and_conflict_errors_share_the_shape(client, customer):
    _assert_error(client.get("/api/v1/me", headers=bearer("garbage")), 401)
    _assert_error(client.get("/api/v1/me", headers={"Authorization": "Basic dXNlcjpwYXNz"}), 401, "not_authenticated")
    _assert_error(client.get("/api/v1/admin/customers", headers=bearer(customer["access_token"])), 403, "forbidden")
    _assert_error(client.post("/api/v1/auth/register", json={"email": customer["user"]["email"], "password": PASSWORD,
                                                             "name": "Again"}), 409, "email_taken")
    _assert_error(client.post("/api/v1/auth/login", json={"email": "who@example.com", "password": PASSWORD}), 401,
                  "invalid_credentials")
    not_an_image = client.post("/api/v1/search/image", content_type="multipart/form-data",
                               data={"image": (io.BytesIO(b"plain text, not a photo"), "photo.png")})
    assert not_an_image.status_code in (415, 422)
    _assert_error(not_an_image, not_an_image.status_code)


def test_every_documented_error_response_uses_the_error_schema(client):
    doc = _document(client)
    wrong = []

    for method, path, operation, _params in _operations(doc):
        for status, response in operation["responses"].items():
            if status.startswith("2"):
                continue
            content = _resolve(doc, response).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            if schema != {"$ref": "#/components/schemas/Error"}:
                wrong.append(f"{method} {path} {status}: {schema}")

    assert wrong == []
