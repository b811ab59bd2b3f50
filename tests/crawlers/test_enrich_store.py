"""Storing enrichment answers (crawlers.enrich.EnrichStore) on SQLite and PostgreSQL: a post rebuilt from its
row with the fetched comments and bio, re-ingested and re-scored, `enriched_at` set, gone posts recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from crawlers.enrich import MAX_COMMENTS, EnrichStore, select_targets
from crawlers.platforms.base import CommentsResult, ProfileResult
from crawlers.spiders.enrich import EnrichedPost, EnrichTarget, PostGone
from takedown.crawl_log import CrawlLog
from takedown.ingest import Ingestor
from takedown.models import Author, CrawlRun, Post, PostContact, Score, StatusCheck
from takedown.records import AuthorRecord, PostRecord
from takedown.scoring import get_scorer

PINNED = "置顶：需要停息挂账的加V：helper_9988 备注B站"


def _crawled(engine, post_id: str = "BV1Px4y1T7Qa", mid: str = "488712306") -> Post:
    """A post as a Bilibili search stores it: no bio (search results carry none), no comments, no contact."""
    record = PostRecord(
        platform="bilibili", platform_post_id=post_id, url=f"https://www.bilibili.com/video/{post_id}",
        title="停息挂账、协商还款，上岸不是梦", text="信用卡网贷逾期的朋友看过来，专业团队帮你协商，详情看评论区",
        hashtags=["停息挂账", "债务优化"], metrics={"play": 1200},
        author=AuthorRecord("bilibili", mid, nickname="王老师债务规划", url=f"https://space.bilibili.com/{mid}"),
        raw={"aid": 1453627819, "bvid": post_id},
    )
    Ingestor(engine, get_scorer(), 0.5).ingest([record], keyword="停息挂账")
    with Session(engine) as session:
        return session.execute(select(Post).where(Post.platform_post_id == post_id)).scalar_one()


def _target(post: Post) -> EnrichTarget:
    return EnrichTarget(post.id, post.platform_post_id, dict(post.raw), "488712306")


def test_a_post_is_stored_with_its_top_comments_and_its_authors_bio_and_rescored(engine):
    post = _crawled(engine)
    run_id = CrawlLog(engine).start("bilibili", [], "enrich")
    store = EnrichStore(engine, Ingestor(engine, get_scorer(), 0.5), run_id)
    comments = [PINNED, "作者：可以的，私信我"] + [f"求带{i}" for i in range(30)]
    profile = ProfileResult("488712306", "王老师债务规划", "债务规划｜协商还款 ☎ 138 0013 8000")
    outcome = store.store([EnrichedPost("bilibili", _target(post), CommentsResult(comments), profile)])
    assert (outcome.posts, outcome.comments, outcome.bios, outcome.rescored) == (1, MAX_COMMENTS, 1, 1)

    with Session(engine) as session:
        stored = session.get(Post, post.id)
        assert stored.comments == comments[:MAX_COMMENTS]
        assert (stored.title, stored.text, stored.hashtags, stored.url) == (post.title, post.text, post.hashtags,
                                                                           post.url)
        assert stored.raw == post.raw and stored.metrics == post.metrics
        at = stored.enriched_at if stored.enriched_at.tzinfo else stored.enriched_at.replace(tzinfo=UTC)
        assert abs(at - datetime.now(UTC)) < timedelta(minutes=1)
        assert session.get(Author, stored.author_id).bio == profile.bio
        history = session.execute(select(Score).where(Score.post_id == post.id).order_by(Score.id)).scalars().all()
        assert len(history) == 2 and stored.score >= history[0].score
        fields = {r["field"] for r in history[-1].reasons}
        assert {"comments", "bio"} <= fields, history[-1].reasons
        assert session.execute(select(func.count()).select_from(PostContact)
                               .where(PostContact.post_id == post.id)).scalar_one() >= 1
        run = session.get(CrawlRun, run_id)
        assert (run.pages, run.posts_seen, run.posts_updated) == (1, 1, 1)

    # The same answers again change nothing the scorer reads: no new score.
    again = store.store([EnrichedPost("bilibili", _target(post), CommentsResult(comments), profile)])
    assert (again.rescored, again.bios) == (0, 0)


def test_closed_comments_still_count_as_enriched_and_keep_what_was_stored(engine):
    post = _crawled(engine)
    store = EnrichStore(engine, Ingestor(engine, get_scorer(), 0.5), None)
    store.store([EnrichedPost("bilibili", _target(post), CommentsResult([PINNED]), complete=False)])
    with Session(engine) as session:
        assert session.get(Post, post.id).enriched_at is None  # the profile never came: asked again later
    outcome = store.store([EnrichedPost("bilibili", _target(post), CommentsResult([], closed=True, code="12002"))])
    assert outcome.closed == 1 and outcome.comments == 0
    with Session(engine) as session:
        stored = session.get(Post, post.id)
        assert stored.enriched_at is not None and stored.comments == [PINNED]


def test_targets_are_the_undecided_candidates_not_enriched_lately_highest_first(engine):
    ids = {pid: _crawled(engine, pid, mid).id for pid, mid in (("BV1aaaaaaaaa", "1"), ("BV1bbbbbbbbb", "2"),
                                                              ("BV1ccccccccc", "3"), ("BV1ddddddddd", "4"))}
    with Session(engine) as session:
        for pid, score in (("BV1aaaaaaaaa", 0.6), ("BV1bbbbbbbbb", 0.9), ("BV1ccccccccc", 0.8),
                           ("BV1ddddddddd", 0.95)):
            session.get(Post, ids[pid]).score = score
        session.get(Post, ids["BV1ccccccccc"]).enriched_at = datetime.now(UTC) - timedelta(days=3)
        session.get(Post, ids["BV1ddddddddd"]).review_state = "confirmed"  # a person decided: not a candidate
        session.commit()

    def pick(**kw) -> list[str]:
        options = {"threshold": 0.5, "refresh_days": 14, "limit": 10} | kw
        return [t.platform_post_id for t in select_targets(engine, "bilibili", **options)]

    assert pick() == ["BV1bbbbbbbbb", "BV1aaaaaaaaa"]
    assert pick(refresh_days=2) == ["BV1bbbbbbbbb", "BV1ccccccccc", "BV1aaaaaaaaa"]  # enriched 3 days ago
    assert pick(limit=1) == ["BV1bbbbbbbbb"] and pick(threshold=0.7) == ["BV1bbbbbbbbb"]
    [first] = select_targets(engine, "bilibili", threshold=0.5, refresh_days=14, limit=1)
    assert first.raw["aid"] == 1453627819 and first.author_id == "2" and first.post_id == ids["BV1bbbbbbbbb"]


def test_a_gone_post_becomes_a_status_check_and_is_left_alone(engine):
    post = _crawled(engine)
    store = EnrichStore(engine, Ingestor(engine, get_scorer(), 0.5), None)
    gone = PostGone("bilibili", _target(post), {"kind": "gone", "code": "-404", "http_status": 200,
                                                "message": "comments: 啥都木有"})
    assert store.record_gone([gone]) == 1
    with Session(engine) as session:
        check = session.execute(select(StatusCheck).where(StatusCheck.post_id == post.id)).scalar_one()
        assert (check.observed, check.code) == ("gone", "-404") and "啥都木有" in check.detail
        stored = session.get(Post, post.id)
        assert stored.enriched_at is None and stored.review_state == post.review_state
    assert select_targets(engine, "bilibili", threshold=0.0, refresh_days=14, limit=10) == []
