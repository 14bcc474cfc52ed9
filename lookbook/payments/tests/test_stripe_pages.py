"""Stripe Elements on the customer's payment page, against localstripe: the page carries the PaymentIntent's
client secret and Stripe.js (allowed by the CSP), the card goes to Stripe, and the order page waits for
Stripe's webhook and then shows the order paid."""

from __future__ import annotations

import re
from dataclasses import replace

from lookbook.orders.models import OrderStatus
from lookbook.payments.models import Payment
from lookbook.payments.tests.conftest import PUBLISHABLE_KEY
from lookbook.payments.tests.test_stripe import WEBHOOK, pay_in_the_browser, signature, stripe_event
from lookbook.web import create_app
from lookbook.web.pages.tests.conftest import sign_in


def _browser(app, shop):
    browser = app.test_client()
    sign_in(browser, shop.email, "correct horse battery")
    return browser


def test_the_payment_page_takes_the_card_with_stripe_elements_and_the_order_page_waits_for_stripe(
        app, db, shop, stripe_api, stripe_settings, localstripe):
    order_id = shop.order()
    browser = _browser(app, shop)

    page = browser.get(f"/account/orders/{order_id}/pay")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    with db.session() as session:
        payment = session.query(Payment).filter_by(order_id=order_id, provider="stripe").one()
    intent = stripe_api.v1.payment_intents.retrieve(payment.provider_ref)
    assert f'data-client-secret="{intent.client_secret}"' in html
    assert f'data-publishable-key="{PUBLISHABLE_KEY}"' in html
    assert f'<script src="{stripe_settings.stripe_js_url}"></script>' in html
    assert re.search(r'<script src="/assets/js/stripe-pay\.js\?v=\w+" defer>', html)
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self' https://js.stripe.com" in policy
    assert "frame-src https://js.stripe.com https://hooks.stripe.com" in policy
    assert f"connect-src 'self' {localstripe}" in policy
    assert 'name="card_number"' in html  # the sandbox too, in development
    assert browser.get(f"/account/orders/{order_id}/pay").get_data(as_text=True).count(intent.client_secret) == 1
    with db.session() as session:  # a second visit reuses the same PaymentIntent
        assert session.query(Payment).filter_by(order_id=order_id, provider="stripe").count() == 1

    pay_in_the_browser(stripe_api, payment.provider_ref, "pm_card_visa")  # what stripe-pay.js asks Stripe to do
    waiting = browser.get(f"/account/orders/{order_id}?paying=stripe").get_data(as_text=True)
    assert "waiting for its confirmation" in waiting and '<meta http-equiv="refresh" content="3">' in waiting

    body = stripe_event(stripe_api, "payment_intent.succeeded", payment.provider_ref)
    assert app.test_client().post(WEBHOOK, data=body, content_type="application/json",
                                  headers={"Stripe-Signature": signature(body)}).status_code == 200
    paid = browser.get(f"/account/orders/{order_id}?paying=stripe").get_data(as_text=True)
    assert "waiting for its confirmation" not in paid and 'http-equiv="refresh"' not in paid
    with db.session() as session:
        from lookbook.orders.models import Order
        assert session.get(Order, order_id).status == OrderStatus.PAID


def test_without_the_sandbox_only_stripe_takes_the_card(stripe_settings, shop, db):
    app = create_app(replace(stripe_settings, sandbox_payments=False))
    order_id = shop.order()
    browser = _browser(app, shop)
    html = browser.get(f"/account/orders/{order_id}/pay").get_data(as_text=True)
    assert "data-stripe-payment" in html and 'name="card_number"' not in html
    refused = browser.post(f"/account/orders/{order_id}/pay", data={
        "csrf_token": re.search(r'name="csrf-token" content="([^"]+)"', html).group(1), "card_number": "4242424242424242"})
    assert refused.status_code == 409
    with db.session() as session:
        from lookbook.orders.models import Order
        assert session.get(Order, order_id).status == OrderStatus.PENDING_PAYMENT
    app.extensions["lookbook"].db.dispose()
