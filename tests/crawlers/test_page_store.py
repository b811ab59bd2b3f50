"""Where a crawl's result pages are scored and stored: grouped transactions, a bad page costing only itself, the
child process, and a child that dies."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlmodel import Session

from crawlers import page_store
from crawlers.page_store import (
    IDLE_SECONDS,
    ChildPageStore,
    InlinePageStore,
    prestart,
    release_prestarted,
    store_pages,
)
from takedown.crawl_log import CrawlLog
from takedown.ingest import SearchPage
from takedown.models import CrawlRun, Post, Sighting
from takedown.records import AuthorRecord, PostRecord

PROMO = "专业债务优化，停息挂账，协商还款，不成功不收费。加薇：zhaiwu_88 私信"


def _page(keyword: str, page: int, ids: list[str]) -> SearchPage:
    records = [PostRecord(platform="bilibili", platform_post_id=pid, url=f"https://www.bilibili.com/video/{pid}",
                          title=f"标题 {pid}", text=PROMO, published_at=datetime(2026, 11, 1, tzinfo=UTC),
                          author=AuthorRecord("bilibili", f"a{pid}", nickname="某人"))
               for pid in ids]
    return SearchPage(records, keyword, page, first_rank=(page - 1) * 20 + 1)


def _run(engine) -> int:
    return CrawlLog(engine).start("bilibili", ["债务优化"], "api")


def _counts(engine, run_id: int) -> tuple[CrawlRun, int, int]:
    with Session(engine) as s:
        run = s.get(CrawlRun, run_id)
        posts = s.execute(select(func.count()).select_from(Post)).scalar_one()
        sightings = s.execute(select(func.count()).select_from(Sighting)).scalar_one()
    return run, posts, sightings


def test_a_group_of_pages_is_stored_with_one_sighting_per_page_and_the_run_counted(engine, database_url):
    run_id = _run(engine)
    store = InlinePageStore(database_url, 0.5, run_id)
    # BV2 is on both pages: stored once, sighted twice
    store_pages(store.ingestor, store.log, run_id, [_page("债务优化", 1, ["BV1", "BV2"]), _page("债务优化", 2, ["BV2", "BV3"])])
    store.close()
    run, posts, sightings = _counts(engine, run_id)
    assert (posts, sightings) == (3, 4)
    assert (run.pages, run.posts_seen, run.posts_new, run.errors) == (2, 4, 3, 0)
    assert run.candidates == 3


def test_a_page_that_cannot_be_stored_costs_only_itself_and_is_recorded(engine, database_url):
    run_id = _run(engine)
    store = InlinePageStore(database_url, 0.5, run_id)
    bad = _page("债务优化", 2, ["BV9"])
    bad.records[0].platform_post_id = None  # violates NOT NULL: the page's transaction fails
    store_pages(store.ingestor, store.log, run_id, [_page("债务优化", 1, ["BV1"]), bad, _page("债务优化", 3, ["BV3"])])
    store.close()
    run, posts, sightings = _counts(engine, run_id)
    assert (posts, sightings) == (2, 2)
    assert (run.pages, run.errors) == (2, 1)
    assert run.error_log[0]["kind"] == "store_failed" and run.error_log[0]["page"] == 2
    assert run.error_log[0]["code"] == "IntegrityError"


def test_the_child_process_stores_every_page_handed_to_it(engine, database_url):
    run_id = _run(engine)
    store = ChildPageStore(database_url, 0.5, run_id)
    for page in range(1, 6):
        store.submit(_page("征信修复", page, [f"BV{page}a", f"BV{page}b"]))
    assert store.close() == ""
    assert store.process.exitcode == 0
    run, posts, sightings = _counts(engine, run_id)
    assert (posts, sightings, run.pages, run.posts_new) == (10, 10, 5, 10)


def test_a_child_started_before_its_run_exists_stores_the_pages_under_the_run_it_is_given(engine, database_url):
    store = ChildPageStore(database_url, 0.5)  # as the crawl starts it: before the run is recorded
    run_id = _run(engine)
    store.open(run_id)
    for page in range(1, 4):
        store.submit(_page("征信修复", page, [f"BV{page}"]))
    assert store.close() == ""
    run, posts, sightings = _counts(engine, run_id)
    assert (posts, sightings, run.pages, run.posts_new) == (3, 3, 3, 3)
    with Session(engine) as s:
        assert set(s.execute(select(Sighting.crawl_run_id)).scalars()) == {run_id}


def test_a_child_whose_crawl_never_started_leaves_cleanly_having_stored_nothing(engine, database_url):
    store = ChildPageStore(database_url, 0.5)
    assert store.close() == ""
    assert store.process.exitcode == 0
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(Post)).scalar_one() == 0


def test_a_pipeline_takes_the_child_prestarted_for_it_and_the_ones_not_taken_are_let_go(engine, database_url):
    prestart(database_url, 0.5, 2)
    first = page_store._prestarted[0]
    other = ChildPageStore.take(database_url, 0.7)  # other parameters: a new child, the prestarted stay
    assert other not in (first, page_store._prestarted[1]) and len(page_store._prestarted) == 2
    taken = ChildPageStore.take(database_url, 0.5)
    assert taken is first and len(page_store._prestarted) == 1
    leftover = page_store._prestarted[0]
    run_id = _run(engine)
    taken.open(run_id)
    taken.submit(_page("债务优化", 1, ["BV1"]))
    assert taken.close() == "" and other.close() == ""
    release_prestarted()
    assert page_store._prestarted == [] and leftover.process.exitcode == 0
    assert _counts(engine, run_id)[1:] == (1, 1)


def test_a_page_is_stored_while_the_crawl_waits_not_only_when_the_next_one_comes(engine, database_url):
    run_id = _run(engine)
    store = ChildPageStore(database_url, 0.5, run_id)
    store.submit(_page("征信修复", 1, ["BV1a", "BV1b"]))
    deadline = time.monotonic() + 10 * IDLE_SECONDS
    while time.monotonic() < deadline and _counts(engine, run_id)[1] < 2:
        time.sleep(0.1)
    stored = _counts(engine, run_id)[1]
    assert store.close() == ""
    assert stored == 2  # (before close: a crawl backing off still shows what it found)


def test_in_the_child_a_page_that_cannot_be_stored_costs_only_itself_and_is_recorded(engine, database_url):
    run_id = _run(engine)
    store = ChildPageStore(database_url, 0.5, run_id)
    bad = _page("征信修复", 3, ["BV9"])
    bad.records[0].platform_post_id = None  # violates NOT NULL: its group's transaction fails
    for page in (_page("征信修复", 1, ["BV1"]), _page("征信修复", 2, ["BV2"]), bad, _page("征信修复", 4, ["BV4"])):
        store.submit(page)
    assert store.close() == ""
    run, posts, sightings = _counts(engine, run_id)
    assert (posts, sightings, run.pages, run.errors) == (3, 3, 3, 1)
    assert run.error_log[0]["kind"] == "store_failed" and run.error_log[0]["page"] == 3
    assert run.error_log[0]["code"] == "IntegrityError"


def test_a_child_that_dies_is_reported_and_the_rest_is_stored_in_the_crawl_process(engine, database_url):
    run_id = _run(engine)
    store = ChildPageStore(database_url, 0.5, run_id)
    store.process.kill()
    store.process.join()
    # the queue may still take a page or two (lost with the child); once full, the crawl process stores the rest
    for page in range(1, 80):
        store.submit(_page("停息挂账", page, [f"BV{page}"]))
    lost = store.close()
    assert lost.startswith("store process died (exit -9)")
    assert store.fallback is not None
    run, posts, _ = _counts(engine, run_id)
    assert 0 < posts < 80 and run.pages == posts
