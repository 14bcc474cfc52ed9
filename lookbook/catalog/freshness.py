"""Knowing cheaply whether the catalog changed, so long-lived processes can keep answers in memory.

A stamp file in the data directory is replaced after every commit that touched products, their variants
(stock) or deals (prices). Reading the stamp is one ``stat`` call; every process and worker that shares the
data directory sees the change at once. Several hosts that do not share the data directory do not see each
other's stamps: there, the caches' time limit bounds how stale an answer can be.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

WATCHED_TABLES = frozenset({"products", "product_variants", "deals"})
_CHANGED = "lookbook_catalog_changed"


class ChangeStamp:
    """A file whose identity changes with every change of the catalog."""

    def __init__(self, path: Path):
        self.path = path

    def current(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        return stat.st_ino, stat.st_mtime_ns  # a new file every time, so two changes in one tick still differ

    def bump(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{secrets.token_hex(6)}")
        temporary.write_text(secrets.token_hex(8))
        os.replace(temporary, self.path)


def _touches_watched_tables(objects) -> bool:
    return any(getattr(obj, "__tablename__", None) in WATCHED_TABLES for obj in objects)


def watch(sessions, stamp: ChangeStamp) -> None:
    """Bump ``stamp`` after each commit of a session from the ``sessions`` factory that changed a watched table,
    through the ORM unit of work or a bulk UPDATE/DELETE."""

    @event.listens_for(sessions, "before_flush")
    def _before_flush(session: Session, _context, _instances) -> None:
        if _touches_watched_tables([*session.new, *session.dirty, *session.deleted]):
            session.info[_CHANGED] = True

    @event.listens_for(sessions, "do_orm_execute")
    def _bulk(state) -> None:
        if (state.is_update or state.is_delete or state.is_insert) and any(
                mapper.persist_selectable.name in WATCHED_TABLES for mapper in state.all_mappers):
            state.session.info[_CHANGED] = True

    @event.listens_for(sessions, "after_commit")
    def _after_commit(session: Session) -> None:
        if session.info.pop(_CHANGED, False):
            stamp.bump()

    @event.listens_for(sessions, "after_rollback")
    def _after_rollback(session: Session) -> None:
        session.info.pop(_CHANGED, None)
