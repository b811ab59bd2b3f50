"""Each fault kind, on each platform, rendered in that platform's own shape; page and count targeting."""

from __future__ import annotations

import json
import time

import pytest

pytestmark = pytest.mark.anyio


async def fault(client, **spec) -> dict:
    resp = await client.post("/_emu/faults", json=spec)
    assert resp.status_code == 201, resp.text
    return resp.json()["fault"]


async def test_fault_api_validates_lists_and_clears(client):
    for bad in ({"platform": "weibo", "endpoint": "search", "kind": "blocked"},
                {"platform": "douyin", "endpoint": "nav", "kind": "blocked"},
                {"platform": "bilibili", "endpoint": "search", "kind": "meteor"},
                {"platform": "bilibili", "endpoint": "search", "kind": "blocked", "times": 0}):
        assert (await client.post("/_emu/faults", json=bad)).status_code == 400
    await fault(client, platform="bilibili", endpoint="search", kind="blocked", pages=[2])
    await fault(client, platform="douyin", endpoint="detail", kind="server_error", times=1)
    listed = (await client.get("/_emu/faults")).json()["faults"]
    assert [(f["platform"], f["kind"]) for f in listed] == [("bilibili", "blocked"), ("douyin", "server_error")]
    assert (await client.delete("/_emu/faults")).json()["cleared"] == 2
    assert (await client.get("/_emu/faults")).json()["faults"] == []


async def test_pages_and_times_target_requests(bili, client):
    await fault(client, platform="bilibili", endpoint="search", kind="error_code", pages=[2, 3], times=2)
    assert (await bili.search("停催", 1))["code"] == 0
    assert (await bili.search("停催", 2))["code"] == -500
    assert (await bili.search("停催", 4))["code"] == 0
    assert (await bili.search("停催", 3))["code"] == -500
    assert (await bili.search("停催", 2))["code"] == 0  # both uses spent
    assert (await client.get("/_emu/faults")).json()["faults"] == []
    assert (await client.get("/_emu/stats")).json()["faults"]["bilibili"]["error_code"] == 2


# ------------------------------------------------------------------------------------------------ bilibili


async def test_bilibili_rate_limit(bili, client):
    await fault(client, platform="bilibili", endpoint="search", kind="rate_limit", retry_after=30)
    resp = await bili.search_raw("停催")
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "30"
    assert resp.json()["code"] == -799


async def test_bilibili_server_error(bili, client):
    await fault(client, platform="bilibili", endpoint="view", kind="server_error")
    resp = await client.get("/bilibili/x/web-interface/view", params={"bvid": "BV1OOOOOOOOO"})
    assert resp.status_code == 502 and "Bad Gateway" in resp.text


async def test_bilibili_slow(bili, client):
    await fault(client, platform="bilibili", endpoint="search", kind="slow", delay=0.3)
    started = time.monotonic()
    body = await bili.search("停催")
    assert body["code"] == 0 and body["data"]["result"]
    assert time.monotonic() - started >= 0.25


async def test_bilibili_captcha(bili, client):
    await fault(client, platform="bilibili", endpoint="search", kind="captcha")
    body = await bili.search("停催")
    assert body["code"] == -352 and body["message"] == "风控校验失败"
    assert body["data"]["v_voucher"].startswith("voucher_")


async def test_bilibili_malformed_json(bili, client):
    await fault(client, platform="bilibili", endpoint="search", kind="malformed_json")
    resp = await bili.search_raw("停催")
    assert resp.status_code == 200 and resp.content.startswith(b'{"code":0')
    with pytest.raises(json.JSONDecodeError):
        json.loads(resp.content)


async def test_bilibili_schema_change(bili, client):
    await fault(client, platform="bilibili", endpoint="search", kind="schema_change")
    data = (await bili.search("停催"))["data"]
    assert "result" not in data and data["items"]
    await fault(client, platform="bilibili", endpoint="nav", kind="schema_change")
    nav = (await client.get("/bilibili/x/web-interface/nav")).json()
    assert "wbi_img" not in nav["data"] and "wbi_image" in nav["data"]


async def test_bilibili_error_code_login_expired_blocked(bili, client):
    await fault(client, platform="bilibili", endpoint="search", kind="error_code", times=1)
    assert await bili.search("停催") == {"code": -500, "message": "服务器错误"}
    await fault(client, platform="bilibili", endpoint="search", kind="login_expired", times=1)
    await fault(client, platform="bilibili", endpoint="nav", kind="login_expired", times=1)
    assert (await bili.search("停催"))["code"] == -101
    nav = (await client.get("/bilibili/x/web-interface/nav")).json()
    assert nav["data"]["wbi_img"]["img_url"].endswith(".png")  # nav keeps working
    await fault(client, platform="bilibili", endpoint="search", kind="blocked", times=1)
    assert (await bili.search("停催"))["code"] == -412


async def test_bilibili_view_faults(bili, client):
    bvid = (await bili.search("停催"))["data"]["result"][0]["bvid"]
    await fault(client, platform="bilibili", endpoint="view", kind="schema_change", times=1)
    data = (await client.get("/bilibili/x/web-interface/view", params={"bvid": bvid})).json()["data"]
    assert "stat" not in data and "stats" in data
    await fault(client, platform="bilibili", endpoint="view", kind="captcha", times=1)
    assert (await client.get("/bilibili/x/web-interface/view", params={"bvid": bvid})).json()["code"] == -352


# -------------------------------------------------------------------------------------------------- douyin


async def test_douyin_rate_limit_and_server_error(douyin, client):
    await fault(client, platform="douyin", endpoint="search", kind="rate_limit", retry_after=12, times=1)
    resp = await douyin.search_raw("停催")
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "12"
    await fault(client, platform="douyin", endpoint="search", kind="server_error", times=1)
    assert (await douyin.search_raw("停催")).status_code == 502


async def test_douyin_slow(douyin, client):
    await fault(client, platform="douyin", endpoint="search", kind="slow", delay=0.3)
    started = time.monotonic()
    assert (await douyin.search("停催"))["data"]
    assert time.monotonic() - started >= 0.25


async def test_douyin_captcha_is_verify_check(douyin, client):
    await fault(client, platform="douyin", endpoint="search", kind="captcha", pages=[2])
    assert (await douyin.search("停催", 0))["data"]
    body = await douyin.search("停催", 10)  # page 2 = offset/count + 1
    assert body["status_code"] == 0 and body["data"] == []
    assert body["search_nil_info"]["search_nil_type"] == "verify_check"


async def test_douyin_malformed_and_schema_change(douyin, client):
    await fault(client, platform="douyin", endpoint="search", kind="malformed_json", times=1)
    resp = await douyin.search_raw("停催")
    assert resp.status_code == 200 and resp.content.startswith(b'{"status_code":0')
    with pytest.raises(json.JSONDecodeError):
        json.loads(resp.content)
    await fault(client, platform="douyin", endpoint="search", kind="schema_change", times=1)
    body = await douyin.search("停催")
    assert "data" not in body and body["aweme_list"]


async def test_douyin_error_login_blocked(douyin, client):
    await fault(client, platform="douyin", endpoint="search", kind="error_code", times=1)
    assert await douyin.search("停催") == {"status_code": 2483, "status_msg": "系统繁忙"}
    await fault(client, platform="douyin", endpoint="search", kind="login_expired", times=1)
    assert await douyin.search("停催") == {"status_code": 8, "status_msg": "用户未登录"}
    await fault(client, platform="douyin", endpoint="search", kind="blocked", times=1)
    resp = await douyin.search_raw("停催")
    assert resp.status_code == 200 and resp.text == "blocked"


async def test_douyin_detail_faults(douyin, client):
    first = (await douyin.search("停催"))["data"][0]
    aweme_id = (first.get("aweme_info") or first["aweme_mix_info"]["mix_items"][0])["aweme_id"]
    url = "/douyin/aweme/v1/web/aweme/detail/"
    await fault(client, platform="douyin", endpoint="detail", kind="schema_change", times=1)
    body = (await client.get(url, params={"aweme_id": aweme_id})).json()
    assert "aweme_detail" not in body and body["aweme"]["aweme_id"] == aweme_id
    await fault(client, platform="douyin", endpoint="detail", kind="captcha", times=1)
    body = (await client.get(url, params={"aweme_id": aweme_id})).json()
    assert body["aweme_detail"] is None and "filter_detail" not in body  # blocked, not gone
    assert body["search_nil_info"]["search_nil_type"] == "verify_check"


async def test_faults_do_not_leak_between_platforms(bili, douyin, client):
    await fault(client, platform="douyin", endpoint="search", kind="blocked")
    assert (await bili.search("停催"))["code"] == 0
    assert (await douyin.search_raw("停催")).text == "blocked"
