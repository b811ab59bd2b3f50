"""BilibiliAdapter against fixture bytes shaped like PLATFORMS.md (Bilibili section)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from crawlers.platforms.base import (
    AdapterError,
    Blocked,
    FetchMode,
    MalformedResponse,
    PlatformError,
    PostState,
    RateLimited,
    SchemaChanged,
    SignatureRejected,
)
from crawlers.platforms.bilibili import BilibiliAdapter, WbiKeysMissing
from crawlers.platforms.wbi import encode_query, sign_params
from takedown.records import AuthorRecord
from takedown.settings import REAL_BASE_URLS, Settings

FIXTURES = Path(__file__).parent / "fixtures"
IMG_KEY = "7cd084941338484aae1ad9425b84077c"
SUB_KEY = "4932caff0ff746eab6f01bf08b70ac45"
EMULATED = "http://127.0.0.1:9/bilibili"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> Any:
    return json.loads(fixture_bytes(name))


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


def make_adapter(base_urls: dict[str, str] | None = None, **kwargs: Any) -> BilibiliAdapter:
    return BilibiliAdapter(
        dict(base_urls or REAL_BASE_URLS["bilibili"]), clock=lambda: 1702204169.7, **kwargs
    )


@pytest.fixture
def adapter() -> BilibiliAdapter:
    a = make_adapter()
    a.on_warmup("nav", 200, fixture_bytes("bilibili_nav_visitor.json"))
    return a


# --- class facts and urls ---------------------------------------------------------------------------------


def test_class_facts():
    assert BilibiliAdapter.name == "bilibili"
    assert BilibiliAdapter.mode is FetchMode.API
    assert BilibiliAdapter.page_size == 20
    assert BilibiliAdapter.needs_login is False


def test_urls_on_the_real_hosts(adapter: BilibiliAdapter):
    assert adapter.post_url("BV1Px4y1T7Qa") == "https://www.bilibili.com/video/BV1Px4y1T7Qa"
    assert adapter.author_url("488712306") == "https://space.bilibili.com/488712306"
    assert adapter.status_request("BV1Px4y1T7Qa").url == (
        "https://api.bilibili.com/x/web-interface/view?bvid=BV1Px4y1T7Qa"
    )


def test_every_url_stays_under_the_emulator():
    a = make_adapter(Settings(emulator_url="http://127.0.0.1:9/").platform_base_urls("bilibili"))
    assert a.base_urls == {"api": EMULATED, "www": EMULATED, "space": EMULATED}
    warmups = a.warmup_requests()
    a.on_warmup("nav", 200, fixture_bytes("bilibili_nav_visitor.json"))
    search = a.search_request("停息挂账", 1, "")
    urls = [r.url for r in warmups] + [search.url, a.status_request("BV1oM4m1y7Zk").url]
    urls += [a.post_url("BV1oM4m1y7Zk"), a.author_url("488712306")]
    assert urls[0] == f"{EMULATED}/"
    assert urls[1] == f"{EMULATED}/x/web-interface/nav"
    assert search.url.startswith(f"{EMULATED}/x/web-interface/wbi/search/type?")
    assert all(url.startswith(EMULATED + "/") for url in urls), urls
    assert search.headers["Referer"] == f"{EMULATED}/"
    page = a.parse_search(200, fixture_bytes("bilibili_search_page1.json"), {})
    assert all(p.url.startswith(EMULATED + "/video/") for p in page.posts)
    assert all(p.author and p.author.url.startswith(EMULATED + "/") for p in page.posts)


def test_missing_base_url_is_refused():
    with pytest.raises(ValueError, match="space"):
        BilibiliAdapter({"api": "https://api.bilibili.com", "www": "https://www.bilibili.com"})


# --- warmup -----------------------------------------------------------------------------------------------


def test_warmup_requests_home_then_nav():
    home, nav = make_adapter().warmup_requests()
    assert (home.name, home.url, home.method) == ("home", "https://www.bilibili.com/", "GET")
    assert (nav.name, nav.url) == ("nav", "https://api.bilibili.com/x/web-interface/nav")
    assert "Mozilla" in nav.headers["User-Agent"]


def test_nav_for_a_visitor_code_minus_101_still_gives_the_keys():
    a = make_adapter()
    a.on_warmup("home", 200, b"<!DOCTYPE html><html>...</html>")  # ignored: only sets cookies
    assert not a.has_wbi_keys
    a.on_warmup("nav", 200, fixture_bytes("bilibili_nav_visitor.json"))
    assert (a.img_key, a.sub_key) == (IMG_KEY, SUB_KEY)


def test_nav_without_wbi_img_is_a_schema_change():
    with pytest.raises(SchemaChanged, match="wbi_img"):
        make_adapter().on_warmup("nav", 200, fixture_bytes("bilibili_nav_no_wbi.json"))


def test_nav_with_unusable_key_urls_is_a_schema_change():
    payload = fixture_json("bilibili_nav_visitor.json")
    payload["data"]["wbi_img"]["sub_url"] = "https://i0.hdslb.com/bfs/wbi/short.png"
    with pytest.raises(SchemaChanged, match="unusable"):
        make_adapter().on_warmup("nav", 200, dumps(payload))


@pytest.mark.parametrize(
    ("status", "body", "error", "code"),
    [
        (200, b"<html>nope</html>", MalformedResponse, None),
        (200, dumps({"code": -412, "message": "请求被拦截", "ttl": 1}), Blocked, "-412"),
        (412, b"<html>412</html>", Blocked, None),
    ],
)
def test_nav_failures(status: int, body: bytes, error: type[AdapterError], code: str | None):
    with pytest.raises(error) as info:
        make_adapter().on_warmup("nav", status, body)
    assert type(info.value) is error
    assert info.value.code == code


# --- search request ---------------------------------------------------------------------------------------


def test_search_before_nav_keys_is_a_clear_error():
    with pytest.raises(WbiKeysMissing, match="on_warmup"):
        make_adapter().search_request("停息挂账", 1, "")


def test_search_request_is_signed_with_the_documented_params(adapter: BilibiliAdapter):
    spec = adapter.search_request("停息挂账 协商", 2, "2")
    parts = urlsplit(spec.url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "api.bilibili.com",
        "/x/web-interface/wbi/search/type",
    )
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    assert params == {
        "keyword": "停息挂账 协商",
        "order": "",
        "page": "2",
        "page_size": "20",
        "search_type": "video",
        "wts": "1702204169",
        "w_rid": params["w_rid"],
    }
    unsigned = {k: v for k, v in params.items() if k not in ("wts", "w_rid")}
    expected = sign_params(unsigned, IMG_KEY, SUB_KEY, wts=1702204169)
    assert params["w_rid"] == expected["w_rid"]
    assert parts.query == encode_query(expected)  # %20 for the space, upper-case escapes, no "+"
    assert "%20" in parts.query and "+" not in parts.query
    assert spec.method == "GET" and spec.name == "search"
    assert spec.headers["Referer"] == "https://www.bilibili.com/"
    assert "Mozilla" in spec.headers["User-Agent"]


def test_search_order_and_publish_window_are_configurable():
    a = make_adapter(order="pubdate", pubtime_begin_s=1704067200, pubtime_end_s=1706745599)
    a.on_warmup("nav", 200, fixture_bytes("bilibili_nav_visitor.json"))
    params = dict(parse_qsl(urlsplit(a.search_request("征信修复", 1, "").url).query, keep_blank_values=True))
    assert params["order"] == "pubdate"
    assert params["pubtime_begin_s"] == "1704067200"
    assert params["pubtime_end_s"] == "1706745599"


def test_unknown_order_is_refused():
    with pytest.raises(ValueError, match="order"):
        make_adapter(order="hottest")


# --- search parsing ---------------------------------------------------------------------------------------


def test_full_field_mapping_of_a_result_page(adapter: BilibiliAdapter):
    page = adapter.parse_search(200, fixture_bytes("bilibili_search_page1.json"), {})
    assert page.has_more is True
    assert page.cursor == "2"
    assert page.total == 47
    # the "ketang" entry is not a video and is skipped
    assert [p.platform_post_id for p in page.posts] == ["BV1Px4y1T7Qa", "BV1oM4m1y7Zk", "BV1Lw4m1e7Xy"]

    first = page.posts[0]
    assert first.platform == "bilibili"
    assert first.url == "https://www.bilibili.com/video/BV1Px4y1T7Qa"
    assert first.title == "网贷逾期别慌！停息挂账&个性化分期全流程，三天出方案"
    assert first.text == '手把手教你和银行协商还款，"专业团队"一对一服务，私信领取资料 V：lc-shangan2024'
    assert first.hashtags == ["停息挂账", "个性化分期", "网贷逾期", "信用卡逾期协商"]
    assert first.published_at == datetime(2024, 6, 14, 2, 40, 0)
    assert first.published_at.tzinfo is None
    assert first.metrics == {"play": 18342, "comments": 214, "favorites": 903, "danmaku": 57, "like": 1276}
    assert first.author == AuthorRecord(
        platform="bilibili",
        platform_author_id="3546611873762164",
        nickname="上岸的老陈&债务规划",
        url="https://space.bilibili.com/3546611873762164",
    )
    assert first.raw["aid"] == 1655372841 and first.raw["bvid"] == "BV1Px4y1T7Qa"

    second = page.posts[1]
    assert second.title == "屏蔽催收电话的三个方法，第二个最管用"
    assert second.text == "被催收爆通讯录怎么办？评论区扣1，免费帮你代理投诉"
    assert second.published_at == datetime(2024, 1, 1, 0, 0, 0)
    assert "like" not in second.metrics
    assert second.author is not None and second.author.platform_author_id == "488712306"

    third = page.posts[2]
    assert third.title == "征信花了还能贷款吗？征信修复真相"  # numeric entity unescaped
    assert third.text == ""
    assert third.hashtags == []
    assert third.published_at == datetime(2024, 12, 31, 23, 59, 59)
    assert "play" not in third.metrics  # "--" placeholder is not a count
    assert third.metrics["favorites"] == 12

    for post in page.posts:
        assert isinstance(post.platform_post_id, str)
        assert post.author is not None and isinstance(post.author.platform_author_id, str)
        assert "<em" not in post.title and "&amp;" not in post.title


def test_last_page_has_no_more(adapter: BilibiliAdapter):
    page = adapter.parse_search(200, fixture_bytes("bilibili_search_last_page.json"), {})
    assert page.has_more is False
    assert page.cursor == ""
    assert [p.title for p in page.posts] == ["负债50万如何停息挂账？我的亲身经历"]


def test_empty_result_list_is_an_empty_page(adapter: BilibiliAdapter):
    payload = fixture_json("bilibili_search_last_page.json")
    payload["data"].update(result=[], numResults=0, numPages=0, page=1)
    page = adapter.parse_search(200, dumps(payload), {})
    assert page.posts == [] and page.has_more is False and page.total == 0


def test_wrong_signature_answer_is_signature_rejected(adapter: BilibiliAdapter):
    with pytest.raises(SignatureRejected) as info:
        adapter.parse_search(200, fixture_bytes("bilibili_search_v_voucher.json"), {})
    assert info.value.code == "v_voucher"
    assert info.value.stops_crawl


@pytest.mark.parametrize(
    ("code", "error"),
    [("-412", Blocked), ("-352", Blocked), ("-400", PlatformError), ("-799", PlatformError)],
)
def test_error_codes(adapter: BilibiliAdapter, code: str, error: type[AdapterError]):
    body = dumps(fixture_json("bilibili_search_errors.json")[code])
    with pytest.raises(error) as info:
        adapter.parse_search(200, body, {})
    assert type(info.value) is error
    assert info.value.code == code
    assert fixture_json("bilibili_search_errors.json")[code]["message"] in info.value.message


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (
            412,
            b"<html><body>The request was rejected because of the bilibili security control policy.</body></html>",
            Blocked,
        ),
        (502, b"<html>502 Bad Gateway</html>", PlatformError),
        (503, b"", PlatformError),
        (404, b"<html>404</html>", PlatformError),
    ],
)
def test_http_errors(adapter: BilibiliAdapter, status: int, body: bytes, error: type[AdapterError]):
    with pytest.raises(error) as info:
        adapter.parse_search(status, body, {})
    assert type(info.value) is error
    assert info.value.http_status == status


@pytest.mark.parametrize(
    ("headers", "retry_after"),
    [({"Retry-After": "30"}, 30.0), ({"retry-after": "7"}, 7.0), ({}, None), ({"Retry-After": "soon"}, None)],
)
def test_http_429_is_rate_limited_with_retry_after(
    adapter: BilibiliAdapter, headers: dict, retry_after: float | None
):
    with pytest.raises(RateLimited) as info:
        adapter.parse_search(429, b"", headers)
    assert info.value.retry_after == retry_after
    assert info.value.http_status == 429
    assert info.value.stops_crawl


def test_retry_after_as_http_date(adapter: BilibiliAdapter):
    with pytest.raises(RateLimited) as info:
        adapter.parse_search(429, b"", {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert info.value.retry_after == 0.0  # a date in the past means "now"


@pytest.mark.parametrize("body", [b"<!DOCTYPE html><html>captcha</html>", b'{"code": 0, "data": ', b"[1, 2]"])
def test_non_json_is_malformed(adapter: BilibiliAdapter, body: bytes):
    with pytest.raises(MalformedResponse):
        adapter.parse_search(200, body, {})


def _page_with(mutate) -> bytes:
    payload = fixture_json("bilibili_search_page1.json")
    mutate(payload)
    return dumps(payload)


@pytest.mark.parametrize(
    ("mutate", "named"),
    [
        (lambda p: p["data"].pop("result"), "data.result"),
        (lambda p: p["data"].update(result={"video": []}), "data.result"),
        (lambda p: p.update(data=None), "data"),
        (lambda p: p.pop("code"), "code"),
        (lambda p: p["data"].pop("numPages"), "data.numPages"),
        (lambda p: p["data"].pop("page"), "data.page"),
        (lambda p: p["data"]["result"][0].pop("bvid"), "data.result[0] lacks 'bvid'"),
        (lambda p: p["data"]["result"][2].pop("title"), "data.result[2] lacks 'title'"),
        (lambda p: p["data"]["result"][3].pop("mid"), "data.result[3] lacks 'mid'"),
        (lambda p: p["data"]["result"][0].pop("type"), "data.result[0] lacks 'type'"),
        (lambda p: p["data"]["result"][0].update(pubdate="2024-06-14"), "pubdate"),
    ],
)
def test_schema_changes_name_the_key(adapter: BilibiliAdapter, mutate, named: str):
    with pytest.raises(SchemaChanged) as info:
        adapter.parse_search(200, _page_with(mutate), {})
    assert named in info.value.message


# --- status -----------------------------------------------------------------------------------------------


def test_status_live(adapter: BilibiliAdapter):
    result = adapter.parse_status(200, fixture_bytes("bilibili_view_live.json"))
    assert result.state is PostState.LIVE
    assert result.code == "0"


@pytest.mark.parametrize("code", ["-404", "62002", "62004", "62012", "-403"])
def test_status_gone_codes(adapter: BilibiliAdapter, code: str):
    result = adapter.parse_status(200, dumps(fixture_json("bilibili_view_errors.json")[code]))
    assert result.state is PostState.GONE
    assert result.code == code
    assert fixture_json("bilibili_view_errors.json")[code]["message"] in result.detail


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (200, dumps(fixture_json("bilibili_view_errors.json")["-412"]), "-412"),
        (200, dumps(fixture_json("bilibili_view_errors.json")["-352"]), "-352"),
        (412, b"<html>412</html>", "http_412"),
        (429, b"", "http_429"),
        (500, b"", "http_500"),
        (200, b"<html>not json</html>", "malformed"),
        (200, b"[]", "malformed"),
        (200, dumps({"code": 0, "message": "0", "ttl": 1}), "malformed"),
        (200, dumps({"code": -400, "message": "请求错误", "ttl": 1}), "-400"),
    ],
)
def test_status_unknown_when_blocked_or_malformed(
    adapter: BilibiliAdapter, status: int, body: bytes, code: str
):
    result = adapter.parse_status(status, body)
    assert result.state is PostState.UNKNOWN
    assert result.code == code
