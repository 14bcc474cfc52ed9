"""An SMTP sink (aiosmtpd) on a free port of 127.0.0.1, a database per backend, and the web app's fixtures."""

from __future__ import annotations

import itertools
import socket
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from lookbook.accounts import service as accounts
from lookbook.db import Database
from lookbook.web.tests.conftest import app, catalog, client, customer, settings  # noqa: F401 - fixtures

_ids = itertools.count(1)


def free_port() -> int:
    """A port nobody listens on (right now): a mail server that is down."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    """Collects every message the server accepts, with its envelope recipients."""

    def __init__(self):
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self.received = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        self.recipients.append(list(envelope.rcpt_tos))
        self.received.set()
        return "250 Message accepted for delivery"


class SmtpServer:
    """A running aiosmtpd server; ``stop()`` takes it down (and ``start()`` brings it back on the same port)."""

    def __init__(self, port: int | None = None, **smtp_options):
        self.sink = Sink()
        self.port = port
        self.smtp_options = smtp_options
        self.controller: Controller | None = None

    def start(self) -> SmtpServer:
        for _attempt in range(5):  # another process may take a free port before the server binds it
            port = self.port or free_port()
            controller = Controller(self.sink, hostname="127.0.0.1", port=port, **self.smtp_options)
            try:
                controller.start()
            except (OSError, RuntimeError):
                if self.port:
                    raise
                continue
            self.controller, self.port = controller, port
            return self
        raise RuntimeError("no free port for the SMTP sink")

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self) -> list[EmailMessage]:
        return self.sink.messages


@pytest.fixture
def smtp_server():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def cli_env(tmp_path, database_url, monkeypatch):
    """What the `lookbook` command reads: a data directory and the database of this backend."""
    monkeypatch.setenv("LOOKBOOK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LOOKBOOK_DATABASE_URL", database_url)
    for name in ("LOOKBOOK_SMTP_HOST", "LOOKBOOK_SMTP_PORT", "LOOKBOOK_SMTP_USERNAME", "LOOKBOOK_SMTP_PASSWORD",
                 "LOOKBOOK_SMTP_PASSWORD_FILE", "LOOKBOOK_SMTP_STARTTLS", "LOOKBOOK_MAIL_FROM",
                 "LOOKBOOK_ENV"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "home"


@pytest.fixture
def db(database_url):
    database = Database(database_url)
    yield database
    database.dispose()


def make_user(db: Database, name: str = "Ada"):
    with db.session() as session:
        return accounts.create_user(session, email=f"{name.lower()}{next(_ids)}@example.com",
                                    password="correct horse battery", name=name)
