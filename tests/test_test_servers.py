"""The servers the test set-up starts itself: a private Redis and an embedded PostgreSQL."""

from __future__ import annotations

import pytest
import redis
from sqlalchemy import create_engine, text


def test_the_redis_fixture_is_a_working_server(redis_url):
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.dbsize() == 0  # every test starts with an empty server
        client.set("lookbook:test", "ok", ex=60)
        assert client.get("lookbook:test") == b"ok"
    finally:
        client.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_postgresql_database_url_is_an_empty_postgresql_database(database_url):
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            version = connection.execute(text("SHOW server_version")).scalar_one()
            tables = connection.execute(text(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')"
            )).scalar_one()
    finally:
        engine.dispose()
    assert engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"
    assert int(version.split(".")[0]) >= 16
    assert tables == 0
