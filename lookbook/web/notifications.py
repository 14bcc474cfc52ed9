"""The signed-in user's in-app notifications over HTTP: list them, count the unread, mark them read."""

from __future__ import annotations

import marshmallow as ma

from lookbook.accounts.roles import Role
from lookbook.notifications import service as notifications
from lookbook.web.api import ApiBlueprint, PageArgs, current_user, page_of, page_schema, transaction
from lookbook.web.fields import INT32_MAX

notifications_bp = ApiBlueprint("notifications", __name__, url_prefix="/api/v1/me/notifications",
                                description="My in-app notifications")

NOTIFICATION_ID = f"<int(max={INT32_MAX}):notification_id>"


class NotificationSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    kind = ma.fields.String(required=True, metadata={"example": "order_shipped"})
    title = ma.fields.String(required=True)
    body = ma.fields.String(required=True)
    data = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Raw(), required=True,
                          metadata={"description": "What it is about, e.g. {\"order_id\": 12, \"status\": \"shipped\"}"})
    created_at = ma.fields.DateTime(required=True)
    read_at = ma.fields.DateTime(required=True, allow_none=True, metadata={"description": "null while unread"})


class NotificationPageSchema(page_schema(NotificationSchema, "NotificationPageBase")):
    unread = ma.fields.Integer(required=True, metadata={"description": "All my unread notifications, on any page"})


class NotificationListArgs(PageArgs):
    unread_only = ma.fields.Boolean(load_default=False, metadata={"description": "Only those not read yet"})


class ReadAllSchema(ma.Schema):
    marked_read = ma.fields.Integer(required=True, metadata={"description": "How many were unread until now"})
    unread = ma.fields.Integer(required=True)


@notifications_bp.route("", methods=["GET"])
@notifications_bp.access(Role.CUSTOMER, Role.ADMIN)
@notifications_bp.arguments(NotificationListArgs, location="query")
@notifications_bp.response(200, NotificationPageSchema)
def list_my_notifications(args):
    """My notifications, newest first, and how many are unread."""
    user_id = current_user().id
    with transaction() as session:
        items, total = notifications.list_notifications(session, user_id=user_id, unread_only=args["unread_only"],
                                                        page=args["page"], per_page=args["per_page"])
        return {**page_of(items, total, args), "unread": notifications.count_unread(session, user_id=user_id)}


@notifications_bp.route(f"/{NOTIFICATION_ID}/read", methods=["POST"])
@notifications_bp.access(Role.CUSTOMER, Role.ADMIN)
@notifications_bp.doc(responses={"404": "NOT_FOUND"})
@notifications_bp.response(200, NotificationSchema)
def mark_my_notification_read(notification_id):
    """Mark one of my notifications read (reading it again changes nothing)."""
    with transaction() as session:
        return notifications.mark_read(session, user_id=current_user().id, notification_id=notification_id)


@notifications_bp.route("/read-all", methods=["POST"])
@notifications_bp.access(Role.CUSTOMER, Role.ADMIN)
@notifications_bp.response(200, ReadAllSchema)
def mark_all_my_notifications_read():
    """Mark all my notifications read."""
    user_id = current_user().id
    with transaction() as session:
        marked = notifications.mark_all_read(session, user_id=user_id)
        return {"marked_read": marked, "unread": notifications.count_unread(session, user_id=user_id)}
