"""Run `takedown enrich` the way the scheduler does (a subprocess: the Twisted reactor cannot restart), read
back what it stored, and pick from the emulator's corpus a post whose contact only its author's bio or pinned
comment shows — so a test can crawl the keyword that finds it and watch enrichment raise its score."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from crawlers.platforms.bilibili import BilibiliAdapter
from crawlers.platforms.douyin import DouyinAdapter
from emulator import bilibili as emu_bilibili
from emulator import douyin as emu_douyin
from emulator.corpus import comment_thread
from emulator.texts import SEED_KEYWORDS
from emulator.world import World
from takedown.db import make_engine
from takedown.models import Post, Score
from takedown.scoring import get_scorer
from takedown.settings import Settings


def enrich(database_url: str, emulator_url: str, platform: str, *, limit: int | None = None,
           env: dict[str, str] | None = None, timeout: float = 300) -> dict[str, Any]:
    args = [sys.executable, "-m", "takedown", "enrich", "--platform", platform, "--emulator", emulator_url]
    if limit is not None:
        args += ["--limit", str(limit)]
    full_env = os.environ | {"TAKEDOWN_DATABASE_URL": database_url, "TAKEDOWN_CONCURRENCY_PER_PLATFORM": "3"} | (
        env or {})
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=full_env)
    assert proc.returncode == 0, f"enrich failed ({proc.returncode}):\n{proc.stderr[-4000:]}"
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    summary["log"] = proc.stderr
    return summary


def rendered(post) -> list[str]:
    """The emulator post's comments as the adapters render them (pinned first, the author's marked)."""
    return [("置顶：" if c.pinned else "作者：" if c.by_author else "") + c.text for c in comment_thread(post)]


def posts(database_url: str, *where) -> list[Post]:
    engine = make_engine(database_url)
    with Session(engine) as session:
        rows = session.execute(select(Post).where(*where).order_by(Post.id)).scalars().all()
    engine.dispose()
    return list(rows)


def scores(database_url: str, post_id: int) -> list[Score]:
    """Every score the post got, oldest first."""
    engine = make_engine(database_url)
    with Session(engine) as session:
        rows = session.execute(select(Score).where(Score.post_id == post_id).order_by(Score.id)).scalars().all()
    engine.dispose()
    return list(rows)


@dataclass(frozen=True)
class Pick:
    post_id: str
    keyword: str
    pages: int
    before: float  # the score as the crawl stores it (simulated)
    after: float  # with the comments and the bio


@lru_cache(maxsize=8)
def pick(platform: str, seed: int, size: int, where: str) -> Pick | None:
    """The post, found within the first two result pages of a seed keyword, whose score rises most once its
    author's bio (`where="bio"`) or its pinned comment (`where="comments"`) is read — and whose crawled form
    shows no contact at all. Scored here with the scorer the crawl uses, on the record the adapter parses out
    of the emulator's own search item."""
    world = World(seed=seed, size=size)
    base_urls = Settings(emulator_url="http://emu").platform_base_urls(platform)
    scorer = get_scorer()
    window = 40 if platform == "bilibili" else 20
    best: Pick | None = None
    seen: set[int] = set()
    for keyword in SEED_KEYWORDS:
        for rank, index in enumerate(world.corpus.search(platform, keyword).window(0, window)):
            if index in seen:
                continue
            seen.add(index)
            post = world.corpus.post(platform, index)
            if where == "comments" and not any(c.pinned for c in comment_thread(post)):
                continue
            if where == "bio" and not post.author.bio_contacts:
                continue
            record = _crawled(platform, world, post, keyword, base_urls)
            before = record.scoring_input()
            after = {**before, "author_bio": post.author.bio, "comments": rendered(post)}
            r0, r1 = scorer.score([before, after])
            field = "bio" if where == "bio" else "comments"
            if any(r.rule.startswith("contact.") for r in r0.reasons) or not any(
                    r.field == field for r in r1.reasons):
                continue
            # (any rise: a promotion of the emulator's corpus often scores 0.999 on its text alone)
            if r0.score < 0.5 or r1.score <= r0.score:
                continue
            candidate = Pick(post.post_id, keyword, rank // (window // 2) + 1, r0.score, r1.score)
            if best is None or candidate.after - candidate.before > best.after - best.before:
                best = candidate
    return best


def _crawled(platform: str, world: World, post, keyword: str, base_urls: dict[str, str]):
    if platform == "bilibili":
        item = emu_bilibili.search_item(world, post, (keyword,), None)
        page = {"code": 0, "message": "0", "data": {"page": 1, "numPages": 1, "result": [item]}}
        return BilibiliAdapter(base_urls).parse_search(200, json.dumps(page).encode()).posts[0]
    info = emu_douyin.aweme_info(world, post)
    page = {"status_code": 0, "data": [{"type": 1, "aweme_info": info}], "has_more": 0, "cursor": 10}
    return DouyinAdapter(base_urls).parse_search(200, json.dumps(page).encode()).posts[0]
