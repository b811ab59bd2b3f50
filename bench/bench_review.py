"""Review app: queue pages and bulk decisions with 200,000 posts in SQLite, through the real app.

Server time is measured in-process: an httpx client drives the ASGI app (httpx.ASGITransport) with a logged-in
session, so a figure is what the server spends (session check, query, template) without any network.

Baselines, same run, same database file: the bare SQL of the same page with the sqlite3 module (the queue's
SELECT with the same filters, order and cursor), and a bare `UPDATE post SET review_state = ... WHERE id IN
(...)` for the bulk decision. Targets: queue page p95 ≤ 150 ms (first and deep page, with filters); bulk confirm
of 1,000 posts ≤ 2 s.
"""

from __future__ import annotations

import asyncio
import random
import re
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert

from bench.common import Figure
from takedown.auth import create_user
from takedown.db import make_engine, session_scope, upgrade
from takedown.models import Author, Post, Score, Sighting
from takedown.settings import SEED_KEYWORDS, Settings
from takedown.web.app import create_app

PASSWORD = "bench-password-1"
REQUESTS = 50
BULK = 1000
PLATFORMS = ("douyin", "bilibili", "kuaishou", "xiaohongshu")
TITLES = ("负债突围，教你一招上岸", "想要翻身的看过来", "陷入债务泥潭，主动重组重获生机", "从业15年的资深从业者",
          "信用卡逾期协商，个性化分期", "生活日常分享", "今天的晚饭")
TEXTS = ("负债38万，整合17个网贷平台，停息挂账后分5年偿还，私信我看主页",
         "征信修复、屏蔽催收，专业法务团队，2000元包上岸", "债务优化一对一指导，全额退保，投顾退费",
         "周末去公园散步，天气很好")
REASONS = [{"rule": "promise.stop_interest", "category": "promise", "field": "desc", "text": "停息挂账",
            "weight": 1.2, "explanation": "宣称可停息挂账"}]
# The filtered page: one platform, a score range, a keyword that found the post.
FILTER = {"state": "queued", "platform": "douyin", "min_score": "0.55", "max_score": "0.98"}


def fill(engine, n: int, seed: int = 3) -> None:
    """n posts over four platforms: ~40 % queued (score ≥ 0.5), the rest below the threshold or decided."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    authors = max(10, n // 10)
    with engine.begin() as conn:
        conn.execute(insert(Author), [
            {"platform": PLATFORMS[i % 4], "platform_author_id": f"a{i}", "nickname": f"债务规划师{i}", "bio": "",
             "url": "", "extra": {}, "first_seen": start, "last_seen": start} for i in range(authors)])
        for base in range(0, n, 5000):
            posts, scores, sightings = [], [], []
            for i in range(base, min(n, base + 5000)):
                score = round(rng.random(), 6)
                state = "new" if score < 0.5 else rng.choices(("queued", "confirmed", "rejected"), (8, 1, 1))[0]
                at = start + timedelta(seconds=30 * i)
                posts.append({
                    "id": i + 1, "platform": PLATFORMS[i % 4], "platform_post_id": f"p{i}",
                    "url": f"https://example.invalid/v/{i}", "title": f"{TITLES[i % len(TITLES)]} {i}",
                    "text": TEXTS[i % len(TEXTS)], "hashtags": [], "metrics": {}, "author_id": 1 + i % authors,
                    "first_seen": at, "last_seen": at, "raw": None, "content_hash": "", "score": score,
                    "score_version": "bench", "review_state": state,
                })
                scores.append({"post_id": i + 1, "model_version": "bench", "score": score, "reasons": REASONS,
                               "created_at": at})
                sightings.append({"post_id": i + 1, "keyword": SEED_KEYWORDS[i % 5], "page": 1, "rank": 1,
                                  "seen_at": at})
            conn.execute(insert(Post), posts)
            conn.execute(insert(Score), scores)
            conn.execute(insert(Sighting), sightings)
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] if len(samples) >= 2 else samples[0]


def bare_search_sql(db: Path, limit: int = 50) -> float:
    """p95 ms of the same search in bare SQL: LIKE over title and text of every queued post."""
    conn = sqlite3.connect(db)
    times = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        conn.execute("SELECT id FROM post WHERE review_state = 'queued' AND score >= 0.5 AND (title LIKE ? "
                     "OR text LIKE ?) ORDER BY score DESC, id DESC LIMIT ?", ["%没有这个词%"] * 2 + [limit + 1]).fetchall()
        times.append((time.perf_counter() - started) * 1000)
    conn.close()
    return p95(times)


def bare_page_sql(db: Path, after: tuple[float, int] | None, limit: int = 50, keyword: str = "") -> float:
    """p95 ms of the queue page's SELECT alone, with sqlite3 (no ORM, no app)."""
    conn = sqlite3.connect(db)
    sql = ("SELECT post.id, post.platform, post.platform_post_id, post.url, post.title, post.score, "
           "post.review_state, post.first_seen, post.published_at, post.author_id, author.nickname "
           "FROM post LEFT OUTER JOIN author ON author.id = post.author_id "
           "WHERE post.review_state = ? AND post.score >= ? AND post.score <= ? AND post.platform = ? "
           + ("AND (post.score, post.id) < (?, ?) " if after else "")
           + ("AND EXISTS (SELECT 1 FROM sighting WHERE sighting.post_id = post.id AND sighting.keyword = ?) "
              if keyword else "")
           + "ORDER BY post.score DESC, post.id DESC LIMIT ?")
    args = [FILTER["state"], float(FILTER["min_score"]), float(FILTER["max_score"]), FILTER["platform"],
            *(after or ()), *([keyword] if keyword else []), limit + 1]
    times = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        rows = conn.execute(sql, args).fetchall()
        marks = ",".join("?" * len(rows[:limit]))
        conn.execute(f"SELECT post_id, reasons FROM score WHERE post_id IN ({marks}) ORDER BY id",
                     [r[0] for r in rows[:limit]]).fetchall()
        times.append((time.perf_counter() - started) * 1000)
    conn.close()
    return p95(times)


def deep_cursor(db: Path, depth: int) -> tuple[float, int]:
    conn = sqlite3.connect(db)
    row = conn.execute(
        "SELECT score, id FROM post WHERE review_state = ? AND score >= ? AND score <= ? AND platform = ? "
        "ORDER BY score DESC, id DESC LIMIT 1 OFFSET ?",
        [FILTER["state"], float(FILTER["min_score"]), float(FILTER["max_score"]), FILTER["platform"], depth],
    ).fetchone()
    conn.close()
    return float(row[0]), int(row[1])


async def _login(client: httpx.AsyncClient) -> str:
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    done = await client.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token})
    assert done.status_code == 303, done.text
    return (await client.get("/api/me")).json()["csrf_token"]


async def _page_times(client: httpx.AsyncClient, params: dict[str, str], rows: bool = True) -> list[float]:
    times = []
    for _ in range(REQUESTS + 3):
        started = time.perf_counter()
        response = await client.get("/queue", params=params)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200 and ("qrow" in response.text) == rows, response.status_code
    return times[3:]  # the first requests warm the caches


async def _measure(app, db: Path, deep: tuple[float, int]) -> dict[str, float]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench.local") as client:
        token = await _login(client)
        first = p95(await _page_times(client, FILTER))
        deep_ms = p95(await _page_times(client, {**FILTER, "after": f"{deep[0]!r}_{deep[1]}"}))
        keyword = p95(await _page_times(client, {**FILTER, "keyword": SEED_KEYWORDS[0]}))
        # A text search that matches nothing reads every queued post of the filter: the worst case.
        search = p95(await _page_times(client, {"state": "queued", "q": "没有这个词"}, rows=False))
        ids = [r[0] for r in sqlite3.connect(db).execute(
            "SELECT id FROM post WHERE review_state = 'queued' ORDER BY score DESC, id DESC LIMIT ?", [BULK])]
        started = time.perf_counter()
        response = await client.post("/api/decisions", headers={"X-CSRF-Token": token}, json={
            "decision": "confirm", "items": [{"id": i, "expected_state": "queued"} for i in ids]})
        bulk = time.perf_counter() - started
        assert response.status_code == 200 and len(response.json()["applied"]) == BULK, response.text[:300]
        started = time.perf_counter()
        response = await client.post("/api/undo", headers={"X-CSRF-Token": token})
        undo = time.perf_counter() - started
        assert response.status_code == 200 and len(response.json()["restored"]) == BULK
    return {"first": first, "deep": deep_ms, "keyword": keyword, "search": search, "bulk": bulk, "undo": undo,
            "ids": ids}


def bare_bulk_update(db: Path, ids: list[int]) -> float:
    conn = sqlite3.connect(db)
    marks = ",".join("?" * len(ids))
    started = time.perf_counter()
    conn.execute(f"UPDATE post SET review_state = 'confirmed' WHERE id IN ({marks}) AND review_state = 'queued'", ids)
    conn.commit()
    elapsed = time.perf_counter() - started
    conn.execute(f"UPDATE post SET review_state = 'queued' WHERE id IN ({marks})", ids)
    conn.commit()
    conn.close()
    return elapsed


def run(quick: bool = False) -> list[Figure]:
    n = 20_000 if quick else 200_000
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "review.db"
        engine = make_engine(f"sqlite:///{db}")
        upgrade(engine)
        started = time.perf_counter()
        fill(engine, n)
        print(f"review bench: {n:,} posts stored in {time.perf_counter() - started:.1f} s")
        with session_scope(engine) as session:
            create_user(session, "bench", PASSWORD, "lead")
        settings = Settings(web_session_secret="bench-secret-" + "x" * 32, var_dir=Path(tmp), database_url="")
        app = create_app(settings, engine)
        deep = deep_cursor(db, n // 20)  # ~a quarter into the filtered result: page ~200 of 50 rows
        measured = asyncio.run(_measure(app, db, deep))
        base_first = bare_page_sql(db, None)
        base_deep = bare_page_sql(db, deep)
        base_keyword = bare_page_sql(db, None, keyword=SEED_KEYWORDS[0])
        base_bulk = bare_bulk_update(db, measured["ids"])
        base_search = bare_search_sql(db)
        engine.dispose()
    label = f"{n // 1000}k posts"
    return [
        Figure(f"review queue first page p95 ({label}, filtered)", measured["first"], "ms", base_first,
               "bare SQL of the page", "value <= 150 ms", measured["first"] <= 150),
        Figure(f"review queue deep page p95 ({label}, filtered, keyset)", measured["deep"], "ms", base_deep,
               "bare SQL of the page", "value <= 150 ms", measured["deep"] <= 150),
        Figure(f"review queue keyword filter page p95 ({label})", measured["keyword"], "ms", base_keyword,
               "bare SQL of the page", "value <= 150 ms", measured["keyword"] <= 150),
        Figure(f"review queue text search, no match p95 ({label}, full scan)", measured["search"], "ms",
               base_search, "bare SQL LIKE of the search", "(no target: LIKE scans; see report)", None),
        Figure(f"review bulk confirm {BULK} posts ({label})", measured["bulk"] * 1000, "ms", base_bulk * 1000,
               "bare UPDATE ... WHERE id IN", "value <= 2000 ms", measured["bulk"] <= 2.0),
        Figure(f"review undo of the bulk confirm ({label})", measured["undo"] * 1000, "ms", base_bulk * 1000,
               "bare UPDATE ... WHERE id IN", "value <= 2000 ms", measured["undo"] <= 2.0),
    ]
