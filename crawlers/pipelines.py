"""Result pages → the core's ingest (normalise, upsert, sight, score) and the run's CrawlRun record; re-check
observations → StatusCheck rows and case transitions."""

from __future__ import annotations

import logging
import time

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawlers.items import PageError, ResultPage
from crawlers.page_store import ChildPageStore, InlinePageStore
from takedown.crawl_log import CrawlLog
from takedown.db import make_engine, session_scope
from takedown.ingest import SearchPage
from takedown.status_checks import CheckOutcome, Observation, record_checks

logger = logging.getLogger(__name__)


class StorePipeline:
    """Result pages → scored and stored (by a `crawlers.page_store` store: a child process unless
    TAKEDOWN_STORE_IN_PROCESS is set), page errors → the run's error log, and the CrawlRun's start and end."""

    def __init__(self, crawler: Crawler, database_url: str, threshold: float, in_process: bool):
        self.crawler = crawler
        self.database_url, self.threshold, self.in_process = database_url, threshold, in_process
        self.engine = make_engine(database_url)
        self.log = CrawlLog(self.engine)
        self.run_id: int | None = None
        self.store: InlinePageStore | ChildPageStore | None = None
        if not in_process:  # started now, so that it is ready when the first page comes (see ChildPageStore)
            self.store = ChildPageStore.take(database_url, threshold,
                                             log_level=crawler.settings.get("LOG_LEVEL", "INFO"))

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        url = crawler.settings.get("TAKEDOWN_DATABASE_URL")
        if not url:
            raise NotConfigured("TAKEDOWN_DATABASE_URL is not set: crawled pages would not be stored")
        pipeline = cls(crawler, url, crawler.settings.getfloat("TAKEDOWN_QUEUE_THRESHOLD", 0.5),
                       crawler.settings.getbool("TAKEDOWN_STORE_IN_PROCESS"))
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(pipeline.engine_stopped, signal=signals.engine_stopped)
        return pipeline

    def open_spider(self) -> None:
        spider = self.crawler.spider
        self.run_id = self.log.start(spider.platform, spider.keywords, spider.adapter.mode.value)
        spider.run_id = self.run_id
        if self.in_process:
            self.store = InlinePageStore(self.database_url, self.threshold, self.run_id)
        else:
            self.store.open(self.run_id)
        logger.info("run=%s platform=%s crawl started keywords=%d", self.run_id, spider.platform, len(spider.keywords))

    def process_item(self, item):
        if isinstance(item, ResultPage):
            self.store.submit(SearchPage(item.posts, item.keyword, item.page, item.first_rank))
            logger.info("run=%s platform=%s keyword=%s page=%d posts=%d", self.run_id, item.platform, item.keyword,
                        item.page, len(item.posts))
        elif isinstance(item, PageError):
            self.log.error(self.run_id, keyword=item.keyword, page=item.page, error=item.error)
            logger.warning(
                "run=%s platform=%s keyword=%s page=%d error=%s code=%s http=%s: %s",
                self.run_id, item.platform, item.keyword, item.page, item.error.get("kind"),
                item.error.get("code"), item.error.get("http_status"), item.error.get("message"),
            )
        return item

    def spider_closed(self, spider, reason: str) -> None:
        if self.run_id is None:
            return
        lost = self.store.close() if self.store is not None else ""
        self.store = None
        # "finished": Scrapy ran out of requests. A stop reason: risk control or login ended it early.
        # Anything else ("shutdown" on Ctrl-C, an exception's name) means the crawl itself broke off, as does a
        # store process that died with pages in hand.
        failed = lost or ("" if reason == "finished" or spider.stop_reason else f"interrupted ({reason})")
        run = self.log.finish(self.run_id, stopped=spider.stop_reason, failed=failed)
        logger.info(
            "run=%s platform=%s crawl %s: pages=%d posts=%d new=%d candidates=%d errors=%d reason=%s",
            run.id, run.platform, run.status, run.pages, run.posts_seen, run.posts_new, run.candidates,
            run.errors, run.stop_reason,
        )
        self.engine.dispose()

    def engine_stopped(self) -> None:
        # the spider never opened (the crawl failed to start): the store child started for it is let go
        if self.store is not None:
            self.store.close()
            self.store = None


class StatusPipeline:
    """Re-check observations → StatusCheck rows and the case transitions they prove (takedown.status_checks).

    Observations are stored in batches (every `TAKEDOWN_STATUS_BATCH` items or few seconds, and when the spider
    closes), each batch in one transaction; the running totals land on `spider.outcome`."""

    def __init__(self, crawler: Crawler, database_url: str, batch_size: int, flush_seconds: float):
        self.crawler = crawler
        self.engine = make_engine(database_url)
        self.batch_size = batch_size
        self.flush_seconds = flush_seconds
        self.buffer: list = []
        self.outcome = CheckOutcome()
        self.store_errors = 0
        self._last_flush = time.monotonic()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StatusPipeline:
        url = crawler.settings.get("TAKEDOWN_DATABASE_URL")
        if not url:
            raise NotConfigured("TAKEDOWN_DATABASE_URL is not set: re-check results would not be stored")
        pipeline = cls(crawler, url, crawler.settings.getint("TAKEDOWN_STATUS_BATCH", 500),
                       crawler.settings.getfloat("TAKEDOWN_STATUS_FLUSH_SECONDS", 5.0))
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self) -> None:
        spider = self.crawler.spider
        spider.outcome = self.outcome
        logger.info("platform=%s re-check started posts=%d", spider.platform, len(spider.targets))

    def process_item(self, item):
        if isinstance(item, Observation):
            self.buffer.append(item)
            if len(self.buffer) >= self.batch_size or time.monotonic() - self._last_flush >= self.flush_seconds:
                self.flush()
        return item

    def flush(self) -> None:
        batch, self.buffer = self.buffer, []
        self._last_flush = time.monotonic()
        if not batch:
            return
        try:
            with session_scope(self.engine) as session:
                outcome = record_checks(session, batch)
        except Exception:
            self.store_errors += len(batch)
            logger.exception("platform=%s could not store %d re-check results", batch[0].platform, len(batch))
            return
        self.outcome.add(outcome)
        for case_id in outcome.removed:
            logger.info("platform=%s case=%s removed (re-check: gone)", batch[0].platform, case_id)
        for case_id in outcome.reopened:
            logger.info("platform=%s case=%s reopened (re-check: live again)", batch[0].platform, case_id)

    def spider_closed(self, spider, reason: str) -> None:
        self.flush()
        spider.store_errors = self.store_errors
        logger.info("platform=%s re-check %s: checked=%d live=%d gone=%d unknown=%d removed=%d reopened=%d%s",
                    spider.platform, reason, self.outcome.checked, self.outcome.live, self.outcome.gone,
                    self.outcome.unknown, len(self.outcome.removed), len(self.outcome.reopened),
                    f" stop_reason={spider.stop_reason}" if spider.stop_reason else "")
        self.engine.dispose()


class EnrichPipeline:
    """Enrichment answers (crawlers/spiders/enrich.py) → each post re-ingested with its top comments and its
    author's bio and `enriched_at` set (crawlers.enrich.EnrichStore, in batches of `TAKEDOWN_ENRICH_BATCH`
    posts), gone posts → status checks, failures → the error log of the run's CrawlRun (mode "enrich")."""

    def __init__(self, crawler: Crawler, database_url: str, threshold: float, batch_size: int):
        # The enrichment side lives with its runner; imported here so this module's search and re-check
        # pipelines do not load it.
        from crawlers.enrich import EnrichOutcome
        from takedown.ingest import Ingestor
        from takedown.scoring import get_scorer

        self.crawler = crawler
        self.engine = make_engine(database_url)
        self.ingestor = Ingestor(self.engine, get_scorer(), threshold)
        self.log = CrawlLog(self.engine)
        self.batch_size = max(1, batch_size)
        self.buffer: list = []
        self.outcome = EnrichOutcome()
        self.store = None
        self.run_id: int | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> EnrichPipeline:
        url = crawler.settings.get("TAKEDOWN_DATABASE_URL")
        if not url:
            raise NotConfigured("TAKEDOWN_DATABASE_URL is not set: enrichment answers would not be stored")
        pipeline = cls(crawler, url, crawler.settings.getfloat("TAKEDOWN_QUEUE_THRESHOLD", 0.5),
                       crawler.settings.getint("TAKEDOWN_ENRICH_BATCH", 20))
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self) -> None:
        from crawlers.enrich import MODE, EnrichStore

        spider = self.crawler.spider
        self.run_id = self.log.start(spider.platform, [], MODE)
        spider.run_id = self.run_id
        spider.outcome = self.outcome
        self.store = EnrichStore(self.engine, self.ingestor, self.run_id)
        logger.info("run=%s platform=%s enrichment started posts=%d", self.run_id, spider.platform,
                    len(spider.targets))

    def process_item(self, item):
        from crawlers.spiders.enrich import EnrichedPost, EnrichFailure, PostGone

        if isinstance(item, EnrichedPost):
            self.buffer.append(item)
            if len(self.buffer) >= self.batch_size:
                self.flush()
        elif isinstance(item, PostGone):
            self._gone(item)
        elif isinstance(item, EnrichFailure):
            post = item.target.platform_post_id if item.target else ""
            self.log.error(self.run_id, keyword="", page=0, error={**item.error, "step": item.step, "post": post})
            self.outcome.errors += 1
            logger.warning("run=%s platform=%s post=%s step=%s error=%s code=%s http=%s: %s", self.run_id,
                           item.platform, post, item.step, item.error.get("kind"), item.error.get("code"),
                           item.error.get("http_status"), item.error.get("message"))
        return item

    def _gone(self, item) -> None:
        try:
            self.outcome.gone += self.store.record_gone([item])
        except Exception as exc:
            logger.exception("run=%s platform=%s post=%s: could not record it gone", self.run_id, item.platform,
                             item.target.platform_post_id)
            self._store_failed([item], exc)
            return
        logger.info("run=%s platform=%s post=%s gone (code %s): recorded as a status check", self.run_id,
                    item.platform, item.target.platform_post_id, item.error.get("code"))

    def flush(self) -> None:
        batch, self.buffer = self.buffer, []
        if not batch:
            return
        # One transaction per batch; when it fails, each post on its own, so a bad one costs only itself.
        groups = [batch] if len(batch) == 1 else [batch, *([item] for item in batch)]
        for group in groups:
            try:
                self._add(self.store.store(group))
            except Exception as exc:
                if len(group) > 1:
                    logger.warning("run=%s: storing %d enriched posts together failed (%s); one by one now",
                                   self.run_id, len(group), type(exc).__name__)
                    continue
                logger.exception("run=%s platform=%s post=%s store_failed", self.run_id, group[0].platform,
                                 group[0].target.platform_post_id)
                self._store_failed(group, exc)
            if len(group) > 1:
                return  # the whole batch was stored

    def _store_failed(self, items: list, exc: BaseException) -> None:
        # The transaction rolled back and enriched_at stayed unset: a later run fetches the post again.
        for item in items:
            self.log.error(self.run_id, keyword="", page=0, error={
                "kind": "store_failed", "code": type(exc).__name__, "http_status": None, "message": str(exc)[:500],
                "post": item.target.platform_post_id})
            self.outcome.errors += 1

    def _add(self, outcome) -> None:
        for name, value in outcome.counts().items():
            setattr(self.outcome, name, getattr(self.outcome, name) + value)
        logger.info("run=%s stored enriched posts=%d comments=%d bios=%d rescored=%d queued=%d", self.run_id,
                    outcome.posts, outcome.comments, outcome.bios, outcome.rescored, outcome.queued)

    def spider_closed(self, spider, reason: str) -> None:
        if self.run_id is None:
            return
        self.buffer += spider.unfinished()  # comments that arrived before the run stopped are kept
        self.flush()
        failed = "" if reason == "finished" or spider.stop_reason else f"interrupted ({reason})"
        run = self.log.finish(self.run_id, stopped=spider.stop_reason, failed=failed)
        logger.info("run=%s platform=%s enrichment %s: posts=%d comments=%d bios=%d rescored=%d queued=%d gone=%d "
                    "errors=%d reason=%s", run.id, run.platform, run.status, self.outcome.posts,
                    self.outcome.comments, self.outcome.bios, self.outcome.rescored, self.outcome.queued,
                    self.outcome.gone, run.errors, run.stop_reason)
        self.engine.dispose()
