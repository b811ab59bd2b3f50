"""Ingest: posts/s through normalise → store → score for 100,000 posts already in memory, on SQLite.

The posts go through `Ingestor.ingest_stream` in groups of 1,000 (one transaction each), the way a bulk
load or a crawl's stream of pages is stored: the next group is scored in a forked worker while this one is
stored. Reference, same run: the same posts through `Ingestor.ingest`, batch by batch, scored in this process.

Baseline, same run: the same rows written by a bare `executemany` INSERT into a table of the same columns with
the sqlite3 module (what the disk and SQLite alone cost). Target: ≥ 5,000 posts/s.
"""

from __future__ import annotations

import json
import random
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import Figure
from takedown.db import make_engine, upgrade
from takedown.ingest import Ingestor, SearchPage
from takedown.records import AuthorRecord, PostRecord
from takedown.scoring import get_scorer
from takedown.settings import REPO_ROOT

BATCH = 1000


def make_posts(n: int, seed: int = 1) -> list[PostRecord]:
    """n distinct posts whose text comes from the labelled corpus, varied so no two are the same."""
    rng = random.Random(seed)
    corpus = [json.loads(line) for line in (REPO_ROOT / "data" / "corpus-train.jsonl").open(encoding="utf-8")]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    posts = []
    for i in range(n):
        rec = corpus[rng.randrange(len(corpus))]
        author_id = str(rng.randrange(n // 5 + 1))
        posts.append(PostRecord(
            platform="bilibili",
            platform_post_id=f"BV{i:010d}",
            url=f"https://www.bilibili.com/video/BV{i:010d}",
            title=f"{rec['title']} {i}",
            text=rec["desc"],
            hashtags=list(rec["hashtags"]),
            published_at=start + timedelta(minutes=i),
            metrics={"play": rng.randrange(10**6), "like": rng.randrange(10**4)},
            author=AuthorRecord("bilibili", author_id, nickname=rec["author_name"], bio=rec["author_bio"]),
            raw={"bvid": f"BV{i:010d}", "title": rec["title"]},
        ))
    return posts


def _baseline(posts: list[PostRecord], path: Path) -> float:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE post (id INTEGER PRIMARY KEY, platform TEXT, platform_post_id TEXT, url TEXT, "
                 "title TEXT, text TEXT, hashtags TEXT, metrics TEXT, raw TEXT, UNIQUE(platform, platform_post_id))")
    started = time.perf_counter()
    for i in range(0, len(posts), BATCH):
        rows = [(p.platform, p.platform_post_id, p.url, p.title, p.text, json.dumps(p.hashtags),
                 json.dumps(p.metrics), json.dumps(p.raw)) for p in posts[i:i + BATCH]]
        conn.executemany("INSERT INTO post (platform, platform_post_id, url, title, text, hashtags, metrics, raw) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        conn.commit()
    elapsed = time.perf_counter() - started
    conn.close()
    return len(posts) / elapsed


def run(quick: bool = False) -> list[Figure]:
    n = 10_000 if quick else 100_000
    posts = make_posts(n)
    scorer = get_scorer()
    scorer.score([posts[0].scoring_input()])  # load lexicons and rules outside the timing
    with tempfile.TemporaryDirectory() as tmp:
        baseline = _baseline(posts, Path(tmp) / "baseline.db")
        rates = {}
        for way in ("one process", "stream"):
            engine = make_engine(f"sqlite:///{tmp}/ingest-{way.replace(' ', '-')}.db")
            upgrade(engine)
            ingestor = Ingestor(engine, scorer, threshold=0.5)
            scorer.facts.clear()  # each way starts with the scorer's caches empty
            started = time.perf_counter()
            if way == "stream":
                ingestor.ingest_stream([SearchPage(posts[i:i + BATCH], "债务优化", i // BATCH + 1, i + 1)]
                                       for i in range(0, n, BATCH))
            else:
                for i in range(0, n, BATCH):
                    ingestor.ingest(posts[i:i + BATCH], keyword="债务优化", page=i // BATCH + 1, first_rank=i + 1)
            rates[way] = n / (time.perf_counter() - started)
            engine.dispose()
        rate = rates["stream"]

        started = time.perf_counter()
        scorer.score([p.scoring_input() for p in posts])
        score_rate = n / (time.perf_counter() - started)
    return [
        Figure(f"ingest_{n // 1000}k_posts", rate, "posts/s", baseline, "bare sqlite3 executemany",
               target="value >= 5000 posts/s", met=rate >= 5000),
        Figure(f"ingest_{n // 1000}k_posts_one_process", rates["one process"], "posts/s", rate,
               "the same, scored ahead in a worker (ingest_stream)"),
        Figure("scorer_alone", score_rate, "posts/s", rate, "whole ingest"),
    ]
