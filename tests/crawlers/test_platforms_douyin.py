"""DouyinAdapter against fixture bytes shaped like PLATFORMS.md (Douyin section)."""

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
    LoginExpired,
    MalformedResponse,
    PlatformError,
    PostState,
    RateLimited,
    SchemaChanged,
)
from crawlers.platforms.douyin import DouyinAdapter
from takedown.records import AuthorRecord
from takedown.settings import REAL_BASE_URLS, Settings

FIXTURES = Path(__file__).parent / "fixtures"
EMULATED = "http://127.0.0.1:9/douyin"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> Any:
    return json.loads(fixture_bytes(name))


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


@pytest.fixture
def adapter() -> DouyinAdapter:
    return DouyinAdapter(dict(REAL_BASE_URLS["douyin"]))


def test_class_facts():
    assert DouyinAdapter.name == "douyin"
    assert DouyinAdapter.mode is FetchMode.BROWSER
    assert DouyinAdapter.needs_login is True
    assert DouyinAdapter.page_size == 10


# --- urls -------------------------------------------------------------------------------------------------


def test_search_page_url_percent_encodes_the_keyword(adapter: DouyinAdapter):
    assert adapter.search_page_url("停息挂账") == (
        "https://www.douyin.com/search/%E5%81%9C%E6%81%AF%E6%8C%82%E8%B4%A6?type=video"
    )
    assert adapter.search_page_url("a b/c") == "https://www.douyin.com/search/a%20b%2Fc?type=video"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.douyin.com/aweme/v1/web/general/search/single/?keyword=x&offset=0&count=10", True),
        ("https://www.douyin.com/aweme/v1/web/search/item/?search_channel=aweme_video_web&keyword=x", True),
        ("http://127.0.0.1:9/douyin/aweme/v1/web/general/search/single/?offset=10", True),
        ("http://127.0.0.1:9/douyin/aweme/v1/web/search/item?offset=10", True),
        ("https://www.douyin.com/aweme/v1/web/aweme/detail/?aweme_id=7381926453017423155", False),
        ("https://www.douyin.com/aweme/v1/web/search/sug/?keyword=x", False),
        ("https://www.douyin.com/search/%E5%81%9C?type=video", False),
        ("https://lf-security.bytegoofy.com/obj/x/general/search/single/x.js", False),
    ],
)
def test_is_search_response(adapter: DouyinAdapter, url: str, expected: bool):
    assert adapter.is_search_response(url) is expected


def test_status_request(adapter: DouyinAdapter):
    spec = adapter.status_request("7381926453017423155")
    parts = urlsplit(spec.url)
    assert (
        f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://www.douyin.com/aweme/v1/web/aweme/detail/"
    )
    assert dict(parse_qsl(parts.query)) == {
        "aweme_id": "7381926453017423155",
        "device_platform": "webapp",
        "aid": "6383",
    }
    assert spec.headers["Referer"] == "https://www.douyin.com/"


def test_every_url_stays_under_the_emulator():
    a = DouyinAdapter(Settings(emulator_url="http://127.0.0.1:9").platform_base_urls("douyin"))
    assert a.search_page_url("征信修复").startswith(f"{EMULATED}/search/")
    assert a.status_request("7381926453017423155").url.startswith(f"{EMULATED}/aweme/v1/web/aweme/detail/?")
    page = a.parse_search(200, fixture_bytes("douyin_general_search.json"), {})
    for post in page.posts:
        assert post.url.startswith(EMULATED + "/")
        assert post.author is not None and post.author.url.startswith(f"{EMULATED}/user/MS4wLjABAAAA")


def test_post_and_author_urls(adapter: DouyinAdapter):
    assert adapter.post_url("7381926453017423155") == "https://www.douyin.com/video/7381926453017423155"
    assert (
        adapter.post_url("7401150038827765019", kind="note")
        == "https://www.douyin.com/note/7401150038827765019"
    )
    assert adapter.author_url("MS4wLjABAAAAx") == "https://www.douyin.com/user/MS4wLjABAAAAx"


# --- search parsing ---------------------------------------------------------------------------------------


def test_full_field_mapping_of_the_general_search(adapter: DouyinAdapter):
    page = adapter.parse_search(200, fixture_bytes("douyin_general_search.json"), {})
    assert page.has_more is True
    assert page.cursor == "10"
    assert page.extra == {
        "logid": "2025010608304512A7C1F5E9D0B3A6C2E8",
        "impr_id": "2025010608304512A7C1F5E9D0B3A6C2E8",
    }
    # user card and related words skipped; the mix's two items flattened in place
    assert [p.platform_post_id for p in page.posts] == [
        "7381926453017423155",
        "7392018845512273162",
        "7392544102938471230",
        "7401150038827765019",
    ]

    video = page.posts[0]
    assert video.platform == "douyin"
    assert video.url == "https://www.douyin.com/video/7381926453017423155"
    assert video.title == "信用卡逾期了怎么办？教你三步停息挂账"
    assert video.text == (
        "信用卡逾期了怎么办？教你三步停息挂账\n专业团队一对一协商，成功后收费 #停息挂账 #信用卡逾期协商 #债务优化"
    )
    assert video.hashtags == ["停息挂账", "信用卡逾期协商", "债务优化"]
    assert video.published_at == datetime(2024, 6, 14, 2, 40, 0)
    assert video.published_at.tzinfo is None
    assert video.metrics == {"likes": 9021, "comments": 412, "shares": 287, "collects": 1532, "plays": 0}
    assert video.author == AuthorRecord(
        platform="douyin",
        platform_author_id="84936502137",
        nickname="债务规划师-阿杰",
        bio="专注债务优化8年｜停息挂账｜个性化分期\n咨询V：aj-zhaiwu88",
        url="https://www.douyin.com/user/MS4wLjABAAAAk3x9Qp2mZr7LwN5vT8yB1cD4eF6gH0iJ2kL3mN4oP5q",
        extra={
            "sec_uid": "MS4wLjABAAAAk3x9Qp2mZr7LwN5vT8yB1cD4eF6gH0iJ2kL3mN4oP5q",
            "unique_id": "aj_zhaiwu",
        },
    )
    assert video.raw["ip_label"] == "广东"

    mix_first, mix_second = page.posts[1], page.posts[2]
    assert mix_first.url == "https://www.douyin.com/video/7392018845512273162"  # images == [] is not a note
    assert mix_first.title == "负债上岸第1集：我是怎么跟网贷平台协商的"
    assert mix_first.hashtags == ["负债上岸", "协商还款"]
    assert mix_first.published_at == datetime(2024, 1, 1, 0, 0, 0)
    assert mix_first.author is not None
    assert mix_first.author.platform_author_id == "100293847561"  # a numeric uid becomes a string
    assert mix_first.author.bio == ""
    assert mix_second.title == mix_second.text == "负债上岸第2集：屏蔽催收电话实操"
    assert mix_second.hashtags == []

    note = page.posts[3]
    assert note.url == "https://www.douyin.com/note/7401150038827765019"
    # desc starts with hashtags: the title falls back to the whole first line
    assert note.title == note.text == "#征信修复 #征信洗白 征信花了别着急，逾期记录可以申诉删除，评论区扣1"
    assert note.hashtags == ["征信修复", "征信洗白"]
    assert note.published_at == datetime(2024, 12, 31, 23, 59, 59)

    for post in page.posts:
        assert isinstance(post.platform_post_id, str)
        assert post.author is not None and isinstance(post.author.platform_author_id, str)


def test_hashtags_from_desc_without_text_extra(adapter: DouyinAdapter):
    payload = fixture_json("douyin_general_search.json")
    payload["data"][0]["aweme_info"].pop("text_extra")
    payload["data"][0]["aweme_info"]["desc"] = "协商还款找我们 #停息挂账#债务优化 @小助手 #停息挂账"
    page = adapter.parse_search(200, dumps(payload), {})
    assert page.posts[0].title == "协商还款找我们"
    assert page.posts[0].hashtags == ["停息挂账", "债务优化"]


def test_video_tab_last_page(adapter: DouyinAdapter):
    page = adapter.parse_search(200, fixture_bytes("douyin_video_tab_last.json"), {})
    assert page.has_more is False
    assert page.cursor == "20"
    assert page.extra["logid"] == "20250106083121C0FFEE0123456789ABCD"
    assert [(p.platform_post_id, p.metrics["plays"]) for p in page.posts] == [("7420011223344556677", 1200)]


def test_empty_result_without_verify_is_an_empty_page(adapter: DouyinAdapter):
    payload = fixture_json("douyin_verify_check.json")
    payload.pop("search_nil_info")
    page = adapter.parse_search(200, dumps(payload), {})
    assert page.posts == [] and page.has_more is False


def test_verify_check_is_blocked(adapter: DouyinAdapter):
    with pytest.raises(Blocked) as info:
        adapter.parse_search(200, fixture_bytes("douyin_verify_check.json"), {})
    assert type(info.value) is Blocked
    assert info.value.code == "verify_check"
    assert info.value.stops_crawl


@pytest.mark.parametrize(
    ("body", "code"), [(b"", "empty_body"), (b"  \n", "empty_body"), (b"blocked", "blocked")]
)
def test_empty_or_blocked_body_is_blocked(adapter: DouyinAdapter, body: bytes, code: str):
    with pytest.raises(Blocked) as info:
        adapter.parse_search(200, body, {})
    assert type(info.value) is Blocked
    assert info.value.code == code


def test_not_logged_in_is_login_expired(adapter: DouyinAdapter):
    with pytest.raises(LoginExpired) as info:
        adapter.parse_search(200, fixture_bytes("douyin_not_logged_in.json"), {})
    assert info.value.code == "8"
    assert info.value.stops_crawl


@pytest.mark.parametrize("message", ["登录已过期，请重新登录", "Login required"])
def test_login_messages_are_login_expired(adapter: DouyinAdapter, message: str):
    body = dumps({"status_code": 2483, "status_msg": message})
    with pytest.raises(LoginExpired) as info:
        adapter.parse_search(200, body, {})
    assert info.value.code == "2483"


def test_other_status_codes_are_platform_errors(adapter: DouyinAdapter):
    with pytest.raises(PlatformError) as info:
        adapter.parse_search(200, dumps({"status_code": 2154, "status_msg": "操作太频繁，请稍后再试"}), {})
    assert type(info.value) is PlatformError
    assert info.value.code == "2154"
    assert "操作太频繁" in info.value.message


def test_http_429_is_rate_limited(adapter: DouyinAdapter):
    with pytest.raises(RateLimited) as info:
        adapter.parse_search(429, b"", {"Retry-After": "120"})
    assert info.value.retry_after == 120.0


def test_http_5xx_is_a_platform_error(adapter: DouyinAdapter):
    with pytest.raises(PlatformError) as info:
        adapter.parse_search(503, b"<html>Service Unavailable</html>", {})
    assert info.value.http_status == 503


@pytest.mark.parametrize(
    "body", ["<!DOCTYPE html><html>验证码</html>".encode(), b'{"status_code": 0, "data": [', b"[]"]
)
def test_non_json_is_malformed(adapter: DouyinAdapter, body: bytes):
    with pytest.raises(MalformedResponse):
        adapter.parse_search(200, body, {})


def _general_with(mutate) -> bytes:
    payload = fixture_json("douyin_general_search.json")
    mutate(payload)
    return dumps(payload)


@pytest.mark.parametrize(
    ("mutate", "named"),
    [
        (lambda p: p.pop("data"), "'data'"),
        (lambda p: p.update(data={"aweme_list": []}), "'data'"),
        (lambda p: p.pop("status_code"), "status_code"),
        (lambda p: p.pop("has_more"), "has_more"),
        (lambda p: p["data"][0]["aweme_info"].pop("aweme_id"), "data[0].aweme_info lacks 'aweme_id'"),
        (
            lambda p: p["data"][2]["aweme_mix_info"]["mix_items"][1].pop("aweme_id"),
            "data[2].aweme_mix_info.mix_items[1] lacks 'aweme_id'",
        ),
        (lambda p: p["data"][2]["aweme_mix_info"].pop("mix_items"), "mix_items"),
        (lambda p: p["data"][0]["aweme_info"].pop("author"), "data[0].aweme_info.author"),
        (lambda p: p["data"][3]["aweme_info"]["author"].pop("uid"), "data[3].aweme_info.author lacks 'uid'"),
        (lambda p: p["data"][0]["aweme_info"].update(create_time="2024-06-14"), "create_time"),
    ],
)
def test_schema_changes_name_the_key(adapter: DouyinAdapter, mutate, named: str):
    with pytest.raises(SchemaChanged) as info:
        adapter.parse_search(200, _general_with(mutate), {})
    assert named in info.value.message


def test_errors_are_adapter_errors(adapter: DouyinAdapter):
    with pytest.raises(AdapterError):
        adapter.parse_search(200, b"blocked", {})


# --- status -----------------------------------------------------------------------------------------------


def test_status_live(adapter: DouyinAdapter):
    result = adapter.parse_status(200, fixture_bytes("douyin_detail_live.json"))
    assert result.state is PostState.LIVE


def test_status_gone_keeps_the_filter_reason(adapter: DouyinAdapter):
    result = adapter.parse_status(200, fixture_bytes("douyin_detail_gone.json"))
    assert result.state is PostState.GONE
    assert result.code == "status_deleted"
    assert result.detail == "作品已删除"


def test_status_gone_when_aweme_detail_is_missing(adapter: DouyinAdapter):
    payload = fixture_json("douyin_detail_gone.json")
    payload.pop("aweme_detail")
    payload["filter_detail"]["filter_reason"] = "status_self_see"
    result = adapter.parse_status(200, dumps(payload))
    assert (result.state, result.code) == (PostState.GONE, "status_self_see")


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (200, b"", "empty_body"),
        (200, b"blocked", "blocked"),
        (200, fixture_bytes("douyin_not_logged_in.json"), "8"),
        (200, b"<html>captcha</html>", "malformed"),
        (200, dumps({"aweme_detail": None}), "malformed"),
        (200, dumps({"status_code": 0, "aweme_detail": None}), "no_detail"),
        (429, b"", "http_429"),
        (502, b"", "http_502"),
    ],
)
def test_status_unknown(adapter: DouyinAdapter, status: int, body: bytes, code: str):
    result = adapter.parse_status(status, body)
    assert result.state is PostState.UNKNOWN
    assert result.code == code
