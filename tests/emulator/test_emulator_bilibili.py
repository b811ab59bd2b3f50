"""Emulated Bilibili: cookies, nav, WBI-checked search, paging, view API gone codes, pages."""

from __future__ import annotations

import re
import time

import pytest

from emulator import wbi
from emulator.bilibili import highlight
from tests.emulator.emu_helpers import Bili, make_client, strip_em

pytestmark = pytest.mark.anyio


async def test_home_sets_cookies(client):
    resp = await client.get("/bilibili/")
    assert resp.status_code == 200 and "bilibili" in resp.text
    assert resp.cookies.get("buvid3", "").endswith("infoc") and resp.cookies.get("b_nut")
    assert "Path=/" in resp.headers["set-cookie"]


async def test_nav_is_logged_out_with_seeded_wbi_keys(client):
    body = (await client.get("/bilibili/x/web-interface/nav")).json()
    assert body["code"] == -101 and body["message"] == "账号未登录" and body["data"]["isLogin"] is False
    img, sub = wbi.keys_for_seed(7)
    assert body["data"]["wbi_img"] == {"img_url": f"https://i0.hdslb.com/bfs/wbi/{img}.png",
                                       "sub_url": f"https://i0.hdslb.com/bfs/wbi/{sub}.png"}


async def test_search_without_buvid3_is_blocked(client):
    signer = Bili(client)
    signer.img_key, signer.sub_key = wbi.keys_for_seed(7)
    resp = await client.get(Bili.SEARCH, params=signer.signed("债务优化"))
    assert resp.status_code == 200
    assert resp.json() == {"code": -412, "message": "请求被拦截", "ttl": 1, "data": None}
    stats = (await client.get("/_emu/stats")).json()
    assert stats["rejected"]["bilibili"]["no_cookie"] == 1


async def test_missing_wrong_or_stale_signature_gets_a_voucher(bili, client):
    good = bili.signed("债务优化")
    cases = [
        {k: v for k, v in good.items() if k not in ("w_rid", "wts")},
        {**good, "w_rid": "0" * 32},
        {**good, "keyword": "停催"},  # signature no longer covers the params
        bili.signed("债务优化", wts=int(time.time()) - 7200),
    ]
    for params in cases:
        body = (await client.get(Bili.SEARCH, params=params)).json()
        assert body["code"] == 0 and set(body["data"]) == {"v_voucher"}
        assert body["data"]["v_voucher"].startswith("voucher_")
    stats = (await client.get("/_emu/stats")).json()
    assert stats["rejected_total"]["bilibili"] == 4


async def test_signed_search_returns_the_real_envelope(bili):
    body = await bili.search("债务优化")
    assert body["code"] == 0 and body["message"] == "0" and body["ttl"] == 1
    data = body["data"]
    for key in ("seid", "page", "pagesize", "numResults", "numPages", "suggest_keyword", "rqt_type", "cost_time",
                "exp_list", "egg_hit", "result", "show_column"):
        assert key in data, key
    assert data["page"] == 1 and data["pagesize"] == 20 and len(data["result"]) == 20
    assert data["numResults"] <= 1000 and data["numPages"] == -(-data["numResults"] // 20)
    item = data["result"][0]
    for key in ("type", "id", "aid", "bvid", "title", "description", "author", "mid", "pubdate", "senddate", "play",
                "review", "favorites", "video_review", "like", "tag", "duration", "pic", "arcurl", "typename", "upic"):
        assert key in item, key
    assert item["type"] == "video" and item["id"] == item["aid"]
    assert item["arcurl"] == f"http://www.bilibili.com/video/av{item['aid']}"
    assert item["pic"].startswith("//i") and item["upic"].startswith("//i")
    assert re.fullmatch(r"\d+:\d+", item["duration"])
    assert re.fullmatch(r"BV1[1-9A-HJ-NP-Za-km-z]{9}", item["bvid"])
    emphasised = [r["title"] for r in data["result"] if '<em class="keyword">债务优化</em>' in r["title"]]
    assert emphasised, "some titles carry the highlighted keyword"
    for r in data["result"]:  # every result really contains the keyword somewhere
        assert "债务优化" in strip_em(r["title"]) + r["description"] + r["tag"]


def test_highlight_escapes_then_wraps_terms():
    title = highlight('负债>50万 & <必看> "停息挂账" 停息挂账', ("停息挂账",))
    assert title == ('负债&gt;50万 &amp; &lt;必看&gt; &quot;<em class="keyword">停息挂账</em>&quot; '
                     '<em class="keyword">停息挂账</em>')
    assert highlight("美团协商还款", ("美团", "协商还款")) == (
        '<em class="keyword">美团</em><em class="keyword">协商还款</em>')


async def test_titles_are_html_escaped(bili):
    for page in range(1, 4):
        for r in (await bili.search("停息挂账", page))["data"]["result"]:
            plain = strip_em(r["title"])
            assert "<" not in plain and ">" not in plain


async def test_paging_and_the_page_after_the_last(bili):
    first = (await bili.search("反催收", 1))["data"]
    pages = first["numPages"]
    last = (await bili.search("反催收", pages))["data"]
    assert 1 <= len(last["result"]) <= 20
    assert len({r["bvid"] for r in first["result"]} & {r["bvid"] for r in last["result"]}) == 0
    beyond = (await bili.search("反催收", pages + 1))["data"]
    assert beyond["result"] == [] and beyond["numPages"] == pages
    small = (await bili.search("反催收", 1, page_size=7))["data"]
    assert len(small["result"]) == 7 and small["numPages"] == -(-small["numResults"] // 7)


async def test_a_million_posts_serve_the_fiftieth_page():
    async with make_client(size=1_000_000) as client:
        bili = await Bili(client).warm()
        data = (await bili.search("征信修复", 50))["data"]
        assert data["numResults"] == 1000 and data["numPages"] == 50 and len(data["result"]) == 20


async def test_same_seed_same_page_different_seed_different():
    async def page_ids(seed: int) -> list[str]:
        async with make_client(seed=seed) as client:
            bili = await Bili(client).warm()
            return [r["bvid"] for r in (await bili.search("协商还款", 2))["data"]["result"]]

    assert await page_ids(7) == await page_ids(7)
    assert await page_ids(7) != await page_ids(8)


async def test_any_keyword_gets_results(bili):
    data = (await bili.search("美团 协商还款"))["data"]
    assert data["numResults"] > 0 and data["result"]
    for r in data["result"]:
        assert "美团 协商还款" in r["tag"].split(",")


async def test_view_and_gone_codes_after_state_change(bili, client):
    bvid = (await bili.search("债务重组"))["data"]["result"][0]["bvid"]
    view = (await client.get("/bilibili/x/web-interface/view", params={"bvid": bvid})).json()
    assert view["code"] == 0
    data = view["data"]
    assert data["bvid"] == bvid and data["owner"]["mid"] and data["owner"]["name"]
    assert set(data["stat"]) >= {"view", "like", "reply", "share", "favorite", "coin", "danmaku"}
    assert {"title", "desc", "pubdate", "ctime", "tname", "duration", "aid"} <= set(data)
    aid = data["aid"]
    expected = {"deleted": (-404, "啥都木有"), "private": (62002, "稿件不可见"), "under_review": (62004, "稿件审核中"),
                "owner_only": (62012, "仅UP主自己可见"), "no_permission": (-403, "访问权限不足")}
    for state, (code, message) in expected.items():
        r = await client.post(f"/_emu/posts/bilibili/{bvid}/state", json={"state": state})
        assert r.status_code == 200
        for params in ({"bvid": bvid}, {"aid": aid}):
            body = (await client.get("/bilibili/x/web-interface/view", params=params)).json()
            assert (body["code"], body["message"], body["data"]) == (code, message, None)
        page = await client.get(f"/bilibili/video/{bvid}")
        assert page.status_code == 404 and "视频不见了" in page.text
    await client.post(f"/_emu/posts/bilibili/{bvid}/state", json={"state": "live"})
    assert (await client.get("/bilibili/x/web-interface/view", params={"bvid": bvid})).json()["code"] == 0


async def test_gone_posts_drop_out_of_search(bili, client):
    first = (await bili.search("债务托管"))["data"]["result"]
    await client.post(f"/_emu/posts/bilibili/{first[0]['bvid']}/state", json={"state": "deleted"})
    again = (await bili.search("债务托管"))["data"]["result"]
    assert first[0]["bvid"] not in {r["bvid"] for r in again} and len(again) == len(first) - 1


async def test_unknown_video_is_minus_404(client):
    body = (await client.get("/bilibili/x/web-interface/view", params={"bvid": "BV1OOOOOOOOO"})).json()
    assert body["code"] == -404


async def test_view_detail_carries_tags_and_bio(bili, client):
    bvid = (await bili.search("停催"))["data"]["result"][0]["bvid"]
    body = (await client.get("/bilibili/x/web-interface/view/detail", params={"bvid": bvid})).json()
    assert body["code"] == 0 and body["data"]["View"]["bvid"] == bvid
    assert "停催" in [t["tag_name"] for t in body["data"]["Tags"]]
    assert "sign" in body["data"]["Card"]["card"]


async def test_video_and_space_pages(bili, client):
    item = (await bili.search("征信洗白"))["data"]["result"][0]
    page = await client.get(f"/bilibili/video/{item['bvid']}")
    assert page.status_code == 200
    assert f'href="/bilibili/{item["mid"]}"' in page.text and "征信洗白" in page.text
    assert strip_em(item["title"]) in page.text
    space = await client.get(f"/bilibili/{item['mid']}")
    assert space.status_code == 200 and item["author"].replace("&", "&amp;") in space.text
    assert item["bvid"] in space.text and 'class="h-sign"' in space.text
    assert (await client.get("/bilibili/1")).status_code == 404
