"""Stripe payments through the official SDK, against a real localstripe server on 127.0.0.1.

Orders are placed through the orders service and paid through the payments service with the Stripe
provider; webhooks arrive through the HTTP route, signed offline with HMAC-SHA256 as Stripe signs them.
What reached "Stripe" is read back from localstripe with a Stripe client of the test's own.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
import stripe

from lookbook.errors import Conflict, PaymentFailed
from lookbook.notifications.models import Notification, OutboxEmail
from lookbook.orders import service as orders
from lookbook.orders.models import Order, OrderEvent, OrderStatus
from lookbook.payments import service as payments
from lookbook.payments.models import Payment, WebhookEvent
from lookbook.payments.tests.conftest import PRICE_MINOR, PUBLISHABLE_KEY, STOCK, WEBHOOK_SECRET
from lookbook.web import create_app
from lookbook.web.settings import Settings

WEBHOOK = "/api/v1/payments/stripe/webhook"
GOOD_CARD = "4242 4242 4242 4242"
# localstripe declines charges only for this card (Stripe's "decline after attaching"); it lets the sandbox's
# 4000 0000 0000 0002 through, which real Stripe declines.
DECLINED_CARD = "4000 0000 0000 0341"


def signature(payload: str, *, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    """The Stripe-Signature header Stripe sends: HMAC-SHA256 of "<timestamp>.<body>" with the signing secret."""
    at = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{at}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def stripe_event(stripe_api: stripe.StripeClient, kind: str, intent_id: str) -> str:
    """The body of the event localstripe recorded for this intent, as Stripe would deliver it."""
    found = [e.to_dict() for e in stripe_api.v1.events.list(params={"type": kind}).auto_paging_iter()]
    matching = [e for e in found if e["data"]["object"]["id"] == intent_id]
    assert len(matching) == 1, found
    return json.dumps(matching[0], indent=2)


def pay_in_the_browser(stripe_api: stripe.StripeClient, intent_id: str, payment_method: str) -> None:
    """What Stripe Elements does with the client secret: attach the card and confirm, straight with Stripe."""
    stripe_api.v1.payment_intents.update(intent_id, params={"payment_method": payment_method})
    stripe_api.v1.payment_intents.confirm(intent_id)


def all_intents(stripe_api: stripe.StripeClient) -> list[dict]:
    return [i.to_dict() for i in stripe_api.v1.payment_intents.list().auto_paging_iter()]


def order_state(db, order_id: int) -> dict:
    """Everything a payment may change about an order, to compare before and after."""
    with db.session() as session:
        order = session.get(Order, order_id)
        return {
            "status": order.status,
            "events": [e.type for e in orders.order_events(session, order_id)],
            "payments": [(p.status, p.failure_reason) for p in session.query(Payment).filter_by(order_id=order_id)],
            "notifications": session.query(Notification).count(),
            "emails": session.query(OutboxEmail).count(),
            "webhook_events": session.query(WebhookEvent).count(),
        }


# ---- creating and confirming ----------------------------------------------------------------------------


def test_creating_a_payment_twice_with_one_idempotency_key_makes_one_payment_intent(provider, stripe_api):
    first = provider.create(amount_minor=5198, currency="EUR", idempotency_key="order-7-attempt-1",
                            metadata={"order_id": 7})
    again = provider.create(amount_minor=5198, currency="EUR", idempotency_key="order-7-attempt-1",
                            metadata={"order_id": 7})

    assert again == first
    assert first.ref.startswith("pi_") and first.client_secret.startswith(first.ref + "_secret_")
    assert first.status == "pending"
    [intent] = all_intents(stripe_api)
    assert (intent["id"], intent["amount"], intent["currency"], intent["metadata"]) == (
        first.ref, 5198, "eur", {"order_id": "7"})
    other = provider.create(amount_minor=5198, currency="EUR", idempotency_key="order-7-attempt-2", metadata={})
    assert other.ref != first.ref and len(all_intents(stripe_api)) == 2


def test_starting_a_payment_again_after_stripes_answer_was_lost_reuses_the_payment_intent(db, shop, provider,
                                                                                         stripe_api):
    order_id = shop.order()

    class AnswerLost:
        """Stripe makes the intent, but its answer never reaches the shop."""
        name = "stripe"

        def create(self, **request):
            self.made = provider.create(**request)
            raise ConnectionError("connection reset while reading the answer")

    lost = AnswerLost()
    with pytest.raises(ConnectionError):
        payments.start_payment(db, order_id=order_id, user_id=shop.user_id, provider=lost)
    payment = payments.start_payment(db, order_id=order_id, user_id=shop.user_id, provider=provider)
    again = payments.start_payment(db, order_id=order_id, user_id=shop.user_id, provider=provider)

    assert payment.provider_ref == lost.made.ref == again.provider_ref
    assert payment.client_secret == lost.made.client_secret
    assert [i["id"] for i in all_intents(stripe_api)] == [lost.made.ref]
    assert shop.count(Payment) == 1


def test_paying_with_a_good_test_card_marks_the_order_paid_and_tells_the_customer(db, shop, provider, stripe_api):
    order_id = shop.order(quantity=2)

    order = payments.pay(db, order_id=order_id, user_id=shop.user_id, provider=provider, card_number=GOOD_CARD)

    assert order.status == OrderStatus.PAID
    state = order_state(db, order_id)
    assert state["events"] == ["placed", "paid"]
    assert state["payments"] == [("succeeded", None)]
    with db.session() as session:
        payment = session.query(Payment).filter_by(order_id=order_id).one()
        notification = session.query(Notification).one()
        email = session.query(OutboxEmail).one()
        paid_event = session.query(OrderEvent).filter_by(order_id=order_id, type="paid").one()
    assert (notification.user_id, notification.kind, notification.data) == (
        shop.user_id, "order_paid", {"order_id": order_id, "status": "paid"})
    assert (email.to_address, email.subject) == (shop.email, f"Order {order_id} confirmed")
    assert paid_event.data == {"payment_id": payment.id, "provider": "stripe", "amount_minor": 2 * PRICE_MINOR}
    intent = stripe_api.v1.payment_intents.retrieve(payment.provider_ref).to_dict()
    assert (intent["status"], intent["amount"], intent["currency"], intent["metadata"]) == (
        "succeeded", 2 * PRICE_MINOR, "eur", {"order_id": str(order_id)})
    assert shop.stock() == STOCK - 2


def test_a_declined_card_leaves_the_order_unpaid_with_the_reason_and_a_good_card_then_pays_it(db, shop, provider,
                                                                                              stripe_api):
    order_id = shop.order()

    with pytest.raises(PaymentFailed) as refused:
        payments.pay(db, order_id=order_id, user_id=shop.user_id, provider=provider, card_number=DECLINED_CARD)

    assert refused.value.code == "card_declined"
    state = order_state(db, order_id)
    assert state["status"] == OrderStatus.PENDING_PAYMENT
    assert state["events"] == ["placed", "payment_failed"]
    assert state["payments"] == [("failed", "card_declined")]
    assert (state["notifications"], state["emails"]) == (0, 0)
    with db.session() as session:
        failure = session.query(OrderEvent).filter_by(order_id=order_id, type="payment_failed").one()
    assert failure.data == {"reason": "card_declined"}
    [declined] = all_intents(stripe_api)
    assert declined["status"] == "requires_payment_method"
    assert declined["last_payment_error"]["code"] == "card_declined"
    assert shop.stock() == STOCK - 2  # still held for the customer

    order = payments.pay(db, order_id=order_id, user_id=shop.user_id, provider=provider, card_number=GOOD_CARD)

    assert order.status == OrderStatus.PAID
    assert order_state(db, order_id)["payments"] == [("failed", "card_declined"), ("succeeded", None)]
    assert sorted(i["status"] for i in all_intents(stripe_api)) == ["requires_payment_method", "succeeded"]


def test_a_card_number_stripe_has_no_test_payment_method_for_is_refused_without_charging(db, shop, provider,
                                                                                         stripe_api):
    order_id = shop.order()

    with pytest.raises(PaymentFailed) as refused:
        payments.pay(db, order_id=order_id, user_id=shop.user_id, provider=provider, card_number="5555 4444 3333 2222")

    assert refused.value.code == "card_number_not_a_stripe_test_card"
    assert order_state(db, order_id)["status"] == OrderStatus.PENDING_PAYMENT
    assert [i["status"] for i in all_intents(stripe_api)] == ["requires_payment_method"]


# ---- webhooks -------------------------------------------------------------------------------------------


def test_a_signed_payment_succeeded_webhook_marks_the_order_paid_once_and_a_repeat_is_a_duplicate(
        app, db, shop, provider, stripe_api):
    order_id = shop.order()
    payment = payments.start_payment(db, order_id=order_id, user_id=shop.user_id, provider=provider)
    pay_in_the_browser(stripe_api, payment.provider_ref, "pm_card_visa")
    body = stripe_event(stripe_api, "payment_intent.succeeded", payment.provider_ref)
    client = app.test_client()

    first = client.post(WEBHOOK, data=body, content_type="application/json",
                        headers={"Stripe-Signature": signature(body)})

    assert (first.status_code, first.json) == (200, {"result": "processed"})
    paid = order_state(db, order_id)
    assert paid["status"] == OrderStatus.PAID
    assert paid["events"] == ["placed", "paid"]
    assert paid["payments"] == [("succeeded", None)]
    assert (paid["notifications"], paid["emails"], paid["webhook_events"]) == (1, 1, 1)

    again = client.post(WEBHOOK, data=body, content_type="application/json",
                        headers={"Stripe-Signature": signature(body)})

    assert (again.status_code, again.json) == (200, {"result": "duplicate"})
    assert order_state(db, order_id) == paid


def test_a_signed_payment_failed_webhook_records_the_decline_and_leaves_the_order_unpaid(app, db, shop, provider,
                                                                                        stripe_api):
    order_id = shop.order()
    payment = payments.start_payment(db, order_id=order_id, user_id=shop.user_id, provider=provider)
    with pytest.raises(stripe.CardError):
        pay_in_the_browser(stripe_api, payment.provider_ref, "pm_card_chargeCustomerFail")
    body = stripe_event(stripe_api, "payment_intent.payment_failed", payment.provider_ref)

    response = app.test_client().post(WEBHOOK, data=body, content_type="application/json",
                                      headers={"Stripe-Signature": signature(body)})

    assert (response.status_code, response.json) == (200, {"result": "processed"})
    state = order_state(db, order_id)
    assert state["status"] == OrderStatus.PENDING_PAYMENT
    assert state["events"] == ["placed", "payment_failed"]
    assert state["payments"] == [("failed", "card_declined")]
    assert state["notifications"] == 0


def test_a_webhook_whose_signature_does_not_match_is_refused_with_400_and_changes_nothing(app, db, shop, provider,
                                                                                         stripe_api):
    order_id = shop.order()
    payment = payments.start_payment(db, order_id=order_id, user_id=shop.user_id, provider=provider)
    pay_in_the_browser(stripe_api, payment.provider_ref, "pm_card_visa")
    body = stripe_event(stripe_api, "payment_intent.succeeded", payment.provider_ref)
    before = order_state(db, order_id)
    client = app.test_client()
    forged = {
        "signed with another secret": (body, {"Stripe-Signature": signature(body, secret="whsec_someone_else")}),
        "body changed after signing": (body.replace('"succeeded"', '"succeeded" '),
                                       {"Stripe-Signature": signature(body)}),
        "signed ten minutes ago": (body, {"Stripe-Signature": signature(body, at=int(time.time()) - 600)}),
        "no signature": (body, {}),
        "signature header garbage": (body, {"Stripe-Signature": "v1=,t=yesterday"}),
        "body not UTF-8": (b"\xff\xfe{}", {"Stripe-Signature": signature("{}")}),
    }

    answers = {case: client.post(WEBHOOK, data=data, content_type="application/json", headers=headers)
               for case, (data, headers) in forged.items()}

    assert {case: (r.status_code, r.json["error"]["code"]) for case, r in answers.items()} == {
        case: (400, "webhook_signature_invalid") for case in forged}
    assert order_state(db, order_id) == before
    assert before["status"] == OrderStatus.PENDING_PAYMENT and before["webhook_events"] == 0


def test_a_webhook_for_a_payment_intent_the_shop_never_made_is_404_and_changes_nothing(app, db, shop, stripe_api):
    order_id = shop.order()
    stranger = stripe_api.v1.payment_intents.create(params={"amount": 999, "currency": "eur"}).id
    pay_in_the_browser(stripe_api, stranger, "pm_card_visa")
    body = stripe_event(stripe_api, "payment_intent.succeeded", stranger)
    before = order_state(db, order_id)

    response = app.test_client().post(WEBHOOK, data=body, content_type="application/json",
                                      headers={"Stripe-Signature": signature(body)})

    assert response.status_code == 404
    assert response.json["error"]["code"] == "payment_not_found"
    assert order_state(db, order_id) == before


def test_a_signed_event_the_shop_does_not_act_on_is_ignored(app, db, shop):
    order_id = shop.order()
    before = order_state(db, order_id)
    body = json.dumps({"id": "evt_customer_created", "object": "event", "type": "customer.created",
                       "data": {"object": {"id": "cus_1", "object": "customer"}}})

    response = app.test_client().post(WEBHOOK, data=body, content_type="application/json",
                                      headers={"Stripe-Signature": signature(body)})

    assert (response.status_code, response.json) == (200, {"result": "ignored"})
    assert order_state(db, order_id) == before


# ---- refunds --------------------------------------------------------------------------------------------


def test_refunding_a_paid_order_refunds_the_charge_at_stripe_and_puts_the_stock_back(app, db, shop, provider,
                                                                                     stripe_api):
    order_id = shop.order(quantity=3)
    payments.pay(db, order_id=order_id, user_id=shop.user_id, provider=provider, card_number=GOOD_CARD)
    assert shop.stock() == STOCK - 3
    providers = app.extensions["lookbook"].payment_providers

    order = payments.refund(db, order_id=order_id, providers=providers, actor_user_id=shop.admin_id)

    assert order.status == OrderStatus.REFUNDED
    assert shop.stock() == STOCK
    state = order_state(db, order_id)
    assert state["events"] == ["placed", "paid", "stock_released", "refunded"]
    assert state["payments"] == [("refunded", None)]
    with db.session() as session:
        payment = session.query(Payment).filter_by(order_id=order_id).one()
        kinds = [n.kind for n in session.query(Notification).order_by(Notification.id)]
    assert payment.refunded_minor == 3 * PRICE_MINOR
    assert kinds == ["order_paid", "order_refunded"]
    charge = stripe_api.v1.payment_intents.retrieve(
        payment.provider_ref, params={"expand": ["latest_charge"]}).to_dict()["latest_charge"]
    assert (charge["refunded"], charge["amount_refunded"]) == (True, 3 * PRICE_MINOR)

    with pytest.raises(Conflict):
        payments.refund(db, order_id=order_id, providers=providers, actor_user_id=shop.admin_id)
    refunds = stripe_api.v1.refunds.list(params={"payment_intent": payment.provider_ref}).to_dict()["data"]
    assert [r["amount"] for r in refunds] == [3 * PRICE_MINOR]


# ---- configuration --------------------------------------------------------------------------------------


def test_the_payment_config_names_the_enabled_providers_and_stripes_publishable_key(app):
    response = app.test_client().get("/api/v1/payments/config")

    assert (response.status_code, response.json) == (
        200, {"providers": ["sandbox", "stripe"], "stripe_publishable_key": PUBLISHABLE_KEY})


def test_without_stripe_configured_the_webhook_is_404_and_the_config_offers_only_the_sandbox(lookbook_env):
    settings = Settings.from_env(secret_key="s" * 48, token_signing_key="t" * 48, stripe_publishable_key="pk_test_unused")
    app = create_app(settings)
    client = app.test_client()
    try:
        body = json.dumps({"id": "evt_1", "object": "event", "type": "payment_intent.succeeded"})
        webhook = client.post(WEBHOOK, data=body, content_type="application/json",
                              headers={"Stripe-Signature": signature(body)})
        config = client.get("/api/v1/payments/config")
    finally:
        app.extensions["lookbook"].db.dispose()

    assert (webhook.status_code, webhook.json["error"]["code"]) == (404, "stripe_not_configured")
    assert config.json == {"providers": ["sandbox"], "stripe_publishable_key": None}
