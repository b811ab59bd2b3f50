"""The audit log: who did what to which record, when, with the record's state before and after.

`write` is the one way anything writes an entry; it takes one entry or many (a bulk decision writes one entry per
post in a single executemany). Entries are never updated or deleted.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlmodel import Session

from takedown.models import AuditLog, User, utcnow

# (entity_id, before, after) for each record one action touched.
Change = tuple[int | str, dict[str, Any] | None, dict[str, Any] | None]


def actor_name(user: User | None) -> str:
    """The name stored with an entry: the username, "demo" for the demo's reviewer, "system" without a user."""
    if user is None:
        return "system"
    return "demo" if user.is_demo else user.username


def write(
    session: Session,
    *,
    action: str,
    entity_type: str,
    changes: Iterable[Change],
    user: User | None = None,
    actor: str | None = None,
    at: datetime | None = None,
) -> list[int]:
    """Write one audit entry per change, all with the same user, action and time. Returns their ids."""
    rows = _rows(((action, entity_type, entity_id, before, after) for entity_id, before, after in changes),
                 user, actor, at)
    if not rows:
        return []
    table = AuditLog.__table__
    return list(session.execute(
        insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
    ).scalars())


# (action, entity_type, entity_id, before, after): one entry of a bulk write mixing actions.
Entry = tuple[str, str, int | str, dict[str, Any] | None, dict[str, Any] | None]


def write_many(session: Session, entries: Iterable[Entry], *, user: User | None = None, actor: str | None = None,
               at: datetime | None = None) -> int:
    """`write` for bulk work: entries of any actions (all with the same user and time), written in their order
    in one executemany, without RETURNING (SQLite hands ids back in order only one row at a time). Returns how
    many were written."""
    rows = _rows(entries, user, actor, at)
    if rows:
        session.execute(insert(AuditLog.__table__), rows)
    return len(rows)


def history(session: Session, entity_type: str, entity_id: int | str, limit: int = 200) -> list[AuditLog]:
    """A record's entries, newest first."""
    return list(session.execute(
        select(AuditLog)
        .where(AuditLog.entity_type == entity_type, AuditLog.entity_id == str(entity_id))
        .order_by(AuditLog.id.desc())
        .limit(limit)
    ).scalars())


def _rows(entries: Iterable[Entry], user: User | None, actor: str | None, at: datetime | None
          ) -> list[dict[str, Any]]:
    at = at or utcnow()
    who = actor or actor_name(user)
    user_id = user.id if user else None
    return [
        {"at": at, "user_id": user_id, "actor": who, "action": action, "entity_type": entity_type,
         "entity_id": str(entity_id), "before": before, "after": after}
        for action, entity_type, entity_id, before, after in entries
    ]
