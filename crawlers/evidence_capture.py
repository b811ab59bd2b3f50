"""Evidence capture with the system Chromium (Playwright, async): open each post's page, wait for it to load,
take a full-page PNG screenshot and the page's HTML, and hand the bytes to `takedown.evidence.record_capture`.

A capture that fails is tried again (`evidence_capture_attempts`, default 2); one that fails every attempt is
recorded as a failed Evidence row and the rest of the batch goes on. Two pages at a time by default
(`evidence_capture_concurrency`): a person could have opened them, and the platform sees no burst.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from crawlers.settings import CHROMIUM_ARGS
from takedown import clock, evidence
from takedown.browser import ensure_chromium
from takedown.db import make_engine, session_scope
from takedown.models import Post
from takedown.settings import Settings

logger = logging.getLogger(__name__)
VIEWPORT = {"width": 1280, "height": 900}
RETRY_PAUSE = 1.0  # seconds between two attempts at one page


class CaptureError(Exception):
    """A page that could not be captured; `retry` says whether another attempt may succeed."""

    def __init__(self, message: str, *, retry: bool = True):
        super().__init__(message)
        self.retry = retry


@dataclass
class CaptureResult:
    post_id: int
    status: str  # captured | failed
    attempts: int
    evidence_id: int | None = None
    url: str = ""
    error: str = ""


async def _capture_page(context: Any, url: str, timeout: float) -> tuple[bytes, bytes, datetime]:
    page = await context.new_page()
    try:
        response = await page.goto(url, wait_until="load", timeout=timeout * 1000)
        if response is None:
            raise CaptureError(f"no response for {url}")
        if response.status >= 400:
            # A removed post's page (e.g. Bilibili's 404 "视频不见了") is no evidence of the post.
            raise CaptureError(f"HTTP {response.status} for {url}", retry=response.status >= 500)
        # Late images and XHR, best effort: the load event already fired, a page never idle is still captured.
        with contextlib.suppress(Exception):
            await page.wait_for_load_state("networkidle", timeout=min(5.0, timeout) * 1000)
        captured_at = clock.now()
        screenshot = await page.screenshot(full_page=True, type="png", timeout=timeout * 1000)
        html = (await page.content()).encode("utf-8")
        return screenshot, html, captured_at
    finally:
        await page.close()


def _store(engine: Engine, post_id: int, url: str, screenshot: bytes, html: bytes, captured_at: datetime,
           attempts: int, root: Path | None) -> int:
    with session_scope(engine) as session:
        post = session.get(Post, post_id)
        record = evidence.record_capture(session, post, url, screenshot, html, captured_at=captured_at,
                                         attempts=attempts, root=root)
        return record.id


def _store_failure(engine: Engine, post_id: int, url: str, error: str, attempts: int) -> int:
    with session_scope(engine) as session:
        post = session.get(Post, post_id)
        return evidence.record_failure(session, post, url, error, attempts=attempts).id


async def capture_posts(settings: Settings, post_ids: Sequence[int], *, attempts: int | None = None,
                        concurrency: int | None = None, root: Path | None = None) -> list[CaptureResult]:
    """Capture every post (database ids), in the given order; never raises for one post's failure."""
    from playwright.async_api import async_playwright

    attempts = max(1, attempts or settings.evidence_capture_attempts)
    concurrency = max(1, concurrency or settings.evidence_capture_concurrency)
    timeout = settings.evidence_capture_timeout_seconds
    engine = make_engine(settings.resolved_database_url)
    with session_scope(engine) as session:
        urls = {p.id: p.url for p in (session.get(Post, pid) for pid in dict.fromkeys(post_ids)) if p is not None}
    results: dict[int, CaptureResult] = {}
    for pid in post_ids:
        if pid not in urls:
            results[pid] = CaptureResult(pid, "failed", 0, error=f"no post {pid}")
        elif not urls[pid]:
            results[pid] = CaptureResult(pid, "failed", 0, error=f"post {pid} has no URL")

    semaphore = asyncio.Semaphore(concurrency)

    async def capture_one(context: Any, pid: int) -> None:
        url = urls[pid]
        async with semaphore:
            error = ""
            for attempt in range(1, attempts + 1):
                try:
                    screenshot, html, captured_at = await _capture_page(context, url, timeout)
                except Exception as exc:  # noqa: BLE001 - any failure of one page is recorded, the batch goes on
                    error = f"{type(exc).__name__}: {exc}".strip()[:2000]
                    logger.warning("post=%s capture attempt %d/%d failed: %s", pid, attempt, attempts, error)
                    if isinstance(exc, CaptureError) and not exc.retry:
                        break
                    if attempt < attempts:
                        await asyncio.sleep(RETRY_PAUSE)
                    continue
                try:
                    evidence_id = await asyncio.to_thread(_store, engine, pid, url, screenshot, html, captured_at,
                                                          attempt, root)
                except Exception as exc:  # noqa: BLE001 - e.g. the store refused an altered file
                    error = f"storing the capture failed: {type(exc).__name__}: {exc}"[:2000]
                    logger.error("post=%s %s", pid, error)
                    break
                results[pid] = CaptureResult(pid, "captured", attempt, evidence_id, url)
                logger.info("post=%s captured evidence=%s url=%s", pid, evidence_id, url)
                return
            evidence_id = await asyncio.to_thread(_store_failure, engine, pid, url, error, attempt)
            results[pid] = CaptureResult(pid, "failed", attempt, evidence_id, url, error)

    todo = [pid for pid in dict.fromkeys(post_ids) if pid not in results]
    if todo:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=ensure_chromium(settings.chromium_path),
                                               headless=True, args=CHROMIUM_ARGS)
            try:
                context = await browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport=VIEWPORT)
                await asyncio.gather(*(capture_one(context, pid) for pid in todo))
                await context.close()
            finally:
                await browser.close()
    engine.dispose()
    return [results[pid] for pid in dict.fromkeys(post_ids)]


def capture(settings: Settings, post_ids: Sequence[int], **kwargs: Any) -> dict[str, Any]:
    """Blocking wrapper: capture and summarise as JSON."""
    results = asyncio.run(capture_posts(settings, post_ids, **kwargs))
    return {
        "captured": sum(r.status == "captured" for r in results),
        "failed": sum(r.status == "failed" for r in results),
        "results": [asdict(r) for r in results],
    }
