"""The email outbox: written with the change it reports, delivered once, kept and retried while the server is down."""

from __future__ import annotations

import ssl
import threading
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select, text

from lookbook.catalog.models import utcnow
from lookbook.db import Database
from lookbook.notifications.models import Notification, OutboxEmail
from lookbook.notifications.outbox import (
    LEASE, SmtpMailer, _claim_next, build_message, deliver_all_due, deliver_due, retry_delay,
)
from lookbook.notifications.service import notify
from lookbook.notifications.tests.conftest import SmtpServer, free_port, make_user
from lookbook.web.serve import local_certificate

PASSWORD = "s3cret-Pa55word-for-smtp"


def _mailer(port: int, **kwargs) -> SmtpMailer:
    return SmtpMailer("127.0.0.1", port, mail_from="Lookbook Shop <shop@lookbook.example>", timeout=10, **kwargs)


def _order_paid(db, user, order_id: int = 12):
    with db.session() as session:
        return notify(session, user=user, kind="order_paid", title=f"Order {order_id} confirmed",
                      body=f"We received your payment of 50.00 USD and are preparing order {order_id}.",
                      data={"order_id": order_id, "status": "paid"})


def _emails(db) -> list[OutboxEmail]:
    with db.session() as session:
        return list(session.scalars(select(OutboxEmail).order_by(OutboxEmail.id)))


def test_an_order_notification_is_emailed_once_with_its_recipient_subject_and_body(db, smtp_server):
    ada = make_user(db, "Ada")
    _order_paid(db, ada)

    report = deliver_due(db, mailer=_mailer(smtp_server.port))

    assert (report.sent, report.failed) == (1, 0)
    [message] = smtp_server.messages
    assert smtp_server.sink.recipients == [[ada.email]]
    assert message["To"] == ada.email
    assert message["From"] == "Lookbook Shop <shop@lookbook.example>"
    assert message["Subject"] == "Order 12 confirmed"
    assert message["Message-ID"].endswith("@lookbook.example>") and message["Date"]
    assert message.get_content_type() == "text/plain"
    body = message.get_content()
    assert body.startswith("Hello Ada,") and "preparing order 12" in body
    [email] = _emails(db)
    assert email.sent_at is not None and email.attempts == 0 and email.last_error is None


def test_a_second_run_sends_nothing_again(db, smtp_server):
    _order_paid(db, make_user(db))
    mailer = _mailer(smtp_server.port)
    deliver_due(db, mailer=mailer)

    again = deliver_due(db, mailer=mailer)
    much_later = deliver_due(db, mailer=mailer, now=utcnow() + timedelta(days=2))

    assert (again.attempted, much_later.attempted) == (0, 0)
    assert len(smtp_server.messages) == 1


def test_while_the_mail_server_is_down_nothing_is_lost_and_it_is_delivered_once_the_server_is_back(db):
    ada = make_user(db)
    _order_paid(db, ada)
    port = free_port()  # nobody listens here yet
    mailer = _mailer(port)
    start = utcnow()

    first = deliver_due(db, mailer=mailer, now=start)

    assert (first.sent, first.failed, first.server_unavailable) == (0, 1, True)
    [email] = _emails(db)
    assert email.sent_at is None and email.attempts == 1
    assert "Connection refused" in email.last_error or "ConnectionRefused" in email.last_error
    assert email.next_attempt_at == start + timedelta(seconds=30)

    assert deliver_due(db, mailer=mailer, now=start + timedelta(seconds=10)).attempted == 0  # not due yet
    second = deliver_due(db, mailer=mailer, now=start + timedelta(seconds=30))
    [email] = _emails(db)
    assert second.failed == 1 and email.attempts == 2
    assert email.next_attempt_at == start + timedelta(seconds=30) + timedelta(seconds=60)  # backed off further

    server = SmtpServer(port=port).start()
    try:
        third = deliver_due(db, mailer=mailer, now=email.next_attempt_at)
    finally:
        server.stop()

    assert third.sent == 1
    assert [m["To"] for m in server.messages] == [ada.email]
    [email] = _emails(db)
    assert email.sent_at is not None and email.attempts == 2
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Notification)) == 1


def test_retries_back_off_exponentially_up_to_an_hour_and_never_give_up():
    assert [retry_delay(n).total_seconds() for n in range(1, 9)] == [30, 60, 120, 240, 480, 960, 1920, 3600]
    assert retry_delay(50) == timedelta(hours=1)


def test_a_server_that_is_down_stops_the_round_and_leaves_the_other_emails_untouched(db):
    user = make_user(db)
    for order_id in (1, 2, 3):
        _order_paid(db, user, order_id)

    report = deliver_due(db, mailer=_mailer(free_port()))

    assert (report.sent, report.failed, report.server_unavailable) == (0, 1, True)
    assert [(e.attempts, e.sent_at) for e in _emails(db)] == [(1, None), (0, None), (0, None)]


def test_a_refused_login_is_recorded_without_the_password(db):
    def refuse(server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult

        return AuthResult(success=False, handled=False)

    server = SmtpServer(auth_require_tls=False, authenticator=refuse).start()
    try:
        _order_paid(db, make_user(db))
        mailer = _mailer(server.port, username="shop", password=PASSWORD)

        report = deliver_due(db, mailer=mailer)
    finally:
        server.stop()

    assert report.failed == 1 and server.messages == []
    [email] = _emails(db)
    assert "535" in email.last_error and email.attempts == 1 and email.sent_at is None
    assert PASSWORD not in email.last_error
    assert PASSWORD not in repr(mailer)
    assert mailer.redact(f"login as shop with {PASSWORD} failed") == "login as shop with [password] failed"


def test_a_login_that_is_accepted_sends_the_email(db):
    logins = []

    def accept(server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult

        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=True)

    server = SmtpServer(auth_require_tls=False, authenticator=accept).start()
    try:
        _order_paid(db, make_user(db))
        report = deliver_due(db, mailer=_mailer(server.port, username="shop", password=PASSWORD))
    finally:
        server.stop()

    assert report.sent == 1 and len(server.messages) == 1
    assert logins == [(b"shop", PASSWORD.encode())]


def test_starttls_encrypts_the_connection_and_checks_the_servers_certificate(db, tmp_path):
    cert, key = local_certificate(tmp_path / "tls")  # self-signed, for 127.0.0.1
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    server = SmtpServer(tls_context=server_tls, require_starttls=True).start()
    user = make_user(db)
    try:
        _order_paid(db, user, 1)
        plain = deliver_due(db, mailer=_mailer(server.port))  # the server demands STARTTLS first
        _order_paid(db, user, 2)
        untrusted = deliver_due(db, mailer=_mailer(server.port, starttls=True))  # system CAs do not know it
        trusting = _mailer(server.port, starttls=True, tls_context=ssl.create_default_context(cafile=str(cert)))
        trusted = deliver_all_due(db, mailer=trusting, now=utcnow() + timedelta(minutes=5))
    finally:
        server.stop()

    assert (plain.failed, untrusted.failed) == (1, 1)
    errors = [e.last_error for e in _emails(db) if e.attempts]
    assert "530" in errors[0] and "CERTIFICATE_VERIFY_FAILED" in errors[1]
    assert trusted.sent == 2
    assert sorted(m["Subject"] for m in server.messages) == ["Order 1 confirmed", "Order 2 confirmed"]


def test_rolling_back_the_callers_transaction_leaves_neither_a_notification_nor_an_email(db, smtp_server):
    ada = make_user(db)

    with pytest.raises(RuntimeError), db.session() as session:
        notify(session, user=ada, kind="order_paid", title="Order 7 confirmed", body="Paid.")
        raise RuntimeError("the payment could not be recorded")

    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Notification)) == 0
        assert session.scalar(select(func.count()).select_from(OutboxEmail)) == 0
    assert deliver_due(db, mailer=_mailer(smtp_server.port)).attempted == 0
    assert smtp_server.messages == []


def test_an_in_app_only_notification_queues_no_email(db):
    with db.session() as session:
        notify(session, user=make_user(db), kind="welcome", title="Welcome", body="Hi.", email=False)

    assert _emails(db) == []


def test_a_claimed_email_cannot_be_claimed_again_until_its_lease_runs_out(db):
    _order_paid(db, make_user(db))
    now = utcnow()

    first, _ = _claim_next(db, now=now)
    second, _ = _claim_next(db, now=now)
    after_a_crash, _ = _claim_next(db, now=now + LEASE)  # the first worker never reported back

    assert first is not None and second is None
    assert after_a_crash is not None and after_a_crash.id == first.id


def test_a_batch_is_bounded_and_the_rest_goes_out_in_the_next_round(db, smtp_server):
    user = make_user(db)
    for order_id in range(1, 6):
        _order_paid(db, user, order_id)
    mailer = _mailer(smtp_server.port)

    first = deliver_due(db, mailer=mailer, batch=2)
    rest = deliver_all_due(db, mailer=mailer, batch=2)

    assert (first.sent, rest.sent) == (2, 3)
    assert sorted(m["Subject"] for m in smtp_server.messages) == [f"Order {n} confirmed" for n in range(1, 6)]


def test_the_message_id_is_the_same_for_every_attempt_at_one_email_and_differs_between_emails(db):
    user = make_user(db)
    _order_paid(db, user, 1)
    _order_paid(db, user, 2)
    first, second = (_claim_next(db, now=utcnow())[0] for _ in range(2))

    ids = {build_message(first, mail_from="shop@lookbook.example")["Message-ID"] for _ in range(2)}
    assert len(ids) == 1
    assert ids != {build_message(second, mail_from="shop@lookbook.example")["Message-ID"]}


def test_a_line_break_in_a_title_cannot_add_headers(db, smtp_server):
    with db.session() as session:
        notify(session, user=make_user(db), kind="deal", title="Sale\r\nBcc: everyone@example.com", body="20% off")

    assert deliver_due(db, mailer=_mailer(smtp_server.port)).sent == 1
    [message] = smtp_server.messages
    assert message["Subject"] == "Sale Bcc: everyone@example.com" and message["Bcc"] is None
    assert len(smtp_server.sink.recipients[0]) == 1


def test_two_deliverers_at_the_same_time_send_each_email_exactly_once(database_url, smtp_server):
    """Two processes (two engines) with two threads each, started together against the same outbox."""
    databases = [Database(database_url), Database(database_url, migrate=False)]
    try:
        user = make_user(databases[0])
        with databases[0].session() as session:
            for n in range(40):
                notify(session, user=user, kind="order_paid", title=f"Order {n} confirmed", body=f"Order {n}.")
        mailer = _mailer(smtp_server.port)
        workers = 4
        start = threading.Barrier(workers)
        reports, errors = [], []

        def deliver(db):
            try:
                start.wait()
                reports.append(deliver_all_due(db, mailer=mailer, batch=5))
            except Exception as error:  # noqa: BLE001 - reported by the assertion below
                errors.append(error)

        threads = [threading.Thread(target=deliver, args=(databases[i % 2],)) for i in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert errors == []
        subjects = sorted(m["Subject"] for m in smtp_server.messages)
        assert subjects == sorted(f"Order {n} confirmed" for n in range(40))  # each one, once
        assert sum(r.sent for r in reports) == 40 and sum(r.failed for r in reports) == 0
        assert all(e.sent_at is not None and e.attempts == 0 for e in _emails(databases[0]))
    finally:
        for database in databases:
            database.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_on_postgresql_an_email_another_worker_is_claiming_is_skipped_not_waited_for(database_url, db, smtp_server):
    user = make_user(db)
    _order_paid(db, user, 1)
    _order_paid(db, user, 2)

    @event.listens_for(db.engine, "connect")
    def _fail_instead_of_waiting(dbapi_connection, _record):
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '20s'")  # a wait would fail the test instead of hanging it

    db.engine.dispose()
    other = Database(database_url, migrate=False)
    try:
        with other.session() as holding:  # another worker in the middle of claiming the oldest email
            holding.execute(text("SELECT id FROM outbox_emails WHERE id = (SELECT min(id) FROM outbox_emails) "
                                 "FOR UPDATE"))
            report = deliver_due(db, mailer=_mailer(smtp_server.port))
    finally:
        other.dispose()

    assert report.sent == 1
    assert [m["Subject"] for m in smtp_server.messages] == ["Order 2 confirmed"]
