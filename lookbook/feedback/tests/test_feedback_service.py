"""Reviews by buyers and general feedback, through the service, on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lookbook.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from lookbook.feedback import service as feedback
from lookbook.feedback.models import Feedback, Review
from lookbook.orders.models import OrderStatus
from lookbook.reports.tests.purchases import make_customer, make_product, place_order

SHIRT, SCARF = 1001, 1002


@pytest.fixture
def shop(db):
    with db.session() as session:
        variants = {SHIRT: make_product(session, product_id=SHIRT, name="Linen shirt", price_minor=2500).id,
                    SCARF: make_product(session, product_id=SCARF, name="Wool scarf", price_minor=1200).id}
        ada = make_customer(session, name="Ada Lovelace")
        bob = make_customer(session, name="Bob")
    return {"db": db, "variants": variants, "ada": ada.id, "bob": bob.id}


def _buy(shop, user_id: int, product_id: int, status: OrderStatus = OrderStatus.PAID) -> None:
    from lookbook.accounts.models import User

    with shop["db"].session() as session:
        place_order(session, user=session.get(User, user_id), items={shop["variants"][product_id]: 1}, status=status)


def _review(shop, user_id: int, product_id: int = SHIRT, **fields) -> Review:
    with shop["db"].session() as session:
        return feedback.create_review(session, user_id=user_id, product_id=product_id,
                                      **{"rating": 5, "body": "Lovely", **fields})


def _count(db, model) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


# ---- who may review -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED])
def test_a_customer_who_bought_the_product_can_review_it(shop, status):
    _buy(shop, shop["ada"], SHIRT, status)

    review = _review(shop, shop["ada"], rating=4, title="Good", body="Fits well")

    assert (review.product_id, review.rating, review.title, review.body, review.status) == (
        SHIRT, 4, "Good", "Fits well", "published")


@pytest.mark.parametrize("status", [OrderStatus.PENDING_PAYMENT, OrderStatus.CANCELLED, OrderStatus.REFUNDED])
def test_an_order_that_was_never_paid_or_was_refunded_does_not_make_a_buyer(shop, status):
    _buy(shop, shop["ada"], SHIRT, status)

    with pytest.raises(PermissionDenied) as refused:
        _review(shop, shop["ada"])

    assert refused.value.code == "not_a_buyer"
    assert _count(shop["db"], Review) == 0


def test_buying_one_product_does_not_allow_reviewing_another_nor_does_someone_elses_purchase(shop):
    _buy(shop, shop["ada"], SHIRT)

    for user, product in ((shop["ada"], SCARF), (shop["bob"], SHIRT)):
        with pytest.raises(PermissionDenied):
            _review(shop, user, product)
    assert _count(shop["db"], Review) == 0


def test_a_second_review_of_the_same_product_is_refused_and_the_first_stays(shop):
    _buy(shop, shop["ada"], SHIRT)
    _buy(shop, shop["ada"], SHIRT)  # bought twice: still one review
    first = _review(shop, shop["ada"], rating=5, body="First")

    with pytest.raises(Conflict) as refused:
        _review(shop, shop["ada"], rating=1, body="Second")

    assert refused.value.code == "already_reviewed"
    with shop["db"].session() as session:
        assert [(r.id, r.body) for r in session.scalars(select(Review))] == [(first.id, "First")]


def test_a_review_of_a_product_that_does_not_exist_or_with_a_rating_out_of_range_is_refused(shop):
    _buy(shop, shop["ada"], SHIRT)

    with pytest.raises(NotFound):
        _review(shop, shop["ada"], product_id=999_999)
    for rating in (0, 6):
        with pytest.raises(InvalidInput) as refused:
            _review(shop, shop["ada"], rating=rating)
        assert "rating" in refused.value.fields
    assert _count(shop["db"], Review) == 0


# ---- editing and deleting -------------------------------------------------------------------------------

def test_the_author_can_edit_and_delete_their_review_and_then_review_again(shop):
    _buy(shop, shop["ada"], SHIRT)
    review = _review(shop, shop["ada"], rating=2, body="Too small")

    with shop["db"].session() as session:
        edited = feedback.update_review(session, user_id=shop["ada"], review_id=review.id,
                                        changes={"rating": 4, "body": "Swapped for a larger size: great"})
        assert (edited.rating, edited.body, edited.title) == (4, "Swapped for a larger size: great", None)
    with shop["db"].session() as session:
        feedback.delete_review(session, user_id=shop["ada"], review_id=review.id)
    assert _count(shop["db"], Review) == 0

    assert _review(shop, shop["ada"], rating=5).rating == 5


def test_nobody_else_can_edit_or_delete_a_review(shop):
    _buy(shop, shop["ada"], SHIRT)
    review = _review(shop, shop["ada"], body="Mine")

    with shop["db"].session() as session:
        with pytest.raises(NotFound):
            feedback.update_review(session, user_id=shop["bob"], review_id=review.id, changes={"body": "Hacked"})
        with pytest.raises(NotFound):
            feedback.delete_review(session, user_id=shop["bob"], review_id=review.id)
    with shop["db"].session() as session:
        assert session.get(Review, review.id).body == "Mine"


# ---- what the public sees ------------------------------------------------------------------------------

def test_the_public_sees_published_reviews_with_first_names_their_average_and_count(shop):
    with shop["db"].session() as session:
        cyd = make_customer(session, name="  Cyd  Charisse ").id
    for user, rating in ((shop["ada"], 5), (shop["bob"], 2), (cyd, 4)):
        _buy(shop, user, SHIRT)
        _review(shop, user, rating=rating, body=f"{rating} stars")
    with shop["db"].session() as session:
        bobs = session.scalar(select(Review.id).where(Review.user_id == shop["bob"]))
        feedback.moderate_review(session, review_id=bobs, status="hidden")

    with shop["db"].session() as session:
        found = feedback.product_reviews(session, product_id=SHIRT)

    assert sorted((r.reviewer, r.review.rating) for r in found.items) == [("Ada", 5), ("Cyd", 4)]
    assert (found.total, found.average_rating) == (2, 4.5)
    assert found.ratings == {1: 0, 2: 0, 3: 0, 4: 1, 5: 1}


def test_a_product_without_reviews_has_no_average_and_an_unknown_product_is_not_found(shop):
    with shop["db"].session() as session:
        empty = feedback.product_reviews(session, product_id=SCARF)
        assert (empty.items, empty.total, empty.average_rating) == ([], 0, None)
        with pytest.raises(NotFound):
            feedback.product_reviews(session, product_id=999_999)


def test_a_hidden_review_can_be_published_again_and_an_unknown_status_is_refused(shop):
    _buy(shop, shop["ada"], SHIRT)
    review = _review(shop, shop["ada"])

    with shop["db"].session() as session:
        feedback.moderate_review(session, review_id=review.id, status="hidden")
        assert feedback.product_reviews(session, product_id=SHIRT).total == 0
        feedback.moderate_review(session, review_id=review.id, status="published")
        assert feedback.product_reviews(session, product_id=SHIRT).total == 1
        with pytest.raises(InvalidInput):
            feedback.moderate_review(session, review_id=review.id, status="deleted")
        with pytest.raises(NotFound):
            feedback.moderate_review(session, review_id=review.id + 100, status="hidden")


def test_admins_filter_reviews_by_status_product_rating_and_author(shop):
    for user in (shop["ada"], shop["bob"]):
        _buy(shop, user, SHIRT)
    _buy(shop, shop["ada"], SCARF)
    ada_shirt = _review(shop, shop["ada"], SHIRT, rating=5)
    bob_shirt = _review(shop, shop["bob"], SHIRT, rating=1)
    ada_scarf = _review(shop, shop["ada"], SCARF, rating=5)
    with shop["db"].session() as session:
        feedback.moderate_review(session, review_id=bob_shirt.id, status="hidden")

    def ids(**filters):
        with shop["db"].session() as session:
            rows, total = feedback.list_reviews(session, **filters)
            assert total == len(rows)
            return [review.id for review, _user in rows]

    assert ids() == [ada_scarf.id, bob_shirt.id, ada_shirt.id]
    assert ids(status="hidden") == [bob_shirt.id]
    assert ids(product_id=SHIRT) == [bob_shirt.id, ada_shirt.id]
    assert ids(rating=5, user_id=shop["ada"]) == [ada_scarf.id, ada_shirt.id]


# ---- general feedback ------------------------------------------------------------------------------------

def test_feedback_is_stored_exactly_as_written_and_listed_for_its_author_and_for_admins(shop):
    subject, body = "  <script>alert(1)</script> ", "Line one\n\tLine two {{7*7}} '; DROP TABLE feedback; --"
    with shop["db"].session() as session:
        mine = feedback.send_feedback(session, user_id=shop["ada"], subject=subject, body=body)
        feedback.send_feedback(session, user_id=shop["bob"], subject="Delivery", body="Fast, thanks")

    with shop["db"].session() as session:
        adas, total = feedback.list_feedback(session, user_id=shop["ada"])
        assert total == 1 and (adas[0][0].subject, adas[0][0].body, adas[0][0].status) == (subject, body, "new")
        everyone, total = feedback.list_feedback(session)
        assert total == 2 and [item.id for item, _user in everyone][1] == mine.id


def test_feedback_without_words_is_refused(shop):
    with shop["db"].session() as session, pytest.raises(InvalidInput) as refused:
        feedback.send_feedback(session, user_id=shop["ada"], subject=" ", body="\n\t")

    assert set(refused.value.fields) == {"subject", "body"}
    assert _count(shop["db"], Feedback) == 0


def test_admins_mark_feedback_read_or_archived_and_filter_by_status(shop):
    with shop["db"].session() as session:
        first = feedback.send_feedback(session, user_id=shop["ada"], subject="A", body="a").id
        second = feedback.send_feedback(session, user_id=shop["ada"], subject="B", body="b").id

    with shop["db"].session() as session:
        feedback.set_feedback_status(session, feedback_id=first, status="read")
        feedback.set_feedback_status(session, feedback_id=second, status="archived")
        with pytest.raises(InvalidInput):
            feedback.set_feedback_status(session, feedback_id=first, status="spam")
        with pytest.raises(NotFound):
            feedback.set_feedback_status(session, feedback_id=second + 100, status="read")
    with shop["db"].session() as session:
        assert [f.id for f, _u in feedback.list_feedback(session, status="read")[0]] == [first]
        assert [f.id for f, _u in feedback.list_feedback(session, status="archived")[0]] == [second]
        assert feedback.list_feedback(session, status="new")[1] == 0


def test_first_name_never_reveals_more_than_the_first_word():
    assert feedback.first_name("Ada King Lovelace") == "Ada"
    assert feedback.first_name("   ") == "Customer"
    assert feedback.first_name(None) == "Customer"
