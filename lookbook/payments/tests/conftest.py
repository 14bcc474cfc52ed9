"""A localstripe server on 127.0.0.1 for the session, an app configured to use it, and a shop to pay in.

localstripe (PyPI) fakes Stripe's API in memory. Started as it ships, it listens on every interface, keeps
its objects in /tmp/localstripe.pickle (shared by every process on the machine) and ignores idempotency
keys. So the fixture runs its aiohttp app through a short launcher instead: bound to 127.0.0.1, nothing
written to disk, and idempotency keys honoured the way Stripe documents it (a repeated key replays the first
answer; the same key with other parameters is an ``idempotency_error``).
"""

from __future__ import annotations

import itertools
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
import stripe
from sqlalchemy import func, select

from lookbook.accounts import service as accounts
from lookbook.accounts.models import User
from lookbook.accounts.roles import Role
from lookbook.catalog.models import Product, ProductVariant
from lookbook.orders import service as orders
from lookbook.web import create_app
from lookbook.web.settings import Settings

SECRET_KEY = "sk_test_lookbook"
PUBLISHABLE_KEY = "pk_test_lookbook"
WEBHOOK_SECRET = "whsec_test_lookbook"
PRICE_MINOR, STOCK = 2599, 5

LAUNCHER = r"""
import hashlib, sys
from aiohttp import web
from localstripe import resources, server

resources.Store.dump_to_disk = lambda self: None  # in memory only

replies = {}  # idempotency key -> (request fingerprint, status, body)

@web.middleware
async def idempotency(request, handler):
    if request.method == "DELETE" and request.path == "/_config/data":
        replies.clear()  # a fresh "Stripe account" for the next test
    key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or not key:
        return await handler(request)
    fingerprint = hashlib.sha256(request.path.encode() + b"?" + await request.read()).hexdigest()
    if key in replies:
        seen, status, body = replies[key]
        if seen != fingerprint:
            return web.json_response({"error": {"type": "idempotency_error", "message":
                "Keys for idempotent requests can only be used with the same parameters they were first used with."}},
                status=400)
        return web.Response(body=body, status=status, content_type="application/json",
                            headers={"Idempotent-Replayed": "true"})
    response = await handler(request)
    if response.status < 500:
        replies[key] = (fingerprint, response.status, response.body)
    return response

server.app.middlewares.insert(0, idempotency)  # outermost: declines (402) are replayed too, as by Stripe
web.run_app(server.app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/js.stripe.com/v3/", timeout=1) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="session")
def localstripe_url(tmp_path_factory):
    """The base URL of a private localstripe server on a free port of 127.0.0.1, for the whole session."""
    folder = tmp_path_factory.mktemp("localstripe")
    for _attempt in range(3):  # another process may take the free port before the server binds it
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        log = folder / f"localstripe-{port}.log"
        with log.open("wb") as output:
            process = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(port)], stdout=output,
                                       stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        try:
            while process.poll() is None and time.monotonic() < deadline and not _answers(url):
                time.sleep(0.05)
            if process.poll() is None and _answers(url):
                yield url
                return
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    details = log.read_text(errors="replace")[-2000:]
    pytest.fail(f"localstripe did not answer on 127.0.0.1\n{details}", pytrace=False)


@pytest.fixture
def localstripe(localstripe_url) -> str:
    """The session's localstripe, emptied for this test: no objects, no remembered idempotency keys (every
    test's fresh database numbers its orders from 1 again, and so repeats the previous test's keys)."""
    request = urllib.request.Request(localstripe_url + "/_config/data", method="DELETE")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    return localstripe_url


@pytest.fixture
def stripe_api(localstripe) -> stripe.StripeClient:
    """A Stripe client of our own, to look at what the shop did at "Stripe" and to act as the browser does."""
    return stripe.StripeClient(SECRET_KEY, base_addresses={"api": localstripe})


@pytest.fixture
def stripe_settings(lookbook_env, localstripe) -> Settings:
    return Settings.from_env(secret_key="test-secret-key-" + "x" * 32, token_signing_key="test-token-key-" + "y" * 32,
                             rate_limits_enabled=False, stripe_secret_key=SECRET_KEY,
                             stripe_publishable_key=PUBLISHABLE_KEY, stripe_webhook_secret=WEBHOOK_SECRET,
                             stripe_api_base=localstripe)


@pytest.fixture
def app(stripe_settings):
    """The store with Stripe configured (and no search catalog: payments need none)."""
    app = create_app(stripe_settings)
    yield app
    app.extensions["lookbook"].db.dispose()


@pytest.fixture
def db(app):
    return app.extensions["lookbook"].db


@pytest.fixture
def provider(app):
    return app.extensions["lookbook"].payment_providers["stripe"]


_emails = itertools.count()


class Shop:
    """One customer and one product variant in a fresh database, and orders to pay."""

    def __init__(self, db):
        self.db = db
        with db.session() as session:
            user = accounts.create_user(session, email=f"payer{next(_emails)}@example.com",
                                        password="correct horse battery", name="Ada Payer")
            session.add(Product(id=4242, name="Linen shirt", category="Shirts", price_minor=PRICE_MINOR,
                                currency="EUR", stock=STOCK))
            session.flush()
            variant = ProductVariant(product_id=4242, sku="LINEN-M", size="M", stock=STOCK, is_default=True)
            session.add(variant)
            session.flush()
            admin = accounts.create_user(session, email=f"manager{next(_emails)}@example.com",
                                         password="correct horse battery", name="Grace Manager", role=Role.ADMIN)
            self.user_id, self.email, self.variant_id, self.admin_id = user.id, user.email, variant.id, admin.id

    def order(self, quantity: int = 2) -> int:
        """Put the variant in the cart and check out: an order awaiting payment."""
        with self.db.session() as session:
            orders.add_to_cart(session, user_id=self.user_id, variant_id=self.variant_id, quantity=quantity)
            version = orders.view_cart(session, user_id=self.user_id).version
        with self.db.session() as session:
            user = session.get(User, self.user_id)
            return orders.checkout(session, user=user, cart_version=version).id

    def stock(self) -> int:
        with self.db.session() as session:
            return session.get(ProductVariant, self.variant_id).stock

    def count(self, model, **where) -> int:
        with self.db.session() as session:
            query = select(func.count()).select_from(model)
            for name, value in where.items():
                query = query.where(getattr(model, name) == value)
            return session.scalar(query)


@pytest.fixture
def shop(db) -> Shop:
    return Shop(db)
