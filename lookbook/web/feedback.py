"""Reviews and general feedback over HTTP: buyers review products, everyone reads the published reviews,
customers write to the shop, admins moderate.

Text goes out exactly as it came in, inside JSON (``application/json``, ``nosniff``): the page that shows it
escapes it.
"""

from __future__ import annotations

import marshmallow as ma

from lookbook.accounts.models import User
from lookbook.accounts.roles import Role
from lookbook.feedback import service as feedback
from lookbook.feedback.models import ModerationStatus
from lookbook.feedback.service import FeedbackStatus
from lookbook.web.api import attributes, PUBLIC, ApiBlueprint, PageArgs, current_user, page_of, page_schema, transaction
from lookbook.web.catalog import PRODUCT_ID
from lookbook.web.fields import INT32_MAX, INT64_MAX, Text

reviews_bp = ApiBlueprint("reviews", __name__, url_prefix="/api/v1",
                          description="Product reviews: buyers write them, everyone reads them, admins moderate them")
feedback_bp = ApiBlueprint("feedback", __name__, url_prefix="/api/v1",
                           description="General feedback to the shop, and its handling by admins")

REVIEW_ID = f"<int(max={INT32_MAX}):review_id>"
FEEDBACK_ID = f"<int(max={INT32_MAX}):feedback_id>"
MAX_BODY = 5000
# Public but changing whenever someone reviews: browsers revalidate with the ETag every time.
REVIEWS_CACHE = "public, no-cache"


# ---- schemas ----------------------------------------------------------------------------------------------

class ReviewInputSchema(ma.Schema):
    rating = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=5),
                               metadata={"description": "Stars, 1 to 5"})
    title = Text(max=200, allow_none=True)
    body = Text(max=MAX_BODY, load_default="", metadata={"description": "The review; stored exactly as written"})


class ReviewChangesSchema(ReviewInputSchema):
    """Any subset of a review's fields."""


class PublicReviewSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    product_id = ma.fields.Integer(required=True)
    rating = ma.fields.Integer(required=True)
    title = ma.fields.String(allow_none=True)
    body = ma.fields.String(required=True)
    reviewer = ma.fields.String(required=True, metadata={"description": "The reviewer's first name only"})
    created_at = ma.fields.DateTime(required=True)


class ProductReviewsSchema(page_schema(PublicReviewSchema, "PublicReviewPage")):
    average_rating = ma.fields.Float(required=True, allow_none=True,
                                     metadata={"description": "Of the published reviews; null when there are none"})
    review_count = ma.fields.Integer(required=True, metadata={"description": "Published reviews"})
    ratings = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), required=True,
                             metadata={"description": "Published reviews per number of stars, '1' to '5'"})


class MyReviewSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    product_id = ma.fields.Integer(required=True)
    rating = ma.fields.Integer(required=True)
    title = ma.fields.String(allow_none=True)
    body = ma.fields.String(required=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(list(ModerationStatus)),
                              metadata={"description": "hidden: an admin took it off the product page"})
    created_at = ma.fields.DateTime(required=True)


class AuthorSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    email = ma.fields.String(required=True)


class AdminReviewSchema(MyReviewSchema):
    customer = ma.fields.Nested(AuthorSchema, required=True)


class ReviewListArgs(PageArgs):
    status = ma.fields.String(validate=ma.validate.OneOf(list(ModerationStatus)))
    product_id = ma.fields.Integer(validate=ma.validate.Range(min=1, max=INT64_MAX))
    rating = ma.fields.Integer(validate=ma.validate.Range(min=1, max=5))
    customer_id = ma.fields.Integer(validate=ma.validate.Range(min=1, max=INT32_MAX))


class ModerationSchema(ma.Schema):
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(list(ModerationStatus)),
                              metadata={"description": "hidden takes the review off the product page"})


class FeedbackInputSchema(ma.Schema):
    subject = Text(min=1, max=200, required=True)
    body = Text(min=1, max=MAX_BODY, required=True, metadata={"description": "Stored exactly as written"})


class FeedbackSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    subject = ma.fields.String(required=True)
    body = ma.fields.String(required=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(list(FeedbackStatus)))
    created_at = ma.fields.DateTime(required=True)


class AdminFeedbackSchema(FeedbackSchema):
    customer = ma.fields.Nested(AuthorSchema, required=True)


class FeedbackListArgs(PageArgs):
    status = ma.fields.String(validate=ma.validate.OneOf(list(FeedbackStatus)))
    customer_id = ma.fields.Integer(validate=ma.validate.Range(min=1, max=INT32_MAX))


class FeedbackStatusSchema(ma.Schema):
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(list(FeedbackStatus)))


def _author(user: User) -> dict:
    return {"id": user.id, "name": user.name, "email": user.email}


def _admin_review(review, user: User) -> dict:
    return {**attributes(review, MyReviewSchema), "customer": _author(user)}


def _admin_feedback(item, user: User) -> dict:
    return {**attributes(item, FeedbackSchema), "customer": _author(user)}


# ---- reviews --------------------------------------------------------------------------------------------

@reviews_bp.route(f"/products/{PRODUCT_ID}/reviews", methods=["GET"])
@reviews_bp.access(PUBLIC)
@reviews_bp.arguments(PageArgs, location="query")
@reviews_bp.response(200, ProductReviewsSchema)
@reviews_bp.doc(responses={"404": "NOT_FOUND"})
def product_reviews(args, product_id):
    """A product's published reviews, newest first, with their average rating and count."""
    with transaction() as session:
        found = feedback.product_reviews(session, product_id=product_id, page=args["page"], per_page=args["per_page"])
        items = [{"id": r.review.id, "product_id": r.review.product_id, "rating": r.review.rating,
                  "title": r.review.title, "body": r.review.body, "reviewer": r.reviewer,
                  "created_at": r.review.created_at} for r in found.items]
    body = {**page_of(items, found.total, args), "average_rating": found.average_rating,
            "review_count": found.total, "ratings": {str(stars): n for stars, n in found.ratings.items()}}
    return body, 200, {"Cache-Control": REVIEWS_CACHE}


@reviews_bp.route(f"/products/{PRODUCT_ID}/reviews", methods=["POST"])
@reviews_bp.access(Role.CUSTOMER)
@reviews_bp.arguments(ReviewInputSchema)
@reviews_bp.response(201, MyReviewSchema)
@reviews_bp.doc(responses={"404": "NOT_FOUND", "409": "CONFLICT"})
def review_product(data, product_id):
    """Review a product I bought (a paid, shipped or delivered order): once per product (403 `not_a_buyer`,
    409 `already_reviewed`)."""
    with transaction() as session:
        return feedback.create_review(session, user_id=current_user().id, product_id=product_id, **data)


@reviews_bp.route("/me/reviews", methods=["GET"])
@reviews_bp.access(Role.CUSTOMER)
@reviews_bp.response(200, MyReviewSchema(many=True))
def list_my_reviews():
    """My reviews, newest first, published or hidden."""
    with transaction() as session:
        return feedback.my_reviews(session, user_id=current_user().id)


@reviews_bp.route(f"/me/reviews/{REVIEW_ID}", methods=["PATCH"])
@reviews_bp.access(Role.CUSTOMER)
@reviews_bp.arguments(ReviewChangesSchema(partial=True))
@reviews_bp.response(200, MyReviewSchema)
@reviews_bp.doc(responses={"404": "NOT_FOUND"})
def update_my_review(changes, review_id):
    """Correct my review (rating, title, text)."""
    with transaction() as session:
        return feedback.update_review(session, user_id=current_user().id, review_id=review_id, changes=changes)


@reviews_bp.route(f"/me/reviews/{REVIEW_ID}", methods=["DELETE"])
@reviews_bp.access(Role.CUSTOMER)
@reviews_bp.response(204)
@reviews_bp.doc(responses={"404": "NOT_FOUND"})
def delete_my_review(review_id):
    """Delete my review; I may then review the product again."""
    with transaction() as session:
        feedback.delete_review(session, user_id=current_user().id, review_id=review_id)


@reviews_bp.route("/admin/reviews", methods=["GET"])
@reviews_bp.access(Role.ADMIN)
@reviews_bp.arguments(ReviewListArgs, location="query")
@reviews_bp.response(200, page_schema(AdminReviewSchema, "AdminReviewPage"))
def list_reviews(args):
    """Every review, newest first, by status, product, rating or customer, with its author."""
    with transaction() as session:
        rows, total = feedback.list_reviews(session, status=args.get("status"), product_id=args.get("product_id"),
                                            rating=args.get("rating"), user_id=args.get("customer_id"),
                                            page=args["page"], per_page=args["per_page"])
        return page_of([_admin_review(review, user) for review, user in rows], total, args)


@reviews_bp.route(f"/admin/reviews/{REVIEW_ID}", methods=["PATCH"])
@reviews_bp.access(Role.ADMIN)
@reviews_bp.arguments(ModerationSchema)
@reviews_bp.response(200, AdminReviewSchema)
@reviews_bp.doc(responses={"404": "NOT_FOUND"})
def moderate_review(data, review_id):
    """Hide a review from the product page, or publish it again."""
    with transaction() as session:
        review = feedback.moderate_review(session, review_id=review_id, status=data["status"])
        return _admin_review(review, session.get(User, review.user_id))


# ---- general feedback ----------------------------------------------------------------------------------------

@feedback_bp.route("/me/feedback", methods=["POST"])
@feedback_bp.access(Role.CUSTOMER)
@feedback_bp.arguments(FeedbackInputSchema)
@feedback_bp.response(201, FeedbackSchema)
def send_feedback(data):
    """Write to the shop about anything that is not one product's review."""
    with transaction() as session:
        return feedback.send_feedback(session, user_id=current_user().id, subject=data["subject"], body=data["body"])


@feedback_bp.route("/me/feedback", methods=["GET"])
@feedback_bp.access(Role.CUSTOMER)
@feedback_bp.arguments(PageArgs, location="query")
@feedback_bp.response(200, page_schema(FeedbackSchema, "FeedbackPage"))
def list_my_feedback(args):
    """What I wrote to the shop, newest first, and whether it was read."""
    with transaction() as session:
        rows, total = feedback.list_feedback(session, user_id=current_user().id, page=args["page"],
                                             per_page=args["per_page"])
        return page_of([item for item, _user in rows], total, args)


@feedback_bp.route("/admin/feedback", methods=["GET"])
@feedback_bp.access(Role.ADMIN)
@feedback_bp.arguments(FeedbackListArgs, location="query")
@feedback_bp.response(200, page_schema(AdminFeedbackSchema, "AdminFeedbackPage"))
def list_feedback(args):
    """All feedback, newest first, by status or customer, with its author."""
    with transaction() as session:
        rows, total = feedback.list_feedback(session, user_id=args.get("customer_id"), status=args.get("status"),
                                             page=args["page"], per_page=args["per_page"])
        return page_of([_admin_feedback(item, user) for item, user in rows], total, args)


@feedback_bp.route(f"/admin/feedback/{FEEDBACK_ID}", methods=["PATCH"])
@feedback_bp.access(Role.ADMIN)
@feedback_bp.arguments(FeedbackStatusSchema)
@feedback_bp.response(200, AdminFeedbackSchema)
@feedback_bp.doc(responses={"404": "NOT_FOUND"})
def set_feedback_status(data, feedback_id):
    """Mark feedback read or archived (or new again)."""
    with transaction() as session:
        item = feedback.set_feedback_status(session, feedback_id=feedback_id, status=data["status"])
        return _admin_feedback(item, session.get(User, item.user_id))
