"""The status re-check spider: is each post still up? One crawler per platform, driven by its adapter.

Always api mode — plain Scrapy requests to each adapter's `status_request` (Douyin too: its detail endpoint
answers without the browser) — parsed by the adapter's `parse_status` into live, gone or unknown. Each answer
becomes an `Observation` item; the StatusPipeline stores it and applies what it proves to the case.

An answer that means risk control or an expired login (the adapter's `status_stop_codes`) is recorded as
unknown and stops this platform's re-checks, as it stops a search crawl: never hammer a platform that pushes
back. Network failures are recorded as unknown and the rest go on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

import scrapy
from scrapy.exceptions import CloseSpider
from scrapy.http import Response
from twisted.python.failure import Failure

from crawlers.platforms import get_adapter_class
from crawlers.platforms.base import PlatformAdapter, PostState
from takedown import clock
from takedown.status_checks import Observation, Target


def _targets(platform: str, posts: Any) -> list[Target]:
    """Targets from Target objects, (platform, platform post id) pairs, (post id, platform post id[, case id])
    tuples, or platform post ids (a list, or a comma-separated string as `scrapy crawl status -a posts=...`
    passes it). Without a post id the observation is still stored only when the pipeline can find the post."""
    if isinstance(posts, str):
        posts = [p.strip() for p in posts.split(",") if p.strip()]
    out: list[Target] = []
    for item in posts or []:
        if isinstance(item, Target):
            out.append(item)
        elif isinstance(item, str):
            out.append(Target(None, 0, platform, item))
        elif isinstance(item, Iterable):
            values = list(item)
            if isinstance(values[0], str) and not values[0].isdigit():  # (platform, platform post id)
                out.append(Target(None, 0, values[0], str(values[1])))
                continue
            post_id, platform_post_id = values[0], values[1]
            out.append(Target(values[2] if len(values) > 2 else None, int(post_id or 0), platform,
                              str(platform_post_id)))
        else:
            raise ValueError(f"cannot read a re-check target from {item!r}")
    for target in out:
        if target.platform != platform:
            raise ValueError(f"target {target.platform_post_id} is on {target.platform}, not {platform}")
    return out


class StatusSpider(scrapy.Spider):
    name = "status"

    def __init__(self, platform: str, posts: Any = None, base_urls: dict[str, str] | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.platform = platform
        self.adapter: PlatformAdapter = get_adapter_class(platform)(base_urls or {})
        self.targets = _targets(platform, posts)
        self.stop_reason = ""
        self.outcome: Any = None  # the pipeline's running CheckOutcome
        self.responses = 0

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for target in self.targets:
            spec = self.adapter.status_request(target.platform_post_id)
            yield scrapy.Request(
                spec.url,
                method=spec.method,
                headers=spec.headers,
                body=spec.body,
                callback=self.parse_status,
                errback=self.on_failure,
                dont_filter=True,
                meta={"handle_httpstatus_all": True, "target": target},
            )

    def _observation(self, target: Target, state: str, code: str, http_status: int | None,
                     detail: str) -> Observation:
        return Observation(post_id=target.post_id, case_id=target.case_id, platform=self.platform,
                           platform_post_id=target.platform_post_id, state=state, code=code,
                           http_status=http_status, detail=detail, checked_at=clock.now())

    def parse_status(self, response: Response):
        self.responses += 1
        target: Target = response.meta["target"]
        result = self.adapter.parse_status(response.status, response.body)
        yield self._observation(target, result.state.value, result.code, response.status, result.detail)
        if result.state is PostState.UNKNOWN and result.code in self.adapter.status_stop_codes:
            self.stop_reason = (f"blocked: {self.platform} answered {result.code}"
                                + (f" ({result.detail})" if result.detail else "") + " during re-checks")
            raise CloseSpider(self.stop_reason)

    def on_failure(self, failure: Failure):
        target: Target = failure.request.meta["target"]
        yield self._observation(target, PostState.UNKNOWN.value, "network", None,
                                f"{type(failure.value).__name__}: {failure.getErrorMessage()[:400]}")
