"""The payment-provider interface. The order flow talks to this, never to a provider's SDK.

A provider creates a payment for an amount (with an idempotency key, so a retried request never charges
twice), confirms it where the shop confirms server-side (the sandbox), refunds it, and turns a signed
webhook into a ``ProviderEvent``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ProviderPayment:
    ref: str                      # the provider's id for this payment
    status: str                   # a PaymentStatus value
    client_secret: str | None = None
    failure_reason: str | None = None


@dataclass(frozen=True)
class ProviderEvent:
    id: str                       # the provider's event id (deduplicates repeated deliveries)
    type: str                     # "payment_succeeded", "payment_failed", "refunded", or "ignored"
    payment_ref: str | None
    failure_reason: str | None = None


class WebhookSignatureError(ValueError):
    """The webhook's signature does not match: it was not sent by the provider."""


class PaymentProvider(Protocol):
    name: str

    def create(self, *, amount_minor: int, currency: str, idempotency_key: str, metadata: dict) -> ProviderPayment: ...

    def confirm(self, *, ref: str, card_number: str | None, idempotency_key: str) -> ProviderPayment: ...

    def refund(self, *, ref: str, amount_minor: int, idempotency_key: str) -> ProviderPayment: ...

    def parse_webhook(self, *, payload: bytes, signature: str | None) -> ProviderEvent: ...


SANDBOX_CARDS = {
    "4242424242424242": None,                      # succeeds
    "4000000000000002": "card_declined",
    "4000000000009995": "insufficient_funds",
    "4000000000000069": "expired_card",
}


class SandboxProvider:
    """A built-in provider for the demo and tests: no network, test card numbers like Stripe's.

    4242 4242 4242 4242 pays; 4000 0000 0000 0002 is declined; 4000 0000 0000 9995 has insufficient
    funds; 4000 0000 0000 0069 is expired. Results are a pure function of the idempotency key and card, so
    a retried request gives the same answer.
    """

    name = "sandbox"

    def create(self, *, amount_minor: int, currency: str, idempotency_key: str, metadata: dict) -> ProviderPayment:
        ref = "sbx_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
        return ProviderPayment(ref=ref, status="pending", client_secret=None)

    def confirm(self, *, ref: str, card_number: str | None, idempotency_key: str) -> ProviderPayment:
        digits = re.sub(r"[\s-]", "", card_number or "")
        if digits not in SANDBOX_CARDS:
            return ProviderPayment(ref=ref, status="failed", failure_reason="card_number_unknown_to_sandbox")
        reason = SANDBOX_CARDS[digits]
        return ProviderPayment(ref=ref, status="failed" if reason else "succeeded", failure_reason=reason)

    def refund(self, *, ref: str, amount_minor: int, idempotency_key: str) -> ProviderPayment:
        return ProviderPayment(ref=ref, status="refunded")

    def parse_webhook(self, *, payload: bytes, signature: str | None) -> ProviderEvent:
        raise WebhookSignatureError("the sandbox sends no webhooks")
