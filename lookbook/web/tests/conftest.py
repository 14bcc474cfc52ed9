"""An app per test on each database backend, with a small indexed catalog and helpers to sign in."""

from __future__ import annotations

import itertools

import pytest

from lookbook.accounts import service as accounts
from lookbook.accounts.roles import Role
from lookbook.catalog.tests.test_search_service import open_catalog
from lookbook.web import create_app
from lookbook.web.settings import Settings

PASSWORD = "correct horse battery"
_emails = itertools.count()


@pytest.fixture
def catalog(lookbook_env, tmp_path):
    cat = open_catalog(tmp_path)
    yield cat
    cat.close()


@pytest.fixture
def settings(lookbook_env) -> Settings:
    return Settings.from_env(secret_key="test-secret-key-" + "x" * 32, token_signing_key="test-token-key-" + "y" * 32,
                             rate_limits_enabled=False)


@pytest.fixture
def app(settings, catalog):
    return create_app(settings, catalog=catalog)


@pytest.fixture
def client(app):
    return app.test_client()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def register(client, *, email: str | None = None, password: str = PASSWORD, name: str = "Ada Customer") -> dict:
    email = email or f"customer{next(_emails)}@example.com"
    response = client.post("/api/v1/auth/register", json={"email": email, "password": password, "name": name})
    assert response.status_code == 201, response.json
    return response.json


def make_admin(app, *, email: str = "admin@example.com", password: str = PASSWORD) -> dict:
    """An admin made the way `lookbook users create-admin` makes one, then logged in over the API."""
    with app.extensions["lookbook"].db.session() as session:
        accounts.create_user(session, email=email, password=password, name="Grace Admin", role=Role.ADMIN)
    response = app.test_client().post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.json
    return response.json


@pytest.fixture
def customer(client) -> dict:
    return register(client)


@pytest.fixture
def admin(app) -> dict:
    return make_admin(app)
