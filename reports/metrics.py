"""The figures of a week, shared by the weekly e-mail and the dashboard: set-based SQL aggregates, one query per
figure family, over ISO weeks whose boundaries are Monday 00:00 Asia/Shanghai (the team's week).

Definitions (every count is for [week start, next week start)):
- new_candidates: posts first seen in the week that reached the review queue (queued, confirmed, rejected or
  duplicate), i.e. scored at or above the threshold and not an official account.
- confirmed / rejected: distinct posts with a review of that decision in the week.
- filed / removed: cases whose first filing / proven removal falls in the week.
- removal_rate: of the cases filed in the week, the share removed by the end of the week (None when none filed).
- time_to_removal: hours from first filing to the re-check that proved the post gone, of the cases removed in the
  week, per platform and channel: count, median, p90 (nearest-rank).
- overdue: cases filed before the week's end, past their SLA at the week's end, and neither removed, rejected
  nor closed by then.
- revival_rate: of the cases opened in the week, the share that revive an earlier one (linked_case_id) or were
  reopened.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, distinct, func, or_, select
from sqlmodel import Session

from takedown.models import (
    Author,
    Case,
    Contact,
    CrawlRun,
    Post,
    PostContact,
    Review,
    ReviewState,
    Sighting,
    User,
)

CHINA = ZoneInfo("Asia/Shanghai")
QUEUED_STATES = (ReviewState.QUEUED, ReviewState.CONFIRMED, ReviewState.REJECTED, ReviewState.DUPLICATE)
HEADLINE = ("new_candidates", "confirmed", "rejected", "filed", "removed")
TOP_N = 10
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def parse_week(week: str) -> tuple[datetime, datetime]:
    """'2026-W47' → (start, end) as aware UTC instants of Monday 00:00 Asia/Shanghai and the next Monday."""
    m = _WEEK.match(week.strip())
    if not m:
        raise ValueError(f"week {week!r} is not an ISO week like 2026-W47")
    try:
        monday = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError as exc:
        raise ValueError(f"week {week!r}: {exc}") from None
    start = datetime(monday.year, monday.month, monday.day, tzinfo=CHINA).astimezone(UTC)
    return start, start + timedelta(days=7)


def week_of(at: datetime) -> str:
    """The ISO week (Asia/Shanghai) an instant falls in."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    y, w, _ = at.astimezone(CHINA).isocalendar()
    return f"{y}-W{w:02d}"


def previous_week(week: str, n: int = 1) -> str:
    start, _ = parse_week(week)
    return week_of(start - timedelta(days=7 * n) + timedelta(hours=12))


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of the values; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def _bound(session: Session, value: datetime) -> datetime:
    # The columns are UTCDateTime: they take aware values and store UTC on both databases.
    return value.astimezone(UTC)


def _between(column: Any, start: datetime, end: datetime) -> Any:
    return and_(column >= start, column < end)


def headline(session: Session, start: datetime, end: datetime) -> dict[str, int]:
    s, e = _bound(session, start), _bound(session, end)
    new_candidates = session.execute(
        select(func.count(Post.id)).where(_between(Post.first_seen, s, e),
                                          Post.review_state.in_([str(x) for x in QUEUED_STATES]))).scalar_one()
    decided = dict(session.execute(
        select(Review.decision, func.count(distinct(Review.post_id)))
        .where(_between(Review.at, s, e), Review.decision.in_(["confirmed", "rejected"]))
        .group_by(Review.decision)).all())
    filed, removed = session.execute(select(
        func.coalesce(func.sum(case((_between(Case.filed_at, s, e), 1), else_=0)), 0),
        func.coalesce(func.sum(case((_between(Case.removed_at, s, e), 1), else_=0)), 0),
    )).one()
    return {"new_candidates": int(new_candidates), "confirmed": int(decided.get("confirmed", 0)),
            "rejected": int(decided.get("rejected", 0)), "filed": int(filed), "removed": int(removed)}


def weekly_metrics(session: Session, week: str, trailing: int = 4) -> dict[str, Any]:
    """Every figure of the weekly summary for `week`, plus the headline counts of the `trailing` weeks ending
    with it (oldest first)."""
    start, end = parse_week(week)
    s, e = _bound(session, start), _bound(session, end)
    out: dict[str, Any] = {"week": week, "start": start, "end": end}
    out.update(headline(session, start, end))

    # removal rate of the week's filings
    filed_n, removed_n = session.execute(
        select(func.count(Case.id),
               func.coalesce(func.sum(case((and_(Case.removed_at.is_not(None), Case.removed_at < e), 1),
                                           else_=0)), 0))
        .where(_between(Case.filed_at, s, e))).one()
    out["removal_rate"] = round(int(removed_n) / int(filed_n), 4) if filed_n else None

    # time to removal per platform and channel
    hours: dict[tuple[str, str], list[float]] = defaultdict(list)
    for platform, channel, h in session.execute(
            select(Post.platform, Case.channel, Case.hours_to_removal).join(Post, Post.id == Case.post_id)
            .where(_between(Case.removed_at, s, e), Case.hours_to_removal.is_not(None))):
        hours[(platform, channel)].append(float(h))
    out["time_to_removal"] = [
        {"platform": p, "channel": c, "count": len(v), "median_hours": round(percentile(v, 50), 2),
         "p90_hours": round(percentile(v, 90), 2)}
        for (p, c), v in sorted(hours.items())]

    out["overdue"] = int(session.execute(
        select(func.count(Case.id)).where(
            Case.filed_at.is_not(None), Case.filed_at < e, Case.sla_due_at.is_not(None), Case.sla_due_at < e,
            or_(Case.removed_at.is_(None), Case.removed_at >= e),
            or_(Case.rejected_at.is_(None), Case.rejected_at >= e),
            or_(Case.closed_at.is_(None), Case.closed_at >= e))).scalar_one())

    opened, revived = session.execute(
        select(func.count(Case.id),
               func.coalesce(func.sum(case((or_(Case.linked_case_id.is_not(None), Case.reopened_count > 0), 1),
                                           else_=0)), 0))
        .where(_between(Case.opened_at, s, e))).one()
    out["opened"] = int(opened)
    out["revival_rate"] = round(int(revived) / int(opened), 4) if opened else None

    confirmed_posts = (select(Review.post_id.label("post_id"))
                       .where(_between(Review.at, s, e), Review.decision == "confirmed").distinct().subquery())
    out["top_keywords"] = [
        {"keyword": k, "confirmed": int(n)} for k, n in session.execute(
            select(Sighting.keyword, func.count(distinct(Sighting.post_id)).label("n"))
            .join(confirmed_posts, confirmed_posts.c.post_id == Sighting.post_id)
            .group_by(Sighting.keyword).order_by(func.count(distinct(Sighting.post_id)).desc(), Sighting.keyword)
            .limit(TOP_N))]
    out["top_accounts"] = [
        {"platform": p, "account": a, "nickname": nick, "confirmed": int(n)} for p, a, nick, n in session.execute(
            select(Author.platform, Author.platform_author_id, Author.nickname, func.count(Post.id))
            .join(Post, Post.author_id == Author.id)
            .join(confirmed_posts, confirmed_posts.c.post_id == Post.id)
            .group_by(Author.id, Author.platform, Author.platform_author_id, Author.nickname)
            .order_by(func.count(Post.id).desc(), Author.platform_author_id).limit(TOP_N))]
    out["top_contacts"] = [
        {"type": t, "value": v, "confirmed": int(n)} for t, v, n in session.execute(
            select(Contact.type, Contact.value, func.count(distinct(PostContact.post_id)))
            .join(PostContact, PostContact.contact_id == Contact.id)
            .join(confirmed_posts, confirmed_posts.c.post_id == PostContact.post_id)
            .group_by(Contact.id, Contact.type, Contact.value)
            .order_by(func.count(distinct(PostContact.post_id)).desc(), Contact.value).limit(TOP_N))]
    out["reviewers"] = [
        {"reviewer": name or "(system)", "reviews": int(n)} for name, n in session.execute(
            select(User.username, func.count(Review.id)).select_from(Review)
            .outerjoin(User, User.id == Review.user_id)
            .where(_between(Review.at, s, e))
            .group_by(User.username).order_by(func.count(Review.id).desc(), User.username))]

    crawl_rows = session.execute(
        select(CrawlRun.platform, CrawlRun.status, CrawlRun.stop_reason, func.count(CrawlRun.id),
               func.coalesce(func.sum(CrawlRun.errors), 0))
        .where(_between(CrawlRun.started_at, s, e))
        .group_by(CrawlRun.platform, CrawlRun.status, CrawlRun.stop_reason)).all()
    crawl: dict[str, dict[str, Any]] = {}
    for platform, status, reason, n, errors in crawl_rows:
        row = crawl.setdefault(platform, {"platform": platform, "runs": 0, "errors": 0, "statuses": {},
                                          "stop_reasons": {}})
        row["runs"] += int(n)
        row["errors"] += int(errors)
        row["statuses"][status] = row["statuses"].get(status, 0) + int(n)
        if reason:
            row["stop_reasons"][reason] = row["stop_reasons"].get(reason, 0) + int(n)
    out["crawl_health"] = [crawl[p] for p in sorted(crawl)]

    weeks = [previous_week(week, n) for n in range(max(trailing, 1) - 1, 0, -1)] + [week]
    out["trailing"] = [{"week": w, **(headline(session, *parse_week(w)) if w != week else
                                      {k: out[k] for k in HEADLINE})} for w in weeks]
    return out


def active_weeks(session: Session, *, limit: int = 4, max_weeks: int = 104) -> list[str]:
    """The latest `limit` ISO weeks (oldest first) with a non-zero headline figure, found from the data rather
    than the clock: the demo's cases are stamped by the emulator's fast-forwarded clock, so "last week" by the
    wall clock may hold nothing. Looks back at most `max_weeks` from the latest activity."""
    columns = (Post.first_seen, Review.at, Case.filed_at, Case.removed_at)
    instants = [value for column in columns
                for value in session.execute(select(func.min(column), func.max(column))).one() if value is not None]
    if not instants:
        return []
    earliest = min(_aware(v) for v in instants)
    week, found = week_of(max(_aware(v) for v in instants)), []
    for _ in range(max_weeks):
        start, end = parse_week(week)
        if end <= earliest or len(found) >= limit:
            break
        if any(headline(session, start, end).values()):
            found.append(week)
        week = previous_week(week)
    return found[::-1]


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive UTC from min()/max(), PostgreSQL aware values.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
