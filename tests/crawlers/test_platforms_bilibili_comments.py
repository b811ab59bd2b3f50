"""BilibiliAdapter's enrichment side against fixture bytes: the WBI-signed comment and profile requests, and
every answer code of /x/v2/reply/wbi/main and /x/space/wbi/acc/info."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from crawlers.platforms.base import (
    AdapterError,
    Blocked,
    Gone,
    MalformedResponse,
    PlatformError,
    RateLimited,
    SchemaChanged,
    SignatureRejected,
)
from crawlers.platforms.bilibili import BilibiliAdapter, WbiKeysMissing
from crawlers.platforms.wbi import encode_query, sign_params
from takedown.settings import REAL_BASE_URLS

FIXTURES = Path(__file__).parent / "fixtures"
IMG_KEY = "7cd084941338484aae1ad9425b84077c"
SUB_KEY = "4932caff0ff746eab6f01bf08b70ac45"
NOW = 1702204169.7


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> Any:
    return json.loads(fixture_bytes(name))


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


@pytest.fixture
def adapter() -> BilibiliAdapter:
    a = BilibiliAdapter(dict(REAL_BASE_URLS["bilibili"]), clock=lambda: NOW)
    a.on_warmup("nav", 200, fixture_bytes("bilibili_nav_visitor.json"))
    return a


def _query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


# --- requests ---------------------------------------------------------------------------------------------


def test_comments_request_is_the_signed_hot_first_page_keyed_by_aid(adapter: BilibiliAdapter):
    spec = adapter.comments_request("BV1Px4y1T7Qa", {"aid": 1453627819, "bvid": "BV1Px4y1T7Qa"})
    parts = urlsplit(spec.url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://api.bilibili.com/x/v2/reply/wbi/main"
    query = _query(spec.url)
    assert {k: query[k] for k in ("oid", "type", "mode", "pagination_str", "plat", "web_location")} == {
        "oid": "1453627819", "type": "1", "mode": "3", "pagination_str": '{"offset":""}', "plat": "1",
        "web_location": "1315875"}
    assert query["wts"] == str(int(NOW))
    unsigned = {k: v for k, v in query.items() if k not in ("w_rid", "wts")}
    assert query["w_rid"] == sign_params(unsigned, IMG_KEY, SUB_KEY, wts=int(NOW))["w_rid"]
    assert spec.url.endswith(encode_query({"w_rid": query["w_rid"]}))
    assert spec.headers["Referer"] == "https://www.bilibili.com/video/BV1Px4y1T7Qa"
    assert spec.name == "comments"


def test_comments_request_reads_the_aid_from_the_search_item_id_too(adapter: BilibiliAdapter):
    assert _query(adapter.comments_request("BV1x", {"id": 99}).url)["oid"] == "99"


def test_comments_request_without_an_aid_is_refused(adapter: BilibiliAdapter):
    with pytest.raises(ValueError, match="no aid"):
        adapter.comments_request("BV1x", {"bvid": "BV1x"})


def test_profile_request_is_signed_and_keyed_by_mid(adapter: BilibiliAdapter):
    spec = adapter.profile_request("488712306", {})
    assert spec.url.startswith("https://api.bilibili.com/x/space/wbi/acc/info?")
    query = _query(spec.url)
    assert query["mid"] == "488712306" and query["wts"] == str(int(NOW)) and len(query["w_rid"]) == 32
    assert spec.headers["Referer"] == "https://space.bilibili.com/488712306/"
    with pytest.raises(ValueError):
        adapter.profile_request("not-a-mid", {})


def test_requests_before_the_wbi_keys_are_a_clear_error():
    a = BilibiliAdapter(dict(REAL_BASE_URLS["bilibili"]))
    with pytest.raises(WbiKeysMissing):
        a.comments_request("BV1x", {"aid": 1})
    with pytest.raises(WbiKeysMissing):
        a.profile_request("1", {})


# --- comments -----------------------------------------------------------------------------------------------


def test_comments_pinned_first_author_marked_nested_replies_kept(adapter: BilibiliAdapter):
    result = adapter.parse_comments(200, fixture_bytes("bilibili_comments.json"), {})
    assert result.comments == [
        "置顶：需要停息挂账的加V：helper_9988 备注B站",  # top_replies, by the uploader
        "老师真的能协商吗？我招行逾期半年了",
        "作者：可以的，私信我，已回复你",  # a nested reply whose mid is data.upper.mid
        "同问",
        "作者：名额有限，需要的直接看简介",
    ]  # the blank comment is dropped, the pinned one is not repeated from `replies`
    assert result.closed is False and result.total == 57


def test_comments_without_any_reply(adapter: BilibiliAdapter):
    payload = fixture_json("bilibili_comments.json")
    payload["data"].update(replies=None, top_replies=None)
    result = adapter.parse_comments(200, dumps(payload), {})
    assert result.comments == [] and not result.closed


@pytest.mark.parametrize("code", ["12002", "12061"])
def test_closed_or_hidden_comments_are_an_answer_not_an_error(adapter: BilibiliAdapter, code: str):
    result = adapter.parse_comments(200, dumps(fixture_json("bilibili_comments_errors.json")[code]), {})
    assert result.closed is True and result.comments == [] and result.code == code
    assert fixture_json("bilibili_comments_errors.json")[code]["message"] in result.detail


@pytest.mark.parametrize(
    ("code", "error"),
    [("-404", Gone), ("-352", Blocked), ("-412", Blocked), ("-799", RateLimited), ("-400", PlatformError)],
)
def test_comment_error_codes(adapter: BilibiliAdapter, code: str, error: type[AdapterError]):
    with pytest.raises(error) as info:
        adapter.parse_comments(200, dumps(fixture_json("bilibili_comments_errors.json")[code]), {})
    assert type(info.value) is error and info.value.code == code
    assert fixture_json("bilibili_comments_errors.json")[code]["message"] in info.value.message
    assert info.value.stops_crawl is (error in (Blocked, RateLimited))


def test_a_voucher_instead_of_comments_is_a_rejected_signature(adapter: BilibiliAdapter):
    with pytest.raises(SignatureRejected):
        adapter.parse_comments(200, dumps(fixture_json("bilibili_comments_errors.json")["v_voucher"]), {})


@pytest.mark.parametrize(
    ("status", "body", "headers", "error"),
    [
        (429, dumps({"code": -799, "message": "请求过于频繁，请稍后再试"}), {"Retry-After": "30"}, RateLimited),
        (412, b"<html>412</html>", {}, Blocked),
        (502, b"<html>502 Bad Gateway</html>", {}, PlatformError),
        (200, b'{"code":0,"message":"0","data":{"replies":[', {}, MalformedResponse),
    ],
)
def test_comment_http_failures(adapter: BilibiliAdapter, status: int, body: bytes, headers: dict, error: type):
    with pytest.raises(error) as info:
        adapter.parse_comments(status, body, headers)
    assert type(info.value) is error
    if error is RateLimited:
        assert info.value.retry_after == 30.0 and info.value.code == "-799"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d["data"].pop("replies"),  # renamed: the list is gone
        lambda d: d["data"].update(replies={"0": {}}),
        lambda d: d["data"]["replies"][0].pop("content"),
        lambda d: d["data"]["replies"][0]["replies"][0].update(content={"text": "x"}),
        lambda d: d.update(data=None),
    ],
)
def test_comment_shape_changes_are_schema_changes(adapter: BilibiliAdapter, mutate):
    payload = fixture_json("bilibili_comments.json")
    mutate(payload)
    with pytest.raises(SchemaChanged):
        adapter.parse_comments(200, dumps(payload), {})


# --- profile --------------------------------------------------------------------------------------------------


def test_profile_gives_the_bio(adapter: BilibiliAdapter):
    profile = adapter.parse_profile(200, fixture_bytes("bilibili_profile.json"), {})
    assert profile.platform_author_id == "488712306"
    assert profile.nickname == "王老师债务规划"
    assert profile.bio == "债务规划｜协商还款 ☎ 138 0013 8000 工作日在线"
    assert profile.extra == {}


def test_profile_of_a_verified_account_keeps_its_title(adapter: BilibiliAdapter):
    profile = adapter.parse_profile(200, dumps(fixture_json("bilibili_profile_errors.json")["official"]), {})
    assert profile.extra == {"official_title": "某某消费金融官方账号"}


@pytest.mark.parametrize(
    ("code", "error"), [("-404", Gone), ("-352", Blocked), ("-799", RateLimited), ("-412", Blocked)]
)
def test_profile_error_codes(adapter: BilibiliAdapter, code: str, error: type[AdapterError]):
    with pytest.raises(error) as info:
        adapter.parse_profile(200, dumps(fixture_json("bilibili_profile_errors.json")[code]), {})
    assert type(info.value) is error and info.value.code == code


def test_profile_shape_changes_are_schema_changes(adapter: BilibiliAdapter):
    payload = fixture_json("bilibili_profile.json")
    payload["data"]["signature"] = payload["data"].pop("sign")
    with pytest.raises(SchemaChanged):
        adapter.parse_profile(200, dumps(payload), {})
    payload = fixture_json("bilibili_profile.json")
    payload["data"]["sign"] = None
    with pytest.raises(SchemaChanged):
        adapter.parse_profile(200, dumps(payload), {})
