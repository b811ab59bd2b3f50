"""The one search spider: pages through a platform's keyword search, driven by that platform's adapter.

api mode: Scrapy requests built and parsed by the adapter (warm-up requests first, e.g. Bilibili's cookie and
WBI keys). browser mode: scrapy-playwright opens the platform's own search page, the page's JavaScript signs
and sends its search requests, and the spider captures those JSON responses, scrolling for the next page.

Every failure becomes a `PageError` item with the platform's own code. Errors that mean risk control or an
expired login stop this platform's crawl (PLATFORMS.md: never hammer); any other error moves on to the next
page when the platform can be paged without the failed page's cursor, or to the next keyword otherwise.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import scrapy
from scrapy.exceptions import CloseSpider
from scrapy.http import Response
from twisted.python.failure import Failure

from crawlers.browser_capture import PageCapture, browser_meta
from crawlers.items import PageError, ResultPage
from crawlers.platforms import get_adapter_class
from crawlers.platforms.base import AdapterError, FetchMode, PlatformAdapter, RateLimited, SignatureRejected
from takedown.records import PageResult


class SearchSpider(scrapy.Spider):
    name = "search"

    def __init__(
        self,
        platform: str,
        keywords: list[str] | str,
        pages: int | str = 1,
        base_urls: dict[str, str] | None = None,
        storage_state: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        adapter_cls = get_adapter_class(platform)
        self.platform = platform
        self.keywords = [k.strip() for k in keywords.split(",")] if isinstance(keywords, str) else list(keywords)
        self.keywords = [k for k in self.keywords if k]
        if not self.keywords:
            raise ValueError("no keywords to search")
        self.max_pages = int(pages)
        if self.max_pages < 1:
            raise ValueError(f"pages must be at least 1, got {pages}")
        self.adapter: PlatformAdapter = adapter_cls(base_urls or {})
        self.storage_state = storage_state
        self.stop_reason = ""  # set when risk control or login expiry ends the crawl early
        self.run_id: int | None = None  # set by the pipeline
        self._ranks: dict[str, int] = {}
        self._rewarmed = False
        self._browser_started = False  # browser mode: the other keywords' pages open after the first answers

    # --- start ------------------------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[scrapy.Request]:
        if self.adapter.mode is FetchMode.BROWSER:
            # One page first: it receives the session cookies that the page's request signing is bound to.
            # Tabs opened together in a fresh context would each be handed a different session and race.
            yield self._browser_request(self.keywords[0])
            return
        warmups = self.adapter.warmup_requests()
        if warmups:
            yield self._warmup_request(warmups, 0, then=None)
        else:
            for keyword in self.keywords:
                yield self._search_request(keyword, 1, "")

    def _request(self, spec, callback, errback, meta: dict[str, Any]) -> scrapy.Request:
        return scrapy.Request(
            spec.url,
            method=spec.method,
            headers=spec.headers,
            body=spec.body,
            callback=callback,
            errback=errback,
            dont_filter=True,
            meta={"handle_httpstatus_all": True, **meta},
        )

    # --- api mode ---------------------------------------------------------------------------------------

    def _warmup_request(self, specs, index: int, then: tuple[str, int, str] | None) -> scrapy.Request:
        return self._request(
            specs[index],
            self.parse_warmup,
            self.on_warmup_failure,
            {"warmups": specs, "warmup_index": index, "then": then},
        )

    def parse_warmup(self, response: Response):
        specs, index = response.meta["warmups"], response.meta["warmup_index"]
        try:
            self.adapter.on_warmup(specs[index].name, response.status, response.body)
        except AdapterError as exc:
            yield PageError(self.platform, "", 0, {**exc.as_dict(), "step": specs[index].name})
            self._stop(f"{exc.kind} during warm-up ({specs[index].name})")
        if index + 1 < len(specs):
            yield self._warmup_request(specs, index + 1, response.meta["then"])
        elif response.meta["then"] is not None:  # a re-warm-up after rejected signatures: retry that page
            yield self._search_request(*response.meta["then"])
        else:
            for keyword in self.keywords:
                yield self._search_request(keyword, 1, "")

    def on_warmup_failure(self, failure: Failure):
        yield PageError(self.platform, "", 0, network_error(failure))
        self._stop(f"network error during warm-up: {failure.getErrorMessage()}")

    def _search_request(self, keyword: str, page: int, cursor: str) -> scrapy.Request:
        spec = self.adapter.search_request(keyword, page, cursor)
        return self._request(
            spec, self.parse_search, self.on_search_failure, {"keyword": keyword, "page": page, "cursor": cursor}
        )

    def parse_search(self, response: Response):
        keyword, page, cursor = response.meta["keyword"], response.meta["page"], response.meta["cursor"]
        headers = {k.decode().lower(): v[0].decode(errors="replace") for k, v in response.headers.items() if v}
        try:
            result = self.adapter.parse_search(response.status, response.body, headers)
        except SignatureRejected as exc:
            yield PageError(self.platform, keyword, page, exc.as_dict())
            if self._rewarmed:
                self._stop(f"{exc.kind}: signature rejected again after refreshing keys")
            # Signing keys rotate (Bilibili's daily): fetch them again once, then retry this page.
            self._rewarmed = True
            yield self._warmup_request(self.adapter.warmup_requests(), 0, then=(keyword, page, cursor))
            return
        except AdapterError as exc:
            yield PageError(self.platform, keyword, page, exc.as_dict())
            if exc.stops_crawl:
                self._stop(stop_reason_of(exc))
            if self.adapter.pages_by_number and page < self.max_pages:
                yield self._search_request(keyword, page + 1, "")
            return
        yield self._page_item(keyword, page, result)
        if result.has_more and page < self.max_pages:
            yield self._search_request(keyword, page + 1, result.cursor)

    def on_search_failure(self, failure: Failure):
        meta = failure.request.meta
        keyword, page = meta["keyword"], meta["page"]
        yield PageError(self.platform, keyword, page, network_error(failure))
        if self.adapter.pages_by_number and page < self.max_pages:
            yield self._search_request(keyword, page + 1, "")

    # --- browser mode -----------------------------------------------------------------------------------

    def _browser_request(self, keyword: str) -> scrapy.Request:
        capture = PageCapture(self.adapter.is_search_response, self.platform)
        return scrapy.Request(
            self.adapter.search_page_url(keyword),
            callback=self.parse_browser,
            errback=self.on_browser_failure,
            dont_filter=True,
            meta=browser_meta(self.platform, self.storage_state, capture, keyword=keyword),
        )

    async def parse_browser(self, response: Response):
        keyword = response.meta["keyword"]
        capture: PageCapture = response.meta["capture"]
        page = response.meta["playwright_page"]
        timeout = self.settings.getfloat("TAKEDOWN_BROWSER_RESPONSE_TIMEOUT", 20.0)
        page_no = 0
        try:
            while page_no < self.max_pages:
                try:
                    # Scrolling is how the page's endless list asks for its next page.
                    status, body, headers = await capture.next(page, timeout, scroll=True)
                except TimeoutError:
                    yield PageError(
                        self.platform,
                        keyword,
                        page_no + 1,
                        {"kind": "timeout", "code": None, "http_status": None,
                         "message": f"no search response within {timeout:.0f} s"},
                    )
                    for request in self._open_other_keywords():
                        yield request
                    break
                page_no += 1
                for request in self._open_other_keywords():
                    yield request
                try:
                    result = self.adapter.parse_search(status, body, headers)
                except AdapterError as exc:
                    yield PageError(self.platform, keyword, page_no, exc.as_dict())
                    if exc.stops_crawl:
                        self._stop(stop_reason_of(exc))
                    break  # the page's own cursor is lost with the failed response
                yield self._page_item(keyword, page_no, result)
                if not result.has_more:
                    break
        finally:
            await page.close()

    async def on_browser_failure(self, failure: Failure):
        meta = failure.request.meta
        page = meta.get("playwright_page")
        if page is not None:
            await page.close()
        yield PageError(self.platform, meta["keyword"], 1, network_error(failure))
        for request in self._open_other_keywords():
            yield request

    def _open_other_keywords(self) -> list[scrapy.Request]:
        """Once, after the first browser page answered or failed: the other keywords' pages."""
        if self._browser_started:
            return []
        self._browser_started = True
        return [self._browser_request(keyword) for keyword in self.keywords[1:]]

    # --- shared -----------------------------------------------------------------------------------------

    def _page_item(self, keyword: str, page: int, result: PageResult) -> ResultPage:
        first_rank = self._ranks.get(keyword, 0) + 1
        self._ranks[keyword] = first_rank - 1 + len(result.posts)
        return ResultPage(self.platform, keyword, page, first_rank, result.posts)

    def _stop(self, reason: str) -> None:
        self.stop_reason = reason
        raise CloseSpider(reason)


def stop_reason_of(exc: AdapterError) -> str:
    """The CrawlRun stop reason for an error that ends a platform's run (shared by the spiders)."""
    reason = f"{exc.kind}: {exc.message}"
    if exc.code is not None:
        reason += f" (code {exc.code})"
    if isinstance(exc, RateLimited) and exc.retry_after:
        reason += f"; retry after {exc.retry_after:g} s"
    return reason


def network_error(failure: Failure) -> dict[str, Any]:
    """A CrawlRun error entry for a request that got no answer at all."""
    return {
        "kind": "network",
        "code": type(failure.value).__name__,
        "http_status": None,
        "message": failure.getErrorMessage()[:500],
    }
