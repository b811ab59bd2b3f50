"""What every platform adapter is: the only code that knows a platform's URLs, parameters, signing and JSON.

An adapter is pure: it builds request descriptions and parses response bytes. Fetching (Scrapy requests in api
mode, a real browser in browser mode) is the spider's job, so adapters are tested against fixture bytes alone.

Every way a response can differ from what PLATFORMS.md documents raises a specific `AdapterError` subclass that
carries the platform's own code; an adapter never silently returns an empty page for a response it does not
understand.
"""

from __future__ import annotations

import enum
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

from takedown.records import PageResult


class FetchMode(enum.StrEnum):
    API = "api"  # plain HTTP requests, signing in Python
    BROWSER = "browser"  # open the platform's own search page and capture the JSON it requests


# --- errors ---------------------------------------------------------------------------------------------


class AdapterError(Exception):
    """A response the adapter could not turn into posts. `kind` is the stable name stored in CrawlRun errors."""

    kind: ClassVar[str] = "adapter_error"
    # Whether the crawl of this platform must stop (risk control, login) or may go on with the next page.
    stops_crawl: ClassVar[bool] = False

    def __init__(self, platform: str, message: str, *, code: str | int | None = None, http_status: int | None = None):
        self.platform = platform
        self.code = None if code is None else str(code)
        self.http_status = http_status
        self.message = message
        super().__init__(f"{platform}: {self.kind}: {message}" + (f" (code {code})" if code is not None else ""))

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "code": self.code, "http_status": self.http_status, "message": self.message}


class MalformedResponse(AdapterError):
    """The body is not the JSON (or HTML) the endpoint is documented to return."""

    kind = "malformed_response"


class SchemaChanged(AdapterError):
    """Valid JSON, but a documented key is missing or has another type: the platform changed its shape."""

    kind = "schema_changed"


class PlatformError(AdapterError):
    """The platform answered with an error code this adapter does not know."""

    kind = "platform_error"


class Blocked(AdapterError):
    """Risk control: captcha, verify page, blocked IP. Stop this platform's crawl, keep what was fetched."""

    kind = "blocked"
    stops_crawl = True


class RateLimited(Blocked):
    kind = "rate_limited"

    def __init__(self, platform: str, message: str, *, retry_after: float | None = None, **kw: Any):
        super().__init__(platform, message, **kw)
        self.retry_after = retry_after


class SignatureRejected(Blocked):
    """The platform did not accept our request signature (e.g. rotated WBI keys)."""

    kind = "signature_rejected"


class LoginExpired(AdapterError):
    kind = "login_expired"
    stops_crawl = True


class Gone(AdapterError):
    """The platform says the post or the account no longer exists (deleted, banned): an answer about it, not a
    failure of the crawl. The code says which (e.g. Bilibili -404, Douyin 2053)."""

    kind = "gone"


# --- helpers --------------------------------------------------------------------------------------------

def utc_from_seconds(value: Any) -> datetime:
    """A platform's epoch seconds as a naive UTC datetime (how the records keep them)."""
    return datetime.fromtimestamp(int(value), tz=UTC).replace(tzinfo=None)


def as_int(value: Any) -> int | None:
    """Counts and ids arrive as numbers; tolerate digit strings, skip placeholders such as "--" (and booleans)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def parse_retry_after(headers: Mapping[str, Any] | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None when absent/garbled."""
    if not headers:
        return None
    value: Any = None
    for key, val in headers.items():
        name = key.decode("latin-1") if isinstance(key, bytes) else str(key)
        if name.lower() == "retry-after":
            value = val
            break
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if value is None:
        return None
    text = str(value).strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


# --- requests and results --------------------------------------------------------------------------------


@dataclass(slots=True)
class RequestSpec:
    """A request an adapter wants made. `name` tells the adapter later which answer it is looking at."""

    url: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    name: str = ""


# How comments reach the scorer: it takes a comment starting with 置顶/作者 (also up主/博主) for the post
# author's own, which is where operators park the contact the post itself leaves out.
PINNED_PREFIX = "置顶："
AUTHOR_PREFIX = "作者："


def render_comment(text: str, *, pinned: bool = False, by_author: bool = False) -> str:
    """A comment as the scorer reads it: the author's pinned one "置顶：…", another of the author's "作者：…",
    anyone else's as written."""
    text = text.strip()
    if pinned:
        return PINNED_PREFIX + text
    if by_author:
        return AUTHOR_PREFIX + text
    return text


@dataclass(slots=True)
class CommentsResult:
    """A post's top comments, rendered with `render_comment`, pinned ones first."""

    comments: list[str]
    # The platform answered that the comment section is closed or hidden: nothing to fetch, which is an answer
    # (the post need not be asked again soon), not a failure. `code` is the platform's.
    closed: bool = False
    code: str = ""
    detail: str = ""
    total: int | None = None


@dataclass(slots=True)
class ProfileResult:
    """What an author's profile says that the search results may lack: above all the bio."""

    platform_author_id: str
    nickname: str = ""
    bio: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # merged into the stored author's extra


class PostState(enum.StrEnum):
    LIVE = "live"
    GONE = "gone"
    UNKNOWN = "unknown"  # blocked, risk control, or a code nobody has confirmed


@dataclass(slots=True)
class StatusResult:
    state: PostState
    code: str = ""  # the platform's own code or reason, kept for the StatusCheck record
    detail: str = ""


# --- the adapter -----------------------------------------------------------------------------------------


class PlatformAdapter(ABC):
    name: ClassVar[str]
    mode: ClassVar[FetchMode]
    page_size: ClassVar[int] = 20
    # Whether the platform needs a logged-in browser storage state to search.
    needs_login: ClassVar[bool] = False
    # Whether page N can be requested without page N-1's cursor (page numbers, not tokens). Such a crawl
    # goes on with the next page after a page fails; a cursor-paged one moves on to the next keyword.
    pages_by_number: ClassVar[bool] = False
    # StatusResult codes that mean risk control or an expired login rather than an answer about the post:
    # re-checks of this platform stop, as a search crawl does.
    status_stop_codes: ClassVar[frozenset[str]] = frozenset({"http_412", "http_429"})

    def __init__(self, base_urls: dict[str, str]):
        self.base_urls = base_urls

    @classmethod
    def from_settings(cls, settings: Any) -> PlatformAdapter:
        return cls(settings.platform_base_urls(cls.name))

    # Requests to make once before searching (cookies, signing keys). Answers go to `on_warmup`.
    def warmup_requests(self) -> list[RequestSpec]:
        return []

    def on_warmup(self, name: str, status: int, body: bytes) -> None:  # noqa: B027 - optional hook
        pass

    # api mode: the search request for one page. `cursor` is the previous PageResult.cursor ("" on page 1).
    def search_request(self, keyword: str, page: int, cursor: str) -> RequestSpec:
        raise NotImplementedError(f"{self.name} does not search in api mode")

    # browser mode: the page a person would open, and which of its responses carry results.
    def search_page_url(self, keyword: str) -> str:
        raise NotImplementedError(f"{self.name} does not search in browser mode")

    def is_search_response(self, url: str) -> bool:
        raise NotImplementedError(f"{self.name} does not search in browser mode")

    @abstractmethod
    def parse_search(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> PageResult:
        """Posts of one result page, or a specific AdapterError."""

    @abstractmethod
    def post_url(self, platform_post_id: str, **extra: str) -> str: ...

    @abstractmethod
    def author_url(self, platform_author_id: str) -> str: ...

    @abstractmethod
    def status_request(self, platform_post_id: str) -> RequestSpec:
        """The request whose answer tells whether a post is still live."""

    @abstractmethod
    def parse_status(self, status: int, body: bytes) -> StatusResult: ...

    # --- enrichment: a candidate's top comments and its author's profile ------------------------------------
    # The request builders take what the store keeps: the post's id and its search item as fetched (`raw`),
    # the author's id and `extra` (e.g. Douyin's sec_uid). They raise ValueError when that lacks what the
    # platform needs. The parsers return results or raise the AdapterError family (Gone for a deleted post or
    # account).

    # api mode: the requests (made after `warmup_requests`, like a search).
    def comments_request(self, platform_post_id: str, raw: Mapping[str, Any]) -> RequestSpec:
        raise NotImplementedError(f"{self.name} does not fetch comments in api mode")

    def profile_request(self, platform_author_id: str, extra: Mapping[str, Any]) -> RequestSpec:
        raise NotImplementedError(f"{self.name} does not fetch profiles in api mode")

    # browser mode: the page whose own script fetches them, and which of its responses carry them.
    def comments_page_url(self, platform_post_id: str, raw: Mapping[str, Any]) -> str:
        raise NotImplementedError(f"{self.name} does not fetch comments in browser mode")

    def is_comments_response(self, url: str) -> bool:
        raise NotImplementedError(f"{self.name} does not fetch comments in browser mode")

    def profile_page_url(self, platform_author_id: str, extra: Mapping[str, Any]) -> str:
        raise NotImplementedError(f"{self.name} does not fetch profiles in browser mode")

    def is_profile_response(self, url: str) -> bool:
        raise NotImplementedError(f"{self.name} does not fetch profiles in browser mode")

    def page_gone(self, html: str) -> Gone | None:
        """browser mode: a page that shows the post is gone instead of loading it (so its script never asks
        for the comments); None when the page shows nothing of the kind."""
        return None

    def parse_comments(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> CommentsResult:
        raise NotImplementedError(f"{self.name} does not fetch comments")

    def parse_profile(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> ProfileResult:
        raise NotImplementedError(f"{self.name} does not fetch profiles")
