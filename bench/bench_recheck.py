"""Status re-check: 10,000 filed Bilibili cases re-checked against the emulator with `takedown cases recheck`
(Scrapy, per-platform concurrency 8, no delay), every observation stored as a StatusCheck row, every gone post's
case moved to removed with its audit entry. One post in ten is set deleted first.

Baseline, same run: a bare async httpx loop requesting the same 10,000 status URLs with the same concurrency
and doing nothing with the answers. Target: the whole re-check (process start to summary) in ≤ 120 s.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, insert, select

from bench.common import Figure
from crawlers.platforms.bilibili import BilibiliAdapter
from emulator.ids import Ids
from emulator.server import running
from takedown.db import make_engine, upgrade
from takedown.models import Author, Case, CaseState, Post, StatusCheck

SEED = 3
CONCURRENCY = 8
GONE_EVERY = 10  # one post in ten is deleted before the re-check
TARGET_SECONDS = 120.0


def _fill(database_url: str, base: str, bvids: list[str]) -> None:
    """Posts and filed cases inserted directly (what crawls, reviews and filings would have left)."""
    engine = make_engine(database_url)
    upgrade(engine)
    now = datetime.now(UTC)
    filed = now - timedelta(hours=24)
    with engine.begin() as conn:
        authors = list(conn.execute(insert(Author).returning(Author.id, sort_by_parameter_order=True), [
            {"platform": "bilibili", "platform_author_id": str(1_000_000 + i), "nickname": f"up{i}", "bio": "",
             "url": "", "extra": {}, "first_seen": filed, "last_seen": filed} for i in range(len(bvids) // 10 + 1)
        ]).scalars())
        for start in range(0, len(bvids), 2000):
            chunk = bvids[start:start + 2000]
            post_ids = list(conn.execute(insert(Post).returning(Post.id, sort_by_parameter_order=True), [
                {"platform": "bilibili", "platform_post_id": bvid, "url": f"{base}/bilibili/video/{bvid}",
                 "title": "停息挂账", "text": "", "hashtags": [], "metrics": {}, "raw": {},
                 "author_id": authors[(start + i) // 10], "first_seen": filed - timedelta(days=2),
                 "last_seen": filed, "content_hash": bvid, "score": 0.9, "score_version": "bench",
                 "review_state": "confirmed"} for i, bvid in enumerate(chunk)
            ]).scalars())
            conn.execute(insert(Case), [
                {"post_id": pid, "state": CaseState.FILED.value, "channel": "bilibili", "opened_at": filed,
                 "evidence_at": filed, "drafted_at": filed, "filed_at": filed,
                 "sla_due_at": filed + timedelta(hours=72), "escalation_level": 0, "reopened_count": 0,
                 "updated_at": filed} for pid in post_ids])
    engine.dispose()


async def _set_gone(base: str, bvids: list[str]) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        sem = asyncio.Semaphore(16)

        async def one(bvid: str) -> None:
            async with sem:
                (await client.post(f"{base}/_emu/posts/bilibili/{bvid}/state", json={"state": "deleted"})
                 ).raise_for_status()

        await asyncio.gather(*(one(b) for b in bvids))


async def _baseline(base: str, bvids: list[str]) -> float:
    """Seconds for a bare async httpx loop over the same status requests, same concurrency."""
    emulated = f"{base}/bilibili"
    adapter = BilibiliAdapter({"api": emulated, "www": emulated, "space": emulated})
    specs = [adapter.status_request(b) for b in bvids]
    queue: asyncio.Queue = asyncio.Queue()
    for spec in specs:
        queue.put_nowait(spec)
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=CONCURRENCY)) as client:
        async def worker() -> None:
            while not queue.empty():
                spec = queue.get_nowait()
                answer = await client.get(spec.url, headers=spec.headers)
                answer.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return time.perf_counter() - started


def _recheck(base: str, database_url: str) -> tuple[float, dict]:
    env = os.environ | {"TAKEDOWN_DATABASE_URL": database_url,
                        "TAKEDOWN_CONCURRENCY_PER_PLATFORM": str(CONCURRENCY), "TAKEDOWN_DOWNLOAD_DELAY": "0"}
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "takedown", "cases", "recheck", "--emulator", base, "--delay", "0"],
                          capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"recheck failed:\n{proc.stderr[-3000:]}")
    return seconds, json.loads(proc.stdout.strip().splitlines()[-1])


def run(quick: bool = False) -> list[Figure]:
    n = 1_000 if quick else 10_000
    ids = Ids(SEED)
    bvids = [ids.bvid(i) for i in range(n)]
    gone = bvids[::GONE_EVERY]
    with running(seed=SEED, size=max(n, 10_000) + 2_000) as base, tempfile.TemporaryDirectory() as tmp:
        database_url = f"sqlite:///{tmp}/recheck.db"
        _fill(database_url, base, bvids)
        asyncio.run(_set_gone(base, gone))
        baseline = asyncio.run(_baseline(base, bvids))
        seconds, summary = _recheck(base, database_url)
        engine = make_engine(database_url)
        with engine.connect() as conn:
            checks = conn.execute(select(func.count()).select_from(StatusCheck)).scalar_one()
            removed = conn.execute(select(func.count()).select_from(Case).where(Case.state == "removed")).scalar_one()
        engine.dispose()
    if checks != n or removed != len(gone) or summary["removed"] != len(gone):
        raise RuntimeError(f"re-check incomplete: {checks} checks of {n}, {removed} removed of {len(gone)}: {summary}")
    crawl = summary["seconds"]
    return [
        Figure(f"recheck {n:,} posts (whole command)", seconds, "s", baseline, f"bare httpx loop, {n} requests",
               target=f"value <= {TARGET_SECONDS:.0f} s", met=seconds <= TARGET_SECONDS),
        Figure(f"recheck {n:,} posts (crawl and store)", crawl, "s", baseline, f"bare httpx loop, {n} requests"),
        Figure("recheck rate", n / crawl, "posts/s", n / baseline, "bare httpx loop"),
    ]
