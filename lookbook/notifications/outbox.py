"""Deliver the email outbox: claim due emails so that no two workers send the same one, send, record the outcome.

``notify`` writes an ``OutboxEmail`` in the same transaction as the change it reports; this module sends it
later, from a background thread of each web process or from ``lookbook outbox deliver``.

Claiming is one conditional ``UPDATE ... RETURNING`` that pushes the email's ``next_attempt_at`` forward by a
lease, and only if the email is still unsent and due. Two workers can never both claim it: on SQLite writes
are serialised, on PostgreSQL the candidate row is locked with ``FOR UPDATE SKIP LOCKED`` (other workers take
the next one instead of waiting) and the condition is re-checked after any wait. A worker that dies mid-send
leaves its claim to expire, so the email is retried after the lease: delivery is at least once, never lost.
The Message-ID is derived from the outbox row, so a repeated email is recognisably the same message.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Protocol

from sqlalchemy import select, update

from lookbook.catalog.models import utcnow
from lookbook.notifications.models import OutboxEmail

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)          # longer than any one send can take with SMTP_TIMEOUT per step
FIRST_RETRY = timedelta(seconds=30)    # then doubled per failed attempt ...
LONGEST_RETRY = timedelta(hours=1)     # ... up to this; an email is never given up
SMTP_TIMEOUT = 30.0                    # seconds, per connect and per SMTP command
MAX_ERROR_LENGTH = 2000


@dataclass(frozen=True)
class OutgoingEmail:
    """One claimed outbox email, detached from the database."""

    id: int
    to_address: str
    subject: str
    body_text: str
    created_at: datetime


class Mailer(Protocol):
    def send(self, email: OutgoingEmail) -> None:
        """Hand the email to the mail server, or raise."""


class MailServerUnavailable(Exception):
    """The mail server cannot be reached or refuses this sender: no other email would get through either."""


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    server_unavailable: bool = False  # the round stopped early; the rest is still due

    @property
    def attempted(self) -> int:
        return self.sent + self.failed

    def add(self, other: DeliveryReport) -> DeliveryReport:
        return DeliveryReport(self.sent + other.sent, self.failed + other.failed,
                              self.server_unavailable or other.server_unavailable)

    def summary(self) -> str:
        retry = " (kept in the outbox; retried later)" if self.failed else ""
        return f"sent {self.sent} email(s), {self.failed} failed{retry}"


def retry_delay(attempts: int) -> timedelta:
    """The wait after the email's ``attempts``-th failure (1-based): 30 s, 1 min, 2 min, ... at most an hour."""
    if attempts >= 12:  # 30 s * 2**11 is already beyond the cap; avoids huge powers
        return LONGEST_RETRY
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


def deliver_due(db, *, mailer: Mailer, now: datetime | None = None, batch: int = 50) -> DeliveryReport:
    """Send up to ``batch`` due emails, each claimed first so that concurrent workers never send one twice."""
    clock: Callable[[], datetime] = (lambda: now) if now is not None else utcnow
    report = DeliveryReport()
    redact = getattr(mailer, "redact", lambda text: text)
    for _ in range(batch):
        email, attempts = _claim_next(db, now=clock())
        if email is None:
            break
        try:
            mailer.send(email)
        except Exception as error:  # noqa: BLE001 - any failure keeps the email for a later attempt
            message = redact(f"{type(error).__name__}: {error}")[:MAX_ERROR_LENGTH]
            _record_failure(db, email_id=email.id, attempts=attempts + 1, error=message, now=clock())
            log.warning("outbox email %s: attempt %s failed: %s", email.id, attempts + 1, message)
            report.failed += 1
            if isinstance(error, MailServerUnavailable):  # the others would wait for the same timeout
                report.server_unavailable = True
                break
        else:
            _record_sent(db, email_id=email.id, now=clock())
            report.sent += 1
    return report


def deliver_all_due(db, *, mailer: Mailer, now: datetime | None = None, batch: int = 50) -> DeliveryReport:
    """Deliver round after round until nothing is due (failed emails wait for their retry time)."""
    report = DeliveryReport()
    while True:
        last = deliver_due(db, mailer=mailer, now=now, batch=batch)
        report = report.add(last)
        if last.attempted < batch or last.server_unavailable:
            return report


def _claim_next(db, *, now: datetime) -> tuple[OutgoingEmail | None, int]:
    """Lease the oldest due email to this worker: one conditional UPDATE, so only one worker can win it."""
    table = OutboxEmail.__table__
    candidate = table.alias("candidate")
    due = (candidate.c.sent_at.is_(None), candidate.c.next_attempt_at <= now)
    oldest_due = (select(candidate.c.id).where(*due)
                  .order_by(candidate.c.next_attempt_at, candidate.c.id).limit(1)
                  .with_for_update(skip_locked=True)  # PostgreSQL: skip rows another worker is claiming
                  .scalar_subquery())
    claim = (update(table)
             .where(table.c.id == oldest_due, table.c.sent_at.is_(None), table.c.next_attempt_at <= now)
             .values(next_attempt_at=now + LEASE)
             .returning(table.c.id, table.c.to_address, table.c.subject, table.c.body_text, table.c.created_at,
                        table.c.attempts))
    with db.session() as session:
        row = session.execute(claim).first()
    if row is None:
        return None, 0
    return OutgoingEmail(id=row.id, to_address=row.to_address, subject=row.subject, body_text=row.body_text,
                         created_at=row.created_at), row.attempts or 0


def _record_sent(db, *, email_id: int, now: datetime) -> None:
    with db.session() as session:
        session.execute(update(OutboxEmail).where(OutboxEmail.id == email_id, OutboxEmail.sent_at.is_(None))
                        .values(sent_at=now))


def _record_failure(db, *, email_id: int, attempts: int, error: str, now: datetime) -> None:
    with db.session() as session:
        session.execute(update(OutboxEmail).where(OutboxEmail.id == email_id, OutboxEmail.sent_at.is_(None))
                        .values(attempts=attempts, last_error=error, next_attempt_at=now + retry_delay(attempts)))


# ---- SMTP ---------------------------------------------------------------------------------------------------

class SmtpMailer:
    """Sends plain-text email through one SMTP server (optionally STARTTLS and login), one connection per email."""

    def __init__(self, host: str, port: int = 25, username: str | None = None, password: str | None = None,
                 starttls: bool = False, mail_from: str = "Lookbook <shop@localhost>", *,
                 timeout: float = SMTP_TIMEOUT, tls_context: ssl.SSLContext | None = None):
        self.host, self.port, self.username, self.starttls = host, port, username, starttls
        self._password = password
        self.mail_from, self.timeout = mail_from, timeout
        self.tls_context = tls_context  # None: the system's trusted CAs, host name checked

    @classmethod
    def from_settings(cls, settings) -> SmtpMailer:
        """The mailer the store's settings describe (``smtp_*`` and ``mail_from``)."""
        return cls(settings.smtp_host, settings.smtp_port, settings.smtp_username, settings.smtp_password,
                   settings.smtp_starttls, settings.mail_from)

    def __repr__(self) -> str:
        return f"SmtpMailer({self.host!r}, {self.port}, username={self.username!r}, starttls={self.starttls})"

    def redact(self, text: str) -> str:
        """Error text as it may be stored and logged: the password never appears in it."""
        return text.replace(self._password, "[password]") if self._password else text

    def message(self, email: OutgoingEmail) -> EmailMessage:
        return build_message(email, mail_from=self.mail_from)

    def send(self, email: OutgoingEmail) -> None:
        message = self.message(email)
        with self._connect() as smtp:
            smtp.send_message(message)

    def _connect(self) -> smtplib.SMTP:
        smtp = None
        try:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.starttls:
                smtp.starttls(context=self.tls_context or ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self._password or "")
            return smtp
        except (OSError, smtplib.SMTPException) as error:
            if smtp is not None:
                smtp.close()
            raise MailServerUnavailable(
                self.redact(f"{self.host}:{self.port}: {type(error).__name__}: {error}")) from error


def build_message(email: OutgoingEmail, *, mail_from: str) -> EmailMessage:
    """The email as sent: From, To, Subject, Date, a Message-ID stable per outbox row, and a plain-text body."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = email.to_address
    message["Subject"] = " ".join(email.subject.split())  # a line break in a header would be refused
    message["Date"] = format_datetime(email.created_at)
    message["Message-ID"] = f"<outbox.{email.id}.{int(email.created_at.timestamp())}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(email.body_text)
    return message


# ---- delivery in the running store ----------------------------------------------------------------------------

def deliver_until_stopped(db, *, mailer: Mailer, interval: float, stop: threading.Event, batch: int = 50) -> None:
    """Deliver what is due every ``interval`` seconds until ``stop`` is set; errors are logged, never fatal."""
    while not stop.is_set():
        try:
            report = deliver_due(db, mailer=mailer, batch=batch)
        except Exception:  # e.g. the database is briefly down: try again next round
            log.exception("delivering the email outbox failed; trying again in %s s", interval)
            report = DeliveryReport()
        if report.attempted < batch or report.server_unavailable:  # a full batch: more may be due at once
            stop.wait(interval)


class OutboxWorker:
    """One daemon thread that delivers the outbox in the background of a web process."""

    def __init__(self, db, *, mailer: Mailer, interval: float):
        self.db, self.mailer, self.interval = db, mailer, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=deliver_until_stopped, name="lookbook-outbox", daemon=True,
                                        kwargs={"db": db, "mailer": mailer, "interval": interval, "stop": self._stop})

    def start(self) -> OutboxWorker:
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float | None = 60) -> None:
        """Finish the email being sent, then end the thread (safe to call more than once)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
