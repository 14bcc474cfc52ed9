"""Paying with Stripe Elements in the browser. Stripe.js cannot be reached from here, so the browser gets a
stand-in (fake_stripe.js) at Stripe's own URL, and the test plays Stripe's part against localstripe: it
confirms the PaymentIntent and delivers the signed webhook. What is tested is our page: it loads Stripe.js
under its CSP, mounts the card field, shows a refusal, and after a confirmation waits on the order page until
Stripe's webhook has marked the order paid."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from lookbook.catalog.models import ProductVariant
from lookbook.catalog.tests.test_search_service import BLACK_TSHIRT
from lookbook.orders import service as orders
from lookbook.payments.models import Payment
from lookbook.payments.tests.conftest import (  # noqa: F401  (fixtures)
    PUBLISHABLE_KEY, SECRET_KEY, WEBHOOK_SECRET, localstripe, localstripe_url, stripe_api,
)
from lookbook.payments.tests.test_stripe import WEBHOOK, pay_in_the_browser, signature, stripe_event
from lookbook.web.settings import Settings

from .conftest import log_in, screenshot

FAKE_STRIPE_JS = (Path(__file__).parent / "fake_stripe.js").read_text()
STRIPE_JS = "https://js.stripe.com/v3/"


@pytest.fixture
def settings(lookbook_env, localstripe):  # noqa: F811  (the store of these tests takes Stripe)
    return Settings.from_env(secret_key="test-secret-key-" + "x" * 32, token_signing_key="test-token-key-" + "y" * 32,
                             rate_limits_enabled=False, stripe_secret_key=SECRET_KEY,
                             stripe_publishable_key=PUBLISHABLE_KEY, stripe_webhook_secret=WEBHOOK_SECRET,
                             stripe_api_base=localstripe)


def _order(app, account) -> int:
    from sqlalchemy import select

    from lookbook.accounts.models import User

    with app.extensions["lookbook"].db.session() as session:
        user = session.scalar(select(User).where(User.email == account.email))
        variant_id = session.scalar(select(ProductVariant.id).where(ProductVariant.product_id == BLACK_TSHIRT))
        orders.add_to_cart(session, user_id=user.id, variant_id=variant_id, quantity=1)
        version = orders.view_cart(session, user_id=user.id).version
        return orders.checkout(session, user=user, cart_version=version).id


def test_a_customer_pays_with_stripe_elements_and_the_order_page_shows_it_paid_after_stripes_webhook(
        app, page, customer_account, stripe_api, browser_errors):
    order_id = _order(app, customer_account)
    page.context.route(STRIPE_JS, lambda route: route.fulfill(status=200, content_type="application/javascript",
                                                             body=FAKE_STRIPE_JS))
    log_in(page, customer_account)
    page.goto(f"/account/orders/{order_id}/pay")
    card = page.get_by_label("Card number (card)")
    expect(card).to_be_visible()
    assert page.evaluate("window.__stripe.key") == PUBLISHABLE_KEY

    stripe_form = page.locator("form[data-stripe-payment]")
    card.fill("4000 0000 0000 0002")
    stripe_form.get_by_role("button", name=re.compile("^Pay ")).click()
    expect(stripe_form.get_by_role("status")).to_have_text("Your card was declined.")
    expect(stripe_form.get_by_role("button", name=re.compile("^Pay "))).to_be_enabled()

    card.fill("4242 4242 4242 4242")
    stripe_form.get_by_role("button", name=re.compile("^Pay ")).click()
    expect(page).to_have_url(re.compile(rf"/account/orders/{order_id}\?paying=stripe$"))
    expect(page.get_by_text("waiting for its confirmation")).to_be_visible()
    with app.extensions["lookbook"].db.session() as session:
        payment = session.query(Payment).filter_by(order_id=order_id, provider="stripe").one()
    assert page.evaluate("sessionStorage.getItem('stripeConfirmed')") == stripe_api.v1.payment_intents.retrieve(
        payment.provider_ref).client_secret

    # Stripe's part: the card is charged, and Stripe tells the shop with a signed webhook.
    pay_in_the_browser(stripe_api, payment.provider_ref, "pm_card_visa")
    body = stripe_event(stripe_api, "payment_intent.succeeded", payment.provider_ref)
    assert app.test_client().post(WEBHOOK, data=body, content_type="application/json",
                                  headers={"Stripe-Signature": signature(body)}).status_code == 200
    expect(page.locator("main").get_by_text("Paid", exact=True).first).to_be_visible(timeout=10_000)  # it refreshes
    expect(page.get_by_text("waiting for its confirmation")).to_have_count(0)
    screenshot(page, "stripe-paid-order")
