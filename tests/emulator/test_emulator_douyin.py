"""Emulated Douyin: token-guarded search, result shape, cursor paging, detail and gone posts, pages."""

from __future__ import annotations

import json
import re
from urllib.parse import unquote

import pytest

from emulator.douyin_token import a_bogus
from tests.emulator.emu_helpers import Douyin, make_client

pytestmark = pytest.mark.anyio


async def test_plain_http_client_gets_an_empty_body(client):
    plain = await client.get(Douyin.SEARCH, params={"keyword": "债务优化", "offset": 0, "count": 10,
                                                    "webid": "7" * 19, "msToken": "x" * 107, "a_bogus": "abc"})
    assert plain.status_code == 200 and plain.content == b""
    stats = (await client.get("/_emu/stats")).json()
    assert stats["rejected"]["douyin"]["no_cookie"] == 1


async def test_page_cookie_without_the_right_token_is_still_empty(douyin, client):
    unsigned = await douyin.search_raw("债务优化", sign=False)
    assert unsigned.status_code == 200 and unsigned.content == b""
    other_ua = await douyin.search_raw("债务优化", ua="python-httpx/0.28")  # token bound to the page's UA
    assert other_ua.content == b""
    qs = douyin.query("债务优化")
    forged = await client.get(f"{Douyin.SEARCH}?{qs}&a_bogus={a_bogus('wrong-secret', qs, douyin.ua)}",
                              headers={"User-Agent": douyin.ua})
    assert forged.content == b""
    stats = (await client.get("/_emu/stats")).json()["rejected"]["douyin"]
    assert stats["no_token"] == 1 and stats["bad_token"] == 2


async def test_search_page_embeds_the_flow(client):
    page = await client.get("/douyin/search/债务优化?type=video")
    assert page.status_code == 200
    assert page.cookies.get("s_v_web_id", "").startswith("verify_")
    text = page.text
    for needle in ("xmst", "webid", "aBogus(", "/aweme/v1/web/general/search/single/", "IntersectionObserver",
                   "search_id", "cursor", "has_more", "extra.logid", "切勿轻信"):
        assert needle in text, needle
    again = await client.get("/douyin/search/停催")
    assert "set-cookie" not in again.headers  # a valid cookie is reused, so tabs do not invalidate each other


async def test_search_shape(douyin):
    body = await douyin.search("债务优化")
    assert body["status_code"] == 0 and body["status_msg"] == ""
    assert body["has_more"] == 1 and body["cursor"] == 10
    assert body["extra"]["logid"] and body["log_pb"]["impr_id"] == body["extra"]["logid"]
    assert body["search_nil_info"] is None and "global_doodle_config" in body
    assert len(body["data"]) == 10
    infos = [d["aweme_info"] if "aweme_info" in d else d["aweme_mix_info"]["mix_items"][0] for d in body["data"]]
    for info in infos:
        assert re.fullmatch(r"\d{19}", info["aweme_id"])
        assert "债务优化" in info["desc"]
        assert isinstance(info["create_time"], int) and info["create_time"] > 1_600_000_000
        a = info["author"]
        assert a["uid"].isdigit() and a["sec_uid"].startswith("MS4wLjABAAAA") and a["nickname"]
        assert "signature" in a and "unique_id" in a
        assert {"digg_count", "comment_count", "share_count", "collect_count", "play_count"} <= set(info["statistics"])
        assert info["video"]["cover"]["url_list"] and "duration" in info["video"]
        assert info["images"] is None or len(info["images"]) > 0
        assert all(f"#{t['hashtag_name']}" in info["desc"] for t in info["text_extra"])
        assert info["ip_label"]


async def test_cursor_paging_until_has_more_is_zero(douyin):
    seen, offset, search_id, pages, mixes = set(), 0, "", 0, 0
    while True:
        body = await douyin.search("反催收", offset, search_id=search_id)
        pages += 1
        for d in body["data"]:
            if "aweme_mix_info" in d:
                mixes += 1
                assert d["type"] == 16 and d["aweme_mix_info"]["mix_items"]
            else:
                assert d["type"] == 1
            first = d["aweme_info"] if "aweme_info" in d else d["aweme_mix_info"]["mix_items"][0]
            assert first["aweme_id"] not in seen
            seen.add(first["aweme_id"])
        assert body["cursor"] == offset + 10
        if not body["has_more"]:
            break
        offset, search_id = body["cursor"], body["extra"]["logid"]
    assert 100 <= len(seen) <= 300 and pages == -(-len(seen) // 10)
    assert mixes >= len(seen) // 15
    past = await douyin.search("反催收", offset + 10)
    assert past["data"] == [] and past["has_more"] == 0


async def test_image_posts_exist(douyin):
    images = 0
    for offset in range(0, 200, 10):
        for d in (await douyin.search("停息挂账", offset))["data"]:
            info = d.get("aweme_info") or d["aweme_mix_info"]["mix_items"][0]
            images += bool(info["images"])
    assert images >= 1


async def test_same_seed_same_results():
    async def ids(seed: int) -> list[str]:
        async with make_client(seed=seed) as client:
            dy = await Douyin(client).open()
            body = await dy.search("征信修复", 20)
            return [(d.get("aweme_info") or d["aweme_mix_info"]["mix_items"][0])["aweme_id"] for d in body["data"]]

    assert await ids(7) == await ids(7)
    assert await ids(7) != await ids(9)


async def test_filters_sort_latest(douyin):
    body = await douyin.search("债务协商", 0, is_filter_search="1",
                               filter_selected=json.dumps({"sort_type": "2", "publish_time": "0"}))
    times = [(d.get("aweme_info") or d["aweme_mix_info"]["mix_items"][0])["create_time"] for d in body["data"]]
    assert times == sorted(times, reverse=True)


async def test_detail_live_then_gone(douyin, client):
    info = (await douyin.search("停催"))["data"][0]
    info = info.get("aweme_info") or info["aweme_mix_info"]["mix_items"][0]
    aweme_id = info["aweme_id"]
    live = (await client.get("/douyin/aweme/v1/web/aweme/detail/", params={"aweme_id": aweme_id})).json()
    assert live["status_code"] == 0 and live["aweme_detail"]["aweme_id"] == aweme_id
    assert live["aweme_detail"]["desc"] == info["desc"]
    for state, reason, msg in (("deleted", "status_deleted", "作品已删除"),
                               ("private", "status_self_see", "作者设置了仅自己可见")):
        await client.post(f"/_emu/posts/douyin/{aweme_id}/state", json={"state": state})
        gone = (await client.get("/douyin/aweme/v1/web/aweme/detail/", params={"aweme_id": aweme_id})).json()
        assert gone["status_code"] == 0 and gone["aweme_detail"] is None
        fd = gone["filter_detail"]
        assert (fd["aweme_id"], fd["filter_reason"], fd["detail_msg"]) == (aweme_id, reason, msg) and fd["notice"]
        page = await client.get(f"/douyin/video/{aweme_id}")
        assert msg in page.text


async def test_pages(douyin, client):
    info = (await douyin.search("负债上岸"))["data"][0]
    info = info.get("aweme_info") or info["aweme_mix_info"]["mix_items"][0]
    page = await client.get(f"/douyin/video/{info['aweme_id']}")
    assert page.status_code == 200 and info["author"]["nickname"].replace("&", "&amp;") in page.text
    data = re.search(r'<script id="RENDER_DATA" type="application/json">(.*?)</script>', page.text).group(1)
    assert json.loads(unquote(data))["app"]["videoDetail"]["aweme_id"] == info["aweme_id"]
    user = await client.get(f"/douyin/user/{info['author']['sec_uid']}")
    assert user.status_code == 200 and info["aweme_id"] in user.text
    assert (await client.get("/douyin/user/MS4wLjABAAAAnope")).status_code == 404
    missing = await client.get("/douyin/video/7000000000000000001")
    assert "不存在" in missing.text
