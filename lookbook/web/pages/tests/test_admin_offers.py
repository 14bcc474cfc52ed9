"""Admin deals and coupons (create, edit, switch off) and feedback moderation, with customers' text escaped."""

from __future__ import annotations

from lookbook.accounts import service as accounts
from lookbook.accounts.models import StylePreferences
from lookbook.catalog.tests.test_search_service import BLACK_TSHIRT
from lookbook.deals.models import Coupon, Deal
from lookbook.feedback import service as feedback
from lookbook.feedback.models import Feedback, Review
from lookbook.notifications.models import Notification
from lookbook.web.pages.tests.conftest import submit
from lookbook.web.pages.tests.test_admin_support import (
    db_of,
    flashes,
    place_order,
    text,
)

HOSTILE_TITLE = "<script>alert('title')</script>"
HOSTILE_BODY = '</textarea><img src=x onerror="alert(1)"> & more'


def _get(app, model, key):
    with db_of(app).session() as session:
        return session.get(model, key)


def _latest(app, model):
    with db_of(app).session() as session:
        return session.query(model).order_by(model.id.desc()).first()


def test_deals_are_created_with_exact_discounts_edited_and_switched_off(app, admin_browser, customer):
    with db_of(app).session() as session:  # a customer who asked for deal alerts and likes t-shirts
        user = accounts.get_customer(session, user_id=customer["user"]["id"])
        user.email_preferences = {**(user.email_preferences or {}), "deals": True}
        session.add(StylePreferences(user_id=user.id, categories=["Tshirts"]))
    made = submit(admin_browser, "/admin/deals/new", {"name": "Spring <sale>", "kind": "percent", "value": "12.5",
                                                      "category": "Tshirts", "product_id": "", "starts_at": "",
                                                      "ends_at": "2999-01-01T00:00", "active": "1"})
    assert made.status_code == 303 and made.headers["Location"] == "/admin/deals"
    deal = _latest(app, Deal)
    assert (deal.name, deal.kind, deal.value, deal.category, deal.product_id, deal.active) == (
        "Spring <sale>", "percent", 1250, "Tshirts", None, True)
    listing = admin_browser.get("/admin/deals")
    assert "Deal Spring &lt;sale&gt; is live. 1 customer who asked for deal alerts was told." in text(listing)
    assert "12.5 %" in text(listing)
    alert = _latest(app, Notification)
    assert (alert.user_id, alert.kind, alert.data["deal_id"]) == (customer["user"]["id"], "deal", deal.id)

    edited = submit(admin_browser, f"/admin/deals/{deal.id}", {"name": "Spring sale", "kind": "fixed", "value": "2.50",
                                                               "product_id": str(BLACK_TSHIRT), "category": "",
                                                               "starts_at": "2026-01-01T09:30", "ends_at": "",
                                                               "active": "1"})
    assert edited.status_code == 303
    deal = _get(app, Deal, deal.id)
    assert (deal.kind, deal.value, deal.product_id, deal.category, deal.ends_at) == ("fixed", 250, BLACK_TSHIRT,
                                                                                      None, None)
    assert deal.starts_at.strftime("%Y-%m-%d %H:%M") == "2026-01-01 09:30"
    assert 'value="2026-01-01T09:30"' in text(admin_browser.get(f"/admin/deals/{deal.id}"))

    switched_off = submit(admin_browser, f"/admin/deals/{deal.id}/deactivate")
    assert switched_off.status_code == 303 and _get(app, Deal, deal.id).active is False
    assert "inactive" in text(admin_browser.get("/admin/deals?active=false"))


def test_a_bad_deal_form_shows_the_problem_and_creates_nothing(app, admin_browser):
    base = {"name": "Sale", "kind": "percent", "value": "15", "active": "1"}
    for changes, message in (({"value": "0"}, "more than 0"), ({"value": "15.001"}, "at most two decimals"),
                             ({"value": "150"}, "basis points"), ({"kind": "half"}, "Must be one of"),
                             ({"product_id": "999999"}, "no such product"),
                             ({"product_id": "101", "category": "Tshirts"}, "not both"),
                             ({"ends_at": "yesterday"}, "Not a valid datetime"),
                             ({"starts_at": "2026-02-01T00:00", "ends_at": "2026-01-01T00:00"}, "after starts_at")):
        response = submit(admin_browser, "/admin/deals/new", {**base, **changes})
        assert response.status_code == 422, changes
        assert message in text(response), changes
    assert _latest(app, Deal) is None
    assert admin_browser.get("/admin/deals/999999").status_code == 404


def test_coupons_are_created_edited_and_switched_off(app, admin_browser):
    made = submit(admin_browser, "/admin/coupons/new", {"code": "welcome10", "kind": "percent", "value": "10",
                                                        "min_order": "20.00", "usage_limit": "", "active": "1"})
    assert made.status_code == 303
    coupon = _latest(app, Coupon)
    assert (coupon.code, coupon.value, coupon.min_order_minor, coupon.usage_limit, coupon.active) == (
        "WELCOME10", 1000, 2000, None, True)
    listing = text(admin_browser.get("/admin/coupons"))
    assert "WELCOME10" in listing and "10 %" in listing and "20.00" in listing

    taken = submit(admin_browser, "/admin/coupons/new", {"code": "Welcome10", "kind": "fixed", "value": "5"})
    assert taken.status_code == 422 and "already used by another coupon" in text(taken)

    edited = submit(admin_browser, f"/admin/coupons/{coupon.id}", {"code": "WELCOME10", "kind": "fixed", "value": "5",
                                                                   "min_order": "", "usage_limit": "100",
                                                                   "starts_at": "", "ends_at": "", "active": "1"})
    assert edited.status_code == 303
    coupon = _get(app, Coupon, coupon.id)
    assert (coupon.kind, coupon.value, coupon.min_order_minor, coupon.usage_limit) == ("fixed", 500, 0, 100)

    off = submit(admin_browser, f"/admin/coupons/{coupon.id}/deactivate")
    assert off.status_code == 303 and _get(app, Coupon, coupon.id).active is False
    assert "Coupon WELCOME10 is switched off" in " ".join(flashes(admin_browser.get("/admin/coupons")))


def test_reviews_are_hidden_and_published_with_hostile_text_shown_inert(app, admin_browser, customer):
    user_id = customer["user"]["id"]
    place_order(app, user_id, {BLACK_TSHIRT: 1})
    with db_of(app).session() as session:
        review_id = feedback.create_review(session, user_id=user_id, product_id=BLACK_TSHIRT, rating=2,
                                           title=HOSTILE_TITLE, body=HOSTILE_BODY).id

    page = text(admin_browser.get("/admin/reviews"))
    assert HOSTILE_TITLE not in page and HOSTILE_BODY not in page
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;" in page
    assert "&lt;/textarea&gt;&lt;img src=x onerror=&#34;alert(1)&#34;&gt; &amp; more" in page

    hidden = submit(admin_browser, f"/admin/reviews/{review_id}", {"status": "hidden", "status_filter": "published"})
    assert hidden.status_code == 303 and hidden.headers["Location"] == "/admin/reviews?status=published"
    assert _get(app, Review, review_id).status == "hidden"
    assert f"/admin/reviews/{review_id}" not in text(admin_browser.get("/admin/reviews?status=published"))
    assert f"/admin/reviews/{review_id}" in text(admin_browser.get("/admin/reviews?status=hidden"))
    assert submit(admin_browser, f"/admin/reviews/{review_id}", {"status": "published"}).status_code == 303
    assert _get(app, Review, review_id).status == "published"
    assert submit(admin_browser, f"/admin/reviews/{review_id}", {"status": "deleted"}).status_code == 303
    assert _get(app, Review, review_id).status == "published"  # refused, with a message
    assert submit(admin_browser, "/admin/reviews/999999", {"status": "hidden"}).status_code == 404


def test_feedback_is_listed_escaped_and_its_status_set(app, admin_browser, customer):
    with db_of(app).session() as session:
        item_id = feedback.send_feedback(session, user_id=customer["user"]["id"], subject=HOSTILE_TITLE,
                                         body=HOSTILE_BODY).id
    page = text(admin_browser.get("/admin/feedback?status=new"))
    assert HOSTILE_TITLE not in page and HOSTILE_BODY not in page and "&lt;script&gt;" in page
    marked = submit(admin_browser, f"/admin/feedback/{item_id}", {"status": "archived"})
    assert marked.status_code == 303 and _get(app, Feedback, item_id).status == "archived"
    assert f"Feedback #{item_id} is marked archived" in " ".join(flashes(admin_browser.get("/admin/feedback")))
    assert f"/admin/feedback/{item_id}" not in text(admin_browser.get("/admin/feedback?status=new"))
    assert f"/admin/feedback/{item_id}" in text(admin_browser.get("/admin/feedback?status=archived"))
