"""Cases: from a confirmed post to a removal a re-check proved, with SLAs, escalation and revival.

The state machine (`TRANSITIONS`) is the only way a case changes state: `transition` refuses anything else with
`IllegalTransition`, stamps the state's time column, and writes an audit entry (entity "case", state before and
after) every time. Times come from `takedown.clock` (domain time), never from the wall clock directly.

- SLA: filing starts the channel's clock (`sla_for`); a case still filed or acknowledged after `sla_due_at` is
  overdue. `escalate` moves an overdue or rejected case up one level: level 1 re-files on the same channel,
  level 2 goes to the national 12377 channel. Drafting the new complaint is the complaints package's job
  (`takedown.complaints.drafting.draft_for_case`); the case only records the step. `escalate_overdue` (run by
  every re-check) takes both kinds.
- Closing: a case is closed when nothing is left to do. A removed case, by the first re-check at least
  `settings.case_close_after_hours` after the removal that still finds the post gone (takedown.status_checks);
  a case rejected at the top level (12377 refused too), by `close_exhausted`; a confirmation withdrawn before
  anything was filed, by `unconfirm_cases`. A closed case whose post was removed stays watched: seen live again,
  it reopens.
- `filed_at` keeps the first filing of the case; later filings (escalations) move `sla_due_at` only, so
  `hours_to_removal` is the case's whole time from first filing to the check that proved the post gone.
- Revival: a removed post seen live again reopens its case; a new post by the same account, or sharing a contact
  with the removed post, is linked to the old case when a reviewer confirmed it, and is otherwise put in the
  review queue with a "revival_suspect" audit entry naming the old case.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, or_, select, union, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from takedown import audit, clock
from takedown.models import (
    AuditLog,
    AuthorContact,
    Case,
    CaseState,
    Post,
    PostContact,
    ReviewState,
    StatusCheck,
    User,
)
from takedown.settings import Settings, get_settings

logger = logging.getLogger(__name__)

S = CaseState
TRANSITIONS: dict[CaseState, frozenset[CaseState]] = {
    S.CONFIRMED: frozenset({S.EVIDENCE_CAPTURED, S.CLOSED}),  # closed: the confirmation withdrawn before filing
    S.EVIDENCE_CAPTURED: frozenset({S.DRAFTED}),
    S.DRAFTED: frozenset({S.FILED}),
    S.FILED: frozenset({S.ACKNOWLEDGED, S.REMOVED, S.REJECTED, S.ESCALATED}),
    S.ACKNOWLEDGED: frozenset({S.REMOVED, S.REJECTED, S.ESCALATED}),
    S.REJECTED: frozenset({S.ESCALATED, S.CLOSED}),
    S.ESCALATED: frozenset({S.DRAFTED, S.FILED, S.REMOVED, S.CLOSED}),
    S.REMOVED: frozenset({S.CLOSED, S.REOPENED}),
    S.CLOSED: frozenset({S.REOPENED}),
    S.REOPENED: frozenset({S.EVIDENCE_CAPTURED, S.DRAFTED, S.FILED}),
}
# The column each state stamps when a case enters it (filed: only the first time, see the module docstring).
TIME_COLUMNS: dict[CaseState, str] = {
    S.EVIDENCE_CAPTURED: "evidence_at",
    S.DRAFTED: "drafted_at",
    S.FILED: "filed_at",
    S.ACKNOWLEDGED: "acknowledged_at",
    S.REMOVED: "removed_at",
    S.REJECTED: "rejected_at",
    S.ESCALATED: "escalated_at",
    S.CLOSED: "closed_at",
}
# States in which the platform owes us an answer: the SLA runs.
WAITING_STATES = (S.FILED, S.ACKNOWLEDGED)
NATIONAL_CHANNEL = "12377"
MAX_ESCALATION_LEVEL = 2  # 0 first filing, 1 re-filed on the same channel, 2 the national 12377 channel
# Hours (DOMAIN.md "Filing complaints"); Settings.case_sla_hours overrides per channel.
DEFAULT_SLA_HOURS: dict[str, float] = {
    "douyin": 120, "kuaishou": 120, "bilibili": 72, "xiaohongshu": 120, "weibo": 120,
    "weixin_channels": 168, NATIONAL_CHANNEL: 240,
}
FALLBACK_SLA_HOURS = 120.0  # a channel nobody configured: about five working days
# Review states a revival candidate may be in: a person's reject, duplicate or official mark stands.
_REVIVAL_REVIEW_STATES = (ReviewState.NEW.value, ReviewState.QUEUED.value, ReviewState.CONFIRMED.value)
_CHUNK = 500

OPEN = "case.open"
TRANSITION = "case.transition"
ESCALATE = "case.escalate"
REVIVAL = "case.revival"
REVIVAL_SUSPECT = "revival_suspect"

case_t = Case.__table__
post_t = Post.__table__


class IllegalTransition(ValueError):
    """A state change the case state machine does not allow. Names the case and both states."""

    def __init__(self, case_id: int | str | None = None, from_state: str = "", to_state: str = "", reason: str = ""):
        if isinstance(case_id, str) and not from_state and not to_state:  # raised with a message only
            self.case_id, self.from_state, self.to_state = None, "", ""
            super().__init__(case_id)
            return
        self.case_id, self.from_state, self.to_state = case_id, str(from_state), str(to_state)
        allowed = ", ".join(sorted(TRANSITIONS.get(_as_state(from_state), ()))) if _is_state(from_state) else ""
        message = f"case {case_id}: cannot go from {self.from_state} to {self.to_state}"
        message += f": {reason}" if reason else (f" (allowed: {allowed or 'none'})")
        super().__init__(message)


def _is_state(value: Any) -> bool:
    return value in CaseState._value2member_map_


def _as_state(value: CaseState | str) -> CaseState:
    return CaseState(value)


def can_transition(from_state: CaseState | str, to_state: CaseState | str) -> bool:
    return _is_state(from_state) and _is_state(to_state) and CaseState(to_state) in TRANSITIONS[CaseState(from_state)]


# --- SLA -----------------------------------------------------------------------------------------------


def sla_hours(settings: Settings | None = None) -> dict[str, float]:
    return {**DEFAULT_SLA_HOURS, **(settings or get_settings()).case_sla_hours}


def sla_for(channel: str, settings: Settings | None = None) -> timedelta:
    """How long the channel has to act on a complaint before the case is overdue."""
    return timedelta(hours=float(sla_hours(settings).get(channel, FALLBACK_SLA_HOURS)))


def sla_channel(case: Case) -> str:
    """The channel whose SLA a filing starts: the national channel once the case escalated there."""
    return NATIONAL_CHANNEL if case.escalation_level >= MAX_ESCALATION_LEVEL else case.channel


# --- audit helpers -------------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return clock.aware(value).isoformat() if value is not None else None


def snapshot(case: Case) -> dict[str, Any]:
    """The case's tracked fields as JSON, for audit entries."""
    out: dict[str, Any] = {"state": str(case.state), "escalation_level": case.escalation_level}
    for name in ("sla_due_at", *TIME_COLUMNS.values()):
        value = getattr(case, name)
        if value is not None:
            out[name] = _iso(value)
    if case.hours_to_removal is not None:
        out["hours_to_removal"] = round(case.hours_to_removal, 4)
    if case.reopened_count:
        out["reopened_count"] = case.reopened_count
    if case.linked_case_id is not None:
        out["linked_case_id"] = case.linked_case_id
    return out


def _user(session: Session, user_id: int | None) -> User | None:
    return session.get(User, user_id) if user_id is not None else None


def _audit(session: Session, action: str, entity_type: str, changes: Iterable[audit.Change], *, actor: str,
           user_id: int | None, at: datetime) -> list[int]:
    return audit.write(session, action=action, entity_type=entity_type, changes=changes,
                       user=_user(session, user_id), actor=actor, at=at)


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# --- opening and moving cases --------------------------------------------------------------------------


def case_for_post(session: Session, post_id: int) -> Case | None:
    return session.execute(select(Case).where(Case.post_id == post_id)).scalar_one_or_none()


def open_case(session: Session, post: Post, *, actor: str, user_id: int | None = None,
              at: datetime | None = None, linked_case_id: int | None = None) -> Case:
    """The post's case, opened in state confirmed on the post's platform as channel. Idempotent: an existing
    case is returned as it is."""
    existing = case_for_post(session, post.id)
    if existing is not None:
        return existing
    at = clock.resolve(at)
    case = Case(post_id=post.id, state=CaseState.CONFIRMED, channel=post.platform, opened_at=at, updated_at=at,
                linked_case_id=linked_case_id)
    session.add(case)
    session.flush()
    _audit(session, OPEN, "case", [(case.id, None, {**snapshot(case), "post_id": post.id,
                                                   "channel": case.channel})],
           actor=actor, user_id=user_id, at=at)
    return case


def transition(session: Session, case: Case, to: CaseState | str, *, actor: str, user_id: int | None = None,
               at: datetime | None = None, note: str = "") -> Case:
    """Move the case to `to` if the state machine allows it; stamp the time, the SLA, the time to removal."""
    if not _is_state(to):
        raise IllegalTransition(case.id, case.state, to, reason=f"unknown state {to!r}")
    target = CaseState(to)
    if not can_transition(case.state, target):
        raise IllegalTransition(case.id, case.state, target)
    at = clock.resolve(at)
    before = snapshot(case)
    _enter(case, target, at)
    session.add(case)
    session.flush()
    after = snapshot(case)
    if note:
        after["note"] = note
    _audit(session, TRANSITION, "case", [(case.id, before, after)], actor=actor, user_id=user_id, at=at)
    return case


def transition_many(session: Session, moves: Sequence[tuple[Case, CaseState | str, str]], *, actor: str,
                    user_id: int | None = None, at: datetime | None = None) -> list[Case]:
    """`transition` for many cases at once, for bulk work: the same checks, the same stamps and one audit entry
    per move, in order, with one flush and one audit insert instead of one each per case. moves: (case, target
    state, note). Every move is checked before any case changes: if the state machine refuses one,
    IllegalTransition is raised and no case has moved."""
    at = clock.resolve(at)
    changes = move_cases(session, moves, at=at)
    audit.write_many(session, [(TRANSITION, "case", *change) for change in changes], user=_user(session, user_id),
                     actor=actor, at=at)
    return [case for case, _, _ in moves]


def move_cases(session: Session, moves: Sequence[tuple[Case, CaseState | str, str]], *,
               at: datetime) -> list[audit.Change]:
    """The moves of `transition_many` without their audit entries, for a caller that writes them in the same
    transaction together with its own (action TRANSITION, entity "case": one per returned change, in order).
    Checked first, applied, flushed once; IllegalTransition if one is refused, and then no case has moved."""
    targets: list[CaseState] = []
    state_now: dict[int, CaseState | str] = {}  # a case moved twice is checked from where the first move leaves it
    for case, to, _ in moves:
        current = state_now.get(id(case), case.state)
        if not _is_state(to):
            raise IllegalTransition(case.id, current, to, reason=f"unknown state {to!r}")
        target = CaseState(to)
        if not can_transition(current, target):
            raise IllegalTransition(case.id, current, target)
        state_now[id(case)] = target
        targets.append(target)
    changes: list[audit.Change] = []
    for (case, _, note), target in zip(moves, targets, strict=True):
        before = snapshot(case)
        _enter(case, target, at)
        session.add(case)
        after = snapshot(case)
        if note:
            after["note"] = note
        changes.append((case.id, before, after))
    session.flush()
    return changes


def _enter(case: Case, target: CaseState, at: datetime) -> None:
    """What entering `target` changes on a case: its state, the time of the step, the SLA when filed, the time
    to removal when removed, the revival count when a removed post (or its account) comes back."""
    case.state = target
    column = TIME_COLUMNS.get(target)
    if target is S.FILED:
        if case.filed_at is None:
            case.filed_at = at
        case.sla_due_at = at + sla_for(sla_channel(case))
    elif column:
        setattr(case, column, at)
    if target is S.REMOVED and case.filed_at is not None:
        case.hours_to_removal = clock.hours_between(case.filed_at, at)
    if target is S.REOPENED and case.removed_at is not None:
        case.reopened_count += 1
    case.updated_at = at


# --- the review hook: confirming (and un-confirming) posts ----------------------------------------------


def _insert_for(session: Session):
    return {"sqlite": sqlite.insert, "postgresql": postgresql.insert}[session.get_bind().dialect.name]


def confirm_cases(session: Session, post_ids: Sequence[int], *, actor: str, user_id: int | None = None,
                  at: datetime | None = None) -> list[int]:
    """Open a case for each confirmed post (set-based, for bulk decisions); a case closed before it was ever
    filed (an undone confirmation) is reopened. Returns the ids of the cases opened or reopened."""
    at = clock.resolve(at)
    ids = sorted(set(post_ids))
    existing: dict[int, tuple[int, str, datetime | None]] = {}
    platforms: dict[int, str] = {}
    for chunk in _chunks(ids):
        for case_id, post_id, state, filed_at in session.execute(
            select(case_t.c.id, case_t.c.post_id, case_t.c.state, case_t.c.filed_at).where(case_t.c.post_id.in_(chunk))
        ):
            existing[post_id] = (case_id, state, filed_at)
        missing = [p for p in chunk if p not in existing]
        if missing:
            platforms.update(session.execute(
                select(post_t.c.id, post_t.c.platform).where(post_t.c.id.in_(missing))).all())
    opened: list[tuple[int, int, str]] = []
    rows = [{"post_id": p, "state": CaseState.CONFIRMED.value, "channel": platforms[p], "opened_at": at,
             "updated_at": at, "escalation_level": 0, "reopened_count": 0}
            for p in ids if p not in existing and p in platforms]
    insert_ = _insert_for(session)
    for chunk in _chunks(rows):
        stmt = insert_(case_t).on_conflict_do_nothing(index_elements=["post_id"]).returning(
            case_t.c.id, case_t.c.post_id)
        for case_id, post_id in session.execute(stmt, list(chunk)):
            opened.append((case_id, post_id, platforms[post_id]))
    if opened:
        _audit(session, OPEN, "case",
               [(cid, None, {"state": CaseState.CONFIRMED.value, "escalation_level": 0, "post_id": pid,
                             "channel": channel}) for cid, pid, channel in opened],
               actor=actor, user_id=user_id, at=at)
    reopen = [cid for cid, state, filed_at in existing.values() if state == CaseState.CLOSED and filed_at is None]
    for case in load_cases(session, reopen):
        transition(session, case, S.REOPENED, actor=actor, user_id=user_id, at=at, note="confirmed again")
    return [cid for cid, _, _ in opened] + reopen


def unconfirm_cases(session: Session, post_ids: Sequence[int], *, actor: str, user_id: int | None = None,
                    at: datetime | None = None, note: str = "undone") -> list[int]:
    """Close the cases of posts no longer confirmed, if nothing happened to them yet (state confirmed): the
    withdrawn-before-filing path of the state machine. One query per chunk finds them, `move_cases` closes them
    (the same checks and stamps as any transition), one audit entry per case. Returns the closed case ids."""
    at = clock.resolve(at)
    ids: list[int] = []
    for chunk in _chunks(sorted(set(post_ids))):
        ids.extend(session.execute(
            select(case_t.c.id).where(case_t.c.post_id.in_(chunk), case_t.c.state == CaseState.CONFIRMED.value)
        ).scalars())
    cases = load_cases(session, ids)
    changes = move_cases(session, [(case, S.CLOSED, note) for case in cases], at=at)
    if changes:
        _audit(session, TRANSITION, "case", changes, actor=actor, user_id=user_id, at=at)
    return [case.id for case in cases]


def load_cases(session: Session, case_ids: Sequence[int]) -> list[Case]:
    cases: list[Case] = []
    for chunk in _chunks(sorted(set(case_ids))):
        cases.extend(session.execute(select(Case).where(Case.id.in_(chunk)).order_by(Case.id)).scalars())
    return cases


# --- SLA and escalation --------------------------------------------------------------------------------


def close_after(settings: Settings | None = None) -> timedelta:
    """How long after its removal a case waits for the re-check that closes it."""
    return timedelta(hours=float((settings or get_settings()).case_close_after_hours))


def overdue(session: Session, now: datetime | None = None) -> list[Case]:
    """Cases still waiting for the platform (filed or acknowledged) after their SLA ran out, oldest first."""
    now = clock.resolve(now)
    return list(session.execute(
        select(Case).where(Case.state.in_([s.value for s in WAITING_STATES]), Case.sla_due_at.is_not(None),
                           Case.sla_due_at < now)
        .order_by(Case.sla_due_at, Case.id)
    ).scalars())


def rejected_below_top(session: Session) -> list[Case]:
    """Cases the platform refused that can still go one level up (a re-filing, then 12377), oldest first."""
    return list(session.execute(
        select(Case).where(Case.state == S.REJECTED, Case.escalation_level < MAX_ESCALATION_LEVEL)
        .order_by(Case.rejected_at, Case.id)
    ).scalars())


@dataclass
class Escalation:
    case_id: int
    level: int  # the level reached
    channel: str  # where the new complaint goes
    attempt: int
    complaint_id: int | None = None
    note: str = ""


def escalate(session: Session, case: Case, *, now: datetime | None = None, actor: str = "system",
             user_id: int | None = None) -> Escalation:
    """One level up: 0→1 re-files on the case's channel (attempt 2), 1→2 goes to 12377 (attempt 3). The case
    moves to escalated and the complaints package drafts the new complaint. Refused at the top level or from a
    state that cannot escalate (IllegalTransition)."""
    now = clock.resolve(now)
    level = case.escalation_level
    if level >= MAX_ESCALATION_LEVEL:
        raise IllegalTransition(case.id, case.state, S.ESCALATED,
                                reason=f"already escalated to the national {NATIONAL_CHANNEL} channel")
    channel, attempt = (case.channel, 2) if level == 0 else (NATIONAL_CHANNEL, 3)
    overdue_by = (now - clock.aware(case.sla_due_at)) if case.sla_due_at is not None else None
    reason = "rejected" if case.state == S.REJECTED else (
        f"overdue by {overdue_by.total_seconds() / 3600:.1f} h" if overdue_by is not None else "escalated")
    transition(session, case, S.ESCALATED, actor=actor, user_id=user_id, at=now,
               note=f"level {level + 1}: {reason}; new complaint on {channel}")
    case.escalation_level = level + 1
    session.add(case)
    session.flush()
    result = Escalation(case.id, level + 1, channel, attempt)
    draft = _drafting()
    if draft is None:
        result.note = "drafting unavailable: takedown.complaints.drafting is not installed"
        logger.warning("case=%s escalated to level %d without a draft: %s", case.id, level + 1, result.note)
    else:
        # The escalation is a fact (the SLA ran out) even when no letter can be written yet (no evidence,
        # nothing to quote): the refusal is recorded and the complaints flow drafts it later from the level.
        try:
            with session.begin_nested():
                complaint = draft(session, case, channel=channel, attempt=attempt, actor=actor, user_id=user_id,
                                  now=now)
            result.complaint_id = getattr(complaint, "id", None)
        except ValueError as exc:
            result.note = f"draft refused: {exc}"
            logger.warning("case=%s escalated to level %d without a draft: %s", case.id, level + 1, exc)
    _audit(session, ESCALATE, "case",
           [(case.id, {"escalation_level": level},
             {"escalation_level": level + 1, "channel": channel, "attempt": attempt, "reason": reason,
              "complaint_id": result.complaint_id, **({"note": result.note} if result.note else {})})],
           actor=actor, user_id=user_id, at=now)
    return result


def _drafting():
    """`draft_for_case` from the complaints package, or None while that package does not provide it."""
    try:
        from takedown.complaints.drafting import draft_for_case
    except ImportError as exc:
        if exc.name in ("takedown.complaints", "takedown.complaints.drafting"):
            return None
        raise
    return draft_for_case


def escalate_overdue(session: Session, now: datetime | None = None, *, case_ids: Iterable[int] | None = None,
                     actor: str = "system") -> tuple[list[Escalation], list[tuple[int, str]]]:
    """Escalate every overdue or rejected case below the top level (only those in `case_ids` when given). Each
    case in its own savepoint: one that fails to escalate is reported and the rest go on."""
    now = clock.resolve(now)
    allowed = set(case_ids) if case_ids is not None else None
    done: list[Escalation] = []
    failed: list[tuple[int, str]] = []
    for case in [*overdue(session, now), *rejected_below_top(session)]:
        if case.escalation_level >= MAX_ESCALATION_LEVEL or (allowed is not None and case.id not in allowed):
            continue
        try:
            with session.begin_nested():
                done.append(escalate(session, case, now=now, actor=actor))
        except Exception as exc:  # noqa: BLE001 - reported per case, the batch goes on
            logger.warning("case=%s escalation failed: %s", case.id, exc)
            session.expire(case)
            failed.append((case.id, f"{type(exc).__name__}: {exc}"))
    return done, failed


def close_exhausted(session: Session, now: datetime | None = None, *, case_ids: Iterable[int] | None = None,
                    actor: str = "system") -> list[Case]:
    """Close the cases rejected at the top level: the platform refused, its re-filing was refused, and the
    national 12377 channel refused too; nothing is left to escalate to (only those in `case_ids` when given).
    Their post stays watched like any other closed case's."""
    now = clock.resolve(now)
    allowed = set(case_ids) if case_ids is not None else None
    cases = [case for case in session.execute(
        select(Case).where(Case.state == S.REJECTED, Case.escalation_level >= MAX_ESCALATION_LEVEL).order_by(Case.id)
    ).scalars() if allowed is None or case.id in allowed]
    if cases:
        transition_many(session, [(case, S.CLOSED, f"rejected on the national {NATIONAL_CHANNEL} channel too: "
                                                   "nothing left to escalate to") for case in cases],
                        actor=actor, at=now)
    return cases


# --- revival -------------------------------------------------------------------------------------------


@dataclass
class RevivalReport:
    reopened: list[Case] = field(default_factory=list)  # a removed post live again
    linked: list[Case] = field(default_factory=list)  # a confirmed new post's case, linked to the old case
    suspects: dict[int, int] = field(default_factory=dict)  # new post id -> old case id, queued for review

    @property
    def cases(self) -> list[Case]:
        return self.reopened + self.linked


def detect_revivals(session: Session, now: datetime | None = None, *, actor: str = "system") -> list[Case]:
    """Reopen cases whose removed post is live again, and link or queue new posts by the same account or
    contact (see `revivals`). Returns the cases reopened, opened or linked."""
    return revivals(session, now, actor=actor).cases


def revivals(session: Session, now: datetime | None = None, *, actor: str = "system") -> RevivalReport:
    now = clock.resolve(now)
    report = RevivalReport()
    report.reopened = _reopen_live_again(session, now, actor)
    _link_new_posts(session, now, actor, report)
    return report


def _reopen_live_again(session: Session, now: datetime, actor: str) -> list[Case]:
    """Removed or closed-after-removal cases whose post a re-check saw live, or a crawl found, after removal."""
    check = StatusCheck.__table__
    live_check = exists().where(check.c.post_id == case_t.c.post_id, check.c.observed == "live",
                                check.c.checked_at > case_t.c.removed_at)
    crawled_again = exists().where(post_t.c.id == case_t.c.post_id, post_t.c.last_seen > case_t.c.removed_at)
    ids = list(session.execute(
        select(case_t.c.id).where(case_t.c.state.in_([S.REMOVED.value, S.CLOSED.value]),
                                  case_t.c.removed_at.is_not(None), or_(live_check, crawled_again))
    ).scalars())
    reopened = []
    for case in load_cases(session, ids):
        transition(session, case, S.REOPENED, actor=actor, at=now, note="the removed post is live again")
        reopened.append(case)
    return reopened


def _revival_candidates(session: Session) -> list[tuple[int, int, int, str, int | None]]:
    """(old case id, old post id, new post id, reason, contact id) for every post first seen after a case's
    removal by the removed post's account or showing one of its contacts. A few set-based queries."""
    old = post_t.alias("old_post")
    new = post_t.alias("new_post")
    pc, ac = PostContact.__table__, AuthorContact.__table__
    removed = case_t.c.removed_at.is_not(None)
    eligible = [new.c.review_state.in_(_REVIVAL_REVIEW_STATES)]

    same_author = (
        select(case_t.c.id, old.c.id, new.c.id, old.c.author_id)
        .select_from(case_t.join(old, old.c.id == case_t.c.post_id)
                     .join(new, and_(new.c.author_id == old.c.author_id, new.c.id != old.c.id,
                                     new.c.first_seen > case_t.c.removed_at)))
        .where(removed, old.c.author_id.is_not(None), *eligible)
    )
    # The removed posts' contacts: shown in the post, or in its author's profile.
    old_contacts = union(
        select(case_t.c.id.label("case_id"), case_t.c.post_id.label("old_post_id"),
               case_t.c.removed_at.label("removed_at"), pc.c.contact_id.label("contact_id"))
        .select_from(case_t.join(pc, pc.c.post_id == case_t.c.post_id)).where(removed),
        select(case_t.c.id, case_t.c.post_id, case_t.c.removed_at, ac.c.contact_id)
        .select_from(case_t.join(old, old.c.id == case_t.c.post_id).join(ac, ac.c.author_id == old.c.author_id))
        .where(removed),
    ).cte("old_contacts")
    oc = old_contacts.c
    pc2, ac2 = pc.alias("new_pc"), ac.alias("new_ac")
    via_post = (
        select(oc.case_id, oc.old_post_id, new.c.id, oc.contact_id)
        .select_from(old_contacts.join(pc2, pc2.c.contact_id == oc.contact_id)
                     .join(new, new.c.id == pc2.c.post_id))
        .where(new.c.id != oc.old_post_id, new.c.first_seen > oc.removed_at, *eligible)
    )
    via_author = (
        select(oc.case_id, oc.old_post_id, new.c.id, oc.contact_id)
        .select_from(old_contacts.join(ac2, ac2.c.contact_id == oc.contact_id)
                     .join(new, new.c.author_id == ac2.c.author_id))
        .where(new.c.id != oc.old_post_id, new.c.first_seen > oc.removed_at, *eligible)
    )
    out = [(c, o, n, "same_author", None) for c, o, n, _ in session.execute(same_author)]
    out += [(c, o, n, "shared_contact", contact) for c, o, n, contact in session.execute(via_post)]
    out += [(c, o, n, "shared_contact", contact) for c, o, n, contact in session.execute(via_author)]
    return out


def _link_new_posts(session: Session, now: datetime, actor: str, report: RevivalReport) -> None:
    candidates = _revival_candidates(session)
    if not candidates:
        return
    by_new: dict[int, dict[str, Any]] = defaultdict(lambda: {"cases": {}, "reasons": set(), "contacts": set()})
    for case_id, old_post_id, new_post_id, reason, contact_id in candidates:
        entry = by_new[new_post_id]
        entry["cases"][case_id] = old_post_id
        entry["reasons"].add(reason)
        if contact_id is not None:
            entry["contacts"].add(contact_id)
    new_ids = sorted(by_new)
    posts: dict[int, tuple[str, str]] = {}
    cases_of: dict[int, tuple[int, int | None]] = {}
    flagged: set[tuple[int, int]] = set()
    audit_t = AuditLog.__table__
    for chunk in _chunks(new_ids):
        posts.update({pid: (state, platform) for pid, state, platform in session.execute(
            select(post_t.c.id, post_t.c.review_state, post_t.c.platform).where(post_t.c.id.in_(chunk)))})
        cases_of.update({pid: (cid, linked) for cid, pid, linked in session.execute(
            select(case_t.c.id, case_t.c.post_id, case_t.c.linked_case_id).where(case_t.c.post_id.in_(chunk)))})
        for entity_id, after in session.execute(
            select(audit_t.c.entity_id, audit_t.c.after).where(
                audit_t.c.action == REVIVAL_SUSPECT, audit_t.c.entity_type == "post",
                audit_t.c.entity_id.in_([str(p) for p in chunk]))
        ):
            flagged.add((int(entity_id), int((after or {}).get("case_id", 0))))
    removed_at = dict(session.execute(
        select(case_t.c.id, case_t.c.removed_at).where(
            case_t.c.id.in_(sorted({c for e in by_new.values() for c in e["cases"]})))).all())

    suspects: list[tuple[int, str, dict[str, Any]]] = []
    for new_post_id in new_ids:
        entry = by_new[new_post_id]
        # The old case the new post most likely revives: the latest removal, then the lowest id.
        old_case_id = max(entry["cases"], key=lambda c: (clock.aware(removed_at[c]), -c))
        link = {"case_id": old_case_id, "old_post_id": entry["cases"][old_case_id],
                "cases": sorted(entry["cases"]), "reasons": sorted(entry["reasons"]),
                "contact_ids": sorted(entry["contacts"])}
        review_state, _platform = posts[new_post_id]
        own = cases_of.get(new_post_id)
        if own is not None and old_case_id == own[0]:
            continue
        if review_state == ReviewState.CONFIRMED:
            if own is None:
                case = open_case(session, session.get(Post, new_post_id), actor=actor, at=now,
                                 linked_case_id=old_case_id)
                before = None
            elif own[1] is None:
                case = session.get(Case, own[0])
                before = snapshot(case)
                case.linked_case_id = old_case_id
                case.updated_at = now
                session.add(case)
                session.flush()
            else:
                continue  # already linked
            _audit(session, REVIVAL, "case", [(case.id, before, {**snapshot(case), **link, "new_post_id": new_post_id})],
                   actor=actor, user_id=None, at=now)
            report.linked.append(case)
        elif (new_post_id, old_case_id) not in flagged:
            suspects.append((new_post_id, review_state, link))
            report.suspects[new_post_id] = old_case_id

    if suspects:
        to_queue = [pid for pid, state, _ in suspects if state != ReviewState.QUEUED]
        for chunk in _chunks(to_queue):
            session.execute(update(post_t).where(post_t.c.id.in_(chunk), post_t.c.review_state == ReviewState.NEW)
                            .values(review_state=ReviewState.QUEUED.value))
        _audit(session, REVIVAL_SUSPECT, "post",
               [(pid, {"review_state": state}, {"review_state": ReviewState.QUEUED.value, **link})
                for pid, state, link in suspects], actor=actor, user_id=None, at=now)
        _audit(session, REVIVAL_SUSPECT, "case",
               [(link["case_id"], None, {"new_post_id": pid, **link}) for pid, _, link in suspects],
               actor=actor, user_id=None, at=now)
