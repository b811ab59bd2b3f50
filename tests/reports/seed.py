"""A small database for week 2026-W47 (Mon 2026-11-16 00:00 — Mon 2026-11-23 00:00 Asia/Shanghai, i.e.
2026-11-15 16:00 — 2026-11-22 16:00 UTC), with rows on both sides of every boundary, and the figures it must
produce, computed by hand."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session

from takedown.models import (
    Author,
    Case,
    CaseState,
    Contact,
    CrawlRun,
    Post,
    PostContact,
    Review,
    Sighting,
    User,
)

WEEK = "2026-W47"
EVIL = "<script>alert(1)</script>坏号"


def t(day: int, hour: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


EXPECTED = {
    "new_candidates": 4, "confirmed": 3, "rejected": 1, "filed": 3, "removed": 3,
    "removal_rate": 0.6667, "overdue": 1, "opened": 3, "revival_rate": 0.3333,
    "time_to_removal": [
        {"platform": "bilibili", "channel": "bilibili", "count": 1, "median_hours": 360.0, "p90_hours": 360.0},
        {"platform": "douyin", "channel": "douyin", "count": 2, "median_hours": 24.0, "p90_hours": 60.0},
    ],
    "top_keywords": [{"keyword": "停息挂账", "confirmed": 3}, {"keyword": "债务优化", "confirmed": 1}],
    "top_accounts": [{"platform": "douyin", "account": "a1", "nickname": EVIL, "confirmed": 3}],
    "top_contacts": [{"type": "wechat", "value": "cz573982a", "confirmed": 2}],
    "reviewers": [{"reviewer": "alice", "reviews": 2}, {"reviewer": "bob", "reviews": 2}],
    "crawl_health": [
        {"platform": "bilibili", "runs": 1, "errors": 1, "statuses": {"finished": 1}, "stop_reasons": {}},
        {"platform": "douyin", "runs": 2, "errors": 2, "statuses": {"finished": 1, "stopped": 1},
         "stop_reasons": {"captcha": 1}},
    ],
    "trailing": [
        {"week": "2026-W44", "new_candidates": 0, "confirmed": 0, "rejected": 0, "filed": 0, "removed": 0},
        {"week": "2026-W45", "new_candidates": 1, "confirmed": 0, "rejected": 0, "filed": 1, "removed": 0},
        {"week": "2026-W46", "new_candidates": 1, "confirmed": 0, "rejected": 0, "filed": 0, "removed": 0},
        {"week": "2026-W47", "new_candidates": 4, "confirmed": 3, "rejected": 1, "filed": 3, "removed": 3},
    ],
}


def seed(session: Session) -> None:
    alice, bob = User(username="alice"), User(username="bob")
    a1 = Author(platform="douyin", platform_author_id="a1", nickname=EVIL)
    a2 = Author(platform="bilibili", platform_author_id="a2", nickname="正常号")
    session.add_all([alice, bob, a1, a2])
    session.flush()

    def post(key: str, platform: str, author: Author | None, first_seen: datetime, state: str) -> Post:
        row = Post(platform=platform, platform_post_id=key, url=f"https://example.invalid/{key}",
                   title=f"=HYPERLINK(\"x\") {key}", author_id=author.id if author else None,
                   first_seen=first_seen, last_seen=first_seen, review_state=state, score=0.9)
        session.add(row)
        session.flush()
        return row

    p1 = post("p1", "douyin", a1, t(17, 2), "confirmed")
    p2 = post("p2", "douyin", a1, t(17, 2), "confirmed")
    p3 = post("p3", "bilibili", a2, t(18), "rejected")
    post("p4", "bilibili", a2, t(22, 15), "queued")  # 23:00 Sunday in China: still W47
    post("p5", "douyin", None, t(18), "new")  # below the threshold: not a candidate
    p6 = post("p6", "douyin", a1, t(15, 15), "confirmed")  # 23:00 Sunday in China: W46
    p7 = post("p7", "bilibili", a2, t(3), "confirmed")  # W45

    wx = Contact(type="wechat", value="cz573982a")
    session.add(wx)
    session.flush()
    session.add_all([PostContact(post_id=p1.id, contact_id=wx.id), PostContact(post_id=p2.id, contact_id=wx.id)])

    session.add_all([
        Review(post_id=p1.id, user_id=alice.id, decision="confirmed", at=t(17, 3)),
        Review(post_id=p2.id, user_id=alice.id, decision="confirmed", at=t(17, 3)),
        Review(post_id=p3.id, user_id=bob.id, decision="rejected", at=t(18, 1)),
        Review(post_id=p6.id, user_id=bob.id, decision="confirmed", at=t(15, 17)),  # 01:00 Monday China: W47
    ])
    session.add_all([
        Sighting(post_id=p1.id, keyword="停息挂账", seen_at=t(17, 2)),
        Sighting(post_id=p1.id, keyword="债务优化", seen_at=t(17, 2)),
        Sighting(post_id=p2.id, keyword="停息挂账", seen_at=t(17, 2)),
        Sighting(post_id=p6.id, keyword="停息挂账", seen_at=t(15, 15)),
        Sighting(post_id=p3.id, keyword="征信修复", seen_at=t(18)),  # rejected: no yield
    ])
    c4 = Case(post_id=p7.id, channel="bilibili", state=CaseState.REMOVED, opened_at=t(3), filed_at=t(3, 2),
              sla_due_at=t(6, 2), removed_at=t(18, 2), hours_to_removal=360.0)
    session.add(c4)
    session.flush()
    session.add_all([
        Case(post_id=p1.id, channel="douyin", state=CaseState.REMOVED, opened_at=t(17, 3), filed_at=t(17, 4),
             sla_due_at=t(22, 4), removed_at=t(18, 4), hours_to_removal=24.0),
        Case(post_id=p2.id, channel="douyin", state=CaseState.REMOVED, opened_at=t(17, 3), filed_at=t(17, 4),
             sla_due_at=t(22, 4), removed_at=t(19, 16), hours_to_removal=60.0),
        Case(post_id=p6.id, channel="douyin", state=CaseState.FILED, opened_at=t(15, 18), filed_at=t(16),
             sla_due_at=t(20), linked_case_id=c4.id),
    ])
    session.add_all([
        CrawlRun(platform="douyin", status="finished", started_at=t(17), errors=0),
        CrawlRun(platform="douyin", status="stopped", started_at=t(18), errors=2, stop_reason="captcha"),
        CrawlRun(platform="bilibili", status="finished", started_at=t(19), errors=1),
        CrawlRun(platform="bilibili", status="failed", started_at=t(23), errors=9),  # next week
    ])
    session.flush()
