"""The /_emu control plane: health, truth, post states, stats, reset."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.anyio


async def test_health(client):
    assert (await client.get("/_emu/health")).json() == {"ok": True, "seed": 7, "size": 2000,
                                                         "platforms": ["bilibili", "douyin"]}


async def test_truth_matches_the_post(client):
    ids = (await client.get("/_emu/search/douyin", params={"keyword": "停息挂账", "limit": 30})).json()
    assert ids["total"] > 30 and len(ids["ids"]) == 30
    labels = set()
    for post_id in ids["ids"]:
        truth = (await client.get(f"/_emu/truth/douyin/{post_id}")).json()
        assert truth["label"] in (0, 1) and truth["category"] and truth["keyword"]
        assert (truth["label"] == 1) == truth["category"].startswith("promo_")
        dump = (await client.get(f"/_emu/posts/douyin/{post_id}")).json()
        assert dump["truth"] == truth and "停息挂账" in dump["title"] + dump["text"] + "".join(dump["tags"])
        labels.add(truth["label"])
    assert labels == {0, 1}


async def test_state_api(client):
    post_id = (await client.get("/_emu/search/bilibili", params={"keyword": "停催"})).json()["ids"][0]
    url = f"/_emu/posts/bilibili/{post_id}/state"
    assert (await client.get(url)).json()["state"] == "live"
    assert (await client.post(url, json={"state": "vanished"})).status_code == 400
    assert (await client.post(url, json={"state": "under_review"})).status_code == 200
    assert (await client.get(url)).json()["state"] == "under_review"
    assert (await client.post("/_emu/posts/bilibili/BV1OOOOOOOOO/state", json={"state": "deleted"})).status_code == 404
    assert (await client.post(f"/_emu/posts/kuaishou/{post_id}/state", json={"state": "deleted"})).status_code == 404
    assert (await client.get("/_emu/truth/douyin/123")).status_code == 404


async def test_stats_and_reset(client):
    await client.get("/bilibili/x/web-interface/nav")
    await client.get("/bilibili/x/web-interface/wbi/search/type", params={"keyword": "x"})
    await client.get("/douyin/aweme/v1/web/general/search/single/", params={"keyword": "x"})
    await client.post("/_emu/faults", json={"platform": "douyin", "endpoint": "search", "kind": "blocked"})
    stats = (await client.get("/_emu/stats")).json()
    assert stats["requests"]["bilibili"] == {"nav": 1, "search": 1}
    assert stats["requests"]["douyin"] == {"search": 1}
    assert stats["rejected"] == {"bilibili": {"no_cookie": 1}, "douyin": {"no_cookie": 1}}
    assert (await client.post("/_emu/reset")).json() == {"ok": True}
    assert (await client.get("/_emu/stats")).json()["requests"] == {}
    assert (await client.get("/_emu/faults")).json()["faults"] == []
