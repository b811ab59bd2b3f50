"""Whole enrichment runs on Douyin in browser mode: the system Chromium opens each post's page and its author's
page, the pages' own scripts sign and send the comment-list and profile requests, and the spider captures their
JSON. `takedown crawl` then `takedown enrich`, each in a subprocess."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import Session

from emulator.corpus import Corpus
from takedown.db import make_engine
from takedown.models import CrawlStatus, Post, PostContact, ReviewState, StatusCheck
from tests.conftest import needs_chromium
from tests.crawlers.crawl_helpers import count, crawl, emulator_stats, run_record, set_fault
from tests.crawlers.emu_cases import emulator_post, set_state
from tests.crawlers.enrich_helpers import enrich, pick, posts, rendered, scores

# A seed whose corpus has a post, found within two pages of a seed keyword, whose contact only its pinned
# comment shows (see enrich_helpers.pick).
EMULATOR_SEED = 7
SIZE = 3000
KEYWORD = "停息挂账"
CORPUS = Corpus(EMULATOR_SEED, SIZE)
pytestmark = [pytest.mark.slow, pytest.mark.browser, needs_chromium]


def _candidates(database_url: str) -> list[Post]:
    return posts(database_url, Post.score >= 0.5, Post.review_state.in_([ReviewState.NEW, ReviewState.QUEUED]))


def _pending(database_url: str) -> list[Post]:
    return posts(database_url, Post.enriched_at.is_(None), Post.score >= 0.5,
                 Post.review_state.in_([ReviewState.NEW, ReviewState.QUEUED]))


def test_the_pages_own_requests_bring_comments_and_a_pinned_contact_raises_the_score(database_url, emulator_url):
    target = pick("douyin", EMULATOR_SEED, SIZE, "comments")
    assert target is not None, "the corpus has no post whose contact only its pinned comment shows"
    crawl(database_url, emulator_url, "douyin", [target.keyword], pages=target.pages)
    candidates = _candidates(database_url)
    first = {p.platform_post_id: p.score for p in posts(database_url)}
    assert target.post_id in {p.platform_post_id for p in candidates}

    summary = enrich(database_url, emulator_url, "douyin")
    assert summary["status"] == CrawlStatus.FINISHED and summary["errors"] == 0, summary
    assert summary["targets"] == summary["posts"] == len(candidates) and summary["comments"] > 0
    assert run_record(database_url, summary["run"]).mode == "enrich"
    stats = emulator_stats(emulator_url)
    assert not stats["rejected"].get("douyin"), "only the pages' own scripts sign: nothing was rejected"
    assert stats["requests"]["douyin"]["comments"] >= len(candidates)

    for post in posts(database_url, Post.id.in_([p.id for p in candidates])):
        assert post.enriched_at is not None
        assert post.comments == rendered(CORPUS.post("douyin", CORPUS.index_of("douyin", post.platform_post_id)))
    [post] = posts(database_url, Post.platform_post_id == target.post_id)
    assert post.comments[0].startswith("置顶：")
    history = scores(database_url, post.id)
    assert post.score > first[target.post_id] and history[-1].score == post.score, (history, target)
    assert any(r["field"] == "comments" and any(r["text"] in c for c in post.comments) for r in history[-1].reasons)
    truth = httpx.get(f"{emulator_url}/_emu/truth/douyin/{target.post_id}", timeout=10).json()
    if any(c["type"] == "phone" for c in truth["contacts"]):  # the contact is linked as a search's would be
        assert count(database_url, PostContact, PostContact.post_id == post.id) >= 1

    before = emulator_stats(emulator_url)["requests"]["douyin"]
    again = enrich(database_url, emulator_url, "douyin")
    assert (again["targets"], again["posts"], again["status"]) == (0, 0, "idle")
    after = emulator_stats(emulator_url)["requests"]["douyin"]
    assert after.get("video_page") == before.get("video_page") and after.get("comments") == before.get("comments")


def test_a_malformed_answer_and_a_gone_post_are_recorded_and_the_run_goes_on(sqlite_url, emulator_url):
    crawl(sqlite_url, emulator_url, "douyin", [KEYWORD], pages=2)
    candidates = _candidates(sqlite_url)
    assert len(candidates) >= 4
    # The first post asked for (the highest score) is let through by the fault, so its author's page is opened.
    by_score = sorted(candidates, key=lambda p: (-p.score, p.id))
    banned, gone = by_score[0], by_score[-1]
    set_state(emulator_url, "douyin", gone.platform_post_id, "deleted")
    sec_uid = emulator_post(emulator_url, "douyin", banned.platform_post_id)["author"]["id"]
    httpx.post(f"{emulator_url}/_emu/authors/douyin/{sec_uid}/state", json={"state": "banned"},
               timeout=10).raise_for_status()
    set_fault(emulator_url, platform="douyin", endpoint="comments", kind="malformed_json", after=1, times=1)
    try:
        summary = enrich(sqlite_url, emulator_url, "douyin")
    finally:
        set_state(emulator_url, "douyin", gone.platform_post_id, "live")
        httpx.post(f"{emulator_url}/_emu/authors/douyin/{sec_uid}/state", json={"state": "live"}, timeout=10)
    run = run_record(sqlite_url, summary["run"])
    assert run.status == CrawlStatus.FINISHED, run.stop_reason
    assert [(e["step"], e["kind"]) for e in run.error_log] == [("comments", "malformed_response")]
    assert summary["gone"] == 1 and summary["posts"] == len(candidates) - 2
    assert summary["authors_gone"] >= 1  # the banned account's page: HTTP 404, and its profile answer 2053
    engine = make_engine(sqlite_url)
    with Session(engine) as session:
        check = session.execute(select(StatusCheck).where(StatusCheck.post_id == gone.id)).scalar_one()
        assert check.observed == "gone" and check.code == "gone_page"
        assert session.get(Post, gone.id).enriched_at is None
    engine.dispose()
    pending = _pending(sqlite_url)
    assert run.error_log[0]["post"] in {p.platform_post_id for p in pending}
    assert gone.id not in {p.id for p in posts(sqlite_url, Post.enriched_at.is_not(None))}
    again = enrich(sqlite_url, emulator_url, "douyin")
    assert again["targets"] == len(pending) - 1, "the gone post is tracking's now"


@pytest.mark.parametrize(
    ("endpoint", "kind", "reason"),
    [("profile", "captcha", r"blocked.*verify_check"), ("comments", "login_expired", r"login_expired.*code 8")],
)
def test_risk_control_stops_the_platform_and_nothing_is_lost(sqlite_url, emulator_url, endpoint, kind, reason):
    crawl(sqlite_url, emulator_url, "douyin", [KEYWORD], pages=2)
    candidates = _candidates(sqlite_url)
    set_fault(emulator_url, platform="douyin", endpoint=endpoint, kind=kind, after=2)
    summary = enrich(sqlite_url, emulator_url, "douyin", env={"TAKEDOWN_CONCURRENCY_PER_PLATFORM": "1"})
    run = run_record(sqlite_url, summary["run"])
    assert run.status == CrawlStatus.STOPPED and re.search(reason, run.stop_reason), run.stop_reason
    assert any(e["step"] == endpoint for e in run.error_log)
    done = posts(sqlite_url, Post.enriched_at.is_not(None))
    assert 1 <= len(done) < len(candidates)
    if endpoint == "profile":  # the comments that had arrived for the refused profile's post are stored
        assert summary["posts"] > len(done)
    httpx.delete(f"{emulator_url}/_emu/faults", timeout=10).raise_for_status()
    pending = _pending(sqlite_url)
    rest = enrich(sqlite_url, emulator_url, "douyin")
    assert rest["status"] == CrawlStatus.FINISHED and rest["targets"] == len(pending) > 0
    assert _pending(sqlite_url) == []
