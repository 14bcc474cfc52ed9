"""Admin pages: moderating product reviews (publish or hide) and handling customers' feedback (new, read,
archived). Customers' text is shown exactly as written, escaped by the templates like every other value."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from lookbook.accounts.roles import Role
from lookbook.feedback import service as feedback
from lookbook.feedback.models import ModerationStatus
from lookbook.feedback.service import FeedbackStatus
from lookbook.web.api import transaction
from lookbook.web.feedback import (
    FeedbackListArgs,
    FeedbackStatusSchema,
    ModerationSchema,
    ReviewListArgs,
)
from lookbook.web.pages.admin import ID, PerPage, admin_bp, query_args
from lookbook.web.pages.base import load_form


class ReviewArgs(ReviewListArgs):
    per_page = PerPage()


class FeedbackArgs(FeedbackListArgs):
    per_page = PerPage()


def _pages(total: int, args: dict) -> dict:
    return {"page": args["page"], "pages": (total + args["per_page"] - 1) // args["per_page"]}


def _back(endpoint: str):
    """Back to the list the form was on (its filters and page), never to another site."""
    args = {k: v for k, v in request.form.items() if k in ("status_filter", "page") and v}
    if "status_filter" in args:
        args["status"] = args.pop("status_filter")
    return redirect(url_for(endpoint, **args), code=303)


@admin_bp.route("/reviews")
@admin_bp.access(Role.ADMIN)
def reviews_list():
    args, errors = query_args(ReviewArgs())
    with transaction() as session:
        rows, total = feedback.list_reviews(session, status=args.get("status"), product_id=args.get("product_id"),
                                            rating=args.get("rating"), user_id=args.get("customer_id"),
                                            page=args["page"], per_page=args["per_page"])
    filters = {k: args[k] for k in ("status", "product_id", "rating", "customer_id") if args.get(k)}
    return render_template("admin/reviews.html", rows=rows, total=total, args=args, filters=filters,
                           statuses=list(ModerationStatus), page=_pages(total, args)), 400 if errors else 200


@admin_bp.route(f"/reviews/<{ID}:review_id>", methods=["POST"])
@admin_bp.access(Role.ADMIN)
def reviews_moderate(review_id: int):
    data, errors = load_form(ModerationSchema())
    if errors:
        flash("Choose to publish or to hide the review.", "error")
        return _back("admin.reviews_list")
    with transaction() as session:
        review = feedback.moderate_review(session, review_id=review_id, status=data["status"])
    shown = "published on the product page" if review.status == ModerationStatus.PUBLISHED else "hidden from shoppers"
    flash(f"Review #{review.id} is {shown}.", "success")
    return _back("admin.reviews_list")


@admin_bp.route("/feedback")
@admin_bp.access(Role.ADMIN)
def feedback_list():
    args, errors = query_args(FeedbackArgs())
    with transaction() as session:
        rows, total = feedback.list_feedback(session, user_id=args.get("customer_id"), status=args.get("status"),
                                             page=args["page"], per_page=args["per_page"])
    filters = {k: args[k] for k in ("status", "customer_id") if args.get(k)}
    return render_template("admin/feedback.html", rows=rows, total=total, args=args, filters=filters,
                           statuses=list(FeedbackStatus), page=_pages(total, args)), 400 if errors else 200


@admin_bp.route(f"/feedback/<{ID}:feedback_id>", methods=["POST"])
@admin_bp.access(Role.ADMIN)
def feedback_set_status(feedback_id: int):
    data, errors = load_form(FeedbackStatusSchema())
    if errors:
        flash("Choose new, read or archived.", "error")
        return _back("admin.feedback_list")
    with transaction() as session:
        item = feedback.set_feedback_status(session, feedback_id=feedback_id, status=data["status"])
    flash(f"Feedback #{item.id} is marked {item.status}.", "success")
    return _back("admin.feedback_list")
