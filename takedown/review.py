"""The review queue and the decisions taken on it.

Queue: posts at or above the threshold (or a chosen score range), in one review state, highest score first,
paged by keyset on (score desc, id desc) so a deep page costs what the first one does (index `ix_post_queue`).

Decisions: a decision names, for each post, the state the reviewer saw. A post whose state changed since is not
touched: it comes back as a conflict saying who changed it and when, so two reviewers never overwrite each other
silently. Every decision writes a Review row and an audit entry per post (before/after), plus one audit entry for
the action as a whole (entity "user", the reviewer), which is what undo reads: the user's last action not undone
yet is found in the audit log, its posts get their previous state back when nobody changed them since, and the
undo is audited the same way.

Cases follow confirmations in the same transaction (takedown.tracking): a confirmed post gets its case; a post
that stops being confirmed (undo, or another decision) has its case closed if nothing happened to it yet.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlmodel import Session

from takedown import audit, tracking
from takedown.models import AuditLog, Author, Brand, Post, Review, ReviewState, Score, Sighting, User, utcnow

DECISIONS: dict[str, str] = {
    "confirm": ReviewState.CONFIRMED.value,
    "reject": ReviewState.REJECTED.value,
    "duplicate": ReviewState.DUPLICATE.value,
}
DECIDED_STATES = frozenset(DECISIONS.values())
QUEUE_STATES = tuple(s.value for s in ReviewState)
ALL_STATES = "all"
CHUNK = 500  # ids per IN (...) list

ACTION = "review.action"  # one per decision action, on the reviewer (entity "user")
UNDO = "review.undo"
POST_DECIDED = "review.decide"  # one per post
POST_UNDONE = "review.undo"

post_t = Post.__table__
author_t = Author.__table__
score_t = Score.__table__
sighting_t = Sighting.__table__
review_t = Review.__table__
audit_t = AuditLog.__table__


class ReviewError(ValueError):
    """A request the queue cannot take (bad filter, decision or cursor). The message is for people."""


class NothingToUndo(ReviewError):
    pass


class CountChanged(ReviewError):
    def __init__(self, expected: int, actual: int):
        super().__init__(f"筛选结果已变化：确认时为 {expected} 条，现在为 {actual} 条")
        self.expected, self.actual = expected, actual


# --- the queue -----------------------------------------------------------------------------------------


@dataclass
class QueueFilter:
    state: str = ReviewState.QUEUED.value  # a ReviewState value, or "all"
    platform: str = ""
    keyword: str = ""  # a search keyword that found the post (a sighting)
    min_score: float | None = None  # None: the queue threshold
    max_score: float | None = None
    brand_id: int | None = None  # the brand's name or an alias appears in the title or text
    found_from: datetime | None = None  # first seen at or after (aware)
    found_to: datetime | None = None  # first seen before (aware, exclusive)
    q: str = ""  # text search in title and text, case-insensitive

    def __post_init__(self) -> None:
        if self.state not in (*QUEUE_STATES, ALL_STATES):
            raise ReviewError(f"未知状态：{self.state}")
        for name in ("min_score", "max_score"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and 0.0 <= value <= 1.0):
                raise ReviewError("分数范围须在 0 到 1 之间")
        self.q = self.q.strip()
        self.keyword = self.keyword.strip()

    def describe(self) -> dict[str, Any]:
        """The filter as plain JSON, for the audit log."""
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(self).items()
                if v not in (None, "")}


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the (score, id) of its last row. Encoded as "<score>_<id>" in URLs."""

    score: float
    id: int

    def encode(self) -> str:
        return f"{self.score!r}_{self.id}"

    @classmethod
    def decode(cls, value: str | None) -> Cursor | None:
        if not value:
            return None
        try:
            score, _, post_id = value.partition("_")
            cursor = cls(float(score), int(post_id))
        except ValueError:
            raise ReviewError("分页参数无效") from None
        if not math.isfinite(cursor.score):
            raise ReviewError("分页参数无效")
        return cursor


@dataclass
class QueuePage:
    rows: list[dict[str, Any]]
    next_cursor: Cursor | None


def _brand_terms(session: Session, brand_id: int) -> list[str]:
    brand = session.get(Brand, brand_id)
    if brand is None:
        raise ReviewError(f"未知品牌：{brand_id}")
    return [t for t in dict.fromkeys([brand.name, *(brand.aliases or [])]) if t.strip()]


def _contains(column, text: str, dialect: str) -> ColumnElement[bool]:
    """Case-insensitive substring match, the search text taken literally (%, _ are not wildcards).

    PostgreSQL: ILIKE. SQLite: plain LIKE, which already ignores ASCII case; SQLAlchemy's generic form would wrap
    both sides in lower(), which costs a third of the time of a search that scans the queue and finds nothing.
    Chinese has no case, so both databases return the same posts.
    """
    if dialect == "sqlite":
        escaped = text.replace("/", "//").replace("%", "/%").replace("_", "/_")
        return column.like(f"%{escaped}%", escape="/")
    return column.icontains(text, autoescape=True)


def filter_conditions(session: Session, f: QueueFilter, threshold: float) -> list[ColumnElement[bool]]:
    dialect = session.get_bind().dialect.name
    conds: list[ColumnElement[bool]] = []
    if f.state != ALL_STATES:
        conds.append(post_t.c.review_state == f.state)
    conds.append(post_t.c.score >= (f.min_score if f.min_score is not None else threshold))
    if f.max_score is not None:
        conds.append(post_t.c.score <= f.max_score)
    if f.platform:
        conds.append(post_t.c.platform == f.platform)
    if f.keyword:
        conds.append(exists().where(sighting_t.c.post_id == post_t.c.id, sighting_t.c.keyword == f.keyword))
    if f.brand_id is not None:
        terms = _brand_terms(session, f.brand_id)
        conds.append(or_(*(_contains(col, t, dialect) for t in terms for col in (post_t.c.title, post_t.c.text)))
                     if terms else post_t.c.id.is_(None))
    if f.found_from is not None:
        conds.append(post_t.c.first_seen >= f.found_from)
    if f.found_to is not None:
        conds.append(post_t.c.first_seen < f.found_to)
    if f.q:
        conds.append(or_(_contains(post_t.c.title, f.q, dialect), _contains(post_t.c.text, f.q, dialect),
                         post_t.c.platform_post_id == f.q))
    return conds


def queue_page(session: Session, f: QueueFilter, *, threshold: float, after: Cursor | None = None,
               limit: int = 50) -> QueuePage:
    """One page of the queue, highest score first, starting after the cursor."""
    conds = filter_conditions(session, f, threshold)
    if after is not None:
        conds.append(tuple_(post_t.c.score, post_t.c.id) < tuple_(after.score, after.id))
    stmt = (
        select(post_t.c.id, post_t.c.platform, post_t.c.platform_post_id, post_t.c.url, post_t.c.title,
               post_t.c.score, post_t.c.review_state, post_t.c.first_seen, post_t.c.published_at,
               post_t.c.author_id, author_t.c.nickname.label("author_nickname"))
        .select_from(post_t.outerjoin(author_t, author_t.c.id == post_t.c.author_id))
        .where(and_(*conds))
        .order_by(post_t.c.score.desc(), post_t.c.id.desc())
        .limit(limit + 1)
    )
    rows = [dict(r) for r in session.execute(stmt).mappings()]
    more = len(rows) > limit
    rows = rows[:limit]
    reasons = latest_reasons(session, [r["id"] for r in rows])
    for row in rows:
        row["reasons"] = reasons.get(row["id"], [])
    last = rows[-1] if rows else None
    return QueuePage(rows, Cursor(last["score"], last["id"]) if more and last else None)


def count(session: Session, f: QueueFilter, *, threshold: float) -> int:
    return session.execute(
        select(func.count()).select_from(post_t).where(and_(*filter_conditions(session, f, threshold)))
    ).scalar_one()


def matching_ids(session: Session, f: QueueFilter, *, threshold: float, limit: int) -> list[int]:
    return list(session.execute(
        select(post_t.c.id).where(and_(*filter_conditions(session, f, threshold)))
        .order_by(post_t.c.score.desc(), post_t.c.id.desc()).limit(limit)
    ).scalars())


def latest_reasons(session: Session, post_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """The reasons of each post's latest score."""
    found: dict[int, list[dict[str, Any]]] = {}
    for chunk in _chunks(list(post_ids)):
        for post_id, reasons in session.execute(
            select(score_t.c.post_id, score_t.c.reasons).where(score_t.c.post_id.in_(chunk)).order_by(score_t.c.id)
        ):
            found[post_id] = list(reasons or [])
    return found


# --- decisions -----------------------------------------------------------------------------------------


@dataclass
class ConflictInfo:
    """A post that was not changed because its state is no longer the one the reviewer saw."""

    post_id: int
    expected: str
    actual: str | None  # None: the post does not exist
    by: str = ""  # who changed it last ("" when unknown)
    at: datetime | None = None


@dataclass
class DecisionResult:
    state: str  # the state the decision sets (for undo: "" since each post gets its own)
    action_id: int | None = None  # the audit entry of the whole action
    applied: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)  # already in the decided state, as seen
    conflicts: list[ConflictInfo] = field(default_factory=list)
    restored: dict[int, str] = field(default_factory=dict)  # undo: post id -> state it has again


def decision_state(decision: str) -> str:
    """"confirm"/"reject"/"duplicate" or the state names themselves → the state to set."""
    if decision in DECISIONS:
        return DECISIONS[decision]
    if decision in DECIDED_STATES:
        return decision
    raise ReviewError(f"未知操作：{decision}")


def _chunks(items: list, size: int = CHUNK) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _last_changes(session: Session, post_ids: Sequence[int]) -> dict[int, tuple[str, datetime]]:
    """Who last changed each post's review state, and when, from the audit log."""
    last: dict[int, tuple[str, datetime]] = {}
    keys = [str(i) for i in post_ids]
    for chunk in _chunks(keys):
        for entity_id, actor, at in session.execute(
            select(audit_t.c.entity_id, audit_t.c.actor, audit_t.c.at)
            .where(audit_t.c.entity_type == "post", audit_t.c.entity_id.in_(chunk),
                   audit_t.c.action.in_([POST_DECIDED, POST_UNDONE]))
            .order_by(audit_t.c.id)
        ):
            last[int(entity_id)] = (actor, at)
    return last


def _conflicts(session: Session, wanted: dict[int, str]) -> list[ConflictInfo]:
    """Conflict details for posts that were not changed: current state, who changed it, when."""
    if not wanted:
        return []
    ids = list(wanted)
    current: dict[int, str] = {}
    for chunk in _chunks(ids):
        current.update({pid: state for pid, state in session.execute(
            select(post_t.c.id, post_t.c.review_state).where(post_t.c.id.in_(chunk)))})
    changes = _last_changes(session, [i for i in ids if i in current])
    out = []
    for post_id in ids:
        by, at = changes.get(post_id, ("", None))
        out.append(ConflictInfo(post_id, wanted[post_id], current.get(post_id), by, at))
    return out


def decide(session: Session, user: User, items: Iterable[tuple[int, str]], decision: str, *, note: str = "",
           duplicate_of: int | None = None, kind: str = "single",
           filter_description: dict[str, Any] | None = None) -> DecisionResult:
    """Set the decided state on each (post id, state the reviewer saw) whose state is still the one seen."""
    new_state = decision_state(decision)
    if duplicate_of is not None and new_state != ReviewState.DUPLICATE:
        raise ReviewError("只有「重复」可以指定原帖")
    seen: dict[int, str] = {}
    for post_id, expected in items:
        if expected not in QUEUE_STATES:
            raise ReviewError(f"未知状态：{expected}")
        seen[int(post_id)] = expected
    if duplicate_of is not None and (duplicate_of in seen or session.get(Post, duplicate_of) is None):
        raise ReviewError(f"原帖 {duplicate_of} 无效")
    result = DecisionResult(state=new_state)
    now = utcnow()

    # Read what each post is now (and its duplicate link, for undo); change only those still as seen.
    before_dup: dict[int, int | None] = {}
    current: dict[int, str] = {}
    for chunk in _chunks(list(seen)):
        for pid, state, dup in session.execute(
            select(post_t.c.id, post_t.c.review_state, post_t.c.duplicate_of_id).where(post_t.c.id.in_(chunk))
        ):
            current[pid], before_dup[pid] = state, dup
    by_expected: dict[str, list[int]] = defaultdict(list)
    missed: dict[int, str] = {}
    for pid, expected in seen.items():
        if current.get(pid) != expected:
            missed[pid] = expected
        elif expected == new_state:
            result.unchanged.append(pid)
        else:
            by_expected[expected].append(pid)
    for expected, ids in by_expected.items():
        for chunk in _chunks(ids):
            # The state guard in the UPDATE itself: a concurrent decision between the read and here loses.
            done = set(session.execute(
                update(post_t)
                .where(post_t.c.id.in_(chunk), post_t.c.review_state == expected)
                .values(review_state=new_state, duplicate_of_id=duplicate_of)
                .returning(post_t.c.id)
            ).scalars())
            result.applied.extend(p for p in chunk if p in done)
            missed.update({p: expected for p in chunk if p not in done})
    result.conflicts = _conflicts(session, missed)
    if not result.applied:
        return result

    review_ids: dict[int, int] = {}
    for chunk in _chunks(result.applied):
        rows = [{"post_id": pid, "user_id": user.id, "decision": new_state, "note": note, "at": now} for pid in chunk]
        for rid, pid in session.execute(
            insert(review_t).returning(review_t.c.id, review_t.c.post_id, sort_by_parameter_order=True), rows
        ):
            review_ids[pid] = rid
    [action_id] = audit.write(
        session, action=ACTION, entity_type="user", user=user, at=now,
        changes=[(user.id,
                  {"states": {str(p): seen[p] for p in result.applied},
                   "duplicate_of": {str(p): before_dup[p] for p in result.applied if before_dup.get(p)}},
                  {"kind": kind, "state": new_state, "count": len(result.applied), "post_ids": result.applied,
                   "reviews": {str(p): review_ids[p] for p in result.applied}, "duplicate_of": duplicate_of,
                   "note": note, **({"filter": filter_description} if filter_description else {})})],
    )
    audit.write(
        session, action=POST_DECIDED, entity_type="post", user=user, at=now,
        changes=[(p, {"review_state": seen[p], "duplicate_of_id": before_dup.get(p)},
                  {"review_state": new_state, "duplicate_of_id": duplicate_of, "action": action_id,
                   **({"note": note} if note else {})})
                 for p in result.applied],
    )
    _follow_cases(session, user, {p: seen[p] for p in result.applied}, {p: new_state for p in result.applied},
                  note=f"review decision changed to {new_state}")
    result.action_id = action_id
    return result


def decide_filter(session: Session, user: User, f: QueueFilter, decision: str, *, threshold: float,
                  expected_count: int, max_posts: int) -> DecisionResult:
    """Decide every post of a filter result, after the reviewer saw its count (refused if it changed)."""
    new_state = decision_state(decision)
    if f.state == ALL_STATES or f.state == new_state:
        raise ReviewError("批量处理整个筛选结果时，请先筛选一个不同的审核状态（例如「待审核」）")
    ids = matching_ids(session, f, threshold=threshold, limit=max_posts + 1)
    if len(ids) > max_posts:
        raise ReviewError(f"筛选结果超过 {max_posts} 条，请缩小范围后再批量处理")
    if len(ids) != expected_count:
        raise CountChanged(expected_count, len(ids))
    return decide(session, user, [(i, f.state) for i in ids], decision, kind="filter",
                  filter_description=f.describe())


# --- undo ----------------------------------------------------------------------------------------------


def last_action(session: Session, user: User, depth: int = 200) -> AuditLog | None:
    """The user's latest decision action not undone yet (from the audit log)."""
    entries = session.execute(
        select(AuditLog)
        .where(AuditLog.entity_type == "user", AuditLog.entity_id == str(user.id),
               AuditLog.action.in_([ACTION, UNDO]))
        .order_by(AuditLog.id.desc())
        .limit(depth)
    ).scalars()
    undone: set[int] = set()
    for entry in entries:
        if entry.action == UNDO:
            undone.add(int((entry.after or {}).get("undoes", 0)))
        elif entry.id not in undone:
            return entry
    return None


def undo_last(session: Session, user: User) -> DecisionResult:
    """Give the posts of the user's last action their previous state back, unless someone changed them since."""
    action = last_action(session, user)
    if action is None:
        raise NothingToUndo("没有可撤销的操作")
    before, after = action.before or {}, action.after or {}
    decided = after["state"]
    previous = {int(k): v for k, v in before.get("states", {}).items()}
    previous_dup = {int(k): v for k, v in before.get("duplicate_of", {}).items()}
    reviews = {int(k): v for k, v in after.get("reviews", {}).items()}
    result = DecisionResult(state="")
    now = utcnow()

    groups: dict[tuple[str, int | None], list[int]] = defaultdict(list)
    for pid, state in previous.items():
        groups[(state, previous_dup.get(pid))].append(pid)
    missed: dict[int, str] = {}
    for (state, dup), ids in groups.items():
        for chunk in _chunks(ids):
            done = set(session.execute(
                update(post_t)
                .where(post_t.c.id.in_(chunk), post_t.c.review_state == decided)
                .values(review_state=state, duplicate_of_id=dup)
                .returning(post_t.c.id)
            ).scalars())
            result.restored.update({p: state for p in chunk if p in done})
            missed.update({p: decided for p in chunk if p not in done})
    result.applied = sorted(result.restored)
    result.conflicts = _conflicts(session, missed)
    # An undone decision is no label: its Review rows go (the audit log keeps the story).
    stale_reviews = [reviews[p] for p in result.applied if p in reviews]
    for chunk in _chunks(stale_reviews):
        session.execute(delete(review_t).where(review_t.c.id.in_(chunk)))
    [undo_id] = audit.write(
        session, action=UNDO, entity_type="user", user=user, at=now,
        changes=[(user.id, {"state": decided, "post_ids": sorted(previous)},
                  {"undoes": action.id, "restored": {str(p): s for p, s in result.restored.items()},
                   "skipped": sorted(missed)})],
    )
    audit.write(
        session, action=POST_UNDONE, entity_type="post", user=user, at=now,
        changes=[(p, {"review_state": decided}, {"review_state": s, "duplicate_of_id": previous_dup.get(p),
                                                 "action": undo_id, "undoes": action.id})
                 for p, s in result.restored.items()],
    )
    _follow_cases(session, user, {p: decided for p in result.restored}, result.restored, note="undone")
    result.action_id = undo_id
    return result


def _follow_cases(session: Session, user: User, before: dict[int, str], after: dict[int, str], *, note: str) -> None:
    """Cases follow confirmations, in the decision's transaction: a post confirmed gets its case (opened, or
    reopened when an undo had closed it); a post no longer confirmed has its case closed if nothing happened to
    it yet (still in state confirmed)."""
    confirmed = ReviewState.CONFIRMED.value
    gained = [p for p, state in after.items() if state == confirmed and before.get(p) != confirmed]
    lost = [p for p, state in after.items() if state != confirmed and before.get(p) == confirmed]
    who = audit.actor_name(user)
    if gained:
        tracking.confirm_cases(session, gained, actor=who, user_id=user.id)
    if lost:
        tracking.unconfirm_cases(session, lost, actor=who, user_id=user.id, note=note)
