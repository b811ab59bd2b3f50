"""Result pages → the core's ingest (normalise, upsert, sight, score) and the run's CrawlRun record."""

from __future__ import annotations

import logging

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawlers.items import PageError, ResultPage
from takedown.crawl_log import CrawlLog
from takedown.db import make_engine
from takedown.ingest import Ingestor
from takedown.scoring import get_scorer

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
            stats = self.ingestor.ingest(
                item.posts, keyword=item.keyword, crawl_run_id=self.run_id, page=item.page, first_rank=item.first_rank
            )
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
