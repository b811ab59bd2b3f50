"""The demo's weekly e-mail reports the weeks that hold the demo's data. The demo crawls and reviews on the wall
clock but stamps cases with the emulator's fast-forwarded clock, so its filings and removals can lie days ahead;
the production job (`report weekly --send`: the wall clock's last complete week) would mail empty figures."""

from __future__ import annotations

import email
import email.policy
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

from sqlalchemy import Engine

from reports.metrics import active_weeks, week_of
from takedown.db import make_engine, session_scope, upgrade
from takedown.models import Author, Case, CaseState, CrawlRun, Post, Review, Sighting, User
from takedown.settings import Settings, get_settings
from tests.reports.figures import text_figures

REMOVAL_DAYS = 9  # the emulated clock at the removals: always a later week than the crawl


def _seed_like_the_demo(engine: Engine, now: datetime) -> None:
    """Three queued candidates crawled now; two confirmed and filed now; both removed REMOVAL_DAYS later."""
    removed = now + timedelta(days=REMOVAL_DAYS)
    with session_scope(engine) as session:
        lead = User(username="demo")
        author = Author(platform="douyin", platform_author_id="d1", nickname="债务优化顾问")
        session.add_all([lead, author, CrawlRun(platform="douyin", status="finished", started_at=now)])
        session.flush()
        posts = []
        for i, state in enumerate(("confirmed", "confirmed", "queued")):
            post = Post(platform="douyin", platform_post_id=f"d{i}", url=f"https://example.invalid/d{i}",
                        title=f"停息挂账 {i}", author_id=author.id, first_seen=now, last_seen=now,
                        review_state=state, score=0.9)
            session.add(post)
            session.flush()
            session.add(Sighting(post_id=post.id, keyword="停息挂账", seen_at=now))
            posts.append(post)
        for post in posts[:2]:
            session.add(Review(post_id=post.id, user_id=lead.id, decision="confirmed", at=now))
            session.add(Case(post_id=post.id, channel="douyin", state=CaseState.REMOVED, opened_at=now,
                             filed_at=now, sla_due_at=now + timedelta(days=5), removed_at=removed,
                             hours_to_removal=REMOVAL_DAYS * 24.0))


def _emails(outbox: Path) -> list[Path]:
    return sorted(p for p in outbox.glob("*.eml") if not p.name.startswith("."))  # not a write in progress


def _read(path: Path) -> tuple[str, dict[str, str]]:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    week = message["X-Takedown-Report"].split()[-1]
    return week, text_figures(message.get_body(preferencelist=("plain",)).get_content())


def test_active_weeks_are_the_weeks_holding_data(engine: Engine):
    with session_scope(engine) as session:
        assert active_weeks(session) == []
    _seed_like_the_demo(engine, datetime(2026, 11, 26, 2, tzinfo=UTC))  # removals on 2026-12-05: W49
    with session_scope(engine) as session:
        session.add(CrawlRun(platform="douyin", status="finished", started_at=datetime(2026, 10, 1, tzinfo=UTC)))
        assert active_weeks(session) == ["2026-W48", "2026-W49"]  # a crawl alone is no headline figure
        assert active_weeks(session, limit=1) == ["2026-W49"]


def test_the_demo_scheduler_mails_the_demo_weeks_with_their_figures(sqlite_url: str, tmp_path: Path):
    now = datetime.now(UTC)
    engine = make_engine(sqlite_url)
    upgrade(engine)
    _seed_like_the_demo(engine, now)
    engine.dispose()
    outbox = tmp_path / "var" / "outbox"
    settings = Settings(database_url=sqlite_url, var_dir=tmp_path / "var", emulator_url="", smtp_host="")
    # start_demo_scheduler configures the jobs through the environment: restored afterwards
    with mock.patch.dict(os.environ):
        try:
            _run_demo_scheduler(settings, now, outbox)
        finally:
            get_settings.cache_clear()


def _run_demo_scheduler(settings: Settings, now: datetime, outbox: Path) -> None:
    from takedown.demo import start_demo_scheduler, weekly_email

    jobs = start_demo_scheduler(settings)
    try:
        weekly = jobs.get_job("weekly_report")
        assert str(weekly.trigger).startswith("cron[") and "minute='*/4'" in str(weekly.trigger)
        assert weekly.next_run_time <= datetime.now(UTC) + timedelta(minutes=4)  # the compressed clock
        weekly.modify(next_run_time=datetime.now(UTC))  # its next tick, now rather than in up to 4 minutes
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(_emails(outbox)) < 2:
            time.sleep(0.2)
    finally:
        jobs.shutdown(wait=True)
    reports = dict(_read(path) for path in _emails(outbox))
    crawl_week, removal_week = week_of(now), week_of(now + timedelta(days=REMOVAL_DAYS))
    assert sorted(reports) == [crawl_week, removal_week]
    crawled = reports[crawl_week]
    assert (crawled["new_candidates"], crawled["confirmed"], crawled["filed"]) == ("3", "2", "2")
    assert crawled["top_keywords/停息挂账"] == "2" and crawled["crawl_health/douyin/runs"] == "1"
    assert reports[removal_week]["removed"] == "2"
    assert reports[removal_week]["time_to_removal/douyin/douyin/median_hours"] == str(REMOVAL_DAYS * 24.0)

    # the one-shot demo (`takedown demo --no-serve --json`): weekly_email is the busiest week's e-mail
    path = Path(weekly_email(settings))
    assert path.parent == outbox and _read(path)[0] == crawl_week
