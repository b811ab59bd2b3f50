"""Run search crawls in this process (one Scrapy CrawlerProcess, one crawler per platform).

The Twisted reactor cannot restart, so call `run_crawls` once per process; the scheduler and the tests start a
subprocess (`takedown crawl ...`) for each sweep.
"""

from __future__ import annotations

import sys
from contextlib import nullcontext
from dataclasses import dataclass

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from scrapy import signals
from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.settings import Settings as ScrapySettings

from crawlers.platforms import get_adapter_class
from crawlers.platforms.base import FetchMode
from crawlers.spiders.search import SearchSpider
from takedown.browser import ensure_chromium
from takedown.settings import Settings


@dataclass(slots=True)
class CrawlJob:
    platform: str
    keywords: list[str]
    pages: int = 1


def scrapy_settings(settings: Settings, platform: str | None = None, *, log_level: str = "INFO") -> ScrapySettings:
    s = ScrapySettings()
    s.setmodule("crawlers.settings", priority="project")
    s.set("TAKEDOWN_DATABASE_URL", settings.resolved_database_url, priority="cmdline")
    s.set("TAKEDOWN_QUEUE_THRESHOLD", settings.queue_threshold, priority="cmdline")
    s.set("DOWNLOAD_DELAY", settings.download_delay, priority="cmdline")
    s.set("CONCURRENT_REQUESTS_PER_DOMAIN", settings.concurrency_per_platform, priority="cmdline")
    s.set("LOG_LEVEL", log_level, priority="cmdline")
    if platform is not None:
        if get_adapter_class(platform).mode is FetchMode.BROWSER:
            launch = dict(s.getdict("PLAYWRIGHT_LAUNCH_OPTIONS"))
            launch["executable_path"] = ensure_chromium(settings.chromium_path)
            s.set("PLAYWRIGHT_LAUNCH_OPTIONS", launch, priority="cmdline")
        else:
            # api mode never needs the browser: plain Scrapy download handlers.
            s.set("DOWNLOAD_HANDLERS", {}, priority="cmdline")
    return s


def run_crawls(jobs: list[CrawlJob], settings: Settings, *, log_level: str = "INFO") -> dict[str, int | None]:
    """Crawl every job concurrently (one crawler per platform); returns each platform's CrawlRun id."""
    process = CrawlerProcess(scrapy_settings(settings, log_level=log_level))
    crawlers: list[tuple[str, Crawler]] = []
    for index, job in enumerate(jobs):
        # Each platform gets its own settings (browser or not); the first crawler installs the reactor.
        crawler = Crawler(SearchSpider, scrapy_settings(settings, job.platform, log_level=log_level),
                          init_reactor=index == 0)
        state = settings.storage_state_path(job.platform)
        process.crawl(
            crawler,
            platform=job.platform,
            keywords=job.keywords,
            pages=job.pages,
            base_urls=settings.platform_base_urls(job.platform),
            storage_state=str(state) if state.exists() else None,
        )
        crawlers.append((job.platform, crawler))
    with _progress(jobs, crawlers):
        process.start()
    return {platform: getattr(crawler.spider, "run_id", None) for platform, crawler in crawlers}


def _progress(jobs: list[CrawlJob], crawlers: list[tuple[str, Crawler]]):
    """On a terminal, a progress bar per platform: result pages done of at most keywords x pages."""
    if not sys.stderr.isatty():
        return nullcontext()
    progress = Progress(TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("pages"), TimeElapsedColumn(), transient=False)
    for job, (platform, crawler) in zip(jobs, crawlers, strict=True):
        task = progress.add_task(platform, total=len(job.keywords) * job.pages)

        def advance(item, task=task, **_):
            progress.advance(task)

        def finish(spider, task=task, **_):
            progress.update(task, total=progress.tasks[task].completed)

        # Each result page or page error is one step; keywords with fewer pages finish the bar early.
        crawler.signals.connect(advance, signal=signals.item_scraped, weak=False)
        crawler.signals.connect(finish, signal=signals.spider_closed, weak=False)
    return progress
