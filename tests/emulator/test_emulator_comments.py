"""Emulated comment and profile endpoints: Bilibili's WBI-signed reply list and account info, Douyin's
a_bogus-signed comment list and profile (and the pages whose scripts call them), their gone and closed codes,
and faults on them."""

from __future__ import annotations

import json
import os
import re
import time
from urllib.parse import quote, urlencode

import httpx
import pytest

from emulator import wbi
from emulator.corpus import Corpus, comment_thread
from emulator.douyin_token import a_bogus
from emulator.server import running
from tests.emulator.emu_helpers import Douyin

pytestmark = pytest.mark.anyio
CORPUS = Corpus(7, 2000)  # the corpus of make_client()'s default emulator
REPLIES = "/bilibili/x/v2/reply/wbi/main"
ACC_INFO = "/bilibili/x/space/wbi/acc/info"
COMMENT_LIST = "/douyin/aweme/v1/web/comment/list/"
PROFILE = "/douyin/aweme/v1/web/user/profile/other/"


def first_post(platform: str, want) -> object:
    return next(p for p in (CORPUS.post(platform, i) for i in range(CORPUS.size)) if want(p))


def pinned(post) -> bool:
    return any(c.pinned for c in comment_thread(post))


def nested(post) -> bool:
    return any(c.reply_to is not None for c in comment_thread(post))


async def fault(client, **spec) -> None:
    resp = await client.post("/_emu/faults", json=spec)
    assert resp.status_code == 201, resp.text


# --------------------------------------------------------------------------------------------------- bilibili


def reply_params(bili, aid: int, **extra) -> dict[str, str]:
    params = {"oid": aid, "type": 1, "mode": 3, "pagination_str": '{"offset":""}', "plat": 1,
              "web_location": 1315875, **extra}
    return wbi.sign(params, bili.img_key, bili.sub_key, int(time.time()))


async def test_replies_pinned_in_top_replies_and_the_uploader_marked_by_mid(bili, client):
    post = first_post("bilibili", pinned)
    body = (await client.get(REPLIES, params=reply_params(bili, post.aid))).json()
    assert body["code"] == 0 and body["message"] == "0"
    data = body["data"]
    assert data["upper"]["mid"] == post.author.mid
    [top] = data["top_replies"]
    assert top["mid"] == post.author.mid and top["member"]["mid"] == str(post.author.mid)
    assert f"置顶：{top['content']['message']}" == post.comments[0]
    assert all(r["mid"] != post.author.mid for r in data["replies"])  # viewers only, in this post
    assert data["cursor"]["is_end"] is True and data["cursor"]["all_count"] == len(post.comments)
    again = (await client.get(REPLIES, params=reply_params(bili, post.aid))).json()
    assert again["data"]["replies"] == data["replies"], "the same post answers the same comments"


async def test_an_author_reply_after_a_viewer_comment_is_nested_under_it(bili, client):
    post = next((p for p in (CORPUS.post("bilibili", i) for i in range(CORPUS.size)) if nested(p)), None)
    if post is None:
        pytest.skip("no nested author reply in this corpus")
    data = (await client.get(REPLIES, params=reply_params(bili, post.aid))).json()["data"]
    subs = [s for r in data["replies"] for s in r["replies"]]
    assert subs and all(s["mid"] == post.author.mid and s["root"] for s in subs)


async def test_replies_check_cookie_and_signature_like_search(bili, client):
    post = CORPUS.post("bilibili", 3)
    bad = {**reply_params(bili, post.aid), "w_rid": "0" * 32}
    assert set((await client.get(REPLIES, params=bad)).json()["data"]) == {"v_voucher"}
    client.cookies.clear()  # no buvid3 any more
    no_cookie = (await client.get(REPLIES, params=reply_params(bili, post.aid))).json()
    assert no_cookie["code"] == -412
    stats = (await client.get("/_emu/stats")).json()
    assert stats["rejected"]["bilibili"] == {"bad_sign": 1, "no_cookie": 1}
    assert stats["requests"]["bilibili"]["comments"] == 2


async def test_reply_codes_gone_closed_hidden(bili, client):
    post = CORPUS.post("bilibili", 5)
    assert (await client.get(REPLIES, params=reply_params(bili, 12345))).json()["code"] == -404
    assert (await client.get(REPLIES, params=reply_params(bili, post.aid, type=12))).json()["code"] == -400
    for state, code in (("closed", 12002), ("hidden", 12061)):
        resp = await client.post(f"/_emu/posts/bilibili/{post.post_id}/comments", json={"state": state})
        assert resp.status_code == 200
        body = (await client.get(REPLIES, params=reply_params(bili, post.aid))).json()
        assert body["code"] == code and body["message"]
    dump = (await client.get(f"/_emu/posts/bilibili/{post.post_id}")).json()
    assert dump["comment_state"] == "hidden"
    await client.post(f"/_emu/posts/bilibili/{post.post_id}/comments", json={"state": "open"})
    await client.post(f"/_emu/posts/bilibili/{post.post_id}/state", json={"state": "deleted"})
    assert (await client.get(REPLIES, params=reply_params(bili, post.aid))).json()["code"] == -404
    assert (await client.post(f"/_emu/posts/bilibili/{post.post_id}/comments",
                              json={"state": "gone"})).status_code == 400


async def test_account_info_carries_the_bio(bili, client):
    author = CORPUS.author("bilibili", 4)
    params = wbi.sign({"mid": author.mid}, bili.img_key, bili.sub_key, int(time.time()))
    body = (await client.get(ACC_INFO, params=params)).json()
    assert body["code"] == 0
    data = body["data"]
    assert (data["mid"], data["name"], data["sign"]) == (author.mid, author.nickname, author.bio)
    assert set(data["official"]) == {"role", "title", "desc", "type"}
    unknown = wbi.sign({"mid": 42}, bili.img_key, bili.sub_key, int(time.time()))
    assert (await client.get(ACC_INFO, params=unknown)).json()["code"] == -404
    resp = await client.post(f"/_emu/authors/bilibili/{author.mid}/state", json={"state": "banned"})
    assert resp.status_code == 200
    assert (await client.get(ACC_INFO, params=params)).json()["code"] == -404
    unsigned = (await client.get(ACC_INFO, params={"mid": author.mid})).json()
    assert set(unsigned["data"]) == {"v_voucher"}


async def test_bilibili_comment_and_profile_faults(bili, client):
    post = CORPUS.post("bilibili", 9)
    await fault(client, platform="bilibili", endpoint="comments", kind="captcha", after=1, times=1)
    assert (await client.get(REPLIES, params=reply_params(bili, post.aid))).json()["code"] == 0  # let through
    assert (await client.get(REPLIES, params=reply_params(bili, post.aid))).json()["code"] == -352
    assert (await client.get(REPLIES, params=reply_params(bili, post.aid))).json()["code"] == 0  # spent
    await fault(client, platform="bilibili", endpoint="comments", kind="schema_change", times=1)
    data = (await client.get(REPLIES, params=reply_params(bili, post.aid))).json()["data"]
    assert "replies" not in data and "reply_list" in data
    await fault(client, platform="bilibili", endpoint="profile", kind="rate_limit", retry_after=9, times=1)
    params = wbi.sign({"mid": post.author.mid}, bili.img_key, bili.sub_key, int(time.time()))
    limited = await client.get(ACC_INFO, params=params)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "9" and limited.json()["code"] == -799
    await fault(client, platform="bilibili", endpoint="profile", kind="malformed_json", times=1)
    cut = await client.get(ACC_INFO, params=params)
    with pytest.raises(ValueError):
        json.loads(cut.content)
    assert (await client.post("/_emu/faults", json={"platform": "bilibili", "endpoint": "comments",
                                                    "kind": "blocked", "after": -1})).status_code == 400


# ----------------------------------------------------------------------------------------------------- douyin


def signed(dy: Douyin, path: str, pairs: list[tuple[str, str]]) -> str:
    qs = urlencode([("device_platform", "webapp"), ("aid", "6383"), ("channel", "channel_pc_web"), *pairs,
                    ("verifyFp", dy.fp), ("webid", "7" + "3" * 18), ("msToken", "m" * 107)])
    return f"{path}?{qs}&a_bogus={quote(a_bogus(dy.secret, qs, dy.ua), safe='')}"


async def test_comment_list_pinned_author_labelled_and_reply_previews(douyin, client):
    post = first_post("douyin", pinned)
    url = signed(douyin, COMMENT_LIST, [("aweme_id", post.post_id), ("cursor", "0"), ("count", "20")])
    body = (await client.get(url, headers={"User-Agent": douyin.ua})).json()
    assert body["status_code"] == 0 and body["total"] == len(comment_thread(post))
    first = body["comments"][0]
    assert first["stick_position"] == 1 and first["label_text"] == "作者"
    assert first["user"]["uid"] == post.author.uid and f"置顶：{first['text']}" == post.comments[0]
    assert all(c["stick_position"] == 0 for c in body["comments"][1:])
    replying = next((p for p in (CORPUS.post("douyin", i) for i in range(CORPUS.size)) if nested(p)), None)
    if replying is not None:
        url = signed(douyin, COMMENT_LIST, [("aweme_id", replying.post_id), ("cursor", "0"), ("count", "20")])
        items = (await client.get(url, headers={"User-Agent": douyin.ua})).json()["comments"]
        previews = [r for c in items for r in c["reply_comment"] or []]
        assert previews and all(r["label_text"] == "作者" and r["reply_id"] != "0" for r in previews)


async def test_comment_list_and_profile_need_the_page_signature(douyin, client):
    post = CORPUS.post("douyin", 1)
    unsigned = await client.get(COMMENT_LIST, params={"aweme_id": post.post_id, "webid": "7" * 19,
                                                      "msToken": "m" * 107})
    assert unsigned.status_code == 200 and unsigned.content == b""
    url = signed(douyin, PROFILE, [("sec_user_id", post.author.sec_uid)])
    other_ua = await client.get(url, headers={"User-Agent": "python-httpx"})
    assert other_ua.content == b""
    stats = (await client.get("/_emu/stats")).json()["rejected"]["douyin"]
    assert stats == {"no_token": 1, "bad_token": 1}


async def test_douyin_no_comments_closed_and_profile_gone_codes(douyin, client):
    post = first_post("douyin", lambda p: len(p.comments) > 0)
    url = signed(douyin, COMMENT_LIST, [("aweme_id", post.post_id), ("cursor", "0"), ("count", "20")])
    await client.post(f"/_emu/posts/douyin/{post.post_id}/comments", json={"state": "closed"})
    closed = (await client.get(url, headers={"User-Agent": douyin.ua})).json()
    assert closed["status_code"] == 0 and closed["comments"] is None and closed["total"] == 0
    profile_url = signed(douyin, PROFILE, [("sec_user_id", post.author.sec_uid)])
    user = (await client.get(profile_url, headers={"User-Agent": douyin.ua})).json()
    assert user["status_code"] == 0 and user["user"]["signature"] == post.author.bio
    assert (user["user"]["uid"], user["user"]["sec_uid"]) == (post.author.uid, post.author.sec_uid)
    await client.post(f"/_emu/authors/douyin/{post.author.sec_uid}/state", json={"state": "banned"})
    banned = (await client.get(profile_url, headers={"User-Agent": douyin.ua})).json()
    assert banned["status_code"] == 2053 and banned["user"] is None
    nobody = signed(douyin, PROFILE, [("sec_user_id", "MS4wLjABAAAAnope")])
    gone = (await client.get(nobody, headers={"User-Agent": douyin.ua})).json()
    assert gone["status_code"] == 0 and gone["user"] is None


async def test_douyin_comment_and_profile_faults(douyin, client):
    post = CORPUS.post("douyin", 2)
    url = signed(douyin, COMMENT_LIST, [("aweme_id", post.post_id), ("cursor", "0"), ("count", "20")])
    await fault(client, platform="douyin", endpoint="comments", kind="captcha", times=1)
    verify = (await client.get(url, headers={"User-Agent": douyin.ua})).json()
    assert verify["search_nil_info"]["search_nil_type"] == "verify_check" and verify["comments"] is None
    await fault(client, platform="douyin", endpoint="comments", kind="blocked", times=1)
    assert (await client.get(url, headers={"User-Agent": douyin.ua})).content == b"blocked"
    profile_url = signed(douyin, PROFILE, [("sec_user_id", post.author.sec_uid)])
    await fault(client, platform="douyin", endpoint="profile", kind="schema_change", times=1)
    renamed = (await client.get(profile_url, headers={"User-Agent": douyin.ua})).json()
    assert "user" not in renamed and renamed["user_info"]["uid"] == post.author.uid
    await fault(client, platform="douyin", endpoint="profile", kind="login_expired", times=1)
    assert (await client.get(profile_url, headers={"User-Agent": douyin.ua})).json()["status_code"] == 8


async def test_post_and_user_pages_carry_the_signing_client(client):
    post = CORPUS.post("douyin", 0)
    page = await client.get(f"/douyin/video/{post.post_id}")
    assert page.cookies.get("s_v_web_id", "").startswith("verify_")
    for needle in ("window.SSR_DETAIL=", post.post_id, "aBogus(", "/aweme/v1/web/comment/list/", "xmst"):
        assert needle in page.text, needle
    user = await client.get(f"/douyin/user/{post.author.sec_uid}")
    assert user.status_code == 200 and "set-cookie" not in user.headers  # the post page's cookie is reused
    assert "window.SSR_USER=" in user.text and "/aweme/v1/web/user/profile/other/" in user.text
    missing = await client.get("/douyin/user/MS4wLjABAAAAnope")
    assert missing.status_code == 404 and "/aweme/v1/web/user/profile/other/" in missing.text


# ---------------------------------------------------------------------------------------------- in a browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed")
def test_the_pages_own_scripts_fetch_comments_and_the_profile_signed():
    from playwright.sync_api import sync_playwright

    post = first_post("douyin", pinned)
    with running(seed=7, size=2000) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            answers: list[dict] = []
            page.on("response", lambda r: answers.append(r.json()) if re.search(
                r"/comment/list/|/profile/other/", r.url) else None)
            page.goto(f"{base}/douyin/video/{post.post_id}")
            page.wait_for_function("document.body.getAttribute('data-comments-loaded') !== null", timeout=15_000)
            assert page.evaluate("document.body.getAttribute('data-comments-loaded')") == str(
                len(comment_thread(post)))
            page.goto(f"{base}/douyin/user/{post.author.sec_uid}")
            page.wait_for_function("document.body.getAttribute('data-profile-loaded') === '1'", timeout=15_000)
        finally:
            browser.close()
        assert answers[0]["comments"][0]["stick_position"] == 1
        assert answers[1]["user"]["sec_uid"] == post.author.sec_uid
        stats = httpx.get(f"{base}/_emu/stats").json()
        assert stats["requests"]["douyin"]["comments"] == 1 and stats["requests"]["douyin"]["profile"] == 1
        assert not stats["rejected"].get("douyin")
