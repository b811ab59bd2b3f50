"""Test data for cases, evidence and re-checks: posts with authors, contacts and a scored reason, inserted
directly, and a case moved along the state machine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from takedown import tracking
from takedown.models import (
    Author,
    AuthorContact,
    Case,
    CaseState,
    Contact,
    Post,
    PostContact,
    ReviewState,
    Score,
)

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
REASONS = [{"rule": "promise.stop_interest", "category": "promise", "field": "desc", "text": "停息挂账",
            "weight": 1.2, "explanation": "宣称可停息挂账：典型的非法代理维权话术"}]


def author(session: Session, platform: str = "douyin", key: str = "a1", *, contacts: tuple[str, ...] = (),
           nickname: str = "债务规划师小王") -> Author:
    row = Author(platform=platform, platform_author_id=key, nickname=nickname, bio="看主页联系",
                 url=f"https://example.invalid/user/{key}", first_seen=T0, last_seen=T0)
    session.add(row)
    session.flush()
    for value in contacts:
        session.add(AuthorContact(author_id=row.id, contact_id=contact(session, value).id))
    session.flush()
    return row


def contact(session: Session, value: str, kind: str = "wechat") -> Contact:
    found = session.execute(select(Contact).where(Contact.type == kind, Contact.value == value)).scalar_one_or_none()
    if found is None:
        found = Contact(type=kind, value=value, first_seen=T0)
        session.add(found)
        session.flush()
    return found


def post(session: Session, key: str, *, platform: str = "douyin", by: Author | None = None,
         contacts: tuple[str, ...] = (), first_seen: datetime = T0, state: str = ReviewState.CONFIRMED,
         title: str = "停息挂账，教你一招上岸", url: str = "", score: float = 0.9) -> Post:
    row = Post(platform=platform, platform_post_id=key, url=url or f"https://example.invalid/{platform}/{key}",
               title=title, text="负债38万，停息挂账后分5年偿还，加薇 cz573982a", hashtags=["债务优化"],
               author_id=by.id if by else None, first_seen=first_seen, last_seen=first_seen, raw={},
               content_hash=key, score=score, score_version="test", review_state=state)
    session.add(row)
    session.flush()
    session.add(Score(post_id=row.id, model_version="test", score=score, reasons=REASONS, created_at=first_seen))
    for value in contacts:
        session.add(PostContact(post_id=row.id, contact_id=contact(session, value).id))
    session.flush()
    return row


PATH = {
    CaseState.EVIDENCE_CAPTURED: [CaseState.EVIDENCE_CAPTURED],
    CaseState.DRAFTED: [CaseState.EVIDENCE_CAPTURED, CaseState.DRAFTED],
    CaseState.FILED: [CaseState.EVIDENCE_CAPTURED, CaseState.DRAFTED, CaseState.FILED],
    CaseState.ACKNOWLEDGED: [CaseState.EVIDENCE_CAPTURED, CaseState.DRAFTED, CaseState.FILED,
                             CaseState.ACKNOWLEDGED],
    CaseState.REMOVED: [CaseState.EVIDENCE_CAPTURED, CaseState.DRAFTED, CaseState.FILED, CaseState.REMOVED],
}


def case_in(session: Session, p: Post, state: CaseState, *, at: datetime = T0, step: timedelta = timedelta(hours=1)
            ) -> Case:
    """A case for the post moved to `state` along the usual path, one step an hour from `at`."""
    case = tracking.open_case(session, p, actor="test", at=at)
    for i, target in enumerate(PATH.get(state, []), start=1):
        tracking.transition(session, case, target, actor="test", at=at + i * step)
    return case
