"""Weekly report: the whole weekly e-mail (metrics over the week and its trailing weeks, charts, cases CSV) built
over 1,000,000 sightings and 100,000 cases on SQLite, spread over eight weeks, with contacts shared by posts.

Baseline, same run: the bare SQL aggregate queries (headline counts, hours to removal, keyword yield) for the same
week, with nothing built around them. Target: the whole report in ≤ 10 s.
"""

from __future__ import annotations

import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text

from bench.common import Figure
from reports.metrics import parse_week
from reports.weekly import build_weekly_message
from takedown.db import make_engine, session_scope, upgrade
from takedown.models import Author, Case, Contact, CrawlRun, Post, PostContact, Review, Sighting, User
from takedown.settings import SEED_KEYWORDS, Settings

WEEK = "2026-W47"
WEEKS = 8
PLATFORMS = ("douyin", "kuaishou", "bilibili", "xiaohongshu", "weibo")
TARGET_SECONDS = 10.0
CHUNK = 5000


def _fill(database_url: str, cases: int, sightings: int) -> None:
    rng = random.Random(7)
    engine = make_engine(database_url)
    upgrade(engine)
    week_start, _ = parse_week(WEEK)
    first = week_start - timedelta(days=7 * (WEEKS - 1))
    span = WEEKS * 7 * 24 * 3600

    def when() -> datetime:
        return first + timedelta(seconds=rng.randrange(span))

    posts = cases * 2  # half of them confirmed with a case, a quarter rejected, a quarter queued
    with engine.begin() as conn:
        users = list(conn.execute(insert(User).returning(User.id, sort_by_parameter_order=True),
                                  [{"username": f"r{i}", "role": "reviewer"} for i in range(5)]).scalars())
        authors = list(conn.execute(insert(Author).returning(Author.id, sort_by_parameter_order=True), [
            {"platform": PLATFORMS[i % 5], "platform_author_id": f"a{i}", "nickname": f"号{i}", "bio": "",
             "url": "", "extra": {}} for i in range(posts // 20)]).scalars())
        post_ids: list[int] = []
        for start in range(0, posts, CHUNK):
            rows = []
            for i in range(start, min(posts, start + CHUNK)):
                seen = when()
                state = "confirmed" if i % 2 == 0 else ("rejected" if i % 4 == 1 else "queued")
                rows.append({"platform": PLATFORMS[i % 5], "platform_post_id": f"p{i}", "url": "", "title": "",
                             "text": "", "hashtags": [], "metrics": {}, "raw": {}, "author_id": authors[i % len(authors)],
                             "first_seen": seen, "last_seen": seen, "content_hash": "", "score": 0.9,
                             "score_version": "bench", "review_state": state})
            post_ids += conn.execute(insert(Post).returning(Post.id, Post.first_seen, Post.review_state,
                                                            sort_by_parameter_order=True), rows).all()
        reviews, case_rows = [], []
        for pid, seen, state in post_ids:
            if state == "queued":
                continue
            at = seen + timedelta(hours=rng.uniform(1, 48))
            reviews.append({"post_id": pid, "user_id": rng.choice(users), "decision": state, "note": "", "at": at})
            if state == "confirmed":
                filed = at + timedelta(hours=rng.uniform(1, 24))
                removed = filed + timedelta(hours=rng.uniform(2, 200)) if rng.random() < 0.7 else None
                case_rows.append({"post_id": pid, "state": "removed" if removed else "filed",
                                  "channel": PLATFORMS[pid % 5], "opened_at": at, "filed_at": filed,
                                  "removed_at": removed, "sla_due_at": filed + timedelta(hours=120),
                                  "hours_to_removal": (removed - filed).total_seconds() / 3600 if removed else None,
                                  "escalation_level": 0, "reopened_count": 0, "updated_at": at})
        for start in range(0, len(reviews), CHUNK):
            conn.execute(insert(Review), reviews[start:start + CHUNK])
        for start in range(0, len(case_rows), CHUNK):
            conn.execute(insert(Case), case_rows[start:start + CHUNK])
        # Contacts shared by many posts (a WeChat id reposted across accounts), so the top-contacts query joins
        # real rows: one contact per 30 posts, every third post showing one.
        contacts = list(conn.execute(insert(Contact).returning(Contact.id, sort_by_parameter_order=True), [
            {"type": "wechat" if i % 3 else "phone", "value": f"wx{i:06d}", "first_seen": first}
            for i in range(max(1, posts // 30))]).scalars())
        links = [{"post_id": pid, "contact_id": contacts[n % len(contacts)]}
                 for n, (pid, _, _) in enumerate(post_ids) if n % 3 == 0]
        for start in range(0, len(links), CHUNK):
            conn.execute(insert(PostContact), links[start:start + CHUNK])
        conn.execute(insert(CrawlRun), [
            {"platform": PLATFORMS[i % 5], "keywords": [], "mode": "api", "started_at": when(), "status": "finished",
             "errors": i % 3, "error_log": [], "stop_reason": "captcha" if i % 7 == 0 else ""} for i in range(500)])
        for start in range(0, sightings, CHUNK * 4):
            conn.execute(insert(Sighting), [
                {"post_id": post_ids[i % len(post_ids)][0], "keyword": SEED_KEYWORDS[i % len(SEED_KEYWORDS)],
                 "page": 1, "rank": i % 20 + 1, "seen_at": post_ids[i % len(post_ids)][1]}
                for i in range(start, min(sightings, start + CHUNK * 4))])
    engine.dispose()


BARE_SQL = """
SELECT count(*) FROM post WHERE first_seen >= :s AND first_seen < :e
  AND review_state IN ('queued', 'confirmed', 'rejected', 'duplicate');
SELECT decision, count(DISTINCT post_id) FROM review WHERE at >= :s AND at < :e GROUP BY decision;
SELECT sum(filed_at >= :s AND filed_at < :e), sum(removed_at >= :s AND removed_at < :e) FROM takedown_case;
SELECT p.platform, c.channel, c.hours_to_removal FROM takedown_case c JOIN post p ON p.id = c.post_id
  WHERE c.removed_at >= :s AND c.removed_at < :e;
SELECT s.keyword, count(DISTINCT s.post_id) FROM sighting s
  JOIN (SELECT DISTINCT post_id FROM review WHERE at >= :s AND at < :e AND decision = 'confirmed') r
  ON r.post_id = s.post_id GROUP BY s.keyword ORDER BY 2 DESC LIMIT 10
"""


def run(quick: bool = False) -> list[Figure]:
    cases, sightings = (10_000, 100_000) if quick else (100_000, 1_000_000)
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'report.db'}"
        _fill(url, cases, sightings)
        engine = make_engine(url)
        start, end = parse_week(WEEK)
        bounds = {"s": start.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
                  "e": end.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")}
        with engine.connect() as conn:  # warm the page cache for both measurements alike
            conn.execute(text("SELECT count(*) FROM sighting")).scalar()
            t0 = time.perf_counter()
            for statement in BARE_SQL.strip().split(";"):
                conn.execute(text(statement), bounds).all()
            bare = time.perf_counter() - t0
        settings = Settings(var_dir=Path(tmp) / "var", report_recipients=["lead@example.com"])
        t0 = time.perf_counter()
        with session_scope(engine) as session:
            message = build_weekly_message(session, WEEK, settings)
        ours = time.perf_counter() - t0
        size = len(bytes(message))
        engine.dispose()
    name = "report.weekly" + (".quick" if quick else "")
    return [Figure(f"{name} ({cases:,} cases, {sightings:,} sightings, {size // 1024} KiB mail)", ours, "s", bare,
                   "bare SQL aggregates", target=f"value <= {TARGET_SECONDS:g}", met=ours <= TARGET_SECONDS)]
