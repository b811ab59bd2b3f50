"""Whole enrichment runs on Bilibili (api mode, WBI-signed comment and profile requests) against the emulator:
`takedown crawl`, then `takedown enrich`, each in a subprocess, and what they stored."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import Session

from emulator.corpus import Corpus
from takedown.db import make_engine
from takedown.models import Author, CrawlRun, CrawlStatus, Post, ReviewState, StatusCheck
from tests.crawlers.crawl_helpers import count, crawl, emulator_stats, run_record, set_fault
from tests.crawlers.emu_cases import emulator_post, set_state
from tests.crawlers.enrich_helpers import enrich, pick, posts, rendered, scores

EMULATOR_SEED = 11
SIZE = 3000  # tests/crawlers/conftest.py's emulator
KEYWORD = "停息挂账"
pytestmark = pytest.mark.slow
CORPUS = Corpus(EMULATOR_SEED, SIZE)  # the emulator's own posts, to compare with what was stored


def _candidates(database_url: str) -> list[Post]:
    return posts(database_url, Post.score >= 0.5, Post.review_state.in_([ReviewState.NEW, ReviewState.QUEUED]))


def _enriched(database_url: str) -> list[Post]:
    return posts(database_url, Post.enriched_at.is_not(None))


def _pending(database_url: str) -> list[Post]:
    return posts(database_url, Post.enriched_at.is_(None), Post.score >= 0.5,
                 Post.review_state.in_([ReviewState.NEW, ReviewState.QUEUED]))


def _corpus_post(post_id: str):
    return CORPUS.post("bilibili", CORPUS.index_of("bilibili", post_id))


def test_enrichment_stores_comments_and_bios_and_rescores_a_post_whose_contact_is_in_the_bio(database_url,
                                                                                             emulator_url):
    target = pick("bilibili", EMULATOR_SEED, SIZE, "bio")
    assert target is not None, "the corpus has no post whose contact only its author's bio shows"
    crawl(database_url, emulator_url, "bilibili", [target.keyword], pages=2)
    candidates = _candidates(database_url)
    first_scores = {p.platform_post_id: p.score for p in posts(database_url)}
    assert target.post_id in {p.platform_post_id for p in candidates}

    started = datetime.now(UTC)
    summary = enrich(database_url, emulator_url, "bilibili")
    assert summary["status"] == CrawlStatus.FINISHED and summary["errors"] == 0, summary
    assert summary["targets"] == summary["posts"] == len(candidates)
    assert summary["comments"] > 0 and summary["bios"] > 0 and summary["rescored"] > 0
    run = run_record(database_url, summary["run"])
    assert run.mode == "enrich" and run.posts_seen == len(candidates)
    assert re.search(rf"run={summary['run']} platform=bilibili .*enrichment finished", summary["log"])

    engine = make_engine(database_url)
    with Session(engine) as session:
        for post in candidates:
            stored = session.get(Post, post.id)
            assert stored.enriched_at is not None, stored.platform_post_id
            enriched_at = stored.enriched_at.replace(tzinfo=UTC) if stored.enriched_at.tzinfo is None else (
                stored.enriched_at)
            assert started - timedelta(seconds=5) <= enriched_at <= datetime.now(UTC) + timedelta(seconds=5)
            corpus_post = _corpus_post(stored.platform_post_id)
            assert stored.comments == rendered(corpus_post)[:20]
            author = session.get(Author, stored.author_id)
            assert author.bio == corpus_post.author.bio  # search results carry no bio: only the profile does
        post = session.execute(select(Post).where(Post.platform_post_id == target.post_id)).scalar_one()
        bio = session.get(Author, post.author_id).bio
    engine.dispose()
    history = scores(database_url, post.id)
    assert post.score > first_scores[target.post_id] and history[-1].score == post.score, (history, target)
    quoted = [r for r in history[-1].reasons if r["field"] == "bio"]
    assert quoted and all(r["text"] in bio for r in quoted)
    assert any(r["rule"].startswith("contact.") for r in quoted), quoted

    # A second run finds nothing to fetch, and asks the platform nothing.
    before = emulator_stats(emulator_url)["requests"]["bilibili"]
    again = enrich(database_url, emulator_url, "bilibili")
    assert (again["targets"], again["posts"], again["run"], again["status"]) == (0, 0, None, "idle")
    after = emulator_stats(emulator_url)["requests"]["bilibili"]
    assert (after.get("comments"), after.get("profile")) == (before.get("comments"), before.get("profile"))


@pytest.mark.parametrize(
    ("endpoint", "kind", "reason"),
    [
        ("comments", "captcha", r"blocked.*-352"),
        ("profile", "rate_limit", r"rate_limited.*HTTP 429 \(code -799\); retry after 30"),
        ("comments", "blocked", r"blocked.*-412"),
    ],
)
def test_risk_control_stops_the_platform_and_nothing_is_lost(sqlite_url, emulator_url, endpoint, kind, reason):
    crawl(sqlite_url, emulator_url, "bilibili", [KEYWORD], pages=2)
    candidates = _candidates(sqlite_url)
    assert len(candidates) > 6
    set_fault(emulator_url, platform="bilibili", endpoint=endpoint, kind=kind, after=3, retry_after=30)
    summary = enrich(sqlite_url, emulator_url, "bilibili", env={"TAKEDOWN_CONCURRENCY_PER_PLATFORM": "1"})
    run = run_record(sqlite_url, summary["run"])
    assert run.status == CrawlStatus.STOPPED and re.search(reason, run.stop_reason), run.stop_reason
    assert any(e["kind"] in ("blocked", "rate_limited") and e["step"] == endpoint for e in run.error_log)
    done = _enriched(sqlite_url)
    assert 1 <= len(done) < len(candidates), "it stopped instead of hammering on"
    assert summary["posts"] >= len(done)
    if endpoint == "profile":  # the post whose profile was refused keeps the comments that had arrived
        assert summary["posts"] > len(done)
    assert count(sqlite_url, Post) >= len(candidates)

    httpx.delete(f"{emulator_url}/_emu/faults", timeout=10).raise_for_status()
    pending = _pending(sqlite_url)
    assert {p.id for p in pending}.isdisjoint({p.id for p in done})
    rest = enrich(sqlite_url, emulator_url, "bilibili")
    assert rest["status"] == CrawlStatus.FINISHED and rest["targets"] == len(pending) > 0
    assert _pending(sqlite_url) == []


def test_a_malformed_answer_is_an_error_of_the_run_and_the_run_goes_on(sqlite_url, emulator_url):
    crawl(sqlite_url, emulator_url, "bilibili", [KEYWORD], pages=1)
    candidates = _candidates(sqlite_url)
    set_fault(emulator_url, platform="bilibili", endpoint="comments", kind="malformed_json", after=1, times=1)
    set_fault(emulator_url, platform="bilibili", endpoint="profile", kind="schema_change", after=2, times=1)
    summary = enrich(sqlite_url, emulator_url, "bilibili")
    run = run_record(sqlite_url, summary["run"])
    assert run.status == CrawlStatus.FINISHED and run.errors == summary["errors"] == 2
    kinds = sorted((e["step"], e["kind"]) for e in run.error_log)
    assert kinds == [("comments", "malformed_response"), ("profile", "schema_changed")]
    assert all(e["post"] for e in run.error_log)
    # Every other post is done; the ones that failed are fetched again by the next run.
    assert len(_enriched(sqlite_url)) == len(candidates) - 2
    malformed = next(e["post"] for e in run.error_log if e["kind"] == "malformed_response")
    pending = _pending(sqlite_url)
    assert malformed in {p.platform_post_id for p in pending}
    again = enrich(sqlite_url, emulator_url, "bilibili")
    assert again["targets"] == len(pending) and again["errors"] == 0 and _pending(sqlite_url) == []


def test_gone_posts_closed_comments_and_banned_accounts(sqlite_url, emulator_url):
    crawl(sqlite_url, emulator_url, "bilibili", [KEYWORD], pages=1)
    candidates = _candidates(sqlite_url)
    gone, closed, banned = candidates[0], candidates[1], candidates[2]
    set_state(emulator_url, "bilibili", gone.platform_post_id, "deleted")
    httpx.post(f"{emulator_url}/_emu/posts/bilibili/{closed.platform_post_id}/comments",
               json={"state": "closed"}, timeout=10).raise_for_status()
    author_id = emulator_post(emulator_url, "bilibili", banned.platform_post_id)["author"]["id"]
    httpx.post(f"{emulator_url}/_emu/authors/bilibili/{author_id}/state", json={"state": "banned"},
               timeout=10).raise_for_status()
    try:
        summary = enrich(sqlite_url, emulator_url, "bilibili")
    finally:
        set_state(emulator_url, "bilibili", gone.platform_post_id, "live")
        httpx.post(f"{emulator_url}/_emu/posts/bilibili/{closed.platform_post_id}/comments",
                   json={"state": "open"}, timeout=10)
        httpx.post(f"{emulator_url}/_emu/authors/bilibili/{author_id}/state", json={"state": "live"}, timeout=10)
    assert summary["status"] == CrawlStatus.FINISHED and summary["errors"] == 0
    assert summary["gone"] == 1 and summary["closed"] == 1 and summary["authors_gone"] >= 1
    engine = make_engine(sqlite_url)
    with Session(engine) as session:
        check = session.execute(select(StatusCheck).where(StatusCheck.post_id == gone.id)).scalar_one()
        assert (check.observed, check.code) == ("gone", "-404")
        left_alone = session.get(Post, gone.id)
        assert left_alone.enriched_at is None and left_alone.review_state == gone.review_state
        shut = session.get(Post, closed.id)
        assert shut.enriched_at is not None and shut.comments == []
        assert session.get(Post, banned.id).enriched_at is not None
        runs = session.execute(select(CrawlRun).where(CrawlRun.mode == "enrich")).scalars().all()
    engine.dispose()
    assert len(runs) == 1
    # The gone post is tracking's now: the next run does not ask for it again.
    assert enrich(sqlite_url, emulator_url, "bilibili")["targets"] == 0


def test_limit_and_threshold_choose_the_highest_scores(sqlite_url, emulator_url):
    crawl(sqlite_url, emulator_url, "bilibili", [KEYWORD], pages=1)
    top = sorted(posts(sqlite_url), key=lambda p: (-p.score, p.id))[:3]
    summary = enrich(sqlite_url, emulator_url, "bilibili", limit=3, env={"TAKEDOWN_ENRICH_THRESHOLD": "0.0"})
    assert summary["targets"] == summary["posts"] == 3
    assert {p.id for p in _enriched(sqlite_url)} == {p.id for p in top}
    total = count(sqlite_url, Post)
    rest = enrich(sqlite_url, emulator_url, "bilibili", env={"TAKEDOWN_ENRICH_THRESHOLD": "0.0"})
    assert rest["targets"] == total - 3
    # Enriched posts come round again once enrich_refresh_days (14) have passed in domain time.
    later = enrich(sqlite_url, emulator_url, "bilibili", env={"TAKEDOWN_ENRICH_THRESHOLD": "0.0",
                                                              "TAKEDOWN_CLOCK_OFFSET_HOURS": str(15 * 24)})
    assert later["targets"] == total
