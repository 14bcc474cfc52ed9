"""Payments for orders: start, confirm, webhooks, refunds. Provider calls happen outside database transactions
and carry idempotency keys, so a retry after a crash never charges twice and repairs what was left half-done.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lookbook.db import Database
from lookbook.errors import Conflict, NotFound, PaymentFailed
from lookbook.orders import service as orders
from lookbook.orders.models import Order, OrderStatus
from lookbook.payments.models import Payment, PaymentStatus, WebhookEvent
from lookbook.payments.providers import PaymentProvider, ProviderPayment


def _open_payment(session: Session, order: Order, provider: PaymentProvider) -> Payment:
    """The order's pending payment with this provider, or a new one with a fresh idempotency key."""
    payment = session.scalar(select(Payment).where(Payment.order_id == order.id, Payment.provider == provider.name,
                                                   Payment.status == PaymentStatus.PENDING).order_by(Payment.id.desc()))
    if payment is None:
        attempt = (session.scalar(select(func.count()).where(Payment.order_id == order.id)) or 0) + 1
        # The random part keeps keys unique across databases sharing one provider account (a reset demo
        # database must never replay another database's paid intent); retries reuse the stored key.
        key = f"order-{order.id}-attempt-{attempt}-{uuid.uuid4().hex[:12]}"
        payment = Payment(order_id=order.id, provider=provider.name, idempotency_key=key,
                          amount_minor=order.total_minor, currency=order.currency, status=PaymentStatus.PENDING)
        session.add(payment)
        session.flush()
    return payment


def start_payment(db: Database, *, order_id: int, user_id: int | None, provider: PaymentProvider) -> Payment:
    """Make sure the order has a payment at the provider (for Stripe: a PaymentIntent with its client secret)."""
    with db.session() as session:
        order = orders.get_order(session, order_id=order_id, user_id=user_id)
        if order.status != OrderStatus.PENDING_PAYMENT:
            raise Conflict(f"order {order_id} is {order.status}, not awaiting payment", code="order_not_payable")
        payment = _open_payment(session, order, provider)
        if payment.provider_ref:
            return payment
        key, amount, currency = payment.idempotency_key, payment.amount_minor, payment.currency
    created = provider.create(amount_minor=amount, currency=currency, idempotency_key=key,
                              metadata={"order_id": str(order_id)})
    with db.session() as session:
        payment = session.scalar(select(Payment).where(Payment.idempotency_key == key))
        payment.provider_ref, payment.client_secret = created.ref, created.client_secret
        return payment


def pay(db: Database, *, order_id: int, user_id: int, provider: PaymentProvider, card_number: str | None) -> Order:
    """Confirm the order's payment server-side (the sandbox's card numbers); a refusal leaves it unpaid."""
    payment = start_payment(db, order_id=order_id, user_id=user_id, provider=provider)
    result = provider.confirm(ref=payment.provider_ref, card_number=card_number,
                              idempotency_key=f"{payment.idempotency_key}-confirm")
    order = apply_result(db, payment_ref=payment.provider_ref, result=result)
    if result.status == PaymentStatus.FAILED:
        raise PaymentFailed(f"the payment was refused: {result.failure_reason}", code=result.failure_reason or "payment_failed")
    return order


def apply_result(db: Database, *, payment_ref: str, result: ProviderPayment) -> Order:
    """Record what the provider says about a payment; the order becomes paid exactly once."""
    with db.session() as session:
        payment = session.scalar(select(Payment).where(Payment.provider_ref == payment_ref))
        if payment is None:
            raise NotFound(f"no payment {payment_ref}", code="payment_not_found")
        order = orders.lock_order(session, payment.order_id)
        # Settled payments do not change again (a repeated event changes nothing), except that a failed
        # attempt may still succeed: with Stripe Elements the customer can retry on the same intent.
        retried = payment.status == PaymentStatus.FAILED and result.status == PaymentStatus.SUCCEEDED
        if payment.status != PaymentStatus.PENDING and not retried:
            return order
        payment.status = result.status
        payment.failure_reason = result.failure_reason
        if result.status == PaymentStatus.SUCCEEDED:
            details = {"payment_id": payment.id, "provider": payment.provider, "amount_minor": payment.amount_minor}
            if order.status == OrderStatus.PENDING_PAYMENT:
                orders.transition(session, order, OrderStatus.PAID, data=details)
            else:  # money arrived for an order that was cancelled meanwhile: the shop must refund it
                orders.record_late_payment(session, order, details)
        elif result.status == PaymentStatus.FAILED:
            orders.record_payment_failure(session, order, result.failure_reason or "payment_failed")
        return order


def handle_webhook(db: Database, *, provider: PaymentProvider, payload: bytes, signature: str | None) -> str:
    """Apply a provider's signed event once; a repeated delivery answers "duplicate" and changes nothing."""
    event = provider.parse_webhook(payload=payload, signature=signature)
    if event.type == "ignored":
        return "ignored"
    with db.session() as session:
        if session.get(WebhookEvent, event.id) is not None:
            return "duplicate"
        if event.payment_ref is None or session.scalar(
                select(Payment.id).where(Payment.provider_ref == event.payment_ref)) is None:
            raise NotFound("the event is for a payment this shop does not know", code="payment_not_found")
    status = {"payment_succeeded": PaymentStatus.SUCCEEDED, "payment_failed": PaymentStatus.FAILED}.get(event.type)
    if status is not None:
        apply_result(db, payment_ref=event.payment_ref,
                     result=ProviderPayment(ref=event.payment_ref, status=status, failure_reason=event.failure_reason))
    try:
        with db.session() as session:
            session.add(WebhookEvent(id=event.id, provider=provider.name, type=event.type))
    except IntegrityError:
        return "duplicate"  # a concurrent delivery of the same event won the race; apply_result was a no-op
    return "processed"


def latest_payment(session: Session, *, order_id: int) -> Payment | None:
    return session.scalar(select(Payment).where(Payment.order_id == order_id).order_by(Payment.id.desc()))


def _succeeded_payment(session: Session, order: Order) -> Payment:
    payment = session.scalar(select(Payment).where(Payment.order_id == order.id,
                                                   Payment.status == PaymentStatus.SUCCEEDED))
    if payment is None:
        raise Conflict(f"order {order.id} has no completed payment to refund", code="nothing_to_refund")
    return payment


def refund(db: Database, *, order_id: int, providers: dict[str, PaymentProvider], actor_user_id: int,
           cancel: bool = False) -> Order:
    """Refund a paid order in full at its provider, then mark it refunded (or cancelled, before shipping)."""
    target = OrderStatus.CANCELLED if cancel else OrderStatus.REFUNDED
    with db.session() as session:
        order = orders.get_order(session, order_id=order_id)
        if target not in orders.TRANSITIONS[OrderStatus(order.status)]:
            orders.transition(session, order, target)  # raises the typed invalid_status_change error
        payment = _succeeded_payment(session, order)
        ref, amount, provider_name = payment.provider_ref, payment.amount_minor, payment.provider
        payment_key = payment.idempotency_key
    if provider_name not in providers:
        raise Conflict(f"order {order_id} was paid through {provider_name}, which is not configured here; "
                       f"refund it with {provider_name} directly", code="provider_unavailable")
    providers[provider_name].refund(ref=ref, amount_minor=amount, idempotency_key=f"refund-{payment_key}")
    with db.session() as session:
        order = orders.lock_order(session, order_id)
        payment = _succeeded_payment(session, order)
        payment.status, payment.refunded_minor = PaymentStatus.REFUNDED, amount
        return orders.transition(session, order, target, actor_user_id=actor_user_id,
                                 data={"refunded_minor": amount, "payment_id": payment.id})


def change_order_status(db: Database, *, order_id: int, to: OrderStatus, providers: dict[str, PaymentProvider],
                        actor_user_id: int, note: str | None = None) -> None:
    """An admin's status change: ship, deliver, cancel or refund. Cancelling a paid order and refunding one
    give the money back at its provider first; the orders service refuses what the status forbids."""
    with db.session() as session:
        current = orders.get_order(session, order_id=order_id).status
    paid = current in (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED)
    if to == OrderStatus.REFUNDED or (to == OrderStatus.CANCELLED and paid):
        refund(db, order_id=order_id, providers=providers, actor_user_id=actor_user_id,
               cancel=to == OrderStatus.CANCELLED)
        return
    with db.session() as session:
        orders.transition(session, orders.lock_order(session, order_id), to, actor_user_id=actor_user_id,
                          data={"note": note} if note else {})
