"""Whole Douyin crawls in browser mode: the system Chromium opens the emulated search page, the page's own
JavaScript signs and sends the search requests, and the spider captures their JSON."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlmodel import Session

from crawlers.platforms.base import FetchMode
from crawlers.platforms.douyin import DouyinAdapter
from takedown.db import make_engine
from takedown.models import CrawlStatus, Post, Sighting
from tests.conftest import needs_chromium
from tests.crawlers.crawl_helpers import (
    count,
    crawl,
    emulator_stats,
    errors_of,
    run_record,
    set_fault,
)

EMULATOR_SEED = 12
pytestmark = [pytest.mark.slow, pytest.mark.browser, needs_chromium]
KEYWORD = "停息挂账"



def test_douyin_is_crawled_in_browser_mode():
    assert DouyinAdapter.mode is FetchMode.BROWSER


def test_browser_crawl_captures_the_pages_own_search_responses(database_url, emulator_url):
    summary = crawl(database_url, emulator_url, "douyin", [KEYWORD], pages=3)
    assert summary["status"] == CrawlStatus.FINISHED and summary["errors"] == 0, summary
    assert summary["pages"] == 3 and summary["posts"] >= 25
    # A post can show up on two pages (mix items repeat, as on the real site): stored once, sighted twice.
    assert count(database_url, Post) == summary["new"] <= summary["posts"]
    assert count(database_url, Sighting) == summary["posts"]
    engine = make_engine(database_url)
    with Session(engine) as session:
        posts = session.execute(select(Post)).scalars().all()
        pages = sorted(set(session.execute(select(Sighting.page)).scalars()))
    engine.dispose()
    assert pages == [1, 2, 3]
    assert all(re.fullmatch(r"\d{19}", p.platform_post_id) for p in posts)
    assert all(re.match(rf"{emulator_url}/douyin/(video|note)/\d{{19}}$", p.url) for p in posts)
    assert all(p.published_at is not None and p.score is not None for p in posts)
    # Only the page's JavaScript can sign a search: the server saw no rejected request.
    assert emulator_stats(emulator_url)["rejected_total"].get("douyin", 0) == 0


def test_browser_recrawl_is_idempotent(sqlite_url, emulator_url):
    first = crawl(sqlite_url, emulator_url, "douyin", [KEYWORD], pages=2)
    second = crawl(sqlite_url, emulator_url, "douyin", [KEYWORD], pages=2)
    assert second["new"] == 0 and second["posts"] == first["posts"]
    assert count(sqlite_url, Post) == first["new"]
    assert count(sqlite_url, Sighting) == 2 * first["posts"]


@pytest.mark.parametrize(
    ("kind", "stop"),
    [("captcha", r"blocked.*verify_check"), ("login_expired", r"login_expired.*code 8")],
)
def test_verify_check_and_expired_login_stop_the_crawl(sqlite_url, emulator_url, kind, stop):
    set_fault(emulator_url, platform="douyin", endpoint="search", kind=kind, pages=[2])
    summary = crawl(sqlite_url, emulator_url, "douyin", [KEYWORD, "债务优化"], pages=3)
    run = run_record(sqlite_url, summary["run"])
    assert run.status == CrawlStatus.STOPPED and re.search(stop, run.stop_reason), run.stop_reason
    assert run.pages >= 1 and count(sqlite_url, Post) >= 10, "what was fetched before is kept"


def test_malformed_page_is_recorded_with_its_page_number(sqlite_url, emulator_url):
    set_fault(emulator_url, platform="douyin", endpoint="search", kind="malformed_json", pages=[2])
    summary = crawl(sqlite_url, emulator_url, "douyin", [KEYWORD], pages=3)
    run = run_record(sqlite_url, summary["run"])
    assert run.status == CrawlStatus.FINISHED
    assert errors_of(run) == [(2, "malformed_response", None)]
    assert run.pages == 1 and count(sqlite_url, Post) >= 10


def test_many_keywords_in_parallel_tabs_share_one_signed_session(sqlite_url, emulator_url):
    keywords = ["债务优化", "征信修复", "协商还款", "反催收", "全额退保"]
    summary = crawl(sqlite_url, emulator_url, "douyin", keywords, pages=1)
    assert summary["status"] == CrawlStatus.FINISHED and summary["errors"] == 0, summary
    assert summary["pages"] == len(keywords)
    assert emulator_stats(emulator_url)["rejected_total"].get("douyin", 0) == 0
