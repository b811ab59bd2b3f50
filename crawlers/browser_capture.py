"""Browser mode, shared by the spiders: open a platform's own page with scrapy-playwright and capture the JSON
answers of the API calls its scripts make (the page signs them; we never do).

`PageCapture` is attached as the page's "response" handler before navigation, so the page's very first call is
captured too; `browser_meta` is the Request meta that opens such a page in the platform's shared context (one
per platform: its cookies are what the page's signing is bound to).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

Captured = tuple[int, bytes, dict[str, str]]  # status, body, headers


class PageCapture:
    """The answers a page's own scripts received for URLs that `matches`, in arrival order."""

    def __init__(self, matches: Callable[[str], bool], platform: str = ""):
        self.matches = matches
        self.platform = platform
        self.queue: asyncio.Queue[Captured] = asyncio.Queue()

    async def on_response(self, response: Any) -> None:
        if not self.matches(response.url):
            return
        try:
            body = await response.body()
        except Exception as exc:  # the page navigated or closed before the body arrived
            body = b""
            logger.warning("platform=%s could not read a captured response body: %s", self.platform, exc)
        self.queue.put_nowait((response.status, body, dict(response.headers)))

    async def next(self, page: Any, timeout: float, *, scroll: bool = False, poll: float = 1.0,
                   page_check: Callable[[str], BaseException | None] | None = None) -> Captured:
        """The next captured answer. While none is waiting: scroll to the bottom (`scroll`, which is how an
        endless list asks for its next page) and ask `page_check` about the page's HTML every `poll` seconds;
        an exception it returns is raised (e.g. the page shows the post is gone, so nothing will be fetched).
        TimeoutError after `timeout` seconds without an answer."""
        if not self.queue.empty():
            return self.queue.get_nowait()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError
            if scroll:
                await page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
            try:
                return await asyncio.wait_for(self.queue.get(), timeout=min(poll, remaining))
            except TimeoutError:
                pass
            if page_check is not None:
                found = page_check(await page.content())
                if found is not None:
                    raise found


def browser_meta(platform: str, storage_state: str | None, capture: PageCapture, **meta: Any) -> dict[str, Any]:
    """Request meta that opens the URL as a page in the platform's browser context with `capture` listening."""
    context_kwargs: dict[str, Any] = {"locale": "zh-CN", "timezone_id": "Asia/Shanghai"}
    if storage_state:
        context_kwargs["storage_state"] = storage_state
    return {
        **meta,
        "capture": capture,
        "playwright": True,
        "playwright_include_page": True,
        "playwright_context": platform,
        "playwright_context_kwargs": context_kwargs,
        # Attached before navigation, so the page's first request is captured too.
        "playwright_page_event_handlers": {"response": capture.on_response},
    }
