"""Re-checks of whether a case's post is still up: what to check, and storing what was observed.

The crawler (crawlers/spiders/status.py) fetches and parses; this module stores one `StatusCheck` row per
observation and applies what it proves to the case: gone moves a filed, acknowledged or escalated case to
`removed`, and a removed case to `closed` once the check comes at least `settings.case_close_after_hours` after
the removal (the post stayed gone: nothing left to do but watch); live moves a removed case (or one closed after
its removal) to `reopened`. Anything else is only recorded: a gone post whose case was never filed, an "unknown" answer (risk control, a code nobody verified).
Writes are set-based (one executemany per batch); only cases that change state are loaded as objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, insert, not_, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from takedown import clock, tracking
from takedown.models import Case, CaseState, Post, StatusCheck

S = CaseState
# A gone post proves the removal only once a complaint is out.
REMOVABLE_STATES = frozenset({S.FILED.value, S.ACKNOWLEDGED.value, S.ESCALATED.value})
REVIVABLE_STATES = frozenset({S.REMOVED.value, S.CLOSED.value})
# Gone while no complaint was out yet: worth knowing (it went without us), proves no removal.
BEFORE_FILING_STATES = frozenset({S.CONFIRMED.value, S.EVIDENCE_CAPTURED.value, S.DRAFTED.value, S.REOPENED.value})
LIVE, GONE, UNKNOWN = "live", "gone", "unknown"
_CHUNK = 500

case_t = Case.__table__
post_t = Post.__table__
check_t = StatusCheck.__table__


@dataclass(slots=True)
class Target:
    """A post to re-check and the case it belongs to."""

    case_id: int | None
    post_id: int
    platform: str
    platform_post_id: str


@dataclass(slots=True)
class Observation:
    """What one status request showed about one post."""

    post_id: int
    case_id: int | None
    platform: str
    platform_post_id: str
    state: str  # live | gone | unknown
    code: str = ""
    http_status: int | None = None
    detail: str = ""
    checked_at: datetime | None = None  # domain time; now when None


@dataclass
class CheckOutcome:
    checked: int = 0
    live: int = 0
    gone: int = 0
    unknown: int = 0
    removed: list[int] = field(default_factory=list)  # case ids moved to removed
    reopened: list[int] = field(default_factory=list)  # case ids moved to reopened
    closed: list[int] = field(default_factory=list)  # removed cases closed: still gone after the grace period
    gone_before_filing: list[int] = field(default_factory=list)  # gone, but no complaint was out yet
    live_cases: set[int] = field(default_factory=set)  # cases whose post was seen live

    def add(self, other: CheckOutcome) -> None:
        self.checked += other.checked
        self.live += other.live
        self.gone += other.gone
        self.unknown += other.unknown
        self.removed += other.removed
        self.reopened += other.reopened
        self.closed += other.closed
        self.gone_before_filing += other.gone_before_filing
        self.live_cases |= other.live_cases

    def counts(self) -> dict[str, Any]:
        return {"checked": self.checked, "live": self.live, "gone": self.gone, "unknown": self.unknown,
                "removed": len(self.removed), "reopened": len(self.reopened), "closed": len(self.closed),
                "gone_before_filing": len(self.gone_before_filing)}


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def targets(session: Session, case_ids: Iterable[int] | None = None) -> list[Target]:
    """The posts to re-check: the given cases, or every case that is still of interest — all but those closed
    without their post ever being removed (nothing left to prove or to watch)."""
    stmt = (select(case_t.c.id, post_t.c.id, post_t.c.platform, post_t.c.platform_post_id)
            .select_from(case_t.join(post_t, post_t.c.id == case_t.c.post_id)))
    if case_ids is not None:
        ids = sorted(set(case_ids))
        out: list[Target] = []
        for chunk in _chunks(ids):
            out += [Target(*row) for row in session.execute(stmt.where(case_t.c.id.in_(chunk)).order_by(case_t.c.id))]
        return out
    dormant = and_(case_t.c.state == S.CLOSED.value, case_t.c.removed_at.is_(None))
    return [Target(*row) for row in session.execute(stmt.where(not_(dormant)).order_by(case_t.c.id))]


def record_checks(session: Session, observations: Sequence[Observation], *, actor: str = "recheck",
                  close_after: timedelta | None = None) -> CheckOutcome:
    """Store the observations and apply the transitions they prove. `close_after`: how long after its removal a
    gone post closes its case (default: settings.case_close_after_hours)."""
    grace = close_after if close_after is not None else tracking.close_after()
    outcome = CheckOutcome()
    observations = _resolve(session, observations)
    if not observations:
        return outcome
    now = clock.now()
    rows = []
    for obs in observations:
        at = clock.resolve(obs.checked_at) if obs.checked_at is not None else now
        obs.checked_at = at
        rows.append({"post_id": obs.post_id, "case_id": obs.case_id, "checked_at": at, "observed": obs.state,
                     "code": (obs.code or "")[:64], "http_status": obs.http_status, "detail": obs.detail or ""})
        outcome.checked += 1
        if obs.state == LIVE:
            outcome.live += 1
        elif obs.state == GONE:
            outcome.gone += 1
        else:
            outcome.unknown += 1
    session.execute(insert(check_t), rows)

    with_case = [o for o in observations if o.case_id is not None]
    if not with_case:
        return outcome
    session.execute(
        update(case_t).where(case_t.c.id == bindparam("cid")).values(last_checked_at=bindparam("at")),
        [{"cid": o.case_id, "at": o.checked_at} for o in with_case],
    )
    # Case objects this session already holds see the same value (without becoming dirty).
    checked_at = {o.case_id: o.checked_at for o in with_case}
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Case) and obj.id in checked_at:
            set_committed_value(obj, "last_checked_at", checked_at[obj.id])
    states: dict[int, tuple[str, datetime | None]] = {}
    for chunk in _chunks(sorted({o.case_id for o in with_case})):
        states.update({cid: (state, removed_at) for cid, state, removed_at in session.execute(
            select(case_t.c.id, case_t.c.state, case_t.c.removed_at).where(case_t.c.id.in_(chunk)))})
    # Only cases a check moves are loaded as objects (one query), then moved through the state machine.
    moving = sorted({o.case_id for o in with_case
                     if o.case_id in states and _moves(o.state, *states[o.case_id], o.checked_at, grace)})
    cases = {c.id: c for c in tracking.load_cases(session, moving)}
    for obs in with_case:
        if obs.state == LIVE:
            outcome.live_cases.add(obs.case_id)
        case = cases.get(obs.case_id)
        state = case.state if case is not None else states.get(obs.case_id, ("", None))[0]
        if obs.state == GONE and state in BEFORE_FILING_STATES:
            outcome.gone_before_filing.append(obs.case_id)
        if case is None or not _moves(obs.state, case.state, case.removed_at, obs.checked_at, grace):
            continue
        detail = f"{obs.platform} {obs.platform_post_id}: {obs.code or obs.state}" + (
            f" ({obs.detail})" if obs.detail else "")
        if obs.state == GONE and case.state == S.REMOVED:
            hours = clock.hours_between(case.removed_at, obs.checked_at)
            tracking.transition(session, case, S.CLOSED, actor=actor, at=obs.checked_at,
                                note=f"re-check: still gone {hours:.1f} h after the removal: {detail}")
            outcome.closed.append(case.id)
        elif obs.state == GONE:
            tracking.transition(session, case, S.REMOVED, actor=actor, at=obs.checked_at,
                                note=f"re-check: gone: {detail}")
            outcome.removed.append(case.id)
        else:
            tracking.transition(session, case, S.REOPENED, actor=actor, at=obs.checked_at,
                                note=f"re-check: live again: {detail}")
            outcome.reopened.append(case.id)
    return outcome


def _resolve(session: Session, observations: Sequence[Observation]) -> list[Observation]:
    """Fill in the post and case of observations known only by (platform, platform post id); those of posts
    not in the store are dropped (there is nothing to attach them to)."""
    missing: dict[str, set[str]] = {}
    for obs in observations:
        if not obs.post_id:
            missing.setdefault(obs.platform, set()).add(obs.platform_post_id)
    if not missing:
        return list(observations)
    found: dict[tuple[str, str], tuple[int, int | None]] = {}
    for platform, ids in missing.items():
        for chunk in _chunks(sorted(ids)):
            for post_id, platform_post_id, case_id in session.execute(
                select(post_t.c.id, post_t.c.platform_post_id, case_t.c.id)
                .select_from(post_t.outerjoin(case_t, case_t.c.post_id == post_t.c.id))
                .where(post_t.c.platform == platform, post_t.c.platform_post_id.in_(chunk))
            ):
                found[(platform, platform_post_id)] = (post_id, case_id)
    out = []
    for obs in observations:
        if not obs.post_id:
            key = (obs.platform, obs.platform_post_id)
            if key not in found:
                continue
            obs.post_id, obs.case_id = found[key]
        out.append(obs)
    return out


def _moves(observed: str, state: str, removed_at: datetime | None, checked_at: datetime | None,
           close_after: timedelta) -> bool:
    if observed == GONE:
        if state == S.REMOVED.value:  # still gone: closed once the grace period after the removal has passed
            return removed_at is not None and checked_at is not None and \
                clock.aware(checked_at) >= clock.aware(removed_at) + close_after
        return state in REMOVABLE_STATES
    if observed == LIVE:
        return state in REVIVABLE_STATES and removed_at is not None
    return False
