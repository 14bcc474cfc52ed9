"""Schema-driven fuzzing of the whole API with schemathesis, in-process against the WSGI app (no network).

Every operation of the OpenAPI document gets generated requests, valid ones and deliberately broken ones,
as an anonymous visitor, as a customer and as an admin. No response may be a server error, and every
response must conform to the document: a documented status code (or the documented ``default``), the
documented content type, headers and body schema.

Bounded and repeatable: derandomised Hypothesis (the same examples on every run of the same code), no
example database, no deadline and no shrinking. Each role shares ``EXAMPLE_BUDGET`` generated requests out
between the operations it may call (between ``MIN_EXAMPLES`` and ``MAX_EXAMPLES`` per operation and mode);
operations that refuse the role get ``REFUSED_EXAMPLES``. Failures are collected over the whole run and reported together, one per operation, mode, check
and status, each with a curl command that repeats the request.

schemathesis' own pytest integration (``schemathesis.pytest.from_fixture`` + ``parametrize``) cannot be used
here: with pytest 9.2 it fails with ``AttributeError: 'Function' object has no attribute '_nodeid'``
(schemathesis 4.32.5). So the test draws each operation's cases from ``operation.as_strategy(...)`` under
its own ``@given`` and checks them with ``case.validate_response``.
"""

from __future__ import annotations

import time

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from conftest import garment_photo
from lookbook.web.tests.conftest import PASSWORD, bearer, make_admin, register

MAX_EXAMPLES = 25  # per operation and mode, when the budget allows
MIN_EXAMPLES = 8
# Generated requests per role over the operations it may call, shared out between them, which keeps the whole
# run near two minutes per backend however many operations the document has.
EXAMPLE_BUDGET = 800
# An operation refuses a role it does not admit before it reads any input: a few examples show the refusal
# is as documented.
REFUSED_EXAMPLES = 3
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
ROLES = ("anonymous", "customer", "admin")
PRODUCT_IDS = list(range(101, 113))
PRODUCT_PHOTO = garment_photo("bag", "blue", seed=2024)
ADDRESS = {"recipient": "Ada King", "line1": "12 St James's Square", "city": "London", "postal_code": "SW1Y 4JH",
           "country": "GB"}
ADMIN_EMAIL = "fuzz-admin@example.com"
# Operations that end the sign-in (or the account) they are called with: every example gets a fresh one.
ENDS_THE_SIGN_IN = {"POST /api/v1/auth/logout", "DELETE /api/v1/me"}
# Random credentials never match an account, and random bodies carry no Stripe signature (nor is Stripe
# configured here), so these never succeed by chance (test_api_contract and lookbook/payments/tests cover them).
NEVER_SUCCEED_BY_CHANCE = {"POST /api/v1/auth/login", "POST /api/v1/auth/refresh",
                           "POST /api/v1/payments/stripe/webhook",
                           # nor does a random cart version, coupon code or card number match (test_orders_api
                           # and test_api_contract drive these with real ones)
                           "POST /api/v1/checkout", "PUT /api/v1/cart/coupon", "POST /api/v1/orders/{order_id}/payment"}
# Failures that other tests already pin down with strict xfail marks, as (backend, operation, check title):
# the fuzzer reports everything else. Remove an entry once its bug is fixed (its xfail then turns into XPASS).
KNOWN_BUGS: set[tuple[str, str, str]] = set()

SETTINGS = hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,  # a fixed seed per operation: every run sends the same requests
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # failures are collected, never shrunk: the run stays bounded
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)


class World:
    """Real ids and tokens of one app, so that generated ids can point at things that exist."""

    def __init__(self, app, role: str):
        self.role = role
        self.client = app.test_client()
        self.customer_id = register(self.client, name="Fuzz Owner")["user"]["id"]  # for the admin look-up
        if role == "customer":
            self.tokens = register(self.client, name="Fuzz Customer")
        elif role == "admin":
            self.tokens = make_admin(app, email=ADMIN_EMAIL)
        else:
            self.tokens = None
        self.address_id = self.new_address() if self.tokens else None
        self.app = app
        self.notification_id = self.new_notification() if self.tokens else None
        self.retirable_id = self.new_product()  # retiring the shared products would hide them from later operations
        if role == "customer":  # a buyer of every product, so that reviewing one can succeed
            from lookbook.feedback.tests.real_ids import make_buyer

            for product_id in PRODUCT_IDS:
                make_buyer(app.extensions["lookbook"].db, user_id=self.tokens["user"]["id"], product_id=product_id)
        self.variant_id = self.new_variant()

    def headers(self, label: str) -> dict:
        if self.tokens is None:
            return {}
        if label not in ENDS_THE_SIGN_IN:
            return bearer(self.tokens["access_token"])
        if self.role == "customer":
            return bearer(register(self.client, name="Fuzz Throwaway")["access_token"])
        login = self.client.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": PASSWORD})
        return bearer(login.json["access_token"])

    def new_address(self) -> int:
        response = self.client.post("/api/v1/me/addresses", json=ADDRESS, headers=bearer(self.tokens["access_token"]))
        assert response.status_code == 201, response.json
        return response.json["id"]

    def new_notification(self) -> int:
        from lookbook.accounts.models import User
        from lookbook.notifications.service import notify

        with self.app.extensions["lookbook"].db.session() as session:
            user = session.get(User, self.tokens["user"]["id"])
            return notify(session, user=user, kind="order_shipped", title="Order 1 shipped", body="On its way.").id

    def new_product(self) -> int:
        from lookbook.catalog.management import create_product

        with self.app.extensions["lookbook"].db.session() as session:
            return create_product(session, fields={"name": "Fuzz retiree", "price_minor": 100}, stock_count=1).id

    def new_variant(self) -> int:
        """A variant of a product of its own, never ordered and not its last one: an admin may delete it."""
        from lookbook.catalog.management import add_variant

        product_id = self.new_product()
        with self.app.extensions["lookbook"].db.session() as session:
            for size in ("S", "M"):
                variant = add_variant(session, product_id=product_id, sku=f"FUZZ-{product_id}-{size}", size=size,
                                      stock_count=1)
            return variant.id

    def point_at_real_ids(self, case) -> None:
        """Every even generated id becomes one that exists, so that the fuzzer reaches the success paths too."""
        body = case.body if isinstance(case.body, dict) else {}
        if isinstance(body.get("variant_id"), int) and not isinstance(body["variant_id"], bool) \
                and body["variant_id"] % 2 == 0:
            from lookbook.orders.tests.real_ids import stocked_variant

            body["variant_id"] = stocked_variant(self.app.extensions["lookbook"].db)
        params = case.path_parameters or {}
        for name, value in list(params.items()):
            if not isinstance(value, int) or isinstance(value, bool) or value % 2:
                continue
            if name == "product_id" and case.path.endswith(("/retire", "/restore")):
                params[name] = self.retirable_id
            elif name == "product_id":
                params[name] = PRODUCT_IDS[value // 2 % len(PRODUCT_IDS)]
                if case.method.upper() == "POST" and case.path.endswith("/image") and isinstance(case.body, dict):
                    case.body["image"] = PRODUCT_PHOTO  # generated bytes are seldom a photo the model can read
            elif name == "variant_id":
                params[name] = self.new_variant() if case.method.upper() == "DELETE" else self.variant_id
            elif name == "customer_id":
                params[name] = self.customer_id
            elif name == "address_id" and self.tokens:
                params[name] = self.new_address() if case.method.upper() == "DELETE" else self.address_id
            elif name == "notification_id" and self.tokens:
                params[name] = self.notification_id
            elif name in ("review_id", "feedback_id"):  # the customer's own; for an admin, the owner's
                from lookbook.feedback.tests.real_ids import feedback_of, review_of

                owner = self.tokens["user"]["id"] if self.role == "customer" else self.customer_id
                db = self.app.extensions["lookbook"].db
                params[name] = (review_of(db, user_id=owner, product_id=PRODUCT_IDS[0]) if name == "review_id"
                                else feedback_of(db, user_id=owner))
            elif name in ("deal_id", "coupon_id"):
                from lookbook.deals.tests.real_ids import coupon_of, deal_of

                params[name] = (deal_of if name == "deal_id" else coupon_of)(self.app.extensions["lookbook"].db)
            elif name in ("item_id", "order_id"):  # the customer's own; for an admin, the owner's (fresh: both change)
                from lookbook.orders.tests.real_ids import cart_item_of, order_of

                owner = self.tokens["user"]["id"] if self.role == "customer" else self.customer_id
                make = cart_item_of if name == "item_id" else order_of
                params[name] = make(self.app.extensions["lookbook"].db, user_id=owner)


class Run:
    """The outcome of fuzzing one app as one role."""

    def __init__(self, world: World, backend: str):
        self.world, self.backend = world, backend
        self.statuses: dict[tuple[str, str], dict[int, int]] = {}
        self.failures: dict[tuple, str] = {}

    def fuzz(self, operation, mode: GenerationMode, examples: int) -> None:
        label = operation.label

        @hypothesis.settings(SETTINGS, max_examples=examples)
        @given(case=operation.as_strategy(generation_mode=mode))
        def one_case(case):
            if mode is GenerationMode.POSITIVE:  # a deliberately broken id stays broken
                self.world.point_at_real_ids(case)
            headers = self.world.headers(label)
            if case.headers:  # only the role's own token, or none at all for the anonymous visitor
                for name in [n for n in case.headers if n.lower() == "authorization"]:
                    del case.headers[name]
            response = case.call(headers=headers)
            counts = self.statuses.setdefault((label, mode.value), {})
            counts[response.status_code] = counts.get(response.status_code, 0) + 1
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except FailureGroup as group:
                for failure in group.exceptions:
                    if (self.backend, label, failure.title) in KNOWN_BUGS:
                        continue
                    signature = (label, mode.value, failure.title, response.status_code)
                    curl = case.as_curl_command(headers=headers)
                    self.failures.setdefault(signature, f"{failure.message}\n    {curl}")

        one_case()


@pytest.fixture(params=ROLES)
def role(request) -> str:
    return request.param


def test_every_operation_survives_generated_requests_and_answers_as_documented(app, database_url, role):
    backend = database_url.split(":", 1)[0].split("+")[0]
    config = schemathesis.Config.from_dict({"generation": {"with-security-parameters": False}})
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)
    document = app.test_client().get("/api/v1/openapi.json").json
    roles = {f"{method.upper()} {path}": operation["x-roles"] for path, item in document["paths"].items()
             for method, operation in item.items() if method != "parameters"}
    broken = [str(result.err()) for result in schema.get_all_operations() if isinstance(result, Err)]
    assert not broken, "operations schemathesis cannot read:\n" + "\n".join(broken)
    admitted = {label for label, allowed in roles.items() if role in allowed or "anonymous" in allowed}
    examples = max(MIN_EXAMPLES, min(MAX_EXAMPLES, EXAMPLE_BUDGET // (2 * len(admitted))))
    run = Run(World(app, role), backend)
    started = time.monotonic()

    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label not in admitted:
            run.fuzz(operation, GenerationMode.POSITIVE, REFUSED_EXAMPLES)
            continue
        run.fuzz(operation, GenerationMode.POSITIVE, examples)
        if list(operation.iter_parameters()) or operation.body:  # without inputs there is nothing to break
            run.fuzz(operation, GenerationMode.NEGATIVE, examples)

    elapsed = time.monotonic() - started
    summary = "\n".join(f"  {label} [{mode}]: {dict(sorted(counts.items()))}"
                        for (label, mode), counts in sorted(run.statuses.items()))
    assert not run.failures, f"{len(run.failures)} distinct failures as {role} in {elapsed:.0f}s " \
        f"({examples} examples per operation and mode):\n\n" + "\n\n".join(
        f"{label} [{mode}] {title} -> {status}\n    {detail}"
        for (label, mode, title, status), detail in sorted(run.failures.items())) + f"\n\nstatuses:\n{summary}"
    fuzzed = {label for label, _mode in run.statuses}
    assert fuzzed == set(roles), f"not fuzzed: {sorted(set(roles) - fuzzed)}"
    # Coverage: every operation this role may call also succeeded at least once (beyond 401/403 and 404).
    succeeded = {label for (label, mode), counts in run.statuses.items() if any(200 <= s < 300 for s in counts)}
    assert admitted - NEVER_SUCCEED_BY_CHANCE <= succeeded, f"never succeeded:\n{summary}"
