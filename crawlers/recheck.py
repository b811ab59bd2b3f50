"""Re-check cases in this process: one Scrapy CrawlerProcess, one status crawler per platform, then the
follow-ups on the core — overdue and rejected cases escalate, cases rejected at the top level close, revivals
reopen or link cases. (Removed cases whose post is still gone after the grace period close as the checks are
stored: takedown.status_checks.)

The Twisted reactor cannot restart, so call `run_recheck` once per process (`takedown cases recheck` does; the
scheduler and the tests start that command in a subprocess).
"""

from __future__ import annotations

import logging
import sys
import time
from collections import defaultdict
from contextlib import nullcontext
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from scrapy import signals
from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.settings import Settings as ScrapySettings

from crawlers.platforms import ADAPTERS
from crawlers.run import scrapy_settings
from crawlers.spiders.status import StatusSpider
from takedown import clock, status_checks, tracking
from takedown.db import make_engine, session_scope
from takedown.settings import Settings
from takedown.status_checks import CheckOutcome, Target

logger = logging.getLogger(__name__)
ACTOR = "recheck"


def status_scrapy_settings(settings: Settings, *, log_level: str = "INFO") -> ScrapySettings:
    """The search crawl's politeness (delay, per-platform concurrency, retries), plain HTTP only, and the status
    pipeline instead of the search one."""
    s = scrapy_settings(settings, log_level=log_level)
    s.set("DOWNLOAD_HANDLERS", {}, priority="cmdline")  # api mode always: no browser for a status request
    s.set("ITEM_PIPELINES", {"crawlers.pipelines.StatusPipeline": 300}, priority="cmdline")
    # One crawler per platform, each with its own downloader: no more requests queued than the platform may
    # have in flight, so when risk control stops the platform almost nothing is still on its way.
    s.set("CONCURRENT_REQUESTS", max(1, settings.concurrency_per_platform), priority="cmdline")
    return s


def run_recheck(settings: Settings, case_ids: list[int] | None = None, *, log_level: str = "INFO",
                follow_ups: bool = True) -> dict[str, Any]:
    """Re-check the posts of the given cases (None: every case still of interest), store the observations and
    transitions, then escalate overdue and rejected cases seen live, close those rejected at the top level and
    detect revivals. Returns a JSON-able summary."""
    engine = make_engine(settings.resolved_database_url)
    with session_scope(engine) as session:
        targets = status_checks.targets(session, case_ids)
    by_platform: dict[str, list[Target]] = defaultdict(list)
    skipped: dict[str, int] = defaultdict(int)
    for target in targets:
        if target.platform in ADAPTERS:
            by_platform[target.platform].append(target)
        else:
            skipped[target.platform] += 1  # no adapter can check it (e.g. a hand-added WeChat Channels link)

    outcome = CheckOutcome()
    stopped: dict[str, str] = {}
    store_errors = 0
    started = time.perf_counter()
    if by_platform:
        process = CrawlerProcess(status_scrapy_settings(settings, log_level=log_level))
        crawlers: list[tuple[str, Crawler]] = []
        for index, (platform, platform_targets) in enumerate(sorted(by_platform.items())):
            crawler = Crawler(StatusSpider, status_scrapy_settings(settings, log_level=log_level),
                              init_reactor=index == 0)
            process.crawl(crawler, platform=platform, posts=platform_targets,
                          base_urls=settings.platform_base_urls(platform))
            crawlers.append((platform, crawler))
        with _progress(by_platform, crawlers):
            process.start()
        for platform, crawler in crawlers:
            spider = crawler.spider
            if spider is None:
                continue
            if spider.outcome is not None:
                outcome.add(spider.outcome)
            if spider.stop_reason:
                stopped[platform] = spider.stop_reason
            store_errors += getattr(spider, "store_errors", 0)
    seconds = time.perf_counter() - started

    summary: dict[str, Any] = {**outcome.counts(), "escalated": 0, "targets": len(targets),
                               "unchecked": len(targets) - outcome.checked - sum(skipped.values()),
                               "seconds": round(seconds, 3), "stopped": stopped, "skipped": dict(skipped)}
    if store_errors:
        summary["store_errors"] = store_errors
    if follow_ups:
        summary.update(_follow_ups(engine, targets, outcome, skipped))
    engine.dispose()
    return summary


def _follow_ups(engine, targets: list[Target], outcome: CheckOutcome, skipped: dict[str, int]) -> dict[str, Any]:
    """Escalate the overdue and rejected cases of this run whose post is still up (seen live now, or on a
    platform no adapter can check), close this run's cases rejected at the top level, then look for revivals."""
    now = clock.now()
    escalatable = set(outcome.live_cases) | {t.case_id for t in targets if t.platform in skipped}
    with session_scope(engine) as session:
        escalations, failures = tracking.escalate_overdue(session, now, case_ids=escalatable, actor=ACTOR)
    with session_scope(engine) as session:
        exhausted = tracking.close_exhausted(session, now, case_ids={t.case_id for t in targets}, actor=ACTOR)
        exhausted_ids = [case.id for case in exhausted]
    with session_scope(engine) as session:
        report = tracking.revivals(session, now, actor=ACTOR)
    for failure in failures:
        logger.warning("case=%s escalation failed: %s", *failure)
    result: dict[str, Any] = {
        "escalated": len(escalations),
        "closed": len(outcome.closed) + len(exhausted_ids),
        "reopened": len(outcome.reopened) + len(report.reopened),
        "linked": len(report.linked),
        "revival_suspects": len(report.suspects),
    }
    if failures:
        result["escalation_failures"] = [{"case": cid, "error": error} for cid, error in failures]
    return result


def _progress(by_platform: dict[str, list[Target]], crawlers: list[tuple[str, Crawler]]):
    """On a terminal, a progress bar per platform: posts checked of posts to check."""
    if not sys.stderr.isatty():
        return nullcontext()
    progress = Progress(TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("checks"), TimeElapsedColumn())
    for platform, crawler in crawlers:
        task = progress.add_task(platform, total=len(by_platform[platform]))

        def advance(item, task=task, **_):
            progress.advance(task)

        crawler.signals.connect(advance, signal=signals.item_scraped, weak=False)
    return progress
