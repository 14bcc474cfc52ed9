"""Stripe behind the ``PaymentProvider`` interface, through the official SDK (one ``StripeClient`` per provider).

A payment is a PaymentIntent: the browser pays it with Stripe Elements and its client secret, and Stripe
tells the shop through a signed webhook. Server-side confirmation with a card number exists for tests and
back-office use in test mode only: the sandbox's test card numbers map to Stripe's test PaymentMethods.
Every request that changes something carries an idempotency key, so a retry never charges twice.
"""

from __future__ import annotations

import logging
import re

import stripe

from lookbook.errors import PaymentFailed
from lookbook.payments.models import PaymentStatus
from lookbook.payments.providers import ProviderEvent, ProviderPayment, WebhookSignatureError

log = logging.getLogger(__name__)

# Stripe's test PaymentMethods for the sandbox's test card numbers (Stripe wants no raw card numbers, even
# in test mode). 4000 0000 0000 0341 attaches but its charges are declined.
TEST_PAYMENT_METHODS = {
    "4242424242424242": "pm_card_visa",
    "4000000000000002": "pm_card_visa_chargeDeclined",
    "4000000000009995": "pm_card_visa_chargeDeclinedInsufficientFunds",
    "4000000000000069": "pm_card_chargeDeclinedExpiredCard",
    "4000000000000341": "pm_card_chargeCustomerFail",
}
EVENT_TYPES = {"payment_intent.succeeded": "payment_succeeded", "payment_intent.payment_failed": "payment_failed"}
PENDING_STATES = {"requires_payment_method", "requires_confirmation", "requires_action", "processing",
                  "requires_capture"}


def decline_reason(error: dict | None) -> str:
    """The reason a card was refused, in the sandbox's words: ``insufficient_funds``, ``expired_card``, or
    ``card_declined`` where Stripe gives no more than a generic decline."""
    error = error or {}
    decline = error.get("decline_code")
    if decline and decline != "generic_decline":
        return decline
    return error.get("code") or "card_declined"


def intent_status(intent: dict) -> str:
    """Our PaymentStatus for a PaymentIntent: a refused attempt puts it back to requires_payment_method with
    its ``last_payment_error``; that attempt failed."""
    status = intent.get("status")
    if status == "succeeded":
        return PaymentStatus.SUCCEEDED
    if status == "canceled" or (status == "requires_payment_method" and intent.get("last_payment_error")):
        return PaymentStatus.FAILED
    if status not in PENDING_STATES:
        log.warning("PaymentIntent %s has a status this shop does not know: %r", intent.get("id"), status)
    return PaymentStatus.PENDING  # not settled: record nothing yet


class StripeProvider:
    name = "stripe"

    def __init__(self, secret_key: str, webhook_secret: str | None, api_base: str | None = None):
        self._webhook_secret = webhook_secret
        self.test_mode = not secret_key.startswith(("sk_live_", "rk_live_"))
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base.rstrip("/")} if api_base else None,
            max_network_retries=2,  # safe: every changing request carries an idempotency key
            http_client=stripe.RequestsClient(timeout=(5, 30)),  # a web worker must not hang for Stripe's 80 s
        )

    def __repr__(self) -> str:  # never show the key
        return f"StripeProvider(test_mode={self.test_mode})"

    def _payment(self, intent) -> ProviderPayment:
        data = intent.to_dict()
        status = intent_status(data)
        reason = decline_reason(data.get("last_payment_error")) if status == PaymentStatus.FAILED else None
        return ProviderPayment(ref=data["id"], status=status, client_secret=data.get("client_secret"),
                               failure_reason=reason)

    def create(self, *, amount_minor: int, currency: str, idempotency_key: str, metadata: dict) -> ProviderPayment:
        """A PaymentIntent; the same idempotency key gives back the same intent."""
        params = {"amount": amount_minor, "currency": currency.lower(),
                  "metadata": {str(k): str(v) for k, v in metadata.items()}}
        intent = _call(lambda: self._client.v1.payment_intents.create(
            params=params, options={"idempotency_key": idempotency_key}))
        return self._payment(intent)

    def confirm(self, *, ref: str, card_number: str | None, idempotency_key: str) -> ProviderPayment:
        """Pay the intent with a test card (test mode); without a card, report what Stripe knows of it (the
        browser confirms with Stripe Elements)."""
        if card_number is None:
            return self._payment(_call(lambda: self._client.v1.payment_intents.retrieve(ref)))
        if not self.test_mode:
            return _failed(ref, "stripe_live_mode_needs_stripe_elements")
        method = TEST_PAYMENT_METHODS.get(re.sub(r"[\s-]", "", card_number))
        if method is None:
            return _failed(ref, "card_number_not_a_stripe_test_card")
        intents = self._client.v1.payment_intents
        try:
            # Attach, then confirm: two requests, each replayed as it was if this call is retried.
            _call(lambda: intents.update(ref, params={"payment_method": method},
                                         options={"idempotency_key": f"{idempotency_key}-payment-method"}))
            intent = _call(lambda: intents.confirm(ref, options={"idempotency_key": idempotency_key}))
        except stripe.CardError as declined:
            body = declined.json_body if isinstance(declined.json_body, dict) else {}
            return _failed(ref, decline_reason(body.get("error")))
        return self._payment(intent)

    def refund(self, *, ref: str, amount_minor: int, idempotency_key: str) -> ProviderPayment:
        """Refund (part of) the intent's charge."""
        _call(lambda: self._client.v1.refunds.create(params={"payment_intent": ref, "amount": amount_minor},
                                                     options={"idempotency_key": idempotency_key}))
        return ProviderPayment(ref=ref, status=PaymentStatus.REFUNDED)

    def parse_webhook(self, *, payload: bytes, signature: str | None) -> ProviderEvent:
        """A verified event; anything not signed with the webhook secret raises WebhookSignatureError."""
        if not self._webhook_secret:
            raise WebhookSignatureError("no Stripe webhook secret is configured (LOOKBOOK_STRIPE_WEBHOOK_SECRET)")
        try:
            event = self._client.construct_event(payload, signature, self._webhook_secret)
        except (stripe.SignatureVerificationError, ValueError) as error:  # ValueError: not UTF-8, not JSON
            raise WebhookSignatureError(f"this is not an event signed by Stripe: {error}") from None
        data = event.to_dict()
        if not data.get("id"):
            raise WebhookSignatureError("this is not an event signed by Stripe: it has no id")
        obj = (data.get("data") or {}).get("object") or {}
        kind = EVENT_TYPES.get(data.get("type"), "ignored")
        if kind != "ignored" and obj.get("object") != "payment_intent":
            kind = "ignored"
        reason = decline_reason(obj.get("last_payment_error")) if kind == "payment_failed" else None
        return ProviderEvent(id=str(data["id"]), type=kind, payment_ref=obj.get("id") if kind != "ignored" else None,
                             failure_reason=reason)


def _failed(ref: str, reason: str) -> ProviderPayment:
    return ProviderPayment(ref=ref, status=PaymentStatus.FAILED, failure_reason=reason)


def _call(request):
    """Run one Stripe request; when Stripe cannot be reached or is overloaded, say so as a typed error that
    changed nothing here (a retry repeats the request with the same idempotency key)."""
    try:
        return request()
    except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as error:
        log.warning("Stripe request failed: %r", error)
        raise PaymentFailed("the payment service cannot be reached just now; try again in a minute",
                            code="payment_provider_unavailable") from None
