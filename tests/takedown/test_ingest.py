"""Storing crawled posts: idempotent upserts, sightings, re-scoring only what changed, contacts linked."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlmodel import Session

from takedown.ingest import Ingestor
from takedown.models import (
    Author,
    AuthorContact,
    Brand,
    Contact,
    Post,
    PostContact,
    ReviewState,
    Score,
    Sighting,
)
from takedown.records import AuthorRecord, PostRecord
from takedown.scoring import get_scorer

PROMO = "专业债务优化，停息挂账，协商还款，不成功不收费。加薇：zhaiwu_88 私信"
NEUTRAL = "今天去公园散步，天气很好，拍了几张照片"


def _post(pid: str, text: str, *, author: str = "a1", bio: str = "", likes: int = 1) -> PostRecord:
    return PostRecord(
        platform="bilibili",
        platform_post_id=pid,
        url=f"https://www.bilibili.com/video/{pid}",
        title=text[:20],
        text=text,
        hashtags=["债务优化"],
        published_at=datetime(2026, 11, 1, 8, 0, tzinfo=UTC),
        metrics={"like": likes},
        author=AuthorRecord("bilibili", author, nickname=f"作者{author}", bio=bio),
        raw={"bvid": pid},
    )


def _count(engine, model) -> int:
    with Session(engine) as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def _ingestor(engine) -> Ingestor:
    return Ingestor(engine, get_scorer(), threshold=0.5)


def test_first_ingest_stores_posts_authors_sightings_scores_and_contacts(engine):
    stats = _ingestor(engine).ingest(
        [_post("BV1", PROMO), _post("BV2", NEUTRAL, author="a2")], keyword="债务优化", page=1, first_rank=1
    )
    assert (stats.posts, stats.new, stats.updated, stats.scored) == (2, 2, 0, 2)
    assert stats.candidates == 1
    with Session(engine) as s:
        posts = {p.platform_post_id: p for p in s.execute(select(Post)).scalars()}
        assert posts["BV1"].review_state == ReviewState.QUEUED and posts["BV1"].score >= 0.5
        assert posts["BV2"].review_state == ReviewState.NEW and posts["BV2"].score < 0.5
        assert posts["BV1"].published_at == datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
        ranks = {s_.post_id: s_.rank for s_ in s.execute(select(Sighting)).scalars()}
        assert ranks == {posts["BV1"].id: 1, posts["BV2"].id: 2}
        contact = s.execute(select(Contact).where(Contact.type == "wechat")).scalar_one()
        assert contact.value == "zhaiwu_88"
        assert s.get(PostContact, (posts["BV1"].id, contact.id)) is not None
        assert s.get(AuthorContact, (posts["BV1"].author_id, contact.id)) is not None
    assert _count(engine, Author) == 2 and _count(engine, Score) == 2


def test_recrawl_updates_counts_and_last_seen_and_never_duplicates(engine):
    ingestor = _ingestor(engine)
    ingestor.ingest([_post("BV1", PROMO, likes=1), _post("BV2", NEUTRAL)], keyword="债务优化")
    with Session(engine) as s:
        before = s.execute(select(Post).where(Post.platform_post_id == "BV1")).scalar_one()
    time.sleep(0.01)
    stats = ingestor.ingest([_post("BV1", PROMO, likes=99), _post("BV2", NEUTRAL)], keyword="停息挂账")
    assert (stats.new, stats.updated, stats.scored, stats.candidates) == (0, 2, 0, 0)
    with Session(engine) as s:
        after = s.execute(select(Post).where(Post.platform_post_id == "BV1")).scalar_one()
        keywords = sorted(s.execute(select(Sighting.keyword).where(Sighting.post_id == after.id)).scalars())
    assert _count(engine, Post) == 2
    assert _count(engine, Score) == 2, "unchanged posts are not re-scored"
    assert after.id == before.id and after.metrics == {"like": 99}
    assert after.last_seen > before.last_seen and after.first_seen == before.first_seen
    assert set(keywords) == {"停息挂账", "债务优化"} and len(keywords) == 2


def test_duplicates_within_one_page_are_stored_once(engine):
    stats = _ingestor(engine).ingest([_post("BV1", PROMO), _post("BV1", PROMO)], keyword="k")
    assert stats.posts == 1 and _count(engine, Post) == 1 and _count(engine, Sighting) == 1


def test_changed_text_is_rescored_but_a_decision_is_kept(engine):
    ingestor = _ingestor(engine)
    ingestor.ingest([_post("BV1", NEUTRAL), _post("BV2", PROMO)], keyword="k")
    with Session(engine) as s:
        s.execute(update(Post).where(Post.platform_post_id == "BV2").values(review_state=ReviewState.CONFIRMED))
        s.commit()
    stats = ingestor.ingest([_post("BV1", PROMO), _post("BV2", PROMO + "！")], keyword="k")
    assert stats.scored == 2 and stats.candidates == 1
    with Session(engine) as s:
        states = dict(s.execute(select(Post.platform_post_id, Post.review_state)).all())
        bv1 = s.execute(select(Post).where(Post.platform_post_id == "BV1")).scalar_one()
        versions = s.execute(select(func.count()).select_from(Score).where(Score.post_id == bv1.id)).scalar_one()
    assert states == {"BV1": ReviewState.QUEUED, "BV2": ReviewState.CONFIRMED}
    assert bv1.text == PROMO and versions == 2


def test_official_brand_accounts_are_never_queued(engine):
    with Session(engine) as s:
        s.add(Brand(name="信也", official_accounts={"bilibili": ["official1"]}))
        s.commit()
    _ingestor(engine).ingest([_post("BV9", PROMO, author="official1")], keyword="k")
    with Session(engine) as s:
        post = s.execute(select(Post)).scalar_one()
        author = s.get(Author, post.author_id)
    assert post.review_state == ReviewState.OFFICIAL and author.official_brand_id is not None


def test_a_known_bio_is_not_erased_by_a_result_without_one(engine):
    ingestor = _ingestor(engine)
    ingestor.ingest([_post("BV1", NEUTRAL, bio="债务规划 V：abc123")], keyword="k")
    ingestor.ingest([_post("BV2", NEUTRAL, bio="")], keyword="k")
    with Session(engine) as s:
        assert s.execute(select(Author.bio)).scalar_one() == "债务规划 V：abc123"
