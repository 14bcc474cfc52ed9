"""Reviews and feedback over HTTP: who may do what, what the public sees, and text returned exactly as sent."""

from __future__ import annotations

import json

import pytest

from lookbook.orders.models import OrderStatus
from lookbook.reports.tests.purchases import buy, make_product
from lookbook.web.tests.conftest import bearer, register

SHIRT, SCARF = 1001, 1002
HOSTILE = "<script>alert(1)</script> \"quoted\" & {{7*7}} '; DROP TABLE reviews; -- Zoë 🧥 \u202eexe.txt"


@pytest.fixture
def products(app):
    with app.extensions["lookbook"].db.session() as session:
        make_product(session, product_id=SHIRT, name="Linen shirt", price_minor=2500)
        make_product(session, product_id=SCARF, name="Wool scarf", price_minor=1200)


def _buy(app, tokens: dict, *product_ids: int, status: OrderStatus = OrderStatus.PAID) -> None:
    assert buy(app.extensions["lookbook"].db, user_id=tokens["user"]["id"], product_ids=product_ids, status=status)


def _review(client, tokens, product_id=SHIRT, **fields):
    return client.post(f"/api/v1/products/{product_id}/reviews", headers=bearer(tokens["access_token"]),
                       json={"rating": 5, "body": "Lovely", **fields})


def _assert_json(response, status: int) -> None:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


# ---- writing reviews -----------------------------------------------------------------------------------

def test_a_buyer_reviews_a_product_and_everyone_sees_it_with_the_first_name_only(app, client, products):
    ada = register(client, name="Ada Lovelace", email="ada.lovelace@example.com")
    _buy(app, ada, SHIRT)

    created = _review(client, ada, rating=4, title="Good linen", body="Breathes well")
    _assert_json(created, 201)
    assert {k: created.json[k] for k in ("product_id", "rating", "title", "body", "status")} == {
        "product_id": SHIRT, "rating": 4, "title": "Good linen", "body": "Breathes well", "status": "published"}

    public = client.get(f"/api/v1/products/{SHIRT}/reviews")
    _assert_json(public, 200)
    assert public.json["items"][0]["reviewer"] == "Ada"
    assert (public.json["average_rating"], public.json["review_count"], public.json["total"]) == (4.0, 1, 1)
    assert public.json["ratings"] == {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0}
    text = public.get_data(as_text=True)
    assert "ada.lovelace" not in text and "Lovelace" not in text and "user_id" not in text


@pytest.mark.parametrize("status", [None, OrderStatus.PENDING_PAYMENT, OrderStatus.CANCELLED, OrderStatus.REFUNDED])
def test_a_customer_who_has_not_paid_for_the_product_cannot_review_it(app, client, products, status):
    ada = register(client)
    if status is not None:
        _buy(app, ada, SHIRT, status=status)

    refused = _review(client, ada)

    _assert_json(refused, 403)
    assert refused.json["error"]["code"] == "not_a_buyer"
    assert client.get(f"/api/v1/products/{SHIRT}/reviews").json["total"] == 0
    assert client.get("/api/v1/me/reviews", headers=bearer(ada["access_token"])).json == []


def test_a_second_review_of_the_same_product_is_a_conflict(app, client, products):
    ada = register(client)
    _buy(app, ada, SHIRT)
    assert _review(client, ada, body="First").status_code == 201

    again = _review(client, ada, body="Second")

    _assert_json(again, 409)
    assert again.json["error"]["code"] == "already_reviewed"
    assert [r["body"] for r in client.get(f"/api/v1/products/{SHIRT}/reviews").json["items"]] == ["First"]


def test_a_review_needs_a_rating_from_one_to_five_and_a_product_that_exists(app, client, products):
    ada = register(client)
    _buy(app, ada, SHIRT)

    for rating in (0, 6, "five", None):
        response = _review(client, ada, rating=rating)
        _assert_json(response, 422)
        assert "rating" in response.json["error"]["fields"]
    _assert_json(_review(client, ada, product_id=424242), 404)
    _assert_json(client.get("/api/v1/products/424242/reviews"), 404)


def test_only_customers_write_reviews(app, client, admin, products):
    anonymous = client.post(f"/api/v1/products/{SHIRT}/reviews", json={"rating": 5})
    assert anonymous.status_code == 401
    assert _review(client, admin).status_code == 403


def test_review_text_comes_back_byte_for_byte_as_a_json_string(app, client, products):
    ada = register(client)
    _buy(app, ada, SHIRT)

    created = _review(client, ada, title=HOSTILE[:200], body=HOSTILE)
    _assert_json(created, 201)
    public = client.get(f"/api/v1/products/{SHIRT}/reviews")

    _assert_json(public, 200)
    item = public.json["items"][0]
    assert (item["title"], item["body"]) == (HOSTILE[:200], HOSTILE)
    assert json.loads(public.get_data())["items"][0]["body"] == HOSTILE  # a JSON string, not markup or entities
    assert "&lt;" not in public.get_data(as_text=True)


# ---- editing and deleting ------------------------------------------------------------------------------

def test_a_customer_edits_and_deletes_their_own_review_but_not_someone_elses(app, client, products):
    ada, bob = register(client), register(client)
    _buy(app, ada, SHIRT)
    review_id = _review(client, ada, rating=2, body="Too small").json["id"]

    bobs_edit = client.patch(f"/api/v1/me/reviews/{review_id}", headers=bearer(bob["access_token"]), json={"rating": 1})
    assert bobs_edit.status_code == 404
    assert client.delete(f"/api/v1/me/reviews/{review_id}", headers=bearer(bob["access_token"])).status_code == 404

    edited = client.patch(f"/api/v1/me/reviews/{review_id}", headers=bearer(ada["access_token"]),
                          json={"rating": 4, "body": "Swapped for a larger size"})
    _assert_json(edited, 200)
    assert (edited.json["rating"], edited.json["body"]) == (4, "Swapped for a larger size")
    titled = client.patch(f"/api/v1/me/reviews/{review_id}", headers=bearer(ada["access_token"]), json={"title": "Update"})
    assert (titled.json["title"], titled.json["rating"], titled.json["body"]) == (
        "Update", 4, "Swapped for a larger size")  # what a change leaves out stays as it was
    mine = client.get("/api/v1/me/reviews", headers=bearer(ada["access_token"]))
    assert [(r["id"], r["rating"]) for r in mine.json] == [(review_id, 4)]

    assert client.delete(f"/api/v1/me/reviews/{review_id}", headers=bearer(ada["access_token"])).status_code == 204
    assert client.get(f"/api/v1/products/{SHIRT}/reviews").json["total"] == 0
    assert _review(client, ada).status_code == 201  # deleted: may review again


# ---- moderation ------------------------------------------------------------------------------------------

def test_admins_list_filter_hide_and_republish_reviews(app, client, admin, products):
    ada, bob = register(client, name="Ada King"), register(client, name="Bob Dylan")
    _buy(app, ada, SHIRT, SCARF)
    _buy(app, bob, SHIRT)
    ada_shirt = _review(client, ada, SHIRT, rating=5).json["id"]
    ada_scarf = _review(client, ada, SCARF, rating=3).json["id"]
    bob_shirt = _review(client, bob, SHIRT, rating=1, body="Spam spam").json["id"]
    headers = bearer(admin["access_token"])

    everything = client.get("/api/v1/admin/reviews", headers=headers)
    _assert_json(everything, 200)
    assert [r["id"] for r in everything.json["items"]] == [bob_shirt, ada_scarf, ada_shirt]
    assert everything.json["items"][0]["customer"] == {"id": bob["user"]["id"], "name": "Bob Dylan",
                                                       "email": bob["user"]["email"]}
    filtered = client.get("/api/v1/admin/reviews", headers=headers,
                          query_string={"product_id": SHIRT, "rating": 5, "customer_id": ada["user"]["id"]})
    assert [r["id"] for r in filtered.json["items"]] == [ada_shirt]

    hidden = client.patch(f"/api/v1/admin/reviews/{bob_shirt}", headers=headers, json={"status": "hidden"})
    _assert_json(hidden, 200)
    assert hidden.json["status"] == "hidden"
    public = client.get(f"/api/v1/products/{SHIRT}/reviews").json
    assert ([r["id"] for r in public["items"]], public["average_rating"]) == ([ada_shirt], 5.0)
    assert [r["id"] for r in client.get("/api/v1/admin/reviews", headers=headers,
                                        query_string={"status": "hidden"}).json["items"]] == [bob_shirt]
    bobs_own = client.get("/api/v1/me/reviews", headers=bearer(bob["access_token"])).json
    assert [(r["id"], r["status"]) for r in bobs_own] == [(bob_shirt, "hidden")]  # the author sees why

    client.patch(f"/api/v1/admin/reviews/{bob_shirt}", headers=headers, json={"status": "published"})
    assert client.get(f"/api/v1/products/{SHIRT}/reviews").json["average_rating"] == 3.0
    assert client.patch(f"/api/v1/admin/reviews/{bob_shirt}", headers=headers,
                        json={"status": "deleted"}).status_code == 422
    assert client.patch("/api/v1/admin/reviews/999999", headers=headers, json={"status": "hidden"}).status_code == 404


def test_customers_cannot_reach_moderation(client, customer):
    headers = bearer(customer["access_token"])

    assert client.get("/api/v1/admin/reviews", headers=headers).status_code == 403
    assert client.patch("/api/v1/admin/reviews/1", headers=headers, json={"status": "hidden"}).status_code == 403
    assert client.get("/api/v1/admin/feedback", headers=headers).status_code == 403
    assert client.get("/api/v1/admin/reviews").status_code == 401


# ---- general feedback -----------------------------------------------------------------------------------

def test_customers_send_feedback_and_see_their_own_only(client):
    ada, bob = register(client), register(client)

    sent = client.post("/api/v1/me/feedback", headers=bearer(ada["access_token"]),
                       json={"subject": HOSTILE[:200], "body": HOSTILE})
    _assert_json(sent, 201)
    assert (sent.json["subject"], sent.json["body"], sent.json["status"]) == (HOSTILE[:200], HOSTILE, "new")
    client.post("/api/v1/me/feedback", headers=bearer(bob["access_token"]), json={"subject": "Hi", "body": "Bob here"})

    mine = client.get("/api/v1/me/feedback", headers=bearer(ada["access_token"]))
    _assert_json(mine, 200)
    assert [(f["id"], f["body"]) for f in mine.json["items"]] == [(sent.json["id"], HOSTILE)]


@pytest.mark.parametrize("body", [{"subject": "", "body": "x"}, {"subject": "x", "body": "   "},
                                  {"subject": "x" * 201, "body": "x"}, {"subject": "a\x00b", "body": "x"},
                                  {"body": "no subject"}])
def test_feedback_without_a_subject_or_words_is_refused_naming_the_field(client, customer, body):
    response = client.post("/api/v1/me/feedback", headers=bearer(customer["access_token"]), json=body)

    _assert_json(response, 422)
    assert set(response.json["error"]["fields"]) & {"subject", "body"}
    assert client.get("/api/v1/me/feedback", headers=bearer(customer["access_token"])).json["total"] == 0


def test_admins_read_all_feedback_and_mark_it_read_or_archived(client, admin):
    ada = register(client, name="Ada King")
    first = client.post("/api/v1/me/feedback", headers=bearer(ada["access_token"]),
                        json={"subject": "Sizes", "body": "Run small"}).json["id"]
    second = client.post("/api/v1/me/feedback", headers=bearer(ada["access_token"]),
                         json={"subject": "Delivery", "body": "Fast"}).json["id"]
    headers = bearer(admin["access_token"])

    listed = client.get("/api/v1/admin/feedback", headers=headers)
    _assert_json(listed, 200)
    assert [(f["id"], f["customer"]["name"]) for f in listed.json["items"]] == [(second, "Ada King"), (first, "Ada King")]
    marked = client.patch(f"/api/v1/admin/feedback/{first}", headers=headers, json={"status": "read"})
    _assert_json(marked, 200)
    client.patch(f"/api/v1/admin/feedback/{second}", headers=headers, json={"status": "archived"})

    assert [f["id"] for f in client.get("/api/v1/admin/feedback", headers=headers,
                                        query_string={"status": "read"}).json["items"]] == [first]
    assert client.get("/api/v1/admin/feedback", headers=headers, query_string={"status": "new"}).json["total"] == 0
    assert client.get("/api/v1/me/feedback", headers=bearer(ada["access_token"])).json["items"][0]["status"] == "archived"
    assert client.patch(f"/api/v1/admin/feedback/{first}", headers=headers, json={"status": "spam"}).status_code == 422
    assert client.patch("/api/v1/admin/feedback/999999", headers=headers, json={"status": "read"}).status_code == 404
    assert client.post("/api/v1/me/feedback", headers=headers, json={"subject": "a", "body": "b"}).status_code == 403
