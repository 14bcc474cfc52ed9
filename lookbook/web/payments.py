"""Payments over HTTP: which providers the shop takes, and Stripe's webhook. Paying an order is in orders.py."""

from __future__ import annotations

import marshmallow as ma
from flask import request

from lookbook.errors import NotFound
from lookbook.payments import service as payments
from lookbook.payments.providers import WebhookSignatureError
from lookbook.web.api import PUBLIC, ApiBlueprint, error_response, services

payments_bp = ApiBlueprint("payments", __name__, url_prefix="/api/v1/payments",
                           description="Payment providers, and the webhook Stripe calls")

WEBHOOK_RESULTS = ("processed", "duplicate", "ignored")
# The body is read raw (the signature covers its exact bytes), so it is documented, not parsed.
STRIPE_EVENT_BODY = {
    "required": True,
    "description": "A Stripe event, exactly as Stripe sends it",
    "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}},
}
STRIPE_SIGNATURE = {
    "in": "header", "name": "Stripe-Signature", "required": True, "schema": {"type": "string"},
    "description": "Stripe's signature of the body with the endpoint's signing secret: t=<time>,v1=<HMAC-SHA256>",
}


class PaymentConfigSchema(ma.Schema):
    providers = ma.fields.List(ma.fields.String(), required=True,
                               metadata={"description": "Enabled payment providers; the first is the default",
                                         "example": ["sandbox", "stripe"]})
    stripe_publishable_key = ma.fields.String(required=True, allow_none=True, metadata={
        "description": "For Stripe Elements in the browser; null when Stripe is not enabled"})


class WebhookResultSchema(ma.Schema):
    result = ma.fields.String(required=True, validate=ma.validate.OneOf(WEBHOOK_RESULTS), metadata={
        "description": "processed: applied now; duplicate: this event was applied before; ignored: not an event "
                       "the shop acts on"})


@payments_bp.route("/config", methods=["GET"])
@payments_bp.access(PUBLIC)
@payments_bp.response(200, PaymentConfigSchema)
def payment_config():
    """Which payment providers the shop takes, and the publishable key Stripe Elements needs."""
    enabled = services().payment_providers
    key = services().settings.stripe_publishable_key if "stripe" in enabled else None
    return {"providers": list(enabled), "stripe_publishable_key": key}


@payments_bp.route("/stripe/webhook", methods=["POST"])
@payments_bp.access(PUBLIC)
@payments_bp.response(200, WebhookResultSchema)
@payments_bp.doc(requestBody=STRIPE_EVENT_BODY, parameters=[STRIPE_SIGNATURE],
                 responses={"400": "BAD_REQUEST", "404": "NOT_FOUND"})
def stripe_webhook():
    """Stripe's signed events: a payment succeeded or failed. Each event is applied once; a repeated delivery
    answers "duplicate". A body the signature does not cover answers 400 and changes nothing."""
    provider = services().payment_providers.get("stripe")
    if provider is None:
        raise NotFound("Stripe payments are not configured on this shop", code="stripe_not_configured")
    try:
        result = payments.handle_webhook(services().db, provider=provider, payload=request.get_data(),
                                         signature=request.headers.get("Stripe-Signature"))
    except WebhookSignatureError as error:
        return error_response(400, "webhook_signature_invalid", str(error))
    return {"result": result}
