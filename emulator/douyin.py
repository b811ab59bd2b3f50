"""Douyin's web API and pages under the /douyin prefix (www.douyin.com).

The general-search endpoint only answers requests made by the search page's own JavaScript: the page sets a
nonce cookie and embeds a secret, the page's JS signs the exact query string into `a_bogus` (douyin_token.py).
Anything else gets what the real site gives an unsigned client: HTTP 200 with an empty body.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from . import douyin_pages
from .corpus import ANCHOR_TS, Comment, Post, comment_thread
from .douyin_token import COOKIE
from .faults import Fault, replaces_answer, retry_after
from .ids import Ids, h64
from .texts import NICK_WORDS
from .world import BAD_GATEWAY, World, json_response, truncated, world_of

router = APIRouter(prefix="/douyin")

FILTER = {
    "deleted": ("status_deleted", "作品已删除", "该作品已被删除"),
    "private": ("status_self_see", "作者设置了仅自己可见", "作者设置了仅自己可见"),
    "owner_only": ("status_self_see", "作者设置了仅自己可见", "作者设置了仅自己可见"),
    "under_review": ("status_reviewing", "作品审核中", "作品正在审核中，请稍后再试"),
    "no_permission": ("status_friend_see", "作者设置了仅好友可见", "该作品仅作者的好友可见"),
}
MIX_EVERY = 12  # about one result in twelve arrives wrapped in a collection (aweme_mix_info)


def _logid() -> str:
    return datetime.now().strftime("%Y%m%d%H%M%S") + secrets.token_hex(9).upper()


def _cover(post: Post) -> dict[str, Any]:
    uri = f"tos-cn-p-0015/{post.cover_hash}"
    return {"uri": uri, "width": 720, "height": 960,
            "url_list": [f"https://p3-pc-sign.douyinpic.com/{uri}~tplv-dy-cropcenter:323:430.jpeg",
                         f"https://p9-pc-sign.douyinpic.com/{uri}~tplv-dy-cropcenter:323:430.jpeg"]}


def author_info(post_author, world: World) -> dict[str, Any]:
    a = post_author
    avatar = f"aweme-avatar/tos-cn-avt-0015_{a.face}"
    return {
        "uid": a.uid,
        "sec_uid": a.sec_uid,
        "short_id": "0",
        "unique_id": a.unique_id,
        "nickname": a.nickname,
        "signature": a.bio,
        "avatar_thumb": {"uri": avatar, "url_list": [f"https://p3-pc.douyinpic.com/aweme/100x100/{avatar}.jpeg"]},
        "follower_count": int(h64(world.seed, "fans", a.index) % 50_000),
        "total_favorited": int(h64(world.seed, "faved", a.index) % 500_000),
        "custom_verify": "官方账号" if a.category == "official" else "",
        "enterprise_verify_reason": f"{a.brand}官方账号" if a.category == "official" else "",
        "is_ad_fake": False,
        "prevent_download": False,
    }


def aweme_info(world: World, post: Post, woven: str | None = None) -> dict[str, Any]:
    m = post.metrics
    tags = [t.replace(" ", "") for t in world.corpus.tags_for(post, woven)]
    caption = f"{post.title}\n{post.text}" if post.text else post.title
    desc, text_extra = caption, []
    for t in tags:  # hashtags live inline at the end of desc, as the app writes them
        desc += " "
        start = len(desc)
        desc += "#" + t
        text_extra.append({"start": start, "end": len(desc), "type": 1, "hashtag_name": t,
                           "hashtag_id": str(h64("tag", t) % 10**19), "is_commerce": False,
                           "caption_start": start, "caption_end": len(desc)})
    is_note = post.images > 0
    cover = _cover(post)
    images = None
    if is_note:
        images = [{"uri": f"{cover['uri']}-{k}", "width": 1080, "height": 1440, "download_url_list": [],
                   "url_list": [f"https://p3-pc-sign.douyinpic.com/{cover['uri']}-{k}~tplv-dy-aweme-images:q75.webp"]}
                  for k in range(post.images)]
    return {
        "aweme_id": post.post_id,
        "desc": desc,
        "caption": caption,
        "item_title": post.title,
        "preview_title": post.title[:30],
        "create_time": m.pubdate,
        "aweme_type": 68 if is_note else 0,
        "media_type": 2 if is_note else 4,
        "author": author_info(post.author, world),
        "statistics": {"aweme_id": post.post_id, "digg_count": m.like, "comment_count": m.reply,
                       "share_count": m.share, "collect_count": m.favorite, "play_count": m.play,
                       "admire_count": 0},
        "video": {"cover": cover, "origin_cover": cover, "duration": 0 if is_note else m.duration * 1000,
                  "width": 1080, "height": 1920, "ratio": "1080p",
                  "play_addr": {"uri": f"v0200fg10000{post.cover_hash[:20]}",
                                "url_list": [] if is_note else
                                [f"https://www.douyin.com/aweme/v1/play/?video_id=v0200fg10000{post.cover_hash[:20]}"]}},
        "images": images,
        "text_extra": text_extra,
        "ip_label": post.author.ip_label,
        "share_url": f"https://www.iesdouyin.com/share/{'note' if is_note else 'video'}/{post.post_id}/",
        "status": {"aweme_id": post.post_id, "is_delete": False, "allow_share": True, "is_prohibited": False,
                   "in_reviewing": False, "private_status": 0, "part_see": 0},
        "is_top": 0,
        "is_ads": False,
        "duration": 0 if is_note else m.duration * 1000,
    }


async def _pre_fault(world: World, fault: Fault | None, endpoint: str, offset: int = 0) -> Response | None:
    """Render a fault that replaces the answer; None lets the request go on (see faults.replaces_answer)."""
    if not await replaces_answer(world, "douyin", fault):
        return None
    kind = fault.kind
    if kind == "rate_limit":
        return Response(b"", status_code=429, headers=retry_after(fault))
    if kind == "server_error":
        return HTMLResponse(BAD_GATEWAY, status_code=502)
    if kind == "captcha":
        logid = _logid()
        nil = {"search_nil_type": "verify_check", "search_nil_item": "verify_check", "is_load_more": "0",
               "text_type": 0}
        if endpoint == "detail":
            return json_response({"status_code": 0, "status_msg": "", "aweme_detail": None,
                                  "search_nil_info": nil, "log_pb": {"impr_id": logid}})
        if endpoint in ("comments", "profile"):
            empty = "comments" if endpoint == "comments" else "user"
            return json_response({"status_code": 0, "status_msg": "", empty: None, "search_nil_info": nil,
                                  "log_pb": {"impr_id": logid}})
        return json_response({"status_code": 0, "status_msg": "", "data": [], "has_more": 0, "cursor": offset,
                              "extra": {"now": int(time.time() * 1000), "logid": logid, "fatal_item_ids": [],
                                        "search_request_id": ""},
                              "log_pb": {"impr_id": logid}, "search_nil_info": nil})
    if kind == "error_code":
        return json_response({"status_code": 2483, "status_msg": "系统繁忙"})
    if kind == "login_expired":
        return json_response({"status_code": 8, "status_msg": "用户未登录"})
    if kind == "blocked":
        return Response(b"blocked", status_code=200, media_type="text/plain; charset=utf-8")
    return None


def _post_fault(fault: Fault | None, resp: Response, old: str, new: str) -> Response:
    if fault is None or fault.kind not in ("malformed_json", "schema_change"):
        return resp
    if fault.kind == "malformed_json":
        return truncated(resp)
    payload = json.loads(resp.body)
    if old in payload:
        payload[new] = payload.pop(old)
    return json_response(payload, status=resp.status_code)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default


def _filters(raw: str | None) -> tuple[str, int]:
    """`filter_selected` JSON → (corpus order, publish_time days; 0 = any)."""
    if not raw:
        return "", 0
    try:
        sel = json.loads(raw)
    except ValueError:
        return "", 0
    order = {"1": "like", "2": "pubdate"}.get(str(sel.get("sort_type", "0")), "")
    return order, _int(str(sel.get("publish_time", "0")), 0)


def _token_gate(world: World, request: Request) -> Response | None:
    """What every signed endpoint checks after the gateway: a cookie this server issued, `a_bogus` over the
    raw query and the User-Agent, a 19-digit `webid` and an `msToken`. A request that fails gets what the real
    site gives an unsigned client, HTTP 200 with an empty body; None lets it go on."""
    params = request.query_params
    reason = world.tokens.check(request.url.query, request.cookies.get(COOKIE), request.headers.get("user-agent", ""))
    if reason is None and (len(params.get("webid", "")) != 19 or not params.get("webid", "").isdigit()
                           or len(params.get("msToken", "")) < 20):
        reason = "bad_params"
    if reason is None:
        return None
    world.stats.reject("douyin", reason)
    return Response(b"", status_code=200, media_type="application/json; charset=utf-8")


@router.get("/aweme/v1/web/general/search/single/")
@router.get("/aweme/v1/web/search/item/")
async def search(request: Request) -> Response:
    world = world_of(request)
    world.stats.hit("douyin", "search")
    params = request.query_params
    count = min(20, max(1, _int(params.get("count"), 10)))
    offset = max(0, _int(params.get("offset"), 0))
    page = offset // count + 1
    fault = world.faults.take("douyin", "search", page)
    early = await _pre_fault(world, fault, "search", offset)
    if early is not None:
        return early
    rejected = _token_gate(world, request)
    if rejected is not None:
        return rejected
    keyword = " ".join(params.get("keyword", "").split())
    if not keyword:
        return json_response({"status_code": 2, "status_msg": "invalid parameter: keyword"})
    order, days = _filters(params.get("filter_selected"))
    hits = world.corpus.search("douyin", keyword, order, since=ANCHOR_TS - days * 86400 if days else 0)
    indices = hits.window(offset, offset + count)
    data = []
    for j, index in enumerate(indices, start=offset):
        if not world.is_live("douyin", index):
            continue
        if hits.woven:
            world.corpus.remember_weave("douyin", index, hits.woven)
        post = world.corpus.post("douyin", index)
        info = aweme_info(world, post, hits.woven)
        if j % MIX_EVERY == MIX_EVERY - 5:
            others = [world.corpus.post("douyin", i) for i in world.corpus.posts_of_author("douyin", post.author.index, 4)
                      if i != index and world.is_live("douyin", i)][:2]
            items = [info] + [aweme_info(world, o) for o in others]
            data.append({"type": 16, "card_unique_name": "aweme_mix", "aweme_mix_info": {
                "mix_info": {"mix_id": str(7_100_000_000_000_000_000 + h64(world.seed, "mix", index) % 10**17),
                             "mix_name": f"{post.author.nickname}的合集", "statis": {"updated_to_episode": len(items)}},
                "mix_items": items}})
        else:
            data.append({"type": 1, "card_unique_name": "video", "aweme_info": info})
    cursor = offset + count
    logid = _logid()
    body = {
        "status_code": 0,
        "status_msg": "",
        "data": data,
        "qc": "",
        "cursor": cursor,
        "has_more": 1 if cursor < len(hits) else 0,
        "ad_info": {},
        "backtrace": secrets.token_urlsafe(24),
        "extra": {"now": int(time.time() * 1000), "logid": logid, "fatal_item_ids": [],
                  "search_request_id": params.get("search_id", ""), "scenes": ["AB"]},
        "log_pb": {"impr_id": logid},
        "search_nil_info": None,
        "global_doodle_config": {
            "keyword": keyword, "display_filter_bar": 1, "new_source": "normal_search",
            "search_channel": params.get("search_channel", "aweme_general"), "hit_dou_plus": 0,
            "filter_settings": [
                {"title": "排序依据", "name": "sort_type", "default_index": 0,
                 "options": [{"name": "综合排序", "value": "0"}, {"name": "最多点赞", "value": "1"},
                             {"name": "最新发布", "value": "2"}]},
                {"title": "发布时间", "name": "publish_time", "default_index": 0,
                 "options": [{"name": "不限", "value": "0"}, {"name": "一天内", "value": "1"},
                             {"name": "一周内", "value": "7"}, {"name": "半年内", "value": "180"}]},
            ] if params.get("need_filter_settings") == "1" else [],
        },
    }
    return _post_fault(fault, json_response(body), "data", "aweme_list")


@router.get("/aweme/v1/web/aweme/detail/")
async def detail(request: Request) -> Response:
    world = world_of(request)
    world.stats.hit("douyin", "detail")
    fault = world.faults.take("douyin", "detail")
    early = await _pre_fault(world, fault, "detail")
    if early is not None:
        return early
    aweme_id = request.query_params.get("aweme_id", "")
    if not aweme_id:
        return json_response({"status_code": 2, "status_msg": "invalid parameter: aweme_id"})
    index = world.corpus.index_of("douyin", aweme_id)
    state = "deleted" if index is None else world.state_of("douyin", index)
    if state != "live":
        reason, msg, notice = FILTER[state]
        body = {"status_code": 0, "status_msg": "", "aweme_detail": None,
                "filter_detail": {"aweme_id": aweme_id, "filter_reason": reason, "detail_msg": msg, "notice": notice,
                                  "is_visible_to_user": False},
                "log_pb": {"impr_id": _logid()}}
        return _post_fault(fault, json_response(body), "aweme_detail", "aweme")
    body = {"status_code": 0, "status_msg": "", "aweme_detail": aweme_info(world, world.corpus.post("douyin", index)),
            "log_pb": {"impr_id": _logid()}}
    return _post_fault(fault, json_response(body), "aweme_detail", "aweme")


# ------------------------------------------------------------------------------------ comments, profile


def _commenter(world: World, post: Post, key: int) -> dict[str, Any]:
    h = h64(world.seed, "dy-commenter", post.index, key)
    uid = str(90_000_000_000 + h % 10**10)
    name = f"用户{h % 10**10}" if h % 3 == 0 else f"{NICK_WORDS[h % len(NICK_WORDS)]}{(h >> 20) % 1000}"
    return {"uid": uid, "sec_uid": f"{Ids.SEC_PREFIX}c{h:016x}", "nickname": name, "unique_id": "",
            "avatar_thumb": {"uri": f"aweme-avatar/{h % 10**8}",
                             "url_list": [f"https://p3-pc.douyinpic.com/aweme/100x100/aweme-avatar/{h % 10**8}.jpeg"]}}


def comment_item(world: World, post: Post, comment: Comment, total: int) -> dict[str, Any]:
    """One comment as /aweme/v1/web/comment/list/ returns it: pinned ones carry stick_position 1, the
    author's label_text "作者"."""
    user = author_info(post.author, world) if comment.by_author else _commenter(world, post, comment.key)
    h = h64(world.seed, "dy-comment", post.index, comment.key)
    return {
        "cid": str(7_400_000_000_000_000_000 + h % 10**17), "text": comment.text, "aweme_id": post.post_id,
        "create_time": post.metrics.pubdate + 300 + h % (20 * 86400), "digg_count": (h >> 24) % 300,
        "status": 1,
        "user": {k: user[k] for k in ("uid", "sec_uid", "nickname", "unique_id", "avatar_thumb")},
        "reply_id": "0", "user_digged": 0, "reply_comment": None, "text_extra": [],
        "label_text": "作者" if comment.by_author else "", "label_type": 1 if comment.by_author else -1,
        "reply_comment_total": 0, "reply_to_reply_id": "0", "is_author_digged": comment.pinned or bool(h % 7 == 0),
        "stick_position": 1 if comment.pinned else 0, "ip_label": post.author.ip_label if comment.by_author else "",
        "is_hot": False, "can_share": True, "item_comment_total": total, "is_note_comment": 1 if post.images else 0,
    }


def comment_list(world: World, post: Post) -> list[dict[str, Any]]:
    """Pinned comments first; the author's replies as the `reply_comment` preview of the comment they answer
    (the real list shows the first reply that way; the rest need the reply endpoint)."""
    total = len(post.comments)
    pinned, others, by_key = [], [], {}
    for comment in comment_thread(post):
        item = comment_item(world, post, comment, total)
        if comment.pinned:
            pinned.append(item)
        elif comment.reply_to is not None and comment.reply_to in by_key:
            parent = by_key[comment.reply_to]
            item["reply_id"] = parent["cid"]
            parent["reply_comment"] = (parent["reply_comment"] or []) + [item]
            parent["reply_comment_total"] += 1
        else:
            others.append(item)
            by_key[comment.key] = item
    return pinned + others


@router.get("/aweme/v1/web/comment/list/")
async def comments(request: Request) -> Response:
    world = world_of(request)
    world.stats.hit("douyin", "comments")
    fault = world.faults.take("douyin", "comments")
    early = await _pre_fault(world, fault, "comments")
    if early is not None:
        return early
    rejected = _token_gate(world, request)
    if rejected is not None:
        return rejected
    params = request.query_params
    aweme_id = params.get("aweme_id", "")
    if not aweme_id:
        return json_response({"status_code": 2, "status_msg": "invalid parameter: aweme_id"})
    index = world.corpus.index_of("douyin", aweme_id)
    items: list[dict[str, Any]] = []
    # A removed post or a closed comment section lists nothing, as the real list does (comments: null).
    if index is not None and world.is_live("douyin", index) and world.comment_state_of("douyin", index) == "open":
        items = comment_list(world, world.corpus.post("douyin", index))
    cursor = max(0, _int(params.get("cursor"), 0))
    count = min(50, max(1, _int(params.get("count"), 20)))
    page = items[cursor:cursor + count]
    logid = _logid()
    body = {
        "status_code": 0, "status_msg": "", "comments": page or None, "cursor": cursor + len(page),
        "has_more": 1 if cursor + len(page) < len(items) else 0, "reply_style": 2, "total": len(items),
        "extra": {"now": int(time.time() * 1000), "fatal_item_ids": None}, "log_pb": {"impr_id": logid},
        "hotsoon_filtered_count": 0, "user_commented": 0, "folded_comment_count": 0,
        "comment_common_data": "", "show_management_entry_point": 0,
    }
    return _post_fault(fault, json_response(body), "comments", "comment_list")


@router.get("/aweme/v1/web/user/profile/other/")
async def profile(request: Request) -> Response:
    world = world_of(request)
    world.stats.hit("douyin", "profile")
    fault = world.faults.take("douyin", "profile")
    early = await _pre_fault(world, fault, "profile")
    if early is not None:
        return early
    rejected = _token_gate(world, request)
    if rejected is not None:
        return rejected
    sec_uid = request.query_params.get("sec_user_id", "")
    if not sec_uid:
        return json_response({"status_code": 2, "status_msg": "invalid parameter: sec_user_id"})
    a = world.corpus.author_index("douyin", sec_uid)
    logid = _logid()
    if a is None:  # never existed, or deleted: an empty user
        return json_response({"status_code": 0, "status_msg": "", "user": None, "log_pb": {"impr_id": logid}})
    if world.author_state_of("douyin", a) == "banned":
        return json_response({"status_code": 2053, "status_msg": "该账号已被封禁", "user": None,
                              "log_pb": {"impr_id": logid}})
    author = world.corpus.author("douyin", a)
    info = author_info(author, world)
    user = {**info, "aweme_count": len(world.corpus.posts_of_author("douyin", a)), "following_count":
            int(h64(world.seed, "follows", a) % 500), "ip_location": f"IP属地：{author.ip_label}",
            "share_info": {"share_url": f"www.iesdouyin.com/share/user/{author.sec_uid}"}, "is_block": False,
            "is_blocked": False, "user_age": -1, "gender": 0, "province": "", "city": ""}
    body = {"status_code": 0, "status_msg": "", "user": user, "extra": {"now": int(time.time() * 1000)},
            "log_pb": {"impr_id": logid}}
    return _post_fault(fault, json_response(body), "user", "user_info")


# ------------------------------------------------------------------------------------------------- pages


@router.get("/", response_class=HTMLResponse)
@router.get("", include_in_schema=False, response_class=HTMLResponse)
async def home(request: Request) -> Response:
    world_of(request).stats.hit("douyin", "home")
    return HTMLResponse(douyin_pages.home_page())


def _signed_page(world: World, request: Request, render: Callable[[str, str], str],
                 status_code: int = 200) -> Response:
    """A page whose script signs API calls: `render(fp, secret)` with the secret of the page's nonce cookie,
    issued here unless the browser holds a valid one (reused, so several tabs keep working together)."""
    cookie = request.cookies.get(COOKIE)
    nonce = world.tokens.nonce_of(cookie)
    fresh = nonce is None
    if fresh:
        cookie = world.tokens.new_cookie()
        nonce = world.tokens.nonce_of(cookie)
    resp = HTMLResponse(render(cookie, world.tokens.secret(nonce)), status_code=status_code)
    if fresh:
        resp.set_cookie(COOKIE, cookie, max_age=30 * 86400, path="/", httponly=True, samesite="lax")
    return resp


@router.get("/search/{keyword:path}", response_class=HTMLResponse)
async def search_page(request: Request, keyword: str) -> Response:
    world = world_of(request)
    world.stats.hit("douyin", "search_page")
    return _signed_page(world, request, lambda fp, secret: douyin_pages.search_page(keyword, fp, secret))


def _post_page(world: World, request: Request, post_id: str, note: bool) -> Response:
    index = world.corpus.index_of("douyin", post_id)
    if index is None:
        return HTMLResponse(douyin_pages.gone_page("你要观看的视频不存在"))
    state = world.state_of("douyin", index)
    if state != "live":
        return HTMLResponse(douyin_pages.gone_page(FILTER[state][1]))
    post = world.corpus.post("douyin", index)
    info = aweme_info(world, post)
    return _signed_page(world, request, lambda fp, secret: douyin_pages.post_page(post, info, note, fp, secret))


@router.get("/video/{aweme_id}", response_class=HTMLResponse)
async def video_page(request: Request, aweme_id: str) -> Response:
    world = world_of(request)
    world.stats.hit("douyin", "video_page")
    return _post_page(world, request, aweme_id, note=False)


@router.get("/note/{aweme_id}", response_class=HTMLResponse)
async def note_page(request: Request, aweme_id: str) -> Response:
    world = world_of(request)
    world.stats.hit("douyin", "note_page")
    return _post_page(world, request, aweme_id, note=True)


@router.get("/user/{sec_uid}", response_class=HTMLResponse)
async def user_page(request: Request, sec_uid: str) -> Response:
    world = world_of(request)
    world.stats.hit("douyin", "user_page")
    a = world.corpus.author_index("douyin", sec_uid)
    if a is None or world.author_state_of("douyin", a) == "banned":
        message = "用户不存在" if a is None else "该账号已被封禁"
        return _signed_page(world, request, lambda fp, secret: douyin_pages.user_gone_page(message, sec_uid, fp, secret),
                            status_code=404)
    posts = [world.corpus.post("douyin", i) for i in world.corpus.posts_of_author("douyin", a)
             if world.is_live("douyin", i)]
    author = world.corpus.author("douyin", a)
    return _signed_page(world, request, lambda fp, secret: douyin_pages.user_page(author, posts, fp, secret))
