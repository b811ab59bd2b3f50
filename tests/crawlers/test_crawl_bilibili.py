"""Whole Bilibili crawls (api mode, WBI-signed) against the emulator, in a subprocess."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlmodel import Session

from crawlers.platforms.base import FetchMode
from crawlers.platforms.bilibili import BilibiliAdapter
from takedown.db import make_engine
from takedown.models import CrawlStatus, Post, Score, Sighting
from tests.crawlers.crawl_helpers import count, crawl, errors_of, run_record, set_fault

EMULATOR_SEED = 11
pytestmark = pytest.mark.slow
KEYWORD = "债务优化"



def test_bilibili_is_crawled_in_api_mode():
    assert BilibiliAdapter.mode is FetchMode.API


def test_crawl_stores_every_page_scored_and_sighted(database_url, emulator_url):
    summary = crawl(database_url, emulator_url, "bilibili", [KEYWORD], pages=3)
    assert summary["status"] == CrawlStatus.FINISHED and summary["errors"] == 0
    assert summary["pages"] == 3 and summary["posts"] == 60 and summary["new"] == 60
    assert count(database_url, Post) == 60
    assert count(database_url, Sighting, Sighting.keyword == KEYWORD) == 60
    assert count(database_url, Score) == 60
    engine = make_engine(database_url)
    with Session(engine) as session:
        posts = session.execute(select(Post)).scalars().all()
        ranks = sorted(session.execute(select(Sighting.rank)).scalars())
    engine.dispose()
    assert ranks == list(range(1, 61))
    assert all(p.url.startswith(f"{emulator_url}/bilibili/video/BV") for p in posts)
    assert not any(re.search(r"<em|&lt;|&amp;", p.title) for p in posts), "highlights stripped, entities unescaped"
    assert all(p.score is not None and p.author_id is not None for p in posts)
    queued = [p for p in posts if p.review_state == "queued"]
    assert 0 < len(queued) < len(posts) and summary["candidates"] == len(queued)
    # The log has one line per event with platform, keyword and run id.
    assert re.search(rf"run={summary['run']} platform=bilibili keyword={KEYWORD} page=3", summary["log"])


def test_recrawl_adds_sightings_never_duplicate_posts(database_url, emulator_url):
    first = crawl(database_url, emulator_url, "bilibili", [KEYWORD], pages=2)
    second = crawl(database_url, emulator_url, "bilibili", [KEYWORD], pages=2)
    assert (first["new"], second["new"], second["posts"]) == (40, 0, 40)
    assert count(database_url, Post) == 40
    assert count(database_url, Sighting) == 80
    assert count(database_url, Score) == 40, "unchanged posts are not re-scored"


def test_malformed_page_is_recorded_and_the_crawl_goes_on(sqlite_url, emulator_url):
    set_fault(emulator_url, platform="bilibili", endpoint="search", kind="malformed_json", pages=[2])
    summary = crawl(sqlite_url, emulator_url, "bilibili", [KEYWORD], pages=3)
    run = run_record(sqlite_url, summary["run"])
    assert run.status == CrawlStatus.FINISHED
    assert errors_of(run) == [(2, "malformed_response", None)]
    assert run.pages == 2 and count(sqlite_url, Post) == 40
    assert run.error_log[0]["keyword"] == KEYWORD


@pytest.mark.parametrize(
    ("kind", "error_kind", "code"),
    [("error_code", "platform_error", "-500"), ("schema_change", "schema_changed", None)],
)
def test_unexpected_answers_on_one_page_are_specific_errors(sqlite_url, emulator_url, kind, error_kind, code):
    set_fault(emulator_url, platform="bilibili", endpoint="search", kind=kind, pages=[1])
    summary = crawl(sqlite_url, emulator_url, "bilibili", [KEYWORD], pages=3)
    run = run_record(sqlite_url, summary["run"])
    assert [(page, kind_) for page, kind_, _ in errors_of(run)] == [(1, error_kind)]
    if code:
        assert run.error_log[0]["code"] == code
    assert run.pages == 2 and run.status == CrawlStatus.FINISHED


@pytest.mark.parametrize(
    ("kind", "reason"), [("captcha", r"blocked.*-352"), ("rate_limit", r"rate_limited.*retry after 30"),
                         ("blocked", r"blocked.*-412")]
)
def test_risk_control_stops_the_platform_and_keeps_what_was_fetched(sqlite_url, emulator_url, kind, reason):
    set_fault(emulator_url, platform="bilibili", endpoint="search", kind=kind, pages=[2], retry_after=30)
    summary = crawl(sqlite_url, emulator_url, "bilibili", [KEYWORD, "停息挂账"], pages=3)
    run = run_record(sqlite_url, summary["run"])
    assert run.status == CrawlStatus.STOPPED
    assert re.search(reason, run.stop_reason), run.stop_reason
    assert run.pages >= 1 and 20 <= count(sqlite_url, Post) <= 20 * run.pages
    assert run.pages < 6, "the crawl stopped instead of hammering on"


def test_a_burst_of_server_errors_is_retried(sqlite_url, emulator_url):
    set_fault(emulator_url, platform="bilibili", endpoint="search", kind="server_error", pages=[1], times=2)
    summary = crawl(sqlite_url, emulator_url, "bilibili", [KEYWORD], pages=2)
    assert summary["errors"] == 0 and summary["pages"] == 2 and count(sqlite_url, Post) == 40
