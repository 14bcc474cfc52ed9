"""Reviews and feedback in the customer dashboard: only buyers review, reviews are edited and deleted, messages
to the shop are listed with their status, and hostile text is shown inert."""

from __future__ import annotations

from lookbook.catalog.tests.test_search_service import BLACK_TSHIRT, BLUE_TSHIRT
from lookbook.feedback import service as feedback
from lookbook.web.pages.tests.conftest import submit
from lookbook.web.pages.tests.test_account_cart import (
    GOOD_CARD,
    another_shopper,
    db,
    html,
    pay,
    place_order,
    user_id,
)

HOSTILE = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'
ESCAPED = "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"


def bought(app, browser, product_id: int = BLACK_TSHIRT) -> int:
    order_id = place_order(browser, app, product_id)
    assert pay(browser, order_id, GOOD_CARD).status_code == 303
    return order_id


def my_reviews(app, browser):
    with db(app).session() as session:
        return feedback.my_reviews(session, user_id=user_id(browser))


def test_a_buyer_reviews_a_bought_product_and_others_are_refused_with_the_services_reason(app, shopper):
    assert "Once an order is paid" in html(shopper, "/account/reviews")
    bought(app, shopper)
    page = html(shopper, "/account/reviews")
    assert f'<option value="{BLACK_TSHIRT}"' in page and f'<option value="{BLUE_TSHIRT}"' not in page

    refused = submit(shopper, "/account/reviews", {"product_id": BLUE_TSHIRT, "rating": "5", "body": "Love it"})
    assert refused.status_code == 403
    assert "only customers who bought this product" in refused.get_data(as_text=True)
    assert 'Love it</textarea>' in refused.get_data(as_text=True)  # the text is kept for another try

    written = submit(shopper, "/account/reviews", {"product_id": BLACK_TSHIRT, "rating": "4", "title": "Nice",
                                                   "body": "Soft and warm"})
    assert written.status_code == 303 and written.headers["Location"] == "/account/reviews"
    page = html(shopper, "/account/reviews")
    assert "Thank you for your review" in page and "Soft and warm" in page and "4 out of 5 stars" in page
    assert f'<option value="{BLACK_TSHIRT}"' not in page  # reviewed: no longer offered
    assert [(r.product_id, r.rating, r.title) for r in my_reviews(app, shopper)] == [(BLACK_TSHIRT, 4, "Nice")]

    twice = submit(shopper, "/account/reviews", {"product_id": BLACK_TSHIRT, "rating": "3"})
    assert twice.status_code == 409 and "you already reviewed this product" in twice.get_data(as_text=True)


def test_a_review_from_a_product_page_goes_back_there_with_its_message(app, shopper):
    back = submit(shopper, "/account/reviews", {"product_id": BLUE_TSHIRT, "rating": "5", "body": "x",
                                                "next": f"/products/{BLUE_TSHIRT}"})
    assert back.status_code == 303 and back.headers["Location"] == f"/products/{BLUE_TSHIRT}"
    assert "only customers who bought this product" in html(shopper, "/account")
    bad = submit(shopper, "/account/reviews", {"product_id": BLUE_TSHIRT, "rating": "9",
                                               "next": f"/products/{BLUE_TSHIRT}"})
    assert bad.status_code == 303 and "Please check the rating" in html(shopper, "/account")
    assert my_reviews(app, shopper) == []

    bought(app, shopper)
    done = submit(shopper, "/account/reviews", {"product_id": BLACK_TSHIRT, "rating": "5", "body": "Great",
                                                "next": f"/products/{BLACK_TSHIRT}"})
    assert done.headers["Location"] == f"/products/{BLACK_TSHIRT}"
    assert len(my_reviews(app, shopper)) == 1


def test_malformed_review_fields_are_shown_on_the_form(app, shopper):
    bought(app, shopper)
    for data in ({"product_id": "abc", "rating": "5"}, {"product_id": BLACK_TSHIRT, "rating": "0"},
                 {"product_id": BLACK_TSHIRT}, {"product_id": "99999999999999999999999", "rating": "5"}):
        response = submit(shopper, "/account/reviews", data)
        assert response.status_code == 422, data
        assert 'class="field-error"' in response.get_data(as_text=True), data
    unknown = submit(shopper, "/account/reviews", {"product_id": 987654, "rating": "5"})
    assert unknown.status_code == 404 and "no product with id 987654" in unknown.get_data(as_text=True)
    assert my_reviews(app, shopper) == []


def test_editing_and_deleting_my_review_but_not_someone_elses(app, client, shopper):
    bought(app, shopper)
    submit(shopper, "/account/reviews", {"product_id": BLACK_TSHIRT, "rating": "2", "title": "Meh", "body": "Small"})
    review_id = my_reviews(app, shopper)[0].id

    bad = submit(shopper, f"/account/reviews/{review_id}", {f"r{review_id}-rating": "7"})
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.get_data(as_text=True)
    edited = submit(shopper, f"/account/reviews/{review_id}", {f"r{review_id}-rating": "5", f"r{review_id}-title": "",
                                                               f"r{review_id}-body": "Fits after all"})
    assert edited.status_code == 303
    assert "Your review is updated." in html(shopper, "/account/reviews")
    review = my_reviews(app, shopper)[0]
    assert (review.rating, review.title, review.body) == (5, None, "Fits after all")

    eve = another_shopper(app, client)
    assert submit(eve, f"/account/reviews/{review_id}", {f"r{review_id}-rating": "1"}).status_code == 404
    assert submit(eve, f"/account/reviews/{review_id}/delete").status_code == 404
    assert my_reviews(app, shopper)[0].rating == 5

    assert submit(shopper, f"/account/reviews/{review_id}/delete").status_code == 303
    assert my_reviews(app, shopper) == []
    assert "Your review is deleted." in html(shopper, "/account/reviews")


def test_feedback_is_sent_listed_with_its_status_and_checked(app, shopper):
    blank = submit(shopper, "/account/feedback", {"subject": "", "body": "Hello"})
    assert blank.status_code == 422 and 'value=""' in blank.get_data(as_text=True)
    spaces = submit(shopper, "/account/feedback", {"subject": "Hi", "body": "   "})
    assert spaces.status_code == 422 and "must not be blank" in spaces.get_data(as_text=True)

    sent = submit(shopper, "/account/feedback", {"subject": "Delivery times", "body": "Do you ship to Malta?"})
    assert sent.status_code == 303
    page = html(shopper, "/account/reviews")
    assert "Your message was sent" in page and "Delivery times" in page and "Do you ship to Malta?" in page
    assert ">Sent<" in page
    with db(app).session() as session:
        (item, _), = feedback.list_feedback(session, user_id=user_id(shopper))[0]
        feedback.set_feedback_status(session, feedback_id=item.id, status="read")
    assert ">Read by the shop<" in html(shopper, "/account/reviews")


def test_hostile_text_in_reviews_feedback_and_names_is_shown_escaped(app, shopper):
    bought(app, shopper)
    submit(shopper, "/account/reviews", {"product_id": BLACK_TSHIRT, "rating": "1", "title": HOSTILE, "body": HOSTILE})
    submit(shopper, "/account/feedback", {"subject": HOSTILE, "body": HOSTILE})
    submit(shopper, "/account/settings/profile", {"name": HOSTILE, "order_updates": "1"})
    for url in ("/account/reviews", "/account", "/account/settings"):
        page = html(shopper, url)
        assert HOSTILE not in page and "<script>alert" not in page and "onerror=alert(1)>" not in page, url
        assert ESCAPED in page, url
    assert html(shopper, "/account/reviews").count(ESCAPED) >= 4  # title, body, subject, message
    assert my_reviews(app, shopper)[0].body == HOSTILE  # stored as written
