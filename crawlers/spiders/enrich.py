"""The enrichment spider: for each candidate post, its top comments and its author's profile, driven by the
platform's adapter (DESIGN.md step 1: contact details often hide there, not in the post).

api mode: the adapter's warm-up requests (Bilibili: cookie and WBI keys), then per post the signed comments
request and, once per author in the run, the profile request. browser mode: per post the platform's own post
page, whose script fetches the comments, then the author's profile page, whose script fetches the profile; the
spider captures those JSON answers (crawlers.browser_capture). The first page opens alone so that the pages
after it share the session its answer set up, as the search spider does. Every page is closed on every path.

What it hands to the pipeline: `EnrichedPost` (the answers for one post), `PostGone` (the platform says the post
no longer exists), `EnrichFailure` (one request failed, with the platform's own code). Risk control and an
expired login stop the platform (never hammer); any other failure moves on to the next post. A post whose
comments arrived but whose profile did not is still handed over (`complete=False`), so nothing fetched is lost,
and is fetched again by a later run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

import scrapy
from scrapy.exceptions import CloseSpider
from scrapy.http import Response
from twisted.python.failure import Failure

from crawlers.browser_capture import PageCapture, browser_meta
from crawlers.platforms import get_adapter_class
from crawlers.platforms.base import (
    AdapterError,
    CommentsResult,
    FetchMode,
    Gone,
    PlatformAdapter,
    ProfileResult,
    SignatureRejected,
)
from crawlers.spiders.search import network_error, stop_reason_of

COMMENTS, PROFILE = "comments", "profile"


@dataclass(slots=True)
class EnrichTarget:
    """A stored post to enrich, with what the platform's requests need from the store."""

    post_id: int
    platform_post_id: str
    raw: dict[str, Any] = field(default_factory=dict)  # the stored search item (Bilibili's aid, Douyin's images)
    author_id: str = ""  # the platform's author id; "" when no author is stored
    author_extra: dict[str, Any] = field(default_factory=dict)  # e.g. Douyin's sec_uid


@dataclass(slots=True)
class EnrichedPost:
    platform: str
    target: EnrichTarget
    comments: CommentsResult
    profile: ProfileResult | None = None  # None: no author, the account is gone, or its profile failed
    author_gone: bool = False
    # Every answer needed arrived (a gone account is an answer): the post need not be fetched again soon.
    complete: bool = True


@dataclass(slots=True)
class PostGone:
    platform: str
    target: EnrichTarget
    error: dict[str, Any]  # Gone.as_dict(): the platform's code and message


@dataclass(slots=True)
class EnrichFailure:
    platform: str
    target: EnrichTarget | None  # None: a warm-up request
    step: str  # warmup | comments | profile
    error: dict[str, Any]  # AdapterError.as_dict(), or {"kind": "network" | "timeout" | "missing_reference", ...}


class EnrichSpider(scrapy.Spider):
    name = "enrich"

    def __init__(self, platform: str, targets: Iterable[EnrichTarget] = (), base_urls: dict[str, str] | None = None,
                 storage_state: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.platform = platform
        self.adapter: PlatformAdapter = get_adapter_class(platform)(base_urls or {})
        self.targets = list(targets)
        self.storage_state = storage_state
        self.stop_reason = ""
        self.run_id: int | None = None  # set by the pipeline
        self.outcome: Any = None  # the pipeline's running totals
        # One profile request per author and run: the answer (a ProfileResult or Gone), and the posts waiting
        # for an answer still on its way.
        self._profiles: dict[str, ProfileResult | Gone] = {}
        self._waiting: dict[str, list[tuple[EnrichTarget, CommentsResult]]] = {}
        self._rewarmed = False
        self._rest_opened = False

    @property
    def browser(self) -> bool:
        return self.adapter.mode is FetchMode.BROWSER

    async def start(self) -> AsyncIterator[Any]:
        if not self.targets:
            return
        if self.browser:
            first = self._step(self.targets[0], COMMENTS)
            if not any(isinstance(out, scrapy.Request) for out in first):
                first += self._open_rest()  # no page to wait for
            for out in first:
                yield out
            return
        warmups = self.adapter.warmup_requests()
        if warmups:
            yield self._warmup_request(warmups, 0, then=None)
            return
        for out in self._all_comments():
            yield out

    def unfinished(self) -> list[EnrichedPost]:
        """Posts whose comments arrived while their author's profile never did (the run stopped first): the
        pipeline stores their comments at close."""
        items = [EnrichedPost(self.platform, target, comments, complete=False)
                 for waiting in self._waiting.values() for target, comments in waiting]
        self._waiting.clear()
        return items

    # --- requests ---------------------------------------------------------------------------------------

    def _all_comments(self, targets: list[EnrichTarget] | None = None) -> list[Any]:
        out: list[Any] = []
        for target in self.targets if targets is None else targets:
            out += self._step(target, COMMENTS)
        return out

    def _step(self, target: EnrichTarget, step: str) -> list[Any]:
        """The request for one step of one post, or a failure when the store lacks what it needs."""
        try:
            if self.browser:
                return [self._page_request(target, step)]
            spec = (self.adapter.comments_request(target.platform_post_id, target.raw) if step == COMMENTS
                    else self.adapter.profile_request(target.author_id, target.author_extra))
        except ValueError as exc:
            failure = EnrichFailure(self.platform, target, step, {"kind": "missing_reference", "code": None,
                                                                 "http_status": None, "message": str(exc)})
            # No later run could fetch it either: the post is done with what it has.
            return [failure, *self._resolve(target.author_id, None, final=True)] if step == PROFILE else [failure]
        return [scrapy.Request(
            spec.url, method=spec.method, headers=spec.headers, body=spec.body, callback=self.parse_api,
            errback=self.on_api_failure, dont_filter=True, priority=1 if step == PROFILE else 0,
            meta={"handle_httpstatus_all": True, "target": target, "step": step},
        )]

    def _page_request(self, target: EnrichTarget, step: str) -> scrapy.Request:
        if step == COMMENTS:
            url = self.adapter.comments_page_url(target.platform_post_id, target.raw)
            capture = PageCapture(self.adapter.is_comments_response, self.platform)
        else:
            url = self.adapter.profile_page_url(target.author_id, target.author_extra)
            capture = PageCapture(self.adapter.is_profile_response, self.platform)
        # A profile goes before the comments of further posts: its post is waiting for it.
        return scrapy.Request(url, callback=self.parse_page, errback=self.on_page_failure, dont_filter=True,
                              priority=1 if step == PROFILE else 0,
                              meta=browser_meta(self.platform, self.storage_state, capture, target=target, step=step,
                                                # The answer wanted is the script's, not the page's load; and a
                                                # page of a gone account (HTTP 404) still asks for the profile.
                                                playwright_page_goto_kwargs={"wait_until": "domcontentloaded"},
                                                handle_httpstatus_all=True))

    def _profile_step(self, target: EnrichTarget, comments: CommentsResult) -> list[Any]:
        """After the comments: the author's profile, unless this run already has (or is fetching) it."""
        author = target.author_id
        if not author:
            return [EnrichedPost(self.platform, target, comments)]
        if author in self._profiles:
            return [self._item(target, comments, self._profiles[author])]
        if author in self._waiting:
            self._waiting[author].append((target, comments))
            return []
        self._waiting[author] = [(target, comments)]
        return self._step(target, PROFILE)

    def _item(self, target: EnrichTarget, comments: CommentsResult, answer: ProfileResult | Gone | None,
              final: bool = False) -> EnrichedPost:
        if isinstance(answer, Gone):
            return EnrichedPost(self.platform, target, comments, author_gone=True)
        return EnrichedPost(self.platform, target, comments, profile=answer, complete=answer is not None or final)

    def _resolve(self, author: str, answer: ProfileResult | Gone | None, final: bool = False) -> list[EnrichedPost]:
        """The items of every post waiting for this author's profile (None: it failed; `final`: and never can
        be fetched, so the posts are complete without it)."""
        if answer is not None:
            self._profiles[author] = answer
        return [self._item(target, comments, answer, final) for target, comments in self._waiting.pop(author, [])]

    # --- answers (both modes) ---------------------------------------------------------------------------

    def _follow(self, target: EnrichTarget, step: str, result: Any) -> tuple[list[Any], str]:
        """Items and requests that follow one answer (a result or an AdapterError), and the stop reason when
        the platform must not be asked anything more."""
        if isinstance(result, Gone):
            if step == COMMENTS:
                return [PostGone(self.platform, target, result.as_dict())], ""
            return self._resolve(target.author_id, result), ""
        if isinstance(result, AdapterError):
            out: list[Any] = [EnrichFailure(self.platform, target, step, result.as_dict())]
            if step == PROFILE:
                out += self._resolve(target.author_id, None)
            return out, stop_reason_of(result) if result.stops_crawl else ""
        if step == COMMENTS:
            return self._profile_step(target, result), ""
        return self._resolve(target.author_id, result), ""

    def _parse(self, step: str, status: int, body: bytes, headers: dict[str, str]) -> Any:
        parse = self.adapter.parse_comments if step == COMMENTS else self.adapter.parse_profile
        try:
            return parse(status, body, headers)
        except AdapterError as exc:
            return exc

    def _stop(self, reason: str) -> None:
        self.stop_reason = reason
        raise CloseSpider(reason)

    # --- api mode ---------------------------------------------------------------------------------------

    def _warmup_request(self, specs, index: int, then: tuple[EnrichTarget, str] | None) -> scrapy.Request:
        spec = specs[index]
        return scrapy.Request(spec.url, method=spec.method, headers=spec.headers, body=spec.body,
                              callback=self.parse_warmup, errback=self.on_warmup_failure, dont_filter=True,
                              priority=2, meta={"handle_httpstatus_all": True, "warmups": specs,
                                                "warmup_index": index, "then": then})

    def parse_warmup(self, response: Response):
        specs, index = response.meta["warmups"], response.meta["warmup_index"]
        try:
            self.adapter.on_warmup(specs[index].name, response.status, response.body)
        except AdapterError as exc:
            yield EnrichFailure(self.platform, None, "warmup", {**exc.as_dict(), "step": specs[index].name})
            self._stop(f"{exc.kind} during warm-up ({specs[index].name})")
        if index + 1 < len(specs):
            yield self._warmup_request(specs, index + 1, response.meta["then"])
        elif response.meta["then"] is not None:  # fresh keys after a rejected signature: ask that again
            yield from self._step(*response.meta["then"])
        else:
            yield from self._all_comments()

    def on_warmup_failure(self, failure: Failure):
        yield EnrichFailure(self.platform, None, "warmup", network_error(failure))
        self._stop(f"network error during warm-up: {failure.getErrorMessage()}")

    def parse_api(self, response: Response):
        target, step = response.meta["target"], response.meta["step"]
        headers = {k.decode().lower(): v[0].decode(errors="replace") for k, v in response.headers.items() if v}
        result = self._parse(step, response.status, response.body, headers)
        if isinstance(result, SignatureRejected) and not self._rewarmed:
            # Signing keys rotate (Bilibili's daily): fetch them again once, then ask this again.
            self._rewarmed = True
            yield EnrichFailure(self.platform, target, step, result.as_dict())
            yield self._warmup_request(self.adapter.warmup_requests(), 0, then=(target, step))
            return
        out, stop = self._follow(target, step, result)
        yield from out
        if stop:
            self._stop(stop)

    def on_api_failure(self, failure: Failure):
        target, step = failure.request.meta["target"], failure.request.meta["step"]
        yield EnrichFailure(self.platform, target, step, network_error(failure))
        if step == PROFILE:
            yield from self._resolve(target.author_id, None)

    # --- browser mode -----------------------------------------------------------------------------------

    async def parse_page(self, response: Response):
        target, step = response.meta["target"], response.meta["step"]
        capture: PageCapture = response.meta["capture"]
        page = response.meta["playwright_page"]
        timeout = self.settings.getfloat("TAKEDOWN_BROWSER_RESPONSE_TIMEOUT", 20.0)
        try:
            try:
                # A post page that shows the post is gone never asks for its comments: look at it meanwhile.
                # Scrolling brings a comment section that loads on sight into view.
                status, body, headers = await capture.next(
                    page, timeout, poll=0.25, scroll=step == COMMENTS,
                    page_check=self.adapter.page_gone if step == COMMENTS else None)
            except Gone as exc:
                result: Any = exc
            except TimeoutError:
                result = None
            else:
                result = self._parse(step, status, body, headers)
        finally:
            await page.close()
        if result is None:
            out: list[Any] = [EnrichFailure(self.platform, target, step, {
                "kind": "timeout", "code": None, "http_status": None,
                "message": f"the {step} page made no {step} request within {timeout:.0f} s"})]
            if step == PROFILE:
                out += self._resolve(target.author_id, None)
            stop = ""
        else:
            out, stop = self._follow(target, step, result)
        for item in out:
            yield item
        if stop:
            self._stop(stop)
        for request in self._open_rest():
            yield request

    async def on_page_failure(self, failure: Failure):
        meta = failure.request.meta
        page = meta.get("playwright_page")
        if page is not None:
            await page.close()
        target, step = meta["target"], meta["step"]
        yield EnrichFailure(self.platform, target, step, network_error(failure))
        if step == PROFILE:
            for item in self._resolve(target.author_id, None):
                yield item
        for request in self._open_rest():
            yield request

    def _open_rest(self) -> list[Any]:
        """Once, after the first page answered or failed: the comment pages of the other posts."""
        if self._rest_opened:
            return []
        self._rest_opened = True
        return self._all_comments(self.targets[1:])
