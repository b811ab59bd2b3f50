"""DouyinAdapter's enrichment side against fixture bytes: the pages whose scripts fetch comments and profiles,
which captured responses are theirs, and every answer of /aweme/v1/web/comment/list/ and
/aweme/v1/web/user/profile/other/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crawlers.platforms.base import (
    AdapterError,
    Blocked,
    Gone,
    LoginExpired,
    MalformedResponse,
    PlatformError,
    RateLimited,
    SchemaChanged,
)
from crawlers.platforms.douyin import DouyinAdapter
from takedown.settings import REAL_BASE_URLS, Settings

FIXTURES = Path(__file__).parent / "fixtures"
SEC_UID = "MS4wLjABAAAAk3x9Qp2mZr7LwN5vT8yB1cD4eF6gH0iJ2kL3mN4oP5q"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> Any:
    return json.loads(fixture_bytes(name))


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


@pytest.fixture
def adapter() -> DouyinAdapter:
    return DouyinAdapter(dict(REAL_BASE_URLS["douyin"]))


# --- pages and captured responses -------------------------------------------------------------------------


def test_the_pages_that_fetch_comments_and_profiles(adapter: DouyinAdapter):
    assert adapter.comments_page_url("7455012345678901234", {"images": None}) == (
        "https://www.douyin.com/video/7455012345678901234")
    assert adapter.comments_page_url("7455012345678901234", {"images": [{"uri": "x"}]}) == (
        "https://www.douyin.com/note/7455012345678901234")
    assert adapter.profile_page_url("58271649302", {"sec_uid": SEC_UID}) == f"https://www.douyin.com/user/{SEC_UID}"
    with pytest.raises(ValueError, match="sec_uid"):
        adapter.profile_page_url("58271649302", {})


def test_emulated_pages_stay_under_the_emulator():
    a = DouyinAdapter(Settings(emulator_url="http://127.0.0.1:9").platform_base_urls("douyin"))
    assert a.comments_page_url("1", {}) == "http://127.0.0.1:9/douyin/video/1"
    assert a.profile_page_url("2", {"sec_uid": SEC_UID}) == f"http://127.0.0.1:9/douyin/user/{SEC_UID}"


def test_which_captured_responses_carry_comments_or_a_profile(adapter: DouyinAdapter):
    comments = "https://www.douyin.com/aweme/v1/web/comment/list/?aweme_id=1&cursor=0&count=20&a_bogus=x"
    profile = "https://www.douyin.com/aweme/v1/web/user/profile/other/?sec_user_id=MS4w&a_bogus=y"
    assert adapter.is_comments_response(comments) and not adapter.is_comments_response(profile)
    assert adapter.is_profile_response(profile) and not adapter.is_profile_response(comments)
    assert adapter.is_comments_response("http://127.0.0.1:9/douyin/aweme/v1/web/comment/list/?x=1")
    assert not adapter.is_comments_response("https://www.douyin.com/aweme/v1/web/comment/list/reply/?x=1")


def test_a_page_that_shows_the_post_gone(adapter: DouyinAdapter):
    gone = adapter.page_gone('<div class="video-not-found" data-e2e="video-not-found"><p>作品已删除</p></div>')
    assert isinstance(gone, Gone) and gone.code == "gone_page"
    assert adapter.page_gone("<html><div id='video-detail'>视频</div></html>") is None


# --- comments ---------------------------------------------------------------------------------------------------


def test_comments_pinned_first_author_marked_reply_previews_kept(adapter: DouyinAdapter):
    result = adapter.parse_comments(200, fixture_bytes("douyin_comments.json"), {})
    assert result.comments == [
        "置顶：需要停息挂账的私信，或者直接 ➕V：shangan_8899",  # stick_position 1, listed second
        "求带，信用卡逾期三个月了",
        "作者：已私你",  # the reply preview under it, label_text 作者
        "这种都是骗子，别信",
        "作者：评论区统一回复：流程看主页",
    ]
    assert result.total == 38 and not result.closed


def test_no_comments_is_null_not_an_error(adapter: DouyinAdapter):
    result = adapter.parse_comments(200, fixture_bytes("douyin_comments_none.json"), {})
    assert result.comments == [] and result.total == 0


@pytest.mark.parametrize(
    ("status", "body", "error", "code"),
    [
        (200, b"", Blocked, "empty_body"),  # unsigned or risk-controlled: the page's request got nothing
        (200, b"blocked", Blocked, "blocked"),
        (429, b"", RateLimited, None),
        (200, dumps({"status_code": 0, "comments": None, "search_nil_info": {"search_nil_type": "verify_check"}}),
         Blocked, "verify_check"),
        (200, dumps({"status_code": 8, "status_msg": "用户未登录"}), LoginExpired, "8"),
        (200, dumps({"status_code": 2483, "status_msg": "系统繁忙"}), PlatformError, "2483"),
        (502, b"<html>502</html>", PlatformError, None),
        (200, b'{"status_code":0,"comments":[{"cid":', MalformedResponse, None),
    ],
)
def test_comment_failures(adapter: DouyinAdapter, status: int, body: bytes, error: type[AdapterError], code):
    with pytest.raises(error) as info:
        adapter.parse_comments(status, body, {})
    assert type(info.value) is error and info.value.code == code


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(comment_list=d.pop("comments")),
        lambda d: d.update(comments={"0": 1}),
        lambda d: d["comments"][0].pop("text"),
        lambda d: d["comments"][0].update(reply_comment="x"),
        lambda d: d.pop("status_code"),
    ],
)
def test_comment_shape_changes_are_schema_changes(adapter: DouyinAdapter, mutate):
    payload = fixture_json("douyin_comments.json")
    mutate(payload)
    with pytest.raises(SchemaChanged):
        adapter.parse_comments(200, dumps(payload), {})


# --- profile ------------------------------------------------------------------------------------------------------


def test_profile_gives_the_signature(adapter: DouyinAdapter):
    profile = adapter.parse_profile(200, fixture_bytes("douyin_profile.json"), {})
    assert profile.platform_author_id == "58271649302"
    assert profile.nickname == "上岸老师"
    assert profile.bio == "十年债务协商经验\n停息挂账 个性化分期\n合作➕V：shangan_8899"
    assert profile.extra == {"sec_uid": SEC_UID, "unique_id": "shangan_laoshi"}


@pytest.mark.parametrize(("case", "code"), [("2053", "2053"), ("empty_user", "empty_user"),
                                            ("empty_object", "empty_user")])
def test_a_gone_or_banned_account(adapter: DouyinAdapter, case: str, code: str):
    with pytest.raises(Gone) as info:
        adapter.parse_profile(200, dumps(fixture_json("douyin_profile_gone.json")[case]), {})
    assert info.value.code == code and not info.value.stops_crawl


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"", Blocked),
        (dumps({"status_code": 0, "user": None, "search_nil_info": {"search_nil_type": "verify_check"}}), Blocked),
        (dumps({"status_code": 8, "status_msg": "用户未登录"}), LoginExpired),
        (dumps({"status_code": 0, "user_info": {"uid": "1"}}), SchemaChanged),  # renamed
        (dumps({"status_code": 0, "user": {"nickname": "x"}}), SchemaChanged),  # no uid
        (dumps({"status_code": 0, "user": {"uid": "1", "signature": 5}}), SchemaChanged),
    ],
)
def test_profile_failures(adapter: DouyinAdapter, body: bytes, error: type[AdapterError]):
    with pytest.raises(error):
        adapter.parse_profile(200, body, {})
