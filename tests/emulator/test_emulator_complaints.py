"""The complaints desk: references, matching a complaint to a post, deterministic decisions on the virtual
clock, removal of accepted posts from APIs, pages and search, rejections with reasons, templated mass filing."""

from __future__ import annotations

import re
import statistics
from datetime import datetime

import pytest

from emulator.complaints import REJECT_REASONS
from tests.emulator.emu_helpers import (
    REF_PATTERN,
    advance,
    emu_complaint,
    file_complaint,
    portal_login,
    varied_text,
)

pytestmark = pytest.mark.anyio


async def _config(client, **params) -> None:
    resp = await client.post("/_emu/complaints/config", json=params)
    assert resp.status_code == 200, resp.text


async def _status(client, platform: str, ref: str) -> dict:
    resp = await client.get(f"/portal/{platform}/complaints/{ref}", params={"format": "json"})
    assert resp.status_code == 200, resp.text
    return resp.json()


def _hours(a: str, b: str) -> float:
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds() / 3600


async def test_accepted_complaint_removes_a_bilibili_post_after_its_delay(client, bili):
    await _config(client, accept_rate=1.0)
    first = (await bili.search("停催"))["data"]["result"]
    bvid = first[0]["bvid"]
    await portal_login(client, "bilibili")
    ref = await file_complaint(client, "bilibili", f"http://emu.test/bilibili/video/{bvid}", varied_text(1))
    assert re.match(REF_PATTERN, ref) and ref.startswith("BL-")

    full = await emu_complaint(client, ref)
    assert full["post"] == {"platform": "bilibili", "post_id": bvid} and full["decision"] == "accepted"
    assert full["channel"] == "portal" and full["status"] == "received" and full["reason"] is None
    assert _hours(full["received_at"], full["acknowledged_at"]) == pytest.approx(2, abs=0.01)
    delay = _hours(full["received_at"], full["removal_at"])
    assert delay >= 2 and full["decided_at"] == full["removal_at"]

    await advance(client, 2.01)
    assert (await _status(client, "bilibili", ref))["status"] == "acknowledged"
    if delay > 2.1:  # still live between acknowledgement and removal
        assert (await client.get("/bilibili/x/web-interface/view", params={"bvid": bvid})).json()["code"] == 0

    await advance(client, delay)
    status = await _status(client, "bilibili", ref)
    assert status["status"] == "accepted" and status["status_text"] == "已处理（内容已删除）"
    assert (await client.get("/bilibili/x/web-interface/view", params={"bvid": bvid})).json()["code"] == -404
    assert (await client.get(f"/bilibili/video/{bvid}")).status_code == 404
    again = (await bili.search("停催"))["data"]["result"]
    assert bvid not in {r["bvid"] for r in again}
    assert (await client.get(f"/_emu/posts/bilibili/{bvid}/state")).json()["state"] == "deleted"
    assert (await emu_complaint(client, ref))["removed"] is True


async def test_accepted_complaint_removes_a_douyin_post_named_by_its_real_url(client, douyin):
    await _config(client, accept_rate=1.0, median_hours=10, sigma=0.0, ack_hours=1)
    first = (await douyin.search("债务优化"))["data"]
    aweme_id = next(c["aweme_info"]["aweme_id"] for c in first if c["type"] == 1)
    await portal_login(client, "douyin")
    ref = await file_complaint(client, "douyin", f"https://www.douyin.com/video/{aweme_id}?previous_page=app",
                               varied_text(2))
    full = await emu_complaint(client, ref)
    assert full["post"] == {"platform": "douyin", "post_id": aweme_id}
    assert _hours(full["received_at"], full["removal_at"]) == pytest.approx(10, abs=0.01)  # sigma 0: the median

    await advance(client, 9.9)
    assert (await client.get("/douyin/aweme/v1/web/aweme/detail/", params={"aweme_id": aweme_id})).json()[
        "aweme_detail"]
    await advance(client, 0.2)
    detail = (await client.get("/douyin/aweme/v1/web/aweme/detail/", params={"aweme_id": aweme_id})).json()
    assert detail["aweme_detail"] is None and detail["filter_detail"]["filter_reason"] == "status_deleted"
    assert "作品已删除" in (await client.get(f"/douyin/video/{aweme_id}")).text
    again = (await douyin.search("债务优化"))["data"]
    assert aweme_id not in {(c.get("aweme_info") or {}).get("aweme_id") for c in again}


async def test_rejected_complaint_shows_its_reason_and_leaves_the_post(client):
    await _config(client, accept_rate=0.0)
    post_id = (await client.get("/_emu/search/douyin", params={"keyword": "停息挂账"})).json()["ids"][0]
    await portal_login(client, "douyin")
    ref = await file_complaint(client, "douyin", f"http://emu.test/douyin/note/{post_id}", varied_text(3))
    assert (await _status(client, "douyin", ref))["status"] == "received"
    await advance(client, 2.5)
    status = await _status(client, "douyin", ref)
    assert status["status"] == "rejected" and status["reason"] in REJECT_REASONS
    page = (await client.get(f"/portal/douyin/complaints/{ref}")).text
    assert '<span id="complaint-status">rejected</span>' in page and status["reason"] in page and "已驳回" in page
    await advance(client, 500)
    assert (await client.get(f"/_emu/posts/douyin/{post_id}/state")).json()["state"] == "live"


async def test_unknown_or_unreachable_post_is_rejected_at_once(client):
    bvid = (await client.get("/_emu/search/bilibili", params={"keyword": "停催"})).json()["ids"][0]
    aweme_id = (await client.get("/_emu/search/douyin", params={"keyword": "停息挂账"})).json()["ids"][0]
    await portal_login(client, "bilibili")
    await portal_login(client, "12377")
    cases = [
        ("bilibili", "https://www.bilibili.com/video/BV1OOOOOOOOO", None),  # no such post
        ("bilibili", "这里没有链接", None),
        ("bilibili", f"https://www.douyin.com/video/{aweme_id}", None),  # Bilibili cannot act on Douyin posts
        ("12377", f"https://www.douyin.com/video/{aweme_id}", ("douyin", aweme_id)),  # the national centre can
        ("12377", f"https://m.bilibili.com/video/{bvid}/?spm_id_from=333", ("bilibili", bvid)),
    ]
    for i, (platform, url, expected) in enumerate(cases):
        ref = await file_complaint(client, platform, url, varied_text(10 + i))
        full = await emu_complaint(client, ref)
        if expected is None:
            assert full["post"] is None and full["status"] == "rejected" and full["reason"] == "未找到被投诉内容", url
            assert full["decided_at"] == full["received_at"]
        else:
            assert full["post"] == {"platform": expected[0], "post_id": expected[1]}, url
            assert ref.startswith("CAC-") and full["status"] == "received"


async def test_config_applies_to_later_complaints_only(client):
    post_id = (await client.get("/_emu/search/douyin", params={"keyword": "停息挂账"})).json()["ids"][0]
    await portal_login(client, "douyin")
    await _config(client, accept_rate=0.0)
    early = await file_complaint(client, "douyin", f"http://emu.test/douyin/video/{post_id}", varied_text(20))
    await _config(client, accept_rate=1.0, ack_hours=4)
    late = await file_complaint(client, "douyin", f"http://emu.test/douyin/video/{post_id}", varied_text(21))
    assert (await emu_complaint(client, early))["decision"] == "rejected"
    late_full = await emu_complaint(client, late)
    assert late_full["decision"] == "accepted" and late_full["params"]["ack_hours"] == 4
    assert (await client.get("/_emu/complaints/config")).json() == {"accept_rate": 1.0, "median_hours": 30.0,
                                                                   "sigma": 0.8, "ack_hours": 4.0}
    for bad in ({"accept_rate": 1.5}, {"median_hours": 0}, {"sigma": -1}, {"ack_hours": "2"}, {"speed": 1}):
        assert (await client.post("/_emu/complaints/config", json=bad)).status_code == 400, bad


async def test_removal_delays_are_lognormal_around_the_median(client):
    await _config(client, accept_rate=1.0, median_hours=30, sigma=0.8)
    ids = (await client.get("/_emu/search/douyin", params={"keyword": "停息挂账", "limit": 50})).json()["ids"]
    rows = "\n".join(f"http://emu.test/douyin/video/{ids[i % len(ids)]},金融诈骗,{varied_text(100 + i)},bulk-{i}"
                     for i in range(200))
    sheet = "帖子链接,违规类型,投诉说明,委托编号\n" + rows + "\n"
    await portal_login(client, "douyin")
    resp = await client.post("/portal/douyin/bulk", files={"sheet": ("batch.csv", sheet.encode(), "text/csv")})
    assert resp.status_code == 200, resp.text
    assert len(set(resp.json()["refs"])) == 200
    listed = (await client.get("/_emu/complaints", params={"platform": "douyin"})).json()["complaints"]
    assert len(listed) == 200 and {c["decision"] for c in listed} == {"accepted"}
    delays = [_hours(c["received_at"], c["removal_at"]) for c in listed]
    assert 0.7 * 30 <= statistics.median(delays) <= 1.3 * 30
    assert min(delays) < 15 and max(delays) > 60  # a spread, not a constant


async def test_decisions_are_deterministic_per_seed(client):
    from tests.emulator.emu_helpers import make_client

    async def decisions(c) -> list[tuple[str, str, str | None]]:
        post_id = (await c.get("/_emu/search/douyin", params={"keyword": "停息挂账"})).json()["ids"][0]
        await portal_login(c, "douyin")
        out = []
        for i in range(12):
            ref = await file_complaint(c, "douyin", f"http://emu.test/douyin/video/{post_id}", varied_text(200 + i))
            full = await emu_complaint(c, ref)
            out.append((full["decision"], full["reason"], _hours(full["received_at"], full["decided_at"])))
        return out

    async with make_client() as other:
        first, second = await decisions(client), await decisions(other)
    assert [d[:2] for d in first] == [d[:2] for d in second]
    # The delays are drawn from the seed; the timestamps are whole seconds taken from the wall clock, so the
    # same delay can show one second apart between the two runs.
    assert [d[2] for d in first] == pytest.approx([d[2] for d in second], abs=1.001 / 3600)
    assert {d[0] for d in first} == {"accepted", "rejected"}  # accept_rate 0.8 over 12 draws


async def test_templated_mass_complaints_are_rejected(client):
    await _config(client, accept_rate=1.0)
    ids = (await client.get("/_emu/search/douyin", params={"keyword": "停息挂账", "limit": 8})).json()["ids"]
    template = ("该视频宣传非法代理退保、债务优化服务，诱导用户停止还款并收取高额费用，严重扰乱金融秩序，"
                "侵害我司合法权益，请平台依法依规予以删除处理。投诉编号：{}")
    await portal_login(client, "douyin")
    refs = [await file_complaint(client, "douyin", f"http://emu.test/douyin/video/{pid}", template.format(i))
            for i, pid in enumerate(ids)]
    await advance(client, 2.5)
    statuses = [await _status(client, "douyin", ref) for ref in refs]
    template_rejected = [s["reason"] == "疑似批量模板投诉，不予受理" for s in statuses]
    assert template_rejected == [False] * 5 + [True] * 3
    assert all(s["status"] == "rejected" for s in statuses[5:])

    # Another sender is judged on their own history; a specific body from the same sender still passes.
    await client.post("/_emu/portal/accounts", json={"platform": "douyin", "username": "other", "password": "pw-2"})
    await portal_login(client, "douyin", "other", "pw-2")
    other = await file_complaint(client, "douyin", f"http://emu.test/douyin/video/{ids[0]}", template.format(99))
    assert (await emu_complaint(client, other))["template_matches"] == 0
    await portal_login(client, "douyin")
    specific = await file_complaint(client, "douyin", f"http://emu.test/douyin/video/{ids[1]}", varied_text(300))
    assert (await emu_complaint(client, specific))["decision"] == "accepted"


async def test_reset_clears_complaints_and_clock(client):
    post_id = (await client.get("/_emu/search/douyin", params={"keyword": "停息挂账"})).json()["ids"][0]
    await _config(client, accept_rate=1.0, ack_hours=0, median_hours=1, sigma=0)
    await portal_login(client, "douyin")
    ref = await file_complaint(client, "douyin", f"http://emu.test/douyin/video/{post_id}", varied_text(400))
    await advance(client, 2)
    assert (await client.get(f"/_emu/posts/douyin/{post_id}/state")).json()["state"] == "deleted"
    assert (await client.post("/_emu/reset")).status_code == 200
    assert (await client.get("/_emu/complaints")).json()["complaints"] == []
    assert (await client.get(f"/_emu/complaints/{ref}")).status_code == 404
    assert (await client.get("/_emu/clock")).json()["offset_hours"] == 0
    assert (await client.get("/_emu/complaints/config")).json()["accept_rate"] == 0.8
    assert (await client.get(f"/_emu/posts/douyin/{post_id}/state")).json()["state"] == "live"
    # References start again, and the portal session is gone with everything else.
    assert (await client.get("/portal/douyin/complaints/new")).status_code == 303
