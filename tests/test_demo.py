"""`lookbook demo`: the demo catalog (Saleor's clothing and a few Fashion-MNIST articles here, not 12,000), the
demo customer and admin with new printed passwords on every run, some offers, and the store it starts."""

from __future__ import annotations

import re
import sys

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from lookbook.accounts import service as accounts
from lookbook.accounts.models import User
from lookbook.accounts.roles import Role
from lookbook.cli import main
from lookbook.config import get_paths
from lookbook.db import Database
from lookbook.deals.models import Coupon, Deal
from lookbook.errors import AuthenticationFailed

CUSTOMER, ADMIN = "shopper@lookbook.test", "admin@lookbook.test"
LOGIN_LINE = re.compile(r"(\S+@lookbook\.test)\s+password: (\S+)\s+\(lands on (/\w+)\)")


def demo(*args: str):
    result = CliRunner().invoke(main, ["demo", *args])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result.output


def printed_logins(output: str) -> dict[str, tuple[str, str]]:
    """{email: (password, landing page)} as the demo printed them."""
    return {email: (password, home) for email, password, home in LOGIN_LINE.findall(output)}


@pytest.fixture
def db(lookbook_env):
    database = Database(get_paths().database_url)
    yield database
    database.dispose()


@pytest.fixture
def small_catalog(monkeypatch):
    """The demo's own catalog build, with 20 Fashion-MNIST articles instead of 12,000."""
    from lookbook.demo import run

    build = run.build_demo_catalog
    monkeypatch.setattr(run, "build_demo_catalog", lambda catalog, fashion_mnist_items: build(catalog, fashion_mnist_items=20))


def signs_in(db: Database, email: str, password: str) -> str:
    with db.session() as session:
        return accounts.authenticate(session, email=email, password=password).role


def test_demo_makes_logins_and_offers_and_renews_the_passwords_each_run(lookbook_env, small_catalog, db):
    output = demo("--no-serve")
    assert "http://127.0.0.1:8000/" in output and "http://127.0.0.1:8000/login" in output
    assert "Ctrl-C" not in output  # --no-serve: nothing is started
    first = printed_logins(output)
    assert first.keys() == {CUSTOMER, ADMIN}
    assert first[CUSTOMER][1] == "/account" and first[ADMIN][1] == "/admin"
    assert signs_in(db, CUSTOMER, first[CUSTOMER][0]) == Role.CUSTOMER
    assert signs_in(db, ADMIN, first[ADMIN][0]) == Role.ADMIN
    with db.session() as session:
        assert session.scalar(select(User.name).where(User.email == CUSTOMER)) == "Demo Shopper"
        coupon = session.scalar(select(Coupon).where(Coupon.code == "WELCOME10"))
        assert coupon is not None and coupon.active and coupon.value == 1000
        deals = session.scalars(select(Deal).order_by(Deal.id)).all()
    assert [(d.category, d.active) for d in deals] == [("Hoodies", True), (None, True)]  # Saleor's, with photos
    assert deals[1].product_id is not None and "Yellow Plimsolls" in deals[1].name
    assert "WELCOME10" in output

    output = demo("--no-serve", "--https", "--port", "8443")  # the catalog is kept; logins get new passwords
    assert "https://127.0.0.1:8443/login" in output and "self-signed" in output
    second = printed_logins(output)
    assert second.keys() == {CUSTOMER, ADMIN}
    for email, role in ((CUSTOMER, Role.CUSTOMER), (ADMIN, Role.ADMIN)):
        assert second[email][0] != first[email][0]
        assert signs_in(db, email, second[email][0]) == role
        with pytest.raises(AuthenticationFailed):
            signs_in(db, email, first[email][0])
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(User).where(User.email.in_([CUSTOMER, ADMIN]))) == 2
        assert session.scalar(select(func.count()).select_from(Deal)) == 2  # not added again
        assert session.scalar(select(func.count()).select_from(Coupon)) == 1


@pytest.fixture
def empty_demo(monkeypatch):
    """The demo without its catalog: no products to import, no sample searches (the accounts still come)."""
    from lookbook.demo import run

    monkeypatch.setattr(run, "build_demo_catalog", lambda catalog, fashion_mnist_items: None)
    monkeypatch.setattr(run, "sample_queries", lambda home: [])


def test_demo_then_runs_the_store_on_loopback(lookbook_env, empty_demo, monkeypatch):
    calls = []
    monkeypatch.setattr("os.execv", lambda path, argv: calls.append((path, argv)))
    output = demo("--https", "--port", "8123")
    assert "https://127.0.0.1:8123/" in output and "Ctrl-C stops the store" in output
    assert calls == [(sys.executable, [sys.executable, "-m", "lookbook.cli", "serve", "--host", "127.0.0.1",
                                       "--port", "8123", "--https"])]


def test_demo_refuses_to_turn_an_existing_account_into_a_demo_login(lookbook_env, empty_demo, db):
    with db.session() as session:
        accounts.create_user(session, email=ADMIN, password="a customer's own password", name="Someone",
                             role=Role.CUSTOMER)
    result = CliRunner().invoke(main, ["demo", "--no-serve"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "admin@lookbook.test is a customer account" in result.output
    assert signs_in(db, ADMIN, "a customer's own password") == Role.CUSTOMER  # untouched
