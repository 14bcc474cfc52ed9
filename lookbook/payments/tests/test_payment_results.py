"""What the provider reports about a payment is applied once, in the only order that makes sense."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from lookbook.deals.pricing import now_utc
from lookbook.orders import service as orders
from lookbook.orders.models import Order, OrderStatus
from lookbook.orders.tests.conftest import db, make_customer, make_product  # noqa: F401  (db is a fixture)
from lookbook.payments import service as payments
from lookbook.payments.models import Payment
from lookbook.payments.providers import ProviderPayment, SandboxProvider


def _order(db):
    ada = make_customer(db)
    _, [variant] = make_product(db)
    with db.session() as session:
        orders.add_to_cart(session, user_id=ada.id, variant_id=variant, quantity=1)
        version = orders.view_cart(session, user_id=ada.id).version
        return orders.checkout(session, user=session.merge(ada), cart_version=version), ada


def test_payment_keys_are_unique_even_for_equal_order_ids_in_two_databases(db):
    order, ada = _order(db)
    first = payments.start_payment(db, order_id=order.id, user_id=ada.id, provider=SandboxProvider())
    again = payments.start_payment(db, order_id=order.id, user_id=ada.id, provider=SandboxProvider())
    assert first.idempotency_key == again.idempotency_key  # a retry reuses the key
    assert first.idempotency_key.startswith(f"order-{order.id}-attempt-1-") and len(first.idempotency_key) > 25


def test_a_failed_attempt_that_later_succeeds_pays_the_order(db):
    order, ada = _order(db)
    payment = payments.start_payment(db, order_id=order.id, user_id=ada.id, provider=SandboxProvider())
    payments.apply_result(db, payment_ref=payment.provider_ref,
                          result=ProviderPayment(payment.provider_ref, "failed", failure_reason="card_declined"))
    payments.apply_result(db, payment_ref=payment.provider_ref, result=ProviderPayment(payment.provider_ref, "succeeded"))
    payments.apply_result(db, payment_ref=payment.provider_ref,
                          result=ProviderPayment(payment.provider_ref, "failed", failure_reason="late echo"))
    with db.session() as session:
        assert session.get(Order, order.id).status == OrderStatus.PAID
        assert session.scalar(select(Payment.status)) == "succeeded"


def test_money_arriving_for_a_cancelled_order_is_recorded_for_a_refund(db):
    order, ada = _order(db)
    payment = payments.start_payment(db, order_id=order.id, user_id=ada.id, provider=SandboxProvider())
    with db.session() as session:
        orders.expire_unpaid_orders(session, now=now_utc() + orders.PAYMENT_WINDOW + timedelta(minutes=1))
    payments.apply_result(db, payment_ref=payment.provider_ref, result=ProviderPayment(payment.provider_ref, "succeeded"))
    with db.session() as session:
        assert session.get(Order, order.id).status == OrderStatus.CANCELLED
        assert orders.order_events(session, order.id)[-1].type == "paid_after_cancel"
