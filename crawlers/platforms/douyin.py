"""Douyin: keyword search in browser mode (the page signs and calls the API; we read its JSON answers).

Shapes and codes follow PLATFORMS.md (Douyin section). Every URL is built from `self.base_urls["www"]`, so the
same adapter drives the real site or the emulator mounted at "<emulator>/douyin".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import quote, urlencode, urlsplit

import orjson

from crawlers.platforms.base import (
    PINNED_PREFIX,
    Blocked,
    CommentsResult,
    FetchMode,
    Gone,
    LoginExpired,
    MalformedResponse,
    PlatformAdapter,
    PlatformError,
    PostState,
    ProfileResult,
    RateLimited,
    RequestSpec,
    SchemaChanged,
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

# Paths of the search endpoints the search page calls (general tab, video tab); any host prefix.
SEARCH_PATHS = (
    "/aweme/v1/web/general/search/single",
    "/aweme/v1/web/search/item",
)
DETAIL_PATH = "/aweme/v1/web/aweme/detail/"
# What the post page and the profile page request (any host prefix).
COMMENTS_PATH = "/aweme/v1/web/comment/list"
PROFILE_PATH = "/aweme/v1/web/user/profile/other"
STATUS_USER_GONE = 2053  # the account is gone or banned
STICK_PINNED = 1  # comment.stick_position of the comment the author pinned
AUTHOR_LABEL = "作者"  # comment.label_text of the post author's own comments
# Unverified: what the post page shows instead of a removed post (the emulator's markers follow these).
GONE_PAGE_MARKERS = ('data-e2e="video-not-found"', "你要观看的视频不存在", "作品已删除", "作品不存在")
WEB_APP_PARAMS = {"device_platform": "webapp", "aid": "6383"}

STATUS_OK = 0
STATUS_NOT_LOGGED_IN = 8
_LOGIN_WORDS = re.compile(r"登录|login", re.IGNORECASE)
NIL_TYPE_VERIFY = "verify_check"  # search needs a captcha / verification: blocked, not empty

# Hashtags written into desc: "#债务优化" up to the next space, "#" or "@".
_DESC_HASHTAG = re.compile(r"#([^\s#@]+)")

METRIC_KEYS = (
    ("digg_count", "likes"),
    ("comment_count", "comments"),
    ("share_count", "shares"),
    ("collect_count", "collects"),
    ("play_count", "plays"),
)


def split_desc(desc: str) -> tuple[str, str]:
    """(title, text) from a desc that holds both: title = the first line cut before its first hashtag."""
    text = desc.strip()
    first_line = text.split("\n", 1)[0].strip()
    title = first_line.split("#", 1)[0].strip()
    return (title or first_line), text


def hashtags_of(aweme: dict[str, Any], desc: str) -> list[str]:
    tags: list[str] = []
    for entry in aweme.get("text_extra") or []:
        if isinstance(entry, dict) and entry.get("hashtag_name"):
            tags.append(str(entry["hashtag_name"]).strip())
    tags.extend(_DESC_HASHTAG.findall(desc))
    return list(dict.fromkeys(tag for tag in tags if tag))


class DouyinAdapter(PlatformAdapter):
    name: ClassVar[str] = "douyin"
    mode: ClassVar[FetchMode] = FetchMode.BROWSER
    page_size: ClassVar[int] = 10
    needs_login: ClassVar[bool] = True
    # Re-check answers that mean blocked, not gone: HTTP 429, an empty body or the text "blocked", a detail
    # without aweme_detail or filter_detail (the verify-check answer), status_code 8 (not logged in).
    status_stop_codes: ClassVar[frozenset[str]] = frozenset(
        {"http_429", "empty_body", "blocked", "no_detail", str(STATUS_NOT_LOGGED_IN)})

    def __init__(self, base_urls: dict[str, str]):
        super().__init__(base_urls)
        if not base_urls.get("www"):
            raise ValueError(f"douyin: base_urls lacks 'www' (have {sorted(base_urls)})")

    @property
    def _www(self) -> str:
        return self.base_urls["www"].rstrip("/")

    # --- urls ------------------------------------------------------------------------------------------

    def search_page_url(self, keyword: str) -> str:
        return f"{self._www}/search/{quote(keyword, safe='')}?type=video"

    def is_search_response(self, url: str) -> bool:
        path = urlsplit(url).path.rstrip("/")
        return any(path.endswith(search_path) for search_path in SEARCH_PATHS)

    def post_url(self, platform_post_id: str, **extra: str) -> str:
        """`kind="note"` for image posts (their pages live under /note/), videos otherwise."""
        kind = "note" if extra.get("kind") == "note" else "video"
        return f"{self._www}/{kind}/{platform_post_id}"

    def author_url(self, platform_author_id: str) -> str:
        """Douyin profile pages are keyed by sec_uid (`MS4wLjABAAAA…`), not by the numeric uid."""
        return f"{self._www}/user/{platform_author_id}"

    # --- search ----------------------------------------------------------------------------------------

    def _envelope(self, status: int, body: bytes, headers: Mapping[str, Any] | None, *, what: str) -> dict[str, Any]:
        """The decoded JSON object with its `status_code`, or the specific error for what the web API answers
        a crawler it does not like (429, an empty body or the text "blocked", HTTP errors, non-JSON)."""
        if status == 429:
            raise RateLimited(
                self.name, f"{what}: HTTP 429", retry_after=parse_retry_after(headers), http_status=status
            )
        stripped = (body or b"").strip()
        if not stripped:
            raise Blocked(
                self.name, f"{what}: empty body (risk control)", code="empty_body", http_status=status
            )
        if stripped == b"blocked":
            raise Blocked(self.name, f"{what}: body 'blocked'", code="blocked", http_status=status)
        if status >= 400:
            raise PlatformError(self.name, f"{what}: HTTP {status}", http_status=status)
        try:
            payload = orjson.loads(stripped)
        except (ValueError, UnicodeDecodeError):
            raise MalformedResponse(
                self.name, f"{what}: body is not JSON: {stripped[:80]!r}", http_status=status
            ) from None
        if not isinstance(payload, dict):
            raise MalformedResponse(self.name, f"{what}: JSON is not an object", http_status=status)
        if "status_code" not in payload:
            raise SchemaChanged(self.name, f"{what} answer lacks 'status_code'", http_status=status)
        return payload

    def _raise_for_status_code(self, payload: dict[str, Any], status: int, what: str) -> None:
        status_code = payload["status_code"]
        if status_code == STATUS_OK:
            return
        message = str(payload.get("status_msg") or "")
        if status_code == STATUS_NOT_LOGGED_IN or _LOGIN_WORDS.search(message):
            raise LoginExpired(self.name, f"{what}: {message or 'not logged in'}", code=status_code)
        raise PlatformError(self.name, message or "non-zero status_code", code=status_code, http_status=status)

    def parse_search(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> PageResult:
        payload = self._envelope(status, body, headers, what="search")
        self._raise_for_status_code(payload, status, "search")

        data = payload.get("data")
        nil_info = payload.get("search_nil_info")
        nil_type = nil_info.get("search_nil_type") if isinstance(nil_info, dict) else None
        if not data and nil_type == NIL_TYPE_VERIFY:
            raise Blocked(
                self.name, "search needs verification (captcha)", code=NIL_TYPE_VERIFY, http_status=status
            )
        if not isinstance(data, list):
            raise SchemaChanged(self.name, "search answer lacks the list 'data'", http_status=status)
        has_more = payload.get("has_more")
        if as_int(has_more) is None and not isinstance(has_more, bool):
            raise SchemaChanged(self.name, f"search answer lacks has_more (0/1): {has_more!r}")

        posts: list[PostRecord] = []
        seen: set[str] = set()
        for index, entry in enumerate(data):
            where = f"data[{index}]"
            if not isinstance(entry, dict):
                raise SchemaChanged(self.name, f"{where} is not an object")
            awemes: list[tuple[str, Any]] = []
            if entry.get("aweme_info") is not None:
                awemes.append((f"{where}.aweme_info", entry["aweme_info"]))
            mix = entry.get("aweme_mix_info")
            if mix is not None:
                items = mix.get("mix_items") if isinstance(mix, dict) else None
                if not isinstance(items, list):
                    raise SchemaChanged(self.name, f"{where}.aweme_mix_info lacks the list 'mix_items'")
                awemes.extend(
                    (f"{where}.aweme_mix_info.mix_items[{i}]", item) for i, item in enumerate(items)
                )
            # Entries with neither are user cards, topics, related searches ...: not posts.
            for aweme_where, aweme in awemes:
                post = self._post_from_aweme(aweme, aweme_where)
                if post.platform_post_id not in seen:
                    seen.add(post.platform_post_id)
                    posts.append(post)

        extra: dict[str, str] = {}
        if isinstance(payload.get("extra"), dict) and payload["extra"].get("logid"):
            extra["logid"] = str(payload["extra"]["logid"])
        if isinstance(payload.get("log_pb"), dict) and payload["log_pb"].get("impr_id"):
            extra["impr_id"] = str(payload["log_pb"]["impr_id"])
        cursor = payload.get("cursor")
        return PageResult(
            posts=posts,
            has_more=bool(has_more),
            cursor="" if cursor is None else str(cursor),
            extra=extra,
        )

    def _post_from_aweme(self, aweme: Any, where: str) -> PostRecord:
        if not isinstance(aweme, dict):
            raise SchemaChanged(self.name, f"{where} is not an object")
        if aweme.get("aweme_id") in (None, ""):
            raise SchemaChanged(self.name, f"{where} lacks 'aweme_id'")
        aweme_id = str(aweme["aweme_id"])
        desc = str(aweme.get("desc") or "")
        title, text = split_desc(desc)

        create_time = aweme.get("create_time")
        published_at = None
        if create_time not in (None, 0, ""):
            if as_int(create_time) is None:
                raise SchemaChanged(self.name, f"{where}.create_time is not unix seconds: {create_time!r}")
            published_at = utc_from_seconds(create_time)

        statistics = aweme.get("statistics") or {}
        if not isinstance(statistics, dict):
            raise SchemaChanged(self.name, f"{where}.statistics is not an object")
        metrics = {}
        for source, target in METRIC_KEYS:
            value = as_int(statistics.get(source))
            if value is not None:
                metrics[target] = value

        images = aweme.get("images")
        is_note = isinstance(images, list) and len(images) > 0
        return PostRecord(
            platform=self.name,
            platform_post_id=aweme_id,
            url=self.post_url(aweme_id, kind="note" if is_note else "video"),
            title=title,
            text=text,
            hashtags=hashtags_of(aweme, desc),
            published_at=published_at,
            metrics=metrics,
            author=self._author(aweme.get("author"), f"{where}.author"),
            raw=aweme,
        )

    def _author(self, author: Any, where: str) -> AuthorRecord:
        if not isinstance(author, dict):
            raise SchemaChanged(self.name, f"{where} is missing")
        if author.get("uid") in (None, ""):
            raise SchemaChanged(self.name, f"{where} lacks 'uid'")
        sec_uid = str(author.get("sec_uid") or "")
        return AuthorRecord(
            platform=self.name,
            platform_author_id=str(author["uid"]),
            nickname=str(author.get("nickname") or ""),
            bio=str(author.get("signature") or ""),  # unverified whether search results carry it
            url=self.author_url(sec_uid) if sec_uid else "",
            extra={"sec_uid": sec_uid, "unique_id": str(author.get("unique_id") or "")},
        )

    # --- comments and profile (browser mode: the post page and the profile page ask for them) ------------

    def comments_page_url(self, platform_post_id: str, raw: Mapping[str, Any]) -> str:
        images = raw.get("images")
        return self.post_url(platform_post_id, kind="note" if isinstance(images, list) and images else "video")

    def is_comments_response(self, url: str) -> bool:
        return urlsplit(url).path.rstrip("/").endswith(COMMENTS_PATH)

    def profile_page_url(self, platform_author_id: str, extra: Mapping[str, Any]) -> str:
        sec_uid = str(extra.get("sec_uid") or "")
        if not sec_uid:
            raise ValueError(f"douyin: author {platform_author_id}: no sec_uid stored (profile pages need it)")
        return self.author_url(sec_uid)

    def is_profile_response(self, url: str) -> bool:
        return urlsplit(url).path.rstrip("/").endswith(PROFILE_PATH)

    def page_gone(self, html: str) -> Gone | None:
        for marker in GONE_PAGE_MARKERS:
            if marker in html:
                return Gone(self.name, f"the post page shows it is gone ({marker})", code="gone_page")
        return None

    def _blocked_by_verify(self, payload: dict[str, Any], status: int, what: str) -> None:
        nil_info = payload.get("search_nil_info")
        if isinstance(nil_info, dict) and nil_info.get("search_nil_type") == NIL_TYPE_VERIFY:
            raise Blocked(self.name, f"{what} needs verification (captcha)", code=NIL_TYPE_VERIFY, http_status=status)

    def parse_comments(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> CommentsResult:
        payload = self._envelope(status, body, headers, what="comments")
        self._raise_for_status_code(payload, status, "comments")
        self._blocked_by_verify(payload, status, "comments")
        if "comments" not in payload:
            raise SchemaChanged(self.name, "comments answer lacks 'comments'", http_status=status)
        items = payload["comments"] or []  # null when the post has none
        if not isinstance(items, list):
            raise SchemaChanged(self.name, "comments answer's 'comments' is not a list", http_status=status)
        comments: list[str] = []
        seen: set[str] = set()

        def add(item: Any, where: str) -> None:
            if not isinstance(item, dict):
                raise SchemaChanged(self.name, f"{where} is not an object", http_status=status)
            text = item.get("text")
            if not isinstance(text, str):
                raise SchemaChanged(self.name, f"{where} lacks 'text'", http_status=status)
            cid = str(item.get("cid") or "")
            if cid and cid in seen:
                return
            seen.add(cid)
            if text.strip():
                comments.append(render_comment(text, pinned=item.get("stick_position") == STICK_PINNED,
                                               by_author=item.get("label_text") == AUTHOR_LABEL))
            replies = item.get("reply_comment") or []  # the first replies, shown under the comment
            if not isinstance(replies, list):
                raise SchemaChanged(self.name, f"{where}.reply_comment is not a list", http_status=status)
            for k, reply in enumerate(replies):
                add(reply, f"{where}.reply_comment[{k}]")

        for index, item in enumerate(items):
            add(item, f"comments[{index}]")
        # Pinned first whatever the order of the answer: the scorer and the reviewers read the top ones.
        comments.sort(key=lambda c: not c.startswith(PINNED_PREFIX))
        return CommentsResult(comments, total=as_int(payload.get("total")))

    def parse_profile(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> ProfileResult:
        payload = self._envelope(status, body, headers, what="profile")
        if payload["status_code"] == STATUS_USER_GONE:
            raise Gone(self.name, f"profile: {payload.get('status_msg') or 'account gone or banned'}",
                       code=STATUS_USER_GONE, http_status=status)
        self._raise_for_status_code(payload, status, "profile")
        self._blocked_by_verify(payload, status, "profile")
        if "user" not in payload:
            raise SchemaChanged(self.name, "profile answer lacks 'user'", http_status=status)
        user = payload["user"]
        if not user:  # null or {}: the account is gone
            raise Gone(self.name, "profile: empty user (account gone)", code="empty_user", http_status=status)
        if not isinstance(user, dict):
            raise SchemaChanged(self.name, "profile 'user' is not an object", http_status=status)
        if user.get("uid") in (None, ""):
            raise SchemaChanged(self.name, "profile user lacks 'uid'", http_status=status)
        signature = user.get("signature")
        if signature is not None and not isinstance(signature, str):
            raise SchemaChanged(self.name, "profile user.signature is not a string", http_status=status)
        return ProfileResult(
            platform_author_id=str(user["uid"]),
            nickname=str(user.get("nickname") or ""),
            bio=(signature or "").strip(),
            extra={"sec_uid": str(user.get("sec_uid") or ""), "unique_id": str(user.get("unique_id") or "")},
        )

    # --- status ----------------------------------------------------------------------------------------

    def status_request(self, platform_post_id: str) -> RequestSpec:
        query = urlencode({"aweme_id": platform_post_id, **WEB_APP_PARAMS})
        return RequestSpec(
            url=f"{self._www}{DETAIL_PATH}?{query}",
            headers={
                "User-Agent": USER_AGENT,
                "Referer": f"{self._www}/",
                "Accept": "application/json, text/plain, */*",
            },
            name="status",
        )

    def parse_status(self, status: int, body: bytes) -> StatusResult:
        stripped = (body or b"").strip()
        if status == 429 or status >= 500:
            return StatusResult(PostState.UNKNOWN, code=f"http_{status}")
        if not stripped:
            return StatusResult(PostState.UNKNOWN, code="empty_body", detail="blocked, not gone")
        if stripped == b"blocked":
            return StatusResult(PostState.UNKNOWN, code="blocked", detail="blocked, not gone")
        try:
            payload = orjson.loads(stripped)
        except (ValueError, UnicodeDecodeError):
            return StatusResult(
                PostState.UNKNOWN, code="malformed", detail=f"HTTP {status}, body is not JSON"
            )
        if not isinstance(payload, dict) or "status_code" not in payload:
            return StatusResult(PostState.UNKNOWN, code="malformed", detail="no status_code")
        status_code = payload["status_code"]
        if status_code != STATUS_OK:
            return StatusResult(
                PostState.UNKNOWN, code=str(status_code), detail=str(payload.get("status_msg") or "")
            )
        if isinstance(payload.get("aweme_detail"), dict):
            return StatusResult(PostState.LIVE, code="0")
        filter_detail = payload.get("filter_detail")
        if isinstance(filter_detail, dict):
            # Unverified (PLATFORMS.md): which filter_reason values mean "deleted" and which "private" or
            # "under review" is not known; every one is recorded as GONE with the reason kept as the code.
            reason = str(filter_detail.get("filter_reason") or "filtered")
            detail = str(filter_detail.get("detail_msg") or filter_detail.get("notice") or "")
            return StatusResult(PostState.GONE, code=reason, detail=detail)
        return StatusResult(
            PostState.UNKNOWN, code="no_detail", detail="aweme_detail missing without filter_detail"
        )
