"""The review queue and decisions, on SQLite and PostgreSQL: ordering, keyset paging, filters, decisions with
their Review rows and audit entries, conflicts between reviewers, bulk by filter, undo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlmodel import Session

from takedown import review
from takedown.db import session_scope
from takedown.models import AuditLog, Post, Review, ReviewState, User
from takedown.review import Cursor, QueueFilter
from tests.takedown.review_seed import START, seed_brand, seed_posts

THRESHOLD = 0.5


def _user(session: Session, name: str) -> User:
    user = User(username=name, password_hash="x", role="reviewer")
    session.add(user)
    session.flush()
    return user


def _all_pages(session: Session, f: QueueFilter, limit: int) -> list[int]:
    ids, cursor = [], None
    while True:
        page = review.queue_page(session, f, threshold=THRESHOLD, after=cursor, limit=limit)
        ids += [r["id"] for r in page.rows]
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor


def _states(session: Session, ids: list[int]) -> dict[int, str]:
    return dict(session.execute(select(Post.id, Post.review_state).where(Post.id.in_(ids))).all())


def test_queue_is_highest_score_first_and_keyset_pages_cover_it_once(engine):
    seeded = seed_posts(engine, 23, top_score=0.9, step=0.01)
    # Ties on the score are ordered by id, newest first, and never lost across a page boundary.
    with engine.begin() as conn:
        conn.execute(update(Post).where(Post.id.in_(seeded.post_ids[5:9])).values(score=0.8))
    below = seed_posts(engine, 3, top_score=0.3, start_index=100)  # under the threshold: not in the queue
    with Session(engine) as session:
        first = review.queue_page(session, QueueFilter(), threshold=THRESHOLD, limit=5)
        assert [r["score"] for r in first.rows] == sorted((r["score"] for r in first.rows), reverse=True)
        everything = _all_pages(session, QueueFilter(), limit=4)
    assert sorted(everything) == sorted(seeded.post_ids)
    assert len(everything) == len(set(everything))
    assert not set(below.post_ids) & set(everything)
    scores = {pid: s for pid, s in zip(seeded.post_ids, [0.9 - 0.01 * i for i in range(23)], strict=True)}
    scores.update({pid: 0.8 for pid in seeded.post_ids[5:9]})
    assert everything == sorted(everything, key=lambda p: (-round(scores[p], 6), -p))
    assert first.rows[0]["reasons"][0]["rule"] == "promise.stop_interest"


def test_cursor_round_trips_exactly_and_rejects_garbage():
    cursor = Cursor(0.1 + 0.2, 42)
    assert Cursor.decode(cursor.encode()) == cursor
    for bad in ("abc", "0.5_x", "nan_3", "inf_1"):
        with pytest.raises(review.ReviewError):
            Cursor.decode(bad)


def test_filters_narrow_the_queue(engine):
    douyin = seed_posts(engine, 6, platform="douyin", keyword="停息挂账")
    bili = seed_posts(engine, 4, platform="bilibili", keyword="征信修复", start_index=50,
                      titles=["安心借 协商还款，100% 上岸", "ANXIN_JIE 逾期处理", "生活 vlog", "其他"])
    brand = seed_brand(engine, "安心借", aliases=["anxin_jie"])
    with Session(engine) as session:
        def ids(**kw) -> set[int]:
            return set(_all_pages(session, QueueFilter(**kw), limit=50))

        assert ids(platform="bilibili") == set(bili.post_ids)
        assert ids(keyword="停息挂账") == set(douyin.post_ids)
        # Scores are 0.990, 0.989, 0.988, ... on each platform.
        assert ids(min_score=0.9865) == set(douyin.post_ids[:4]) | set(bili.post_ids[:4])
        assert ids(min_score=0.9875, max_score=0.9885) == {douyin.post_ids[2], bili.post_ids[2]}
        assert ids(brand_id=brand) == set(bili.post_ids[:2])  # name in one title, an alias (any case) in another
        assert ids(q="vlog") == {bili.post_ids[2]}
        assert ids(q="VLOG") == {bili.post_ids[2]}  # case-insensitive on both databases
        assert ids(q="100%") == {bili.post_ids[0]}  # LIKE wildcards in the search are plain text
        assert ids(q="_") == {bili.post_ids[1]}
        assert ids(q="停息挂账") >= {douyin.post_ids[0]}
        first_seen = START + timedelta(hours=2)
        assert ids(found_from=first_seen) == set(douyin.post_ids[2:]) | set(bili.post_ids[2:])
        assert ids(found_to=first_seen) == set(douyin.post_ids[:2]) | set(bili.post_ids[:2])
        assert ids(state="confirmed") == set()
        assert ids(state="all", platform="douyin") == set(douyin.post_ids)
        assert review.count(session, QueueFilter(platform="douyin"), threshold=THRESHOLD) == 6
    with pytest.raises(review.ReviewError):
        QueueFilter(state="bogus")
    with pytest.raises(review.ReviewError):
        QueueFilter(min_score=1.5)


def test_score_range_filter(engine):
    seeded = seed_posts(engine, 10, top_score=0.95, step=0.05)  # 0.95, 0.90, ... 0.50
    with Session(engine) as session:
        got = _all_pages(session, QueueFilter(min_score=0.7, max_score=0.9), limit=3)
        assert got == seeded.post_ids[1:6]
        assert _all_pages(session, QueueFilter(min_score=0.0), limit=50) == seeded.post_ids


def test_a_decision_writes_review_and_audit_with_before_and_after(engine):
    seeded = seed_posts(engine, 3)
    with session_scope(engine) as session:
        alice = _user(session, "alice")
        result = review.decide(session, alice, [(seeded.post_ids[0], "queued")], "confirm", note="典型话术")
    assert result.applied == [seeded.post_ids[0]] and not result.conflicts
    with Session(engine) as session:
        post = session.get(Post, seeded.post_ids[0])
        assert post.review_state == ReviewState.CONFIRMED
        [rev] = session.execute(select(Review).where(Review.post_id == post.id)).scalars()
        assert (rev.decision, rev.note, rev.user_id) == ("confirmed", "典型话术", alice.id)
        [entry] = session.execute(select(AuditLog).where(AuditLog.entity_type == "post",
                                                         AuditLog.entity_id == str(post.id))).scalars()
        assert entry.actor == "alice" and entry.user_id == alice.id and entry.action == review.POST_DECIDED
        assert entry.before["review_state"] == "queued" and entry.after["review_state"] == "confirmed"
        assert entry.at is not None
        # The post left the queue.
        assert post.id not in _all_pages(session, QueueFilter(), limit=50)


def test_second_reviewer_sees_the_first_ones_decision_instead_of_overwriting_it(engine):
    seeded = seed_posts(engine, 1)
    pid = seeded.post_ids[0]
    with session_scope(engine) as session:
        alice, bob = _user(session, "alice"), _user(session, "bob")
    with session_scope(engine) as session:
        review.decide(session, alice, [(pid, "queued")], "confirm")
    with session_scope(engine) as session:
        result = review.decide(session, bob, [(pid, "queued")], "reject")  # bob still saw "queued"
    assert result.applied == []
    [conflict] = result.conflicts
    assert (conflict.post_id, conflict.expected, conflict.actual, conflict.by) == (pid, "queued", "confirmed", "alice")
    assert conflict.at is not None
    with Session(engine) as session:
        assert session.get(Post, pid).review_state == "confirmed"
        assert session.execute(select(func.count()).select_from(Review)).scalar_one() == 1
        # Having seen the decision, bob may change it on purpose.
    with session_scope(engine) as session:
        changed = review.decide(session, bob, [(pid, "confirmed")], "reject")
    assert changed.applied == [pid]


def test_bulk_decision_applies_what_is_unchanged_and_reports_the_rest(engine):
    seeded = seed_posts(engine, 10)
    with session_scope(engine) as session:
        alice, bob = _user(session, "alice"), _user(session, "bob")
        review.decide(session, bob, [(seeded.post_ids[3], "queued")], "reject")
    with session_scope(engine) as session:
        items = [(p, "queued") for p in seeded.post_ids] + [(999_999, "queued")]
        result = review.decide(session, alice, items, "confirm", kind="bulk")
    assert sorted(result.applied) == sorted(set(seeded.post_ids) - {seeded.post_ids[3]})
    conflicts = {c.post_id: c for c in result.conflicts}
    assert conflicts[seeded.post_ids[3]].by == "bob" and conflicts[seeded.post_ids[3]].actual == "rejected"
    assert conflicts[999_999].actual is None
    with Session(engine) as session:
        states = _states(session, seeded.post_ids)
        assert list(states.values()).count("confirmed") == 9
        actions = session.execute(select(AuditLog).where(AuditLog.action == review.ACTION,
                                                         AuditLog.entity_id == str(alice.id))).scalars().all()
        assert len(actions) == 1 and actions[0].after["count"] == 9 and actions[0].after["kind"] == "bulk"


def test_bulk_by_filter_needs_the_count_the_reviewer_saw(engine):
    seed_posts(engine, 8, platform="douyin")
    other = seed_posts(engine, 3, platform="bilibili", start_index=50)
    f = QueueFilter(platform="douyin")
    with session_scope(engine) as session:
        lead = _user(session, "lead")
        n = review.count(session, f, threshold=THRESHOLD)
        assert n == 8
        with pytest.raises(review.CountChanged) as changed:
            review.decide_filter(session, lead, f, "confirm", threshold=THRESHOLD, expected_count=7, max_posts=100)
        assert changed.value.actual == 8
        with pytest.raises(review.ReviewError):
            review.decide_filter(session, lead, f, "confirm", threshold=THRESHOLD, expected_count=8, max_posts=5)
        with pytest.raises(review.ReviewError):
            review.decide_filter(session, lead, QueueFilter(state="all"), "confirm", threshold=THRESHOLD,
                                 expected_count=11, max_posts=100)
        result = review.decide_filter(session, lead, f, "confirm", threshold=THRESHOLD, expected_count=8,
                                      max_posts=100)
    assert len(result.applied) == 8
    with Session(engine) as session:
        assert review.count(session, f, threshold=THRESHOLD) == 0
        assert set(_states(session, other.post_ids).values()) == {"queued"}
        action = session.get(AuditLog, result.action_id)
        assert action.after["kind"] == "filter" and action.after["filter"]["platform"] == "douyin"


def test_undo_restores_the_previous_states_and_is_audited(engine):
    seeded = seed_posts(engine, 5)
    ids = seeded.post_ids
    with session_scope(engine) as session:
        alice = _user(session, "alice")
        review.decide(session, alice, [(ids[0], "queued")], "reject")
        review.decide(session, alice, [(p, "queued") for p in ids[1:4]], "confirm", kind="bulk")
    with session_scope(engine) as session:
        undone = review.undo_last(session, alice)
    assert undone.restored == {p: "queued" for p in ids[1:4]}
    with Session(engine) as session:
        assert _states(session, ids) == {ids[0]: "rejected", **{p: "queued" for p in ids[1:]}}
        # The undone decisions are no longer labels; the audit log keeps the whole story.
        assert session.execute(select(Review.post_id)).scalars().all() == [ids[0]]
        entries = session.execute(select(AuditLog).where(AuditLog.entity_type == "post",
                                                         AuditLog.entity_id == str(ids[1]))
                                  .order_by(AuditLog.id)).scalars().all()
        assert [e.action for e in entries] == [review.POST_DECIDED, review.POST_UNDONE]
        assert entries[1].before == {"review_state": "confirmed"} and entries[1].after["review_state"] == "queued"
    # Undo again: the action before that one.
    with session_scope(engine) as session:
        assert review.undo_last(session, alice).restored == {ids[0]: "queued"}
    with session_scope(engine) as session, pytest.raises(review.NothingToUndo):
        review.undo_last(session, alice)


def test_undo_leaves_posts_someone_changed_since_and_only_undoes_own_actions(engine):
    seeded = seed_posts(engine, 3)
    ids = seeded.post_ids
    with session_scope(engine) as session:
        alice, bob = _user(session, "alice"), _user(session, "bob")
        review.decide(session, alice, [(p, "queued") for p in ids], "confirm", kind="bulk")
        review.decide(session, bob, [(ids[0], "confirmed")], "reject")  # bob changes one afterwards
    with session_scope(engine) as session:
        with pytest.raises(review.NothingToUndo):
            review.undo_last(session, _user(session, "carol"))
        result = review.undo_last(session, alice)
    assert result.restored == {ids[1]: "queued", ids[2]: "queued"}
    [skipped] = result.conflicts
    assert skipped.post_id == ids[0] and skipped.actual == "rejected" and skipped.by == "bob"
    with Session(engine) as session:
        assert _states(session, ids) == {ids[0]: "rejected", ids[1]: "queued", ids[2]: "queued"}


def test_duplicate_links_the_original_and_undo_unlinks_it(engine):
    seeded = seed_posts(engine, 2)
    original, copy = seeded.post_ids
    with session_scope(engine) as session:
        alice = _user(session, "alice")
        review.decide(session, alice, [(copy, "queued")], "duplicate", duplicate_of=original)
        with pytest.raises(review.ReviewError):
            review.decide(session, alice, [(original, "queued")], "confirm", duplicate_of=copy)
    with Session(engine) as session:
        post = session.get(Post, copy)
        assert (post.review_state, post.duplicate_of_id) == ("duplicate", original)
    with session_scope(engine) as session:
        review.undo_last(session, alice)
    with Session(engine) as session:
        post = session.get(Post, copy)
        assert (post.review_state, post.duplicate_of_id) == ("queued", None)


def test_unknown_decision_or_state_is_refused(engine):
    seeded = seed_posts(engine, 1)
    with session_scope(engine) as session:
        alice = _user(session, "alice")
        with pytest.raises(review.ReviewError):
            review.decide(session, alice, [(seeded.post_ids[0], "queued")], "delete")
        with pytest.raises(review.ReviewError):
            review.decide(session, alice, [(seeded.post_ids[0], "whatever")], "confirm")


def test_bulk_of_a_thousand_is_one_action(engine):
    seeded = seed_posts(engine, 1200, step=0.0005)
    with session_scope(engine) as session:
        alice = _user(session, "alice")
        started = datetime.now(UTC)
        result = review.decide(session, alice, [(p, "queued") for p in seeded.post_ids[:1000]], "confirm",
                               kind="bulk")
        elapsed = (datetime.now(UTC) - started).total_seconds()
    assert len(result.applied) == 1000 and elapsed < 10
    with session_scope(engine) as session:
        assert len(review.undo_last(session, alice).restored) == 1000
