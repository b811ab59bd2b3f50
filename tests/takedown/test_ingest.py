"""Storing crawled posts: idempotent upserts, sightings, re-scoring only what changed, contacts linked."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update
from sqlmodel import Session

from takedown.ingest import SHARED_CONTACT_BOOST, Ingestor
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


def _post(pid: str, text: str, *, author: str = "a1", bio: str = "", likes: int = 1,
          tags: tuple[str, ...] = ("债务优化",)) -> PostRecord:
    return PostRecord(
        platform="bilibili",
        platform_post_id=pid,
        url=f"https://www.bilibili.com/video/{pid}",
        title=text[:20],
        text=text,
        hashtags=list(tags),
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


def test_a_new_post_is_scored_with_its_authors_known_bio(engine):
    ingestor = _ingestor(engine)
    ingestor.ingest([_post("BV1", NEUTRAL, bio="专业停息挂账 债务优化 V：abc12345")], keyword="k")
    ingestor.ingest([_post("BV2", "上岸了，感谢老师", bio="")], keyword="k")
    _, reasons = _latest_score(engine, "BV2")
    assert any(r["field"] == "bio" for r in reasons), reasons


def test_stored_comments_survive_a_recrawl_without_them_and_nothing_is_rescored(engine):
    ingestor = _ingestor(engine)
    enriched = _post("BV1", "上岸了，感谢老师")
    enriched.comments = ["置顶：需要停息挂账的加V：helper_9988"]
    ingestor.ingest([enriched], keyword="k")
    score_with_comments, reasons = _latest_score(engine, "BV1")
    assert any(r["field"] == "comments" for r in reasons), reasons
    stats = ingestor.ingest([_post("BV1", "上岸了，感谢老师")], keyword="k")  # a search result: no comments
    assert stats.scored == 0
    with Session(engine) as s:
        post = s.execute(select(Post).where(Post.platform_post_id == "BV1")).scalar_one()
        assert post.comments == ["置顶：需要停息挂账的加V：helper_9988"]
        assert post.score == score_with_comments


def test_ingest_without_a_sighting_records_none(engine):
    _ingestor(engine).ingest([_post("BV1", PROMO)], sighting=False)
    assert _count(engine, Post) == 1 and _count(engine, Score) == 1 and _count(engine, Sighting) == 0


def test_first_and_last_seen_follow_the_domain_clock(engine):
    at = datetime(2030, 1, 2, 3, 4, tzinfo=UTC)
    Ingestor(engine, get_scorer(), threshold=0.5, now=lambda: at).ingest([_post("BV1", PROMO)], keyword="k")
    with Session(engine) as s:
        post = s.execute(select(Post)).scalar_one()
        sighting = s.execute(select(Sighting)).scalar_one()
        assert (post.first_seen, post.last_seen, sighting.seen_at) == (at, at, at)


# --- context from what the team decided: shared contacts and high-risk authors ---------------------------------

SHARED = "闲置相机转让，九成新，有意V：laozhou_tan88"  # off-topic on its own: only the shared contact tells
OTHER = "闲置相机转让，九成新，有意V：xiaowang_77abc"


def _latest_score(engine, pid: str) -> tuple[float, list[dict]]:
    with Session(engine) as s:
        post = s.execute(select(Post).where(Post.platform_post_id == pid)).scalar_one()
        score = s.execute(select(Score).where(Score.post_id == post.id).order_by(Score.id.desc())).scalars().first()
    return post.score, score.reasons


def _confirm(engine, pid: str) -> None:
    with Session(engine) as s:
        s.execute(update(Post).where(Post.platform_post_id == pid).values(review_state=ReviewState.CONFIRMED))
        s.commit()


def test_a_post_sharing_a_contact_with_a_confirmed_post_ranks_higher_and_says_why(engine):
    ingestor = _ingestor(engine)
    ingestor.ingest([_post("BV1", PROMO + " V：laozhou_tan88", author="a1")], keyword="k")
    _confirm(engine, "BV1")
    ingestor.ingest([_post("BV2", SHARED, author="a2", tags=()), _post("BV3", OTHER, author="a3", tags=())],
                    keyword="k")
    shared_score, shared_reasons = _latest_score(engine, "BV2")
    other_score, other_reasons = _latest_score(engine, "BV3")
    assert shared_score > other_score  # the same text; only the contact differs
    (reason,) = [r for r in shared_reasons if r["rule"] == "context.shared_contact"]
    assert "laozhou_tan88" in reason["text"] and reason["explanation"].endswith("。")
    assert not any(r["rule"] == "context.shared_contact" for r in other_reasons)
    # the boost is what the module documents: 1 - (1 - s)(1 - SHARED_CONTACT_BOOST)
    unboosted = get_scorer().score([_post("BV2", SHARED, author="a2", tags=()).scoring_input()])[0].score
    assert shared_score == pytest.approx(1 - (1 - unboosted) * (1 - SHARED_CONTACT_BOOST), abs=1e-3)


def test_a_contact_shared_only_with_unconfirmed_posts_gives_no_boost(engine):
    ingestor = _ingestor(engine)
    ingestor.ingest([_post("BV1", PROMO + " V：laozhou_tan88", author="a1")], keyword="k")  # queued, not confirmed
    ingestor.ingest([_post("BV2", SHARED, author="a2", tags=())], keyword="k")
    _, reasons = _latest_score(engine, "BV2")
    assert not any(r["rule"].startswith("context.") for r in reasons)


def test_author_risk_is_kept_and_a_high_risk_author_ranks_higher(engine):
    ingestor = _ingestor(engine)
    ingestor.ingest([_post("BV1", PROMO, author="risky"), _post("BV2", NEUTRAL, author="calm")], keyword="k")
    with Session(engine) as s:
        risk = dict(s.execute(select(Author.platform_author_id, Author.risk_score)).all())
    assert risk["risky"] > 0.8 > 0.3 > risk["calm"]
    _confirm(engine, "BV1")
    ingestor.ingest([_post("BV3", OTHER, author="risky", tags=()), _post("BV4", OTHER, author="calm", tags=())],
                    keyword="k")
    risky_score, risky_reasons = _latest_score(engine, "BV3")
    calm_score, calm_reasons = _latest_score(engine, "BV4")
    assert any(r["rule"] == "context.high_risk_author" for r in risky_reasons)
    assert not any(r["rule"] == "context.high_risk_author" for r in calm_reasons)
    assert risky_score > calm_score
    with Session(engine) as s:
        assert s.execute(select(Author.risk_score).where(Author.platform_author_id == "risky")).scalar_one() >= 0.95


def test_a_boost_can_bring_a_post_into_the_queue(engine):
    ingestor = _ingestor(engine)
    ingestor.ingest([_post("BV1", PROMO + " V：laozhou_tan88", author="a1")], keyword="k")
    _confirm(engine, "BV1")
    base = get_scorer().score([_post("BV2", SHARED, author="a2", tags=()).scoring_input()])[0].score
    assert base < 0.5  # on its own the post would not be queued
    stats = ingestor.ingest([_post("BV2", SHARED, author="a2", tags=())], keyword="k")
    score, _ = _latest_score(engine, "BV2")
    assert score >= 0.5
    with Session(engine) as s:
        state = s.execute(select(Post.review_state).where(Post.platform_post_id == "BV2")).scalar_one()
    assert state == ReviewState.QUEUED and stats.candidates == 1


def test_an_author_whose_contact_appears_in_a_confirmed_post_is_high_risk(engine):
    ingestor = _ingestor(engine)
    ingestor.ingest([_post("BV1", PROMO + " V：laozhou_tan88", author="a1")], keyword="k")
    _confirm(engine, "BV1")
    # another account gives the same WeChat id in its bio; its next post is boosted as a high-risk author's
    ingestor.ingest([_post("BV2", NEUTRAL, author="a2", bio="合作 V：laozhou_tan88", tags=())], keyword="k")
    ingestor.ingest([_post("BV3", OTHER, author="a2", tags=())], keyword="k")
    _, reasons = _latest_score(engine, "BV3")
    assert any(r["rule"] == "context.high_risk_author" for r in reasons)
    with Session(engine) as s:
        assert s.execute(select(Author.risk_score).where(Author.platform_author_id == "a2")).scalar_one() >= 0.95
