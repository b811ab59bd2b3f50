"""Enrichment in this process: which candidates get their comments and author profile fetched, storing what
the enrichment spider brings back, and running it (one Scrapy CrawlerProcess, one crawler per platform).

DESIGN.md step 1: candidates that score high get their author's profile and top comments fetched too, since
contact details often hide there. A stored post is re-ingested with them (`Ingestor.ingest(sighting=False)`),
which re-scores it when that changes what the scorer reads, links the contacts found and recomputes the
author's risk; `Post.enriched_at` then keeps it from being fetched again until `enrich_refresh_days` pass.

The Twisted reactor cannot restart, so call `run_enrich` once per process (`takedown enrich` does; the
scheduler, the demo and the tests start that command in a subprocess).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from scrapy import signals
from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.settings import Settings as ScrapySettings
from sqlalchemy import Engine, bindparam, exists, or_, select, update

from crawlers.run import scrapy_settings
from crawlers.spiders.enrich import EnrichedPost, EnrichSpider, EnrichTarget, PostGone
from takedown import clock
from takedown.db import make_engine, session_scope
from takedown.ingest import Ingestor
from takedown.models import Author, CrawlRun, Post, ReviewState, StatusCheck
from takedown.records import AuthorRecord, PostRecord
from takedown.settings import Settings
from takedown.status_checks import GONE, Observation, record_checks

logger = logging.getLogger(__name__)

MAX_COMMENTS = 20  # the top comments kept per post: what the scorer and the reviewers read
MODE = "enrich"  # CrawlRun.mode of an enrichment run
ACTOR = "enrich"


# --- which posts ----------------------------------------------------------------------------------------


def select_targets(engine: Engine, platform: str, *, threshold: float, refresh_days: float, limit: int,
                   now=None) -> list[EnrichTarget]:
    """The candidates of one platform to enrich, highest score first, at most `limit`: score at least
    `threshold`, not yet decided by a person (new or queued), never enriched or not for `refresh_days`, and not
    seen gone since they were last found (a StatusCheck "gone" newer than last_seen: tracking has it)."""
    now = clock.resolve(now)
    gone = exists().where(StatusCheck.post_id == Post.id, StatusCheck.observed == GONE,
                          StatusCheck.checked_at >= Post.last_seen)
    stmt = (
        select(Post.id, Post.platform_post_id, Post.raw, Author.platform_author_id, Author.extra)
        .outerjoin(Author, Author.id == Post.author_id)
        .where(Post.platform == platform, Post.score >= threshold,
               Post.review_state.in_([ReviewState.NEW, ReviewState.QUEUED]),
               or_(Post.enriched_at.is_(None), Post.enriched_at < now - timedelta(days=refresh_days)),
               ~gone)
        .order_by(Post.score.desc(), Post.id)
        .limit(limit)
    )
    with session_scope(engine) as session:
        rows = session.execute(stmt).all()
    return [EnrichTarget(post_id=pid, platform_post_id=ppid, raw=dict(raw or {}), author_id=author_id or "",
                         author_extra=dict(extra or {}))
            for pid, ppid, raw, author_id, extra in rows]


# --- storing what came back -----------------------------------------------------------------------------


@dataclass
class EnrichOutcome:
    """Running totals of one platform's enrichment run."""

    posts: int = 0  # posts whose answers were stored
    comments: int = 0  # comments stored with them
    bios: int = 0  # authors whose stored bio changed
    rescored: int = 0  # posts re-scored because what the scorer reads changed
    queued: int = 0  # posts that entered the review queue through it
    closed: int = 0  # posts whose comment section the platform said is closed or hidden
    gone: int = 0  # posts the platform said no longer exist (recorded as status checks)
    authors_gone: int = 0  # posts whose author's account is gone
    errors: int = 0

    def counts(self) -> dict[str, int]:
        return asdict(self)


class EnrichStore:
    """Turns the spider's answers into stored posts: each post's record is rebuilt from its stored row (title,
    text, hashtags, url, metrics, author) plus the fetched comments and bio, and a batch is ingested in one
    transaction; `enriched_at` is set (domain time) for every post all of whose answers arrived."""

    def __init__(self, engine: Engine, ingestor: Ingestor, run_id: int | None):
        self.engine = engine
        self.ingestor = ingestor
        self.run_id = run_id

    def store(self, items: Sequence[EnrichedPost]) -> EnrichOutcome:
        outcome = EnrichOutcome()
        ids = sorted({item.target.post_id for item in items})
        if not ids:
            return outcome
        with session_scope(self.engine) as session:
            rows = {post.id: (post, author) for post, author in session.execute(
                select(Post, Author).outerjoin(Author, Author.id == Post.author_id).where(Post.id.in_(ids))).all()}
        records: dict[int, PostRecord] = {}  # the latest answer per post
        changed_bios: set[int] = set()
        for item in items:
            if item.target.post_id not in rows:
                logger.warning("platform=%s post=%s is no longer stored; its answers are dropped", item.platform,
                               item.target.platform_post_id)
                continue
            post, author = rows[item.target.post_id]
            records[post.id] = self._record(post, author, item)
            profile = item.profile
            if author is not None and profile is not None and profile.bio and profile.bio != author.bio:
                changed_bios.add(author.id)
        if not records:
            return outcome
        stats = self.ingestor.ingest(list(records.values()), sighting=False)
        complete = sorted({item.target.post_id for item in items if item.complete and item.target.post_id in records})
        now = clock.now()
        # After the ingest committed: should this fail, those posts are merely fetched once more.
        with self.engine.begin() as conn:
            if complete:
                conn.execute(update(Post).where(Post.id == bindparam("pid")).values(enriched_at=bindparam("at")),
                             [{"pid": pid, "at": now} for pid in complete])
            if self.run_id is not None:
                conn.execute(update(CrawlRun).where(CrawlRun.id == self.run_id).values(
                    pages=CrawlRun.pages + 1, posts_seen=CrawlRun.posts_seen + len(records),
                    posts_updated=CrawlRun.posts_updated + stats.scored,
                    candidates=CrawlRun.candidates + stats.candidates))
        outcome.posts = len(records)
        outcome.comments = sum(len(record.comments) for record in records.values())
        outcome.bios = len(changed_bios)
        outcome.rescored = stats.scored
        outcome.queued = stats.candidates
        outcome.closed = sum(1 for i in items if i.comments.closed and i.target.post_id in records)
        outcome.authors_gone = sum(1 for i in items if i.author_gone and i.target.post_id in records)
        return outcome

    @staticmethod
    def _record(post: Post, author: Author | None, item: EnrichedPost) -> PostRecord:
        author_record = None
        if author is not None:
            profile = item.profile
            author_record = AuthorRecord(
                platform=author.platform,
                platform_author_id=author.platform_author_id,
                nickname=(profile.nickname if profile and profile.nickname else author.nickname),
                # An empty bio is "not known" to the ingest, which keeps the stored one.
                bio=profile.bio if profile is not None else "",
                url=author.url,
                extra={**(author.extra or {}), **(profile.extra if profile else {})},
            )
        return PostRecord(
            platform=post.platform,
            platform_post_id=post.platform_post_id,
            url=post.url,
            title=post.title,
            text=post.text,
            hashtags=list(post.hashtags or []),
            published_at=clock.aware(post.published_at) if post.published_at else None,
            metrics=dict(post.metrics or {}),
            author=author_record,
            # Closed comments: none to store; an empty list keeps what an earlier run stored.
            comments=list(item.comments.comments[:MAX_COMMENTS]),
            raw=post.raw if post.raw is not None else {},
        )

    def record_gone(self, items: Sequence[PostGone]) -> int:
        """The platform said these posts no longer exist: a StatusCheck each, applied to a case as a re-check's
        would be (tracking owns what that means); the posts themselves are left alone."""
        now = clock.now()
        observations = [Observation(post_id=0, case_id=None, platform=item.platform,
                                    platform_post_id=item.target.platform_post_id, state=GONE,
                                    code=str(item.error.get("code") or "gone"),
                                    http_status=item.error.get("http_status"),
                                    detail=f"enrichment: {item.error.get('message', '')}"[:500], checked_at=now)
                        for item in items]
        with session_scope(self.engine) as session:
            return record_checks(session, observations, actor=ACTOR).gone


# --- running it ------------------------------------------------------------------------------------------


def enrich_scrapy_settings(settings: Settings, platform: str | None = None, *, log_level: str = "INFO"
                           ) -> ScrapySettings:
    """The search crawl's settings (politeness, browser for browser-mode platforms) with the enrichment
    pipeline."""
    s = scrapy_settings(settings, platform, log_level=log_level)
    s.set("ITEM_PIPELINES", {"crawlers.pipelines.EnrichPipeline": 300}, priority="cmdline")
    # Its own downloader per platform, holding no more than the platform may have in flight: when risk control
    # stops the platform, almost nothing is still on its way.
    s.set("CONCURRENT_REQUESTS", max(1, settings.concurrency_per_platform), priority="cmdline")
    return s


def run_enrich(settings: Settings, platforms: Sequence[str], *, limit: int | None = None,
               log_level: str = "INFO") -> list[dict[str, Any]]:
    """Enrich the candidates of each platform (one crawler per platform, concurrently); one summary each."""
    engine = make_engine(settings.resolved_database_url)
    jobs: dict[str, list[EnrichTarget]] = {}
    for platform in dict.fromkeys(platforms):
        jobs[platform] = select_targets(engine, platform, threshold=settings.enrich_threshold,
                                        refresh_days=settings.enrich_refresh_days,
                                        limit=settings.enrich_limit if limit is None else limit)
    crawlers: dict[str, Crawler] = {}
    busy = {platform: targets for platform, targets in jobs.items() if targets}
    if busy:
        process = CrawlerProcess(enrich_scrapy_settings(settings, log_level=log_level))
        for index, (platform, targets) in enumerate(busy.items()):
            crawler = Crawler(EnrichSpider, enrich_scrapy_settings(settings, platform, log_level=log_level),
                              init_reactor=index == 0)
            state = settings.storage_state_path(platform)
            process.crawl(crawler, platform=platform, targets=targets,
                          base_urls=settings.platform_base_urls(platform),
                          storage_state=str(state) if state.exists() else None)
            crawlers[platform] = crawler
        with _progress(busy, crawlers):
            process.start()
    summaries = []
    for platform, targets in jobs.items():
        summaries.append(_summary(engine, platform, len(targets), crawlers.get(platform)))
    engine.dispose()
    return summaries


def _summary(engine: Engine, platform: str, targets: int, crawler: Crawler | None) -> dict[str, Any]:
    spider = crawler.spider if crawler is not None else None
    outcome: EnrichOutcome = getattr(spider, "outcome", None) or EnrichOutcome()
    run_id = getattr(spider, "run_id", None)
    status, stop_reason = ("idle", "") if crawler is None else ("not started", "")
    if run_id is not None:
        with session_scope(engine) as session:
            run = session.get(CrawlRun, run_id)
            status, stop_reason = run.status, run.stop_reason
            outcome.errors = run.errors
    return {"platform": platform, "run": run_id, "status": status, "targets": targets, **outcome.counts(),
            "stop_reason": stop_reason}


def _progress(jobs: dict[str, list[EnrichTarget]], crawlers: dict[str, Crawler]):
    """On a terminal, a progress bar per platform: posts answered of posts to enrich."""
    if not sys.stderr.isatty():
        return nullcontext()
    progress = Progress(TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("posts"), TimeElapsedColumn())
    for platform, crawler in crawlers.items():
        task = progress.add_task(platform, total=len(jobs[platform]))

        def advance(item, task=task, **_):
            if isinstance(item, EnrichedPost | PostGone) or getattr(item, "step", "") == "comments":
                progress.advance(task)

        crawler.signals.connect(advance, signal=signals.item_scraped, weak=False)
    return progress

