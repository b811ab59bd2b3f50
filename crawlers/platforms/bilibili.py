"""Bilibili: keyword search over the WBI-signed web API (api mode).

Shapes and codes follow PLATFORMS.md (Bilibili section). Every host comes from `self.base_urls` (keys "api",
"www", "space"), so the same adapter talks to the real site or to the emulator mounted at "<emulator>/bilibili".

Flow: warmup `home` ({www}/, sets the `buvid3` cookie the search needs) and `nav` ({api}/x/web-interface/nav,
carries the WBI keys even for visitors, who get code -101), then one signed search request per page.
"""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import orjson

from crawlers.platforms import wbi
from crawlers.platforms.base import (
    Blocked,
    CommentsResult,
    FetchMode,
    Gone,
    MalformedResponse,
    PlatformAdapter,
    PlatformError,
    PostState,
    ProfileResult,
    RateLimited,
    RequestSpec,
    SchemaChanged,
    SignatureRejected,
    StatusResult,
    as_int,
    parse_retry_after,
    render_comment,
    utc_from_seconds,
)
from takedown.records import AuthorRecord, PageResult, PostRecord

USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)

# Envelope codes.
CODE_OK = 0
CODE_NOT_LOGGED_IN = -101  # nav answers this to visitors and still carries wbi_img
BLOCKED_CODES: dict[int, str] = {
    -412: "request intercepted (missing buvid3 cookie or blocked IP)",
    -352: "risk control check failed",
}

# View-API codes that mean the public can no longer see the post (PLATFORMS.md "Gone").
# Decision: all five count as GONE. What a takedown needs to know is whether the public can still watch the
# post, and none of these can be watched. 62004 (under review) and -403 (no permission, e.g. member-only) are
# not necessarily permanent deletion, so the code is kept on the StatusResult (and the StatusCheck record):
# a later check that sees the post LIVE again shows it came back.
GONE_CODES: dict[int, str] = {
    -404: "no such video",
    62002: "video invisible",
    62004: "video under review (may come back)",
    62012: "visible to the uploader only",
    -403: "no permission to view",
}

# Comment and profile answers (PLATFORMS.md has no section on them; codes from the community API notes).
COMMENTS_CLOSED_CODES: dict[int, str] = {12002: "comments closed", 12061: "comments hidden by the uploader"}
CODE_NO_SUCH_THING = -404  # comments: no such video; profile: no such user
CODE_TOO_FREQUENT = -799
REPLY_MODE_HOT = 3
REPLY_WEB_LOCATION = 1315875  # what the video page's comment section sends

SEARCH_ORDERS = ("", "click", "pubdate", "dm", "stow")
REQUIRED_ITEM_KEYS = ("bvid", "title", "mid")

_HIGHLIGHT_TAG = re.compile(r"</?em\b[^>]*>", re.IGNORECASE)


class WbiKeysMissing(RuntimeError):
    """search_request was called before on_warmup("nav", ...) supplied the WBI keys (a spider bug)."""


def clean_text(value: Any) -> str:
    """Search highlights (`<em class="keyword">…</em>`) removed, HTML entities unescaped."""
    if value is None:
        return ""
    text = str(value)
    if "<" in text:  # (most fields have no highlight: a crawl cleans some twenty fields a post)
        text = _HIGHLIGHT_TAG.sub("", text)
    return html.unescape(text).strip()


def _code_of(body: bytes) -> int | None:
    """The envelope code of an error answer's body (-799 with an HTTP 429), when it has one."""
    try:
        payload = orjson.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    code = payload.get("code") if isinstance(payload, dict) else None
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def _file_stem(url: Any) -> str:
    if not isinstance(url, str):
        return ""
    name = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return name.split(".", 1)[0]


class BilibiliAdapter(PlatformAdapter):
    name: ClassVar[str] = "bilibili"
    mode: ClassVar[FetchMode] = FetchMode.API
    page_size: ClassVar[int] = 20
    needs_login: ClassVar[bool] = False
    pages_by_number: ClassVar[bool] = True  # `page=N` needs no cursor: after a failed page, go on with N+1
    # Re-check answers that mean blocked, not gone: HTTP 412/429, -412 intercepted, -352 risk control, -101 login.
    status_stop_codes: ClassVar[frozenset[str]] = frozenset({"http_412", "http_429", "-412", "-352", "-101"})

    def __init__(
        self,
        base_urls: dict[str, str],
        *,
        order: str = "",
        pubtime_begin_s: int | None = None,
        pubtime_end_s: int | None = None,
        clock: Callable[[], float] = time.time,
    ):
        super().__init__(base_urls)
        for key in ("api", "www", "space"):
            if not base_urls.get(key):
                raise ValueError(f"bilibili: base_urls lacks {key!r} (have {sorted(base_urls)})")
        if order not in SEARCH_ORDERS:
            raise ValueError(f"bilibili: unknown search order {order!r}; known: {SEARCH_ORDERS}")
        self.order = order
        self.pubtime_begin_s = pubtime_begin_s
        self.pubtime_end_s = pubtime_end_s
        self.clock = clock
        self.img_key: str | None = None
        self.sub_key: str | None = None

    # --- urls ------------------------------------------------------------------------------------------

    def _base(self, key: str) -> str:
        return self.base_urls[key].rstrip("/")

    def _headers(self, accept: str = "application/json, text/plain, */*") -> dict[str, str]:
        return {
            "User-Agent": USER_AGENT,
            "Referer": f"{self._base('www')}/",
            "Accept": accept,
            "Accept-Language": "zh-CN,zh;q=0.9",
        }

    def post_url(self, platform_post_id: str, **extra: str) -> str:
        return f"{self._base('www')}/video/{platform_post_id}"

    def author_url(self, platform_author_id: str) -> str:
        return f"{self._base('space')}/{platform_author_id}"

    # --- warmup and signing ----------------------------------------------------------------------------

    def warmup_requests(self) -> list[RequestSpec]:
        return [
            RequestSpec(
                url=f"{self._base('www')}/",
                headers=self._headers("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
                name="home",
            ),
            RequestSpec(url=f"{self._base('api')}/x/web-interface/nav", headers=self._headers(), name="nav"),
        ]

    @property
    def has_wbi_keys(self) -> bool:
        return bool(self.img_key and self.sub_key)

    def on_warmup(self, name: str, status: int, body: bytes) -> None:
        if name != "nav":
            return  # "home" only sets cookies, which the spider's cookie middleware keeps
        payload = self._envelope(status, body, None, what="nav")
        code = payload.get("code")
        if code not in (CODE_OK, CODE_NOT_LOGGED_IN):
            self._raise_for_code(code, payload, status)
        data = payload.get("data")
        wbi_img = data.get("wbi_img") if isinstance(data, dict) else None
        if not isinstance(wbi_img, dict):
            raise SchemaChanged(self.name, "nav answer lacks data.wbi_img", code=code, http_status=status)
        img_key, sub_key = _file_stem(wbi_img.get("img_url")), _file_stem(wbi_img.get("sub_url"))
        if not img_key or not sub_key:
            raise SchemaChanged(
                self.name, "nav data.wbi_img lacks img_url/sub_url file names", code=code, http_status=status
            )
        try:
            wbi.mixin_key(img_key, sub_key)
        except ValueError as exc:
            raise SchemaChanged(self.name, f"nav data.wbi_img keys unusable: {exc}", code=code) from None
        self.img_key, self.sub_key = img_key, sub_key

    def search_params(self, keyword: str, page: int) -> dict[str, Any]:
        params: dict[str, Any] = {
            "search_type": "video",
            "keyword": keyword,
            "page": page,
            "page_size": self.page_size,
            "order": self.order,
        }
        if self.pubtime_begin_s is not None:
            params["pubtime_begin_s"] = int(self.pubtime_begin_s)
        if self.pubtime_end_s is not None:
            params["pubtime_end_s"] = int(self.pubtime_end_s)
        return params

    def search_request(self, keyword: str, page: int, cursor: str) -> RequestSpec:
        if not self.has_wbi_keys:
            raise WbiKeysMissing(
                "bilibili: WBI keys unknown: make the warmup requests (home, nav) and pass the nav answer "
                "to on_warmup() before searching"
            )
        assert self.img_key and self.sub_key
        # `page` is authoritative; `cursor` (str(page) of the next page, from parse_search) is only advisory.
        signed = wbi.sign_params(
            self.search_params(keyword, page), self.img_key, self.sub_key, wts=int(self.clock())
        )
        url = f"{self._base('api')}/x/web-interface/wbi/search/type?{wbi.encode_query(signed)}"
        return RequestSpec(url=url, headers=self._headers(), name="search")

    # --- search ----------------------------------------------------------------------------------------

    def _envelope(
        self, status: int, body: bytes, headers: Mapping[str, Any] | None, *, what: str
    ) -> dict[str, Any]:
        """The decoded `{code, message, ttl, data}` envelope, or the specific error for HTTP-level failures."""
        if status == 429:
            raise RateLimited(
                self.name, f"{what}: HTTP 429", retry_after=parse_retry_after(headers), http_status=status,
                code=_code_of(body),
            )
        if status == 412:
            raise Blocked(self.name, f"{what}: HTTP 412 (request intercepted)", http_status=status)
        if status >= 500:
            raise PlatformError(self.name, f"{what}: HTTP {status}", http_status=status)
        try:
            payload = orjson.loads(body)
        except (ValueError, UnicodeDecodeError):
            if status >= 400:
                raise PlatformError(
                    self.name, f"{what}: HTTP {status}, non-JSON body", http_status=status
                ) from None
            raise MalformedResponse(
                self.name, f"{what}: body is not JSON: {body[:80]!r}", http_status=status
            ) from None
        if not isinstance(payload, dict):
            raise MalformedResponse(self.name, f"{what}: JSON is not an object", http_status=status)
        if "code" not in payload:
            raise SchemaChanged(self.name, f"{what}: envelope lacks 'code'", http_status=status)
        return payload

    def _raise_for_code(self, code: Any, payload: dict[str, Any], status: int) -> None:
        message = str(payload.get("message") or "")
        if code in BLOCKED_CODES:
            raise Blocked(self.name, f"{BLOCKED_CODES[code]}: {message}", code=code, http_status=status)
        raise PlatformError(self.name, message or "non-zero code", code=code, http_status=status)

    def parse_search(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> PageResult:
        payload = self._envelope(status, body, headers, what="search")
        code = payload["code"]
        if code != CODE_OK:
            self._raise_for_code(code, payload, status)
        data = payload.get("data")
        if not isinstance(data, dict):
            raise SchemaChanged(
                self.name, "search answer lacks the object data", code=code, http_status=status
            )
        if "v_voucher" in data and "result" not in data:
            raise SignatureRejected(
                self.name,
                f"search answered a v_voucher instead of results (WBI signature rejected; keys rotated?): "
                f"{data.get('v_voucher')}",
                code="v_voucher",
                http_status=status,
            )
        result = data.get("result")
        if not isinstance(result, list):
            raise SchemaChanged(self.name, "search answer lacks the list data.result", http_status=status)
        page, num_pages = as_int(data.get("page")), as_int(data.get("numPages"))
        if page is None:
            raise SchemaChanged(self.name, "search answer lacks the number data.page", http_status=status)
        if num_pages is None:
            raise SchemaChanged(self.name, "search answer lacks the number data.numPages", http_status=status)

        posts = []
        for index, item in enumerate(result):
            where = f"data.result[{index}]"
            if not isinstance(item, dict):
                raise SchemaChanged(self.name, f"{where} is not an object", http_status=status)
            if "type" not in item:
                raise SchemaChanged(self.name, f"{where} lacks 'type'", http_status=status)
            if item["type"] != "video":
                continue
            posts.append(self._post_from_item(item, where))
        has_more = page < num_pages
        return PageResult(
            posts=posts,
            has_more=has_more,
            cursor=str(page + 1) if has_more else "",
            total=as_int(data.get("numResults")),
        )

    def _post_from_item(self, item: dict[str, Any], where: str) -> PostRecord:
        for key in REQUIRED_ITEM_KEYS:
            if item.get(key) in (None, ""):
                raise SchemaChanged(self.name, f"{where} lacks '{key}'")
        bvid = str(item["bvid"])
        mid = str(item["mid"])
        pubdate = item.get("pubdate")
        published_at = None
        if pubdate not in (None, 0, ""):
            if as_int(pubdate) is None:
                raise SchemaChanged(self.name, f"{where}.pubdate is not unix seconds: {pubdate!r}")
            published_at = utc_from_seconds(pubdate)
        metrics = {}
        for source, target in (
            ("play", "play"),
            ("review", "comments"),
            ("favorites", "favorites"),
            ("video_review", "danmaku"),
            ("like", "like"),
        ):
            value = as_int(item.get(source))
            if value is not None:
                metrics[target] = value
        hashtags = [clean_text(tag) for tag in str(item.get("tag") or "").split(",")]
        return PostRecord(
            platform=self.name,
            platform_post_id=bvid,
            url=self.post_url(bvid),
            title=clean_text(item["title"]),
            text=clean_text(item.get("description")),
            hashtags=[tag for tag in hashtags if tag],
            published_at=published_at,
            metrics=metrics,
            author=AuthorRecord(
                platform=self.name,
                platform_author_id=mid,
                nickname=clean_text(item.get("author")),
                url=self.author_url(mid),
            ),
            raw=item,
        )

    # --- comments and profile ----------------------------------------------------------------------------

    def _signed_url(self, path: str, params: dict[str, Any]) -> str:
        if not self.has_wbi_keys:
            raise WbiKeysMissing(
                "bilibili: WBI keys unknown: make the warmup requests (home, nav) and pass the nav answer "
                "to on_warmup() first"
            )
        assert self.img_key and self.sub_key
        signed = wbi.sign_params(params, self.img_key, self.sub_key, wts=int(self.clock()))
        return f"{self._base('api')}{path}?{wbi.encode_query(signed)}"

    def comments_request(self, platform_post_id: str, raw: Mapping[str, Any]) -> RequestSpec:
        """The first page of the hot comments. Comments are keyed by the numeric aid, which the stored search
        item carries (`aid`, also `id`); a bvid alone is not enough."""
        aid = as_int(raw.get("aid")) or as_int(raw.get("id"))
        if not aid:
            raise ValueError(f"bilibili: post {platform_post_id}: the stored search item has no aid")
        params = {
            "oid": aid,
            "type": 1,
            "mode": REPLY_MODE_HOT,
            "pagination_str": json.dumps({"offset": ""}, separators=(",", ":")),
            "plat": 1,
            "web_location": REPLY_WEB_LOCATION,
        }
        headers = {**self._headers(), "Referer": self.post_url(platform_post_id)}
        return RequestSpec(url=self._signed_url("/x/v2/reply/wbi/main", params), headers=headers, name="comments")

    def profile_request(self, platform_author_id: str, extra: Mapping[str, Any]) -> RequestSpec:
        if not str(platform_author_id).isdigit():
            raise ValueError(f"bilibili: author id {platform_author_id!r} is not a mid")
        headers = {**self._headers(), "Referer": f"{self.author_url(platform_author_id)}/"}
        return RequestSpec(url=self._signed_url("/x/space/wbi/acc/info", {"mid": platform_author_id}),
                           headers=headers, name="profile")

    def _raise_for_enrich_code(self, code: Any, payload: dict[str, Any], status: int, what: str) -> None:
        message = str(payload.get("message") or "")
        if code == CODE_NO_SUCH_THING:
            raise Gone(self.name, f"{what}: {message or 'not found'}", code=code, http_status=status)
        if code == CODE_TOO_FREQUENT:
            raise RateLimited(self.name, f"{what}: too frequent: {message}", code=code, http_status=status)
        self._raise_for_code(code, payload, status)

    def _data(self, payload: dict[str, Any], status: int, what: str, key: str) -> dict[str, Any]:
        data = payload.get("data")
        if not isinstance(data, dict):
            raise SchemaChanged(self.name, f"{what} answer lacks the object data", http_status=status)
        if "v_voucher" in data and key not in data:
            raise SignatureRejected(
                self.name, f"{what} answered a v_voucher (WBI signature rejected; keys rotated?): {data['v_voucher']}",
                code="v_voucher", http_status=status,
            )
        if key not in data:
            raise SchemaChanged(self.name, f"{what} answer lacks data.{key}", http_status=status)
        return data

    def parse_comments(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> CommentsResult:
        payload = self._envelope(status, body, headers, what="comments")
        code = payload["code"]
        if code in COMMENTS_CLOSED_CODES:
            return CommentsResult([], closed=True, code=str(code),
                                  detail=f"{COMMENTS_CLOSED_CODES[code]}: {payload.get('message') or ''}".strip())
        if code != CODE_OK:
            self._raise_for_enrich_code(code, payload, status, "comments")
        data = self._data(payload, status, "comments", "replies")
        upper = data.get("upper")
        upper_mid = str(upper.get("mid")) if isinstance(upper, dict) and upper.get("mid") is not None else ""
        comments: list[str] = []
        seen: set[str] = set()

        def add(reply: Any, where: str, pinned: bool) -> None:
            if not isinstance(reply, dict):
                raise SchemaChanged(self.name, f"{where} is not an object", http_status=status)
            content = reply.get("content")
            message = content.get("message") if isinstance(content, dict) else None
            if not isinstance(message, str):
                raise SchemaChanged(self.name, f"{where} lacks content.message", http_status=status)
            rpid = str(reply.get("rpid") or "")
            if rpid and rpid in seen:  # the pinned reply can be listed again among the others
                return
            seen.add(rpid)
            if message.strip():
                by_author = bool(upper_mid) and str(reply.get("mid")) == upper_mid
                comments.append(render_comment(message, pinned=pinned, by_author=by_author))
            nested = reply.get("replies") or []
            if not isinstance(nested, list):
                raise SchemaChanged(self.name, f"{where}.replies is not a list", http_status=status)
            for k, sub in enumerate(nested):
                add(sub, f"{where}.replies[{k}]", False)

        for name, pinned in (("top_replies", True), ("replies", False)):
            items = data.get(name) or []
            if not isinstance(items, list):
                raise SchemaChanged(self.name, f"comments data.{name} is not a list", http_status=status)
            for index, reply in enumerate(items):
                add(reply, f"data.{name}[{index}]", pinned)
        cursor = data.get("cursor")
        total = as_int(cursor.get("all_count")) if isinstance(cursor, dict) else None
        return CommentsResult(comments, total=total)

    def parse_profile(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> ProfileResult:
        payload = self._envelope(status, body, headers, what="profile")
        code = payload["code"]
        if code != CODE_OK:
            self._raise_for_enrich_code(code, payload, status, "profile")
        data = self._data(payload, status, "profile", "sign")
        if data.get("mid") in (None, ""):
            raise SchemaChanged(self.name, "profile answer lacks data.mid", http_status=status)
        if not isinstance(data["sign"], str):
            raise SchemaChanged(self.name, "profile data.sign is not a string", http_status=status)
        extra: dict[str, Any] = {}
        official = data.get("official")
        if isinstance(official, dict) and official.get("title"):
            extra["official_title"] = str(official["title"])  # verified accounts (brands' own are never queued)
        return ProfileResult(platform_author_id=str(data["mid"]), nickname=clean_text(data.get("name")),
                             bio=data["sign"].strip(), extra=extra)

    # --- status ----------------------------------------------------------------------------------------

    def status_request(self, platform_post_id: str) -> RequestSpec:
        return RequestSpec(
            url=f"{self._base('api')}/x/web-interface/view?bvid={platform_post_id}",
            headers=self._headers(),
            name="status",
        )

    def parse_status(self, status: int, body: bytes) -> StatusResult:
        if status in (412, 429):
            return StatusResult(PostState.UNKNOWN, code=f"http_{status}", detail="blocked, not gone")
        if status >= 500:
            return StatusResult(PostState.UNKNOWN, code=f"http_{status}", detail="server error")
        try:
            payload = orjson.loads(body)
        except (ValueError, UnicodeDecodeError):
            return StatusResult(
                PostState.UNKNOWN, code="malformed", detail=f"HTTP {status}, body is not JSON"
            )
        if not isinstance(payload, dict) or "code" not in payload:
            return StatusResult(PostState.UNKNOWN, code="malformed", detail="no envelope code")
        code, message = payload["code"], str(payload.get("message") or "")
        if code == CODE_OK:
            data = payload.get("data")
            if isinstance(data, dict) and data:
                return StatusResult(PostState.LIVE, code="0")
            return StatusResult(PostState.UNKNOWN, code="malformed", detail="code 0 without data")
        if code in GONE_CODES:
            return StatusResult(
                PostState.GONE, code=str(code), detail=f"{GONE_CODES[code]}: {message}".strip()
            )
        if code in BLOCKED_CODES:
            return StatusResult(PostState.UNKNOWN, code=str(code), detail=f"blocked, not gone: {message}")
        return StatusResult(PostState.UNKNOWN, code=str(code), detail=message)
