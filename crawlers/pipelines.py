"""Result pages → the core's ingest (normalise, upsert, sight, score) and the run's CrawlRun record; re-check
observations → StatusCheck rows and case transitions."""

from __future__ import annotations

import logging
import time

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawlers.items import PageError, ResultPage
from takedown.crawl_log import CrawlLog
from takedown.db import make_engine, session_scope
from takedown.ingest import Ingestor
from takedown.scoring import get_scorer
from takedown.status_checks import CheckOutcome, Observation, record_checks

logger = logging.getLogger(__name__)


class StorePipeline:
    def __init__(self, crawler: Crawler, database_url: str, threshold: float):
        self.crawler = crawler
        self.engine = make_engine(database_url)
        self.ingestor = Ingestor(self.engine, get_scorer(), threshold)
        self.log = CrawlLog(self.engine)
        self.run_id: int | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        url = crawler.settings.get("TAKEDOWN_DATABASE_URL")
        if not url:
            raise NotConfigured("TAKEDOWN_DATABASE_URL is not set: crawled pages would not be stored")
        pipeline = cls(crawler, url, crawler.settings.getfloat("TAKEDOWN_QUEUE_THRESHOLD", 0.5))
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self) -> None:
        spider = self.crawler.spider
        self.run_id = self.log.start(spider.platform, spider.keywords, spider.adapter.mode.value)
        spider.run_id = self.run_id
        logger.info("run=%s platform=%s crawl started keywords=%d", self.run_id, spider.platform, len(spider.keywords))

    def process_item(self, item):
        if isinstance(item, ResultPage):
            try:
                stats = self.ingestor.ingest(
                    item.posts, keyword=item.keyword, crawl_run_id=self.run_id, page=item.page,
                    first_rank=item.first_rank,
                )
            except Exception as exc:
                # The page's transaction rolled back; record why, so a lost page is never silent.
                logger.exception("run=%s platform=%s keyword=%s page=%d store_failed", self.run_id,
                                 item.platform, item.keyword, item.page)
                self.log.error(self.run_id, keyword=item.keyword, page=item.page, error={
                    "kind": "store_failed", "code": type(exc).__name__, "http_status": None,
                    "message": str(exc)[:500]})
                return item
            self.log.page(self.run_id, stats)
            logger.info(
                "run=%s platform=%s keyword=%s page=%d posts=%d new=%d candidates=%d",
                self.run_id, item.platform, item.keyword, item.page, stats.posts, stats.new, stats.candidates,
            )
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
        # "finished": Scrapy ran out of requests. A stop reason: risk control or login ended it early.
        # Anything else ("shutdown" on Ctrl-C, an exception's name) means the crawl itself broke off.
        failed = "" if reason == "finished" or spider.stop_reason else f"interrupted ({reason})"
        run = self.log.finish(self.run_id, stopped=spider.stop_reason, failed=failed)
        logger.info(
            "run=%s platform=%s crawl %s: pages=%d posts=%d new=%d candidates=%d errors=%d reason=%s",
            run.id, run.platform, run.status, run.pages, run.posts_seen, run.posts_new, run.candidates,
            run.errors, run.stop_reason,
        )
        self.engine.dispose()


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
