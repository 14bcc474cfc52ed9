"""Where the outbox is delivered: a background thread of each web process, and `lookbook outbox deliver`."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import select, update

from lookbook.cli import main
from lookbook.db import Database
from lookbook.notifications.models import OutboxEmail
from lookbook.notifications.service import notify
from lookbook.notifications.tests.conftest import free_port, make_user
from lookbook.orders import service as orders
from lookbook.orders.models import Order, OrderStatus
from lookbook.orders.tests.conftest import make_product
from lookbook.web import create_app


def _outbox_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "lookbook-outbox"]


def test_an_app_without_a_mail_server_starts_no_delivery_thread(app):
    assert "lookbook_outbox" not in app.extensions
    assert _outbox_threads() == []


def test_the_running_store_delivers_the_outbox_in_the_background_and_stops_cleanly(settings, catalog, smtp_server):
    app = create_app(replace(settings, smtp_host="127.0.0.1", smtp_port=smtp_server.port, outbox_interval=0.05),
                     catalog=catalog)
    worker = app.extensions["lookbook_outbox"]
    try:
        assert worker.running
        db = app.extensions["lookbook"].db
        ada = make_user(db, "Ada")
        with db.session() as session:
            notify(session, user=ada, kind="order_shipped", title="Order 3 shipped", body="Order 3 is on its way.")

        assert smtp_server.sink.received.wait(timeout=60), "the background thread sent nothing"
    finally:
        worker.stop()

    assert not worker.running and _outbox_threads() == []
    assert [(m["To"], m["Subject"]) for m in smtp_server.messages] == [(ada.email, "Order 3 shipped")]
    with db.session() as session:
        assert session.scalar(select(OutboxEmail.sent_at)) is not None


def test_lookbook_outbox_deliver_sends_what_is_due_through_the_configured_server(cli_env, database_url, smtp_server,
                                                                                  monkeypatch):
    db = Database(database_url)
    try:
        ada = make_user(db, "Ada")
        with db.session() as session:
            notify(session, user=ada, kind="order_paid", title="Order 5 confirmed", body="We received your payment.")
        monkeypatch.setenv("LOOKBOOK_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("LOOKBOOK_SMTP_PORT", str(smtp_server.port))
        monkeypatch.setenv("LOOKBOOK_MAIL_FROM", "Shop <shop@lookbook.example>")

        first = CliRunner().invoke(main, ["outbox", "deliver"])
        second = CliRunner().invoke(main, ["outbox", "deliver"])

        assert first.exit_code == 0, first.output
        assert "sent 1 email(s), 0 failed" in first.output
        assert "sent 0 email(s)" in second.output
        [message] = smtp_server.messages
        assert (message["To"], message["From"], message["Subject"]) == (
            ada.email, "Shop <shop@lookbook.example>", "Order 5 confirmed")
        with db.session() as session:
            assert session.scalar(select(OutboxEmail.sent_at)) is not None
    finally:
        db.dispose()


def test_lookbook_outbox_deliver_keeps_the_email_when_the_server_is_down_and_needs_a_server(cli_env, database_url,
                                                                                              monkeypatch):
    db = Database(database_url)
    try:
        with db.session() as session:
            notify(session, user=make_user(db), kind="order_paid", title="Order 6 confirmed", body="Paid.")
        unconfigured = CliRunner().invoke(main, ["outbox", "deliver"])
        monkeypatch.setenv("LOOKBOOK_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("LOOKBOOK_SMTP_PORT", str(free_port()))

        down = CliRunner().invoke(main, ["outbox", "deliver"])

        assert unconfigured.exit_code != 0 and "LOOKBOOK_SMTP_HOST" in unconfigured.output
        assert down.exit_code == 0 and "sent 0 email(s), 1 failed (kept in the outbox" in down.output
        with db.session() as session:
            email = session.scalar(select(OutboxEmail))
            assert email.sent_at is None and email.attempts == 1 and email.last_error
    finally:
        db.dispose()


def test_lookbook_orders_expire_cancels_unpaid_orders_whose_window_passed(cli_env, database_url):
    db = Database(database_url)
    try:
        ada = make_user(db)
        _, [variant] = make_product(db, stock=3)
        with db.session() as session:
            orders.add_to_cart(session, user_id=ada.id, variant_id=variant, quantity=1)
        with db.session() as session:
            version = orders.view_cart(session, user_id=ada.id).version
            order = orders.checkout(session, user=session.merge(ada), cart_version=version)
        with db.session() as session:
            session.execute(update(Order).where(Order.id == order.id)
                            .values(payment_due_at=order.payment_due_at - timedelta(hours=1)))

        result = CliRunner().invoke(main, ["orders", "expire"])
        again = CliRunner().invoke(main, ["orders", "expire"])

        assert result.exit_code == 0, result.output
        assert "cancelled 1 unpaid order(s)" in result.output and "cancelled 0" in again.output
        with db.session() as session:
            assert session.get(Order, order.id).status == OrderStatus.CANCELLED
    finally:
        db.dispose()
