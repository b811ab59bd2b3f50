"""bulk_insert and bulk_update write exactly what an ORM/Core insert or update writes: JSON, aware times (SQLite's
stored text too), NULLs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import bindparam, insert, select, update
from sqlmodel import Session

from takedown.db import bulk_insert, bulk_update
from takedown.models import CrawlRun, Post, Score


def _post(engine) -> int:
    with Session(engine) as s:
        post = Post(platform="bilibili", platform_post_id="BV1", url="u")
        s.add(post)
        s.commit()
        return post.id


def test_bulk_rows_read_back_like_core_rows(engine):
    pid = _post(engine)
    china = timezone(timedelta(hours=8))
    rows = [
        {"post_id": pid, "model_version": "m", "score": 0.5, "reasons": [{"rule": "r", "text": "停息挂账 “引号”"}],
         "created_at": datetime(2026, 11, 25, 8, 0, 0, tzinfo=china)},  # no microseconds, not UTC
        {"post_id": pid, "model_version": "m", "score": 0.25, "reasons": [],
         "created_at": datetime(2026, 11, 25, 0, 0, 1, 5, tzinfo=UTC)},
    ]
    with engine.begin() as conn:
        bulk_insert(conn, Score.__table__, rows[:1])
        conn.execute(insert(Score.__table__), rows[1:])
    with Session(engine) as s:
        got = s.execute(select(Score).order_by(Score.created_at)).scalars().all()
    # ordered by time in SQL: the bulk row (00:00:00 UTC) before the Core row (00:00:01 UTC)
    assert [g.score for g in got] == [0.5, 0.25]
    assert got[0].created_at == datetime(2026, 11, 25, 0, 0, 0, tzinfo=UTC)
    assert got[0].reasons == [{"rule": "r", "text": "停息挂账 “引号”"}]
    assert got[1].reasons == []
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            stored = conn.exec_driver_sql("SELECT created_at FROM score ORDER BY id").scalars().all()
        assert stored == ["2026-11-25 00:00:00.000000", "2026-11-25 00:00:01.000005"]


def test_bulk_insert_keeps_nulls_and_ignores_an_empty_batch(engine):
    with engine.begin() as conn:
        bulk_insert(conn, CrawlRun.__table__, [])
        bulk_insert(conn, CrawlRun.__table__, [{
            "platform": "douyin", "keywords": ["征信修复"], "mode": "browser", "status": "running",
            "started_at": datetime(2026, 1, 1, tzinfo=UTC), "finished_at": None, "pages": 0, "posts_seen": 0,
            "posts_new": 0, "posts_updated": 0, "candidates": 0, "errors": 0, "error_log": [], "stop_reason": ""}])
    with Session(engine) as s:
        run = s.execute(select(CrawlRun)).scalar_one()
    assert run.finished_at is None and run.keywords == ["征信修复"] and run.started_at == datetime(2026, 1, 1, tzinfo=UTC)


def test_on_conflict_clause_and_select_in_over_chunks(engine):
    from takedown.db import json_value, select_in
    from takedown.models import Author

    def author(i: int, bio: str) -> dict:
        return {"platform": "douyin", "platform_author_id": f"a{i}", "nickname": f"n{i}", "bio": bio, "url": "",
                "extra": {"i": i}, "first_seen": datetime(2026, 1, 1, tzinfo=UTC),
                "last_seen": datetime(2026, 1, 1, tzinfo=UTC)}

    upsert = "ON CONFLICT (platform, platform_author_id) DO UPDATE SET nickname = excluded.nickname"
    with engine.begin() as conn:
        bulk_insert(conn, Author.__table__, [author(i, f"bio {i}") for i in range(7)], on_conflict=upsert)
        again = [author(i, "") | {"nickname": f"new {i}"} for i in range(5, 9)]  # two known, two new
        bulk_insert(conn, Author.__table__, again, on_conflict=upsert)
        rows = list(select_in(conn, "SELECT platform_author_id, nickname, bio, extra FROM author "
                                    "WHERE platform = ? AND platform_author_id IN ({})",
                              ("douyin",), [f"a{i}" for i in range(10)], chunk=3))  # 4 chunks, a0..a9
        none = list(select_in(conn, "SELECT id FROM author WHERE platform = ? AND platform_author_id IN ({})",
                              ("bilibili",), ["a1"]))
    got = {r[0]: (r[1], r[2], json_value(r[3])) for r in rows}
    assert len(rows) == 9 and none == []
    assert got["a4"] == ("n4", "bio 4", {"i": 4})
    assert got["a6"] == ("new 6", "bio 6", {"i": 6})  # updated nickname, bio kept (not in the SET clause)
    assert got["a8"] == ("new 8", "", {"i": 8})


def test_bulk_update_writes_what_a_core_update_writes_and_only_the_rows_named(engine):
    china = timezone(timedelta(hours=8))
    with Session(engine) as s:
        posts = [Post(platform="bilibili", platform_post_id=f"BV{i}", url="u", metrics={"play": i}) for i in range(3)]
        s.add_all(posts)
        s.commit()
        ids = [p.id for p in posts]
    when = datetime(2026, 11, 25, 8, 0, 0, tzinfo=china)
    with engine.begin() as conn:
        bulk_update(conn, Post.__table__, [])
        bulk_update(conn, Post.__table__, [
            {"last_seen": when, "metrics": {"play": 10, "备注": "“引号”"}, "url": "v0", "pid": ids[0]}])
        conn.execute(update(Post).where(Post.id == bindparam("pid")).values(
            last_seen=bindparam("last_seen"), metrics=bindparam("metrics"), url=bindparam("url")),
            [{"last_seen": when, "metrics": {"play": 10, "备注": "“引号”"}, "url": "v0", "pid": ids[1]}])
    with Session(engine) as s:
        got = {p.id: p for p in s.execute(select(Post)).scalars()}
    bulk, core, untouched = got[ids[0]], got[ids[1]], got[ids[2]]
    assert (bulk.last_seen, bulk.metrics, bulk.url) == (core.last_seen, core.metrics, core.url)
    assert bulk.last_seen == datetime(2026, 11, 25, 0, 0, 0, tzinfo=UTC) and bulk.metrics["备注"] == "“引号”"
    assert (untouched.url, untouched.metrics) == ("u", {"play": 2})
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            stored = conn.exec_driver_sql("SELECT last_seen FROM post WHERE id IN (?, ?)", tuple(ids[:2])).scalars()
            assert set(stored) == {"2026-11-25 00:00:00.000000"}
