"""Tell a customer something: an in-app notification, and an email through the outbox in the same transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from lookbook.accounts.models import User
from lookbook.catalog.models import utcnow
from lookbook.errors import NotFound
from lookbook.notifications.models import Notification, OutboxEmail


def notify(session: Session, *, user: User, kind: str, title: str, body: str, data: dict | None = None,
           email: bool = True) -> Notification:
    """Record an in-app notification and queue its email; both commit (or roll back) with the caller's change."""
    notification = Notification(user_id=user.id, kind=kind, title=title, body=body, data=data or {})
    session.add(notification)
    if email:
        session.add(OutboxEmail(to_address=user.email, subject=title, body_text=f"Hello {user.name},\n\n{body}\n\nLookbook"))
    session.flush()
    return notification


def list_notifications(session: Session, *, user_id: int, unread_only: bool = False, page: int = 1,
                       per_page: int = 20) -> tuple[list[Notification], int]:
    """One page of the user's own notifications, newest first, with how many there are in all."""
    query = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = session.scalars(query.order_by(Notification.created_at.desc(), Notification.id.desc())
                            .offset((page - 1) * per_page).limit(per_page))
    return list(items), int(total)


def count_unread(session: Session, *, user_id: int) -> int:
    """The badge number: the user's notifications not read yet."""
    return int(session.scalar(select(func.count()).select_from(Notification)
                              .where(Notification.user_id == user_id, Notification.read_at.is_(None))) or 0)


def mark_read(session: Session, *, user_id: int, notification_id: int, now: datetime | None = None) -> Notification:
    """Mark one of the user's own notifications read; another user's id is as unknown as a missing one."""
    notification = session.scalar(select(Notification).where(Notification.id == notification_id,
                                                             Notification.user_id == user_id))
    if notification is None:
        raise NotFound(f"no notification with id {notification_id}", code="notification_not_found")
    if notification.read_at is None:  # reading twice keeps the first time
        notification.read_at = now or utcnow()
        session.flush()
    return notification


def mark_all_read(session: Session, *, user_id: int, now: datetime | None = None) -> int:
    """Mark every unread notification of the user read; returns how many changed."""
    result = session.execute(update(Notification)
                             .where(Notification.user_id == user_id, Notification.read_at.is_(None))
                             .values(read_at=now or utcnow()))
    return int(result.rowcount or 0)
