"""Bilibili's web API as a logged-out visitor sees it, under the /bilibili prefix (api., www. and space. hosts).

Checks run in the real order: an injected fault first (gateway), then the buvid3 cookie (-412 without it),
then the WBI signature (a missing or wrong one gets a `v_voucher` and no results, not an error code).
"""

from __future__ import annotations

import html
import json
import math
import re
import time
import uuid
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from . import bilibili_pages
from .corpus import Comment, Post, comment_thread
from .faults import Fault, replaces_answer, retry_after
from .ids import h64
from .texts import NICK_WORDS
from .wbi import verify
from .world import BAD_GATEWAY, World, json_response, truncated, world_of

router = APIRouter(prefix="/bilibili")

GONE_CODES = {
    "deleted": (-404, "啥都木有"),
    "private": (62002, "稿件不可见"),
    "under_review": (62004, "稿件审核中"),
    "owner_only": (62012, "仅UP主自己可见"),
    "no_permission": (-403, "访问权限不足"),
}
TYPE_IDS = {"财经商业": 207, "社科·法律·心理": 228, "日常": 21, "职业职场": 209, "综合": 27, "资讯": 203, "美食": 211,
            "知识": 201, "搞笑": 138}


def _envelope(code: int, message: str, data: Any = None, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, "ttl": 1, "data": data, **extra}


def _voucher() -> dict[str, Any]:
    return {"code": 0, "message": "0", "ttl": 1, "data": {"v_voucher": f"voucher_{uuid.uuid4()}"}}


async def _pre_fault(world: World, fault: Fault | None, endpoint: str) -> Response | None:
    """Render a fault that replaces the answer; None lets the request go on (slow sleeps first)."""
    if not await replaces_answer(world, "bilibili", fault):
        return None
    kind = fault.kind
    if kind == "rate_limit":
        return json_response(_envelope(-799, "请求过于频繁，请稍后再试"), status=429, headers=retry_after(fault))
    if kind == "server_error":
        return HTMLResponse(BAD_GATEWAY, status_code=502)
    if kind == "captcha":
        return json_response(_envelope(-352, "风控校验失败", {"v_voucher": f"voucher_{uuid.uuid4()}"}))
    if kind == "error_code":
        return json_response({"code": -500, "message": "服务器错误"})
    if kind == "login_expired":
        if endpoint == "nav":
            return None  # nav answers logged-out visitors normally anyway
        return json_response(_envelope(-101, "账号未登录"))
    if kind == "blocked":
        return json_response(_envelope(-412, "请求被拦截"))
    return None


def _post_fault(fault: Fault | None, resp: Response, rename: tuple[str, ...]) -> Response:
    """Apply a fault that distorts a normal answer: truncate it, or rename one key (`rename` is a path)."""
    if fault is None or fault.kind not in ("malformed_json", "schema_change"):
        return resp
    if fault.kind == "malformed_json":
        return truncated(resp)
    payload = json.loads(resp.body)
    node = payload
    for key in rename[:-2]:
        node = node[key]
    old, new = rename[-2], rename[-1]
    if isinstance(node, dict) and old in node:
        node[new] = node.pop(old)
    return json_response(payload, status=resp.status_code)


def _wbi_gate(world: World, request: Request, params: dict[str, str]) -> Response | None:
    """What every WBI endpoint checks after the gateway: the buvid3 cookie (-412 without it), then the
    signature and its age (a `v_voucher` instead of an answer). None: the request may go on."""
    if not request.cookies.get("buvid3"):
        world.stats.reject("bilibili", "no_cookie")
        return json_response(_envelope(-412, "请求被拦截"))
    if not verify(params, world.mixin_key):
        world.stats.reject("bilibili", "bad_sign")
        return json_response(_voucher())
    if abs(time.time() - _int(params.get("wts"), 0)) > world.wts_max_age:
        world.stats.reject("bilibili", "stale_wts")
        return json_response(_voucher())
    return None


# ------------------------------------------------------------------------------------------- home, nav


@router.get("/", response_class=HTMLResponse)
@router.get("", include_in_schema=False, response_class=HTMLResponse)
async def home(request: Request) -> Response:
    world = world_of(request)
    world.stats.hit("bilibili", "home")
    resp = HTMLResponse(bilibili_pages.home_page())
    if "buvid3" not in request.cookies:
        max_age = 365 * 86400
        resp.set_cookie("buvid3", f"{str(uuid.uuid4()).upper()}{int(time.time()) % 100000:05d}infoc",
                        max_age=max_age, path="/")
        resp.set_cookie("b_nut", str(int(time.time())), max_age=max_age, path="/")
        resp.set_cookie("buvid4", f"{str(uuid.uuid4()).upper()}-{int(time.time())}-0", max_age=max_age, path="/")
    return resp


@router.get("/x/web-interface/nav")
async def nav(request: Request) -> Response:
    world = world_of(request)
    world.stats.hit("bilibili", "nav")
    fault = world.faults.take("bilibili", "nav")
    early = await _pre_fault(world, fault, "nav")
    if early is not None:
        return early
    data = {
        "isLogin": False,
        "wbi_img": {
            "img_url": f"https://i0.hdslb.com/bfs/wbi/{world.img_key}.png",
            "sub_url": f"https://i0.hdslb.com/bfs/wbi/{world.sub_key}.png",
        },
    }
    return _post_fault(fault, json_response(_envelope(-101, "账号未登录", data)), ("data", "wbi_img", "wbi_image"))


# ----------------------------------------------------------------------------------------------- search


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default


def highlight(title: str, terms: tuple[str, ...]) -> str:
    """HTML-escape the title the way the real API does, then wrap each query term in <em class="keyword">."""
    escaped = html.escape(title, quote=True).replace("&#x27;", "'")
    wanted = sorted({html.escape(t, quote=True) for t in terms if t}, key=len, reverse=True)
    if not wanted:
        return escaped
    pattern = re.compile("|".join(re.escape(t) for t in wanted), re.IGNORECASE)
    return pattern.sub(lambda m: f'<em class="keyword">{m.group(0)}</em>', escaped)


def duration_text(seconds: int) -> str:
    # The search API writes "M:S" without zero padding ("4:2"), minutes may exceed 59.
    return f"{seconds // 60}:{seconds % 60}"


def search_item(world: World, post: Post, terms: tuple[str, ...], woven: str | None) -> dict[str, Any]:
    m, author = post.metrics, post.author
    tags = world.corpus.tags_for(post, woven)
    tag_text = ",".join(tags)
    low = [t.lower() for t in terms]
    hit_columns = [name for name, text in (("title", post.title), ("description", post.text), ("tag", tag_text),
                                           ("author", author.nickname)) if any(t in text.lower() for t in low)]
    return {
        "type": "video",
        "id": post.aid,
        "author": author.nickname,
        "mid": author.mid,
        "typeid": str(TYPE_IDS.get(post.typename, 21)),
        "typename": post.typename,
        "arcurl": f"http://www.bilibili.com/video/av{post.aid}",
        "aid": post.aid,
        "bvid": post.post_id,
        "title": highlight(post.title, terms),
        "description": html.escape(post.text, quote=False),
        "arcrank": "0",
        "pic": f"//i{post.index % 3}.hdslb.com/bfs/archive/{post.cover_hash}.jpg",
        "play": m.play,
        "video_review": m.danmaku,
        "favorites": m.favorite,
        "tag": tag_text,
        "review": m.reply,
        "pubdate": m.pubdate,
        "senddate": m.pubdate + (post.index % 900),
        "duration": duration_text(m.duration),
        "badgepay": False,
        "hit_columns": hit_columns,
        "view_type": "",
        "is_pay": 0,
        "is_union_video": 0,
        "rec_tags": None,
        "new_rec_tags": [],
        "rank_score": 100_000_000 + m.play,
        "like": m.like,
        "upic": f"//i{author.index % 3}.hdslb.com/bfs/face/{author.face}.jpg",
        "corner": "",
        "cover": "",
        "desc": "",
        "url": "",
        "rec_reason": "",
        "danmaku": m.danmaku,
        "biz_data": None,
        "is_charge_video": 0,
        "vt": 0,
        "enable_vt": 0,
        "vt_display": "",
        "subtitle": "",
        "episode_count_text": "",
        "release_status": 0,
        "is_intervene": 0,
        "area": 0,
        "style": 0,
        "cate_name": "",
        "is_live_room_inline": 0,
        "live_status": 0,
        "live_time": "",
        "online": 0,
        "rank_index": 0,
        "rank_offset": 0,
        "roomid": 0,
        "short_id": 0,
        "spread_id": 0,
        "tags": "",
        "uface": "",
        "uid": 0,
        "uname": "",
        "user_cover": "",
        "parent_area_id": 0,
        "parent_area_name": "",
        "watched_show": None,
    }


@router.get("/x/web-interface/wbi/search/type")
async def search(request: Request) -> Response:
    world = world_of(request)
    world.stats.hit("bilibili", "search")
    params = dict(request.query_params)
    page = max(1, _int(params.get("page"), 1))
    fault = world.faults.take("bilibili", "search", page)
    early = await _pre_fault(world, fault, "search")
    if early is not None:
        return early
    rejected = _wbi_gate(world, request, params)
    if rejected is not None:
        return rejected
    keyword = params.get("keyword", "")
    if not keyword.strip() or params.get("search_type") is None:
        return json_response(_envelope(-400, "请求错误"))
    page_size = min(50, max(1, _int(params.get("page_size"), 20)))
    started = time.perf_counter()
    results: list[dict[str, Any]] = []
    num_results = num_pages = 0
    if params.get("search_type") == "video":
        hits = world.corpus.search("bilibili", keyword, params.get("order", ""))
        num_results = min(len(hits), 1000)
        num_pages = min(50, math.ceil(num_results / page_size))
        if page <= num_pages:
            posts = []
            for index in hits.window((page - 1) * page_size, min(page * page_size, num_results)):
                if not world.is_live("bilibili", index):
                    continue  # removed posts drop out of search
                if hits.woven:
                    world.corpus.remember_weave("bilibili", index, hits.woven)
                posts.append(world.corpus.post("bilibili", index))
            if not params.get("order"):
                # Relevance within a page: title matches first (stable, so pages stay deterministic).
                terms = [t.lower() for t in hits.terms]
                posts.sort(key=lambda p: not any(t in p.title.lower() for t in terms))
            results = [search_item(world, p, hits.terms, hits.woven) for p in posts]
    cost = f"{time.perf_counter() - started:.6f}"
    data = {
        "seid": str(uuid.uuid4().int % 10**19),
        "page": page,
        "pagesize": page_size,
        "numResults": num_results,
        "numPages": num_pages,
        "suggest_keyword": "",
        "rqt_type": "search",
        "cost_time": {
            "params_check": "0.000261", "is_risk_query": "0.000071", "illegal_handler": "0.000005",
            "as_response_format": "0.000512", "as_request": cost, "save_cache": "0.000003",
            "deserialize_response": "0.000097", "as_request_format": "0.000284", "total": cost,
            "main_handler": cost,
        },
        "exp_list": {"5510": True, "6609": True, "7709": True, "9931": True},
        "egg_hit": 0,
        "result": results,
        "show_column": 0,
        "in_black_key": 0,
        "in_white_key": 0,
    }
    return _post_fault(fault, json_response(_envelope(0, "0", data)), ("data", "result", "items"))


# ------------------------------------------------------------------------------------------------- view


def view_data(world: World, post: Post) -> dict[str, Any]:
    m, author = post.metrics, post.author
    cid = 10_000_000_000 + post.aid % 10**9
    dimension = {"width": 1920, "height": 1080, "rotate": 0}
    return {
        "bvid": post.post_id,
        "aid": post.aid,
        "videos": 1,
        "tid": TYPE_IDS.get(post.typename, 21),
        "tname": post.typename,
        "copyright": 1,
        "pic": f"http://i{post.index % 3}.hdslb.com/bfs/archive/{post.cover_hash}.jpg",
        "title": post.title,
        "pubdate": m.pubdate,
        "ctime": m.pubdate - 60 - post.index % 600,
        "desc": post.text,
        "desc_v2": [{"raw_text": post.text, "type": 1, "biz_id": 0}],
        "state": 0,
        "duration": m.duration,
        "rights": {"bp": 0, "elec": 0, "download": 1, "movie": 0, "pay": 0, "hd5": 0, "no_reprint": 1,
                   "autoplay": 1, "ugc_pay": 0, "is_cooperation": 0, "ugc_pay_preview": 0, "no_background": 0,
                   "clean_mode": 0, "is_stein_gate": 0, "is_360": 0, "no_share": 0, "arc_pay": 0, "free_watch": 0},
        "owner": {"mid": author.mid, "name": author.nickname,
                  "face": f"https://i{author.index % 3}.hdslb.com/bfs/face/{author.face}.jpg"},
        "stat": {"aid": post.aid, "view": m.play, "danmaku": m.danmaku, "reply": m.reply, "favorite": m.favorite,
                 "coin": m.coin, "share": m.share, "now_rank": 0, "his_rank": 0, "like": m.like, "dislike": 0,
                 "evaluation": "", "vt": 0},
        "dynamic": "",
        "cid": cid,
        "dimension": dimension,
        "premiere": None,
        "teenage_mode": 0,
        "is_chargeable_season": False,
        "is_story": False,
        "is_upower_exclusive": False,
        "no_cache": False,
        "pages": [{"cid": cid, "page": 1, "from": "vupload", "part": post.title, "duration": m.duration,
                   "vid": "", "weblink": "", "dimension": dimension}],
        "subtitle": {"allow_submit": False, "list": []},
        "is_season_display": False,
        "user_garb": {"url_image_ani_cut": ""},
        "honor_reply": {},
        "like_icon": "",
        "need_jump_bv": False,
        "disable_show_up_info": False,
        "is_story_play": 0,
        "is_view_self": False,
    }


def _lookup(world: World, request: Request) -> tuple[int | None, Response | None]:
    bvid, aid = request.query_params.get("bvid"), request.query_params.get("aid")
    if not bvid and not aid:
        return None, json_response(_envelope(-400, "请求错误"))
    key = bvid or aid or ""
    index = world.corpus.index_of("bilibili", key)
    if index is None:
        return None, json_response(_envelope(-404, "啥都木有"))
    state = world.state_of("bilibili", index)
    if state != "live":
        code, message = GONE_CODES[state]
        return None, json_response(_envelope(code, message))
    return index, None


async def _view_common(request: Request, detail: bool) -> Response:
    world = world_of(request)
    world.stats.hit("bilibili", "view")
    fault = world.faults.take("bilibili", "view")
    early = await _pre_fault(world, fault, "view")
    if early is not None:
        return early
    index, gone = _lookup(world, request)
    if gone is not None:
        return gone
    post = world.corpus.post("bilibili", index)
    data = view_data(world, post)
    if detail:
        a = post.author
        data = {
            "View": data,
            "Card": {"card": {"mid": str(a.mid), "name": a.nickname, "sign": a.bio, "face": data["owner"]["face"]}},
            "Tags": [{"tag_name": t, "tag_type": "old_channel"} for t in world.corpus.tags_for(post)],
            "Reply": {"replies": [{"content": {"message": c}} for c in post.comments]},
        }
        return _post_fault(fault, json_response(_envelope(0, "0", data)), ("data", "View", "Views"))
    return _post_fault(fault, json_response(_envelope(0, "0", data)), ("data", "stat", "stats"))


@router.get("/x/web-interface/view")
async def view(request: Request) -> Response:
    return await _view_common(request, detail=False)


@router.get("/x/web-interface/wbi/view")
async def wbi_view(request: Request) -> Response:
    return await _view_common(request, detail=False)


@router.get("/x/web-interface/view/detail")
async def view_detail(request: Request) -> Response:
    return await _view_common(request, detail=True)


# --------------------------------------------------------------------------------------------- comments

COMMENT_CODES = {"closed": (12002, "评论区已关闭"), "hidden": (12061, "UP主已关闭评论区")}


def _commenter(world: World, post: Post, key: int) -> tuple[int, str]:
    """A viewer's (mid, uname), fixed per comment; mids above 2^31 never collide with the corpus authors'."""
    h = h64(world.seed, "bili-commenter", post.index, key)
    if h % 3 == 0:
        return 3_000_000_000 + h % 10**9, f"bili_{h % 10**11:011d}"
    return 3_000_000_000 + h % 10**9, f"{NICK_WORDS[h % len(NICK_WORDS)]}{(h >> 20) % 10000}"


def reply_item(world: World, post: Post, comment: Comment, root: int = 0) -> dict[str, Any]:
    """One reply as /x/v2/reply/wbi/main returns it (`member.mid` is a string there, `mid` a number)."""
    author = post.author
    if comment.by_author:
        mid, uname, sign, face = author.mid, author.nickname, author.bio, author.face
    else:
        mid, uname = _commenter(world, post, comment.key)
        sign, face = "", f"{h64('face', mid):016x}"
    h = h64(world.seed, "bili-reply", post.index, comment.key)
    rpid = 200_000_000_000 + h % 10**11
    ctime = post.metrics.pubdate + 300 + h % (20 * 86400)
    return {
        "rpid": rpid, "oid": post.aid, "type": 1, "mid": mid, "root": root, "parent": root, "dialog": root,
        "count": 0, "rcount": 0, "state": 0, "fansgrade": 0, "attr": 0, "ctime": ctime,
        "rpid_str": str(rpid), "root_str": str(root), "parent_str": str(root),
        "like": (h >> 24) % (500 if comment.by_author else 80), "action": 0,
        "member": {"mid": str(mid), "uname": uname, "sex": "保密", "sign": sign,
                   "avatar": f"https://i{mid % 3}.hdslb.com/bfs/face/{face}.jpg", "rank": "10000",
                   "level_info": {"current_level": 1 + (h >> 8) % 6, "current_min": 0, "current_exp": 0,
                                  "next_exp": 0},
                   "vip": {"vipType": 0, "vipStatus": 0, "vipDueDate": 0}},
        "content": {"message": comment.text, "members": [], "emote": {}, "jump_url": {}, "max_line": 6},
        "replies": [],
        "up_action": {"like": False, "reply": False},
        "reply_control": {"max_line": 6, "time_desc": f"{1 + (h >> 12) % 30}天前发布",
                          "location": f"IP属地：{author.ip_label if comment.by_author else '未知'}"},
    }


def reply_page(world: World, post: Post, mode: int) -> dict[str, Any]:
    """The first (and, for the corpus's few comments, only) page: pinned replies in `top_replies`, the author's
    replies nested under the viewer comment they answer."""
    top, replies, roots = [], [], {}
    for comment in comment_thread(post):
        if comment.pinned:
            top.append(reply_item(world, post, comment))
        elif comment.reply_to is not None and comment.reply_to in roots:
            parent = roots[comment.reply_to]
            parent["replies"].append(reply_item(world, post, comment, root=parent["rpid"]))
            parent["rcount"] += 1
            parent["count"] += 1
            parent["up_action"]["reply"] = True
        else:
            item = reply_item(world, post, comment)
            replies.append(item)
            roots[comment.key] = item
    pinned = top[0] if top else None
    return {
        "cursor": {"is_begin": True, "prev": 0, "next": 0, "is_end": True, "mode": mode,
                   "mode_text": "热门评论" if mode == 3 else "最新评论", "all_count": len(post.comments),
                   "support_mode": [2, 3], "name": "热门评论" if mode == 3 else "最新评论",
                   "pagination_reply": {}, "session_id": str(h64(world.seed, "reply-session", post.index) % 10**16)},
        "replies": replies,
        "top_replies": top,
        "upper": {"mid": post.author.mid, "top": pinned, "vote": None},
        "top": {"admin": None, "upper": pinned, "vote": None},
        "config": {"showtopic": 1, "show_up_flag": True, "read_only": False},
        "control": {"input_disable": False, "root_input_text": "发一条友善的评论", "child_input_text": "",
                    "giveup_input_text": "不发没关系，请继续友善哦~", "bg_text": "看看下面~来发评论吧"},
        "note": 1,
        "esports_grade_card": None,
        "callbacks": {},
        "context_feature": "",
    }


def _offset(pagination: str | None) -> str:
    try:
        value = json.loads(pagination or "{}")
    except ValueError:
        return ""
    return str(value.get("offset") or "") if isinstance(value, dict) else ""


@router.get("/x/v2/reply/wbi/main")
async def replies(request: Request) -> Response:
    world = world_of(request)
    world.stats.hit("bilibili", "comments")
    params = dict(request.query_params)
    fault = world.faults.take("bilibili", "comments")
    early = await _pre_fault(world, fault, "comments")
    if early is not None:
        return early
    rejected = _wbi_gate(world, request, params)
    if rejected is not None:
        return rejected
    oid = params.get("oid", "")
    if not oid.isdigit() or params.get("type") != "1":
        return json_response(_envelope(-400, "请求错误"))
    index = world.corpus.index_of("bilibili", oid)
    if index is None or not world.is_live("bilibili", index):
        return json_response(_envelope(-404, "啥都木有"))
    state = world.comment_state_of("bilibili", index)
    if state in COMMENT_CODES:
        return json_response(_envelope(*COMMENT_CODES[state]))
    post = world.corpus.post("bilibili", index)
    data = reply_page(world, post, _int(params.get("mode"), 3))
    if _offset(params.get("pagination_str")):  # past the only page
        data.update(replies=[], top_replies=[])
    return _post_fault(fault, json_response(_envelope(0, "0", data)), ("data", "replies", "reply_list"))


# ---------------------------------------------------------------------------------------------- profile


def account_info(world: World, author) -> dict[str, Any]:
    h = h64(world.seed, "bili-account", author.index)
    official = ({"role": 3, "title": f"{author.brand}官方账号", "desc": "", "type": 1}
                if author.category == "official" else {"role": 0, "title": "", "desc": "", "type": -1})
    return {
        "mid": author.mid, "name": author.nickname, "sex": "保密",
        "face": f"https://i{author.index % 3}.hdslb.com/bfs/face/{author.face}.jpg", "face_nft": 0,
        "face_nft_type": 0, "sign": author.bio, "rank": 10000, "level": 1 + h % 6, "jointime": 0, "moral": 0,
        "silence": 0, "coins": 0, "fans_badge": False, "fans_medal": {"show": False, "wear": False, "medal": None},
        "official": official,
        "vip": {"type": 0, "status": 0, "due_date": 0, "vip_pay_type": 0, "theme_type": 0, "label": {}},
        "pendant": {"pid": 0, "name": "", "image": "", "expire": 0},
        "nameplate": {"nid": 0, "name": "", "image": "", "level": "", "condition": ""},
        "is_followed": False, "top_photo": "http://i1.hdslb.com/bfs/space/cb1c3ef50e22b6096fde67febe863494caefebad.png",
        "theme": {}, "sys_notice": {}, "live_room": None, "birthday": "", "school": {"name": ""},
        "profession": {"name": "", "department": "", "title": "", "is_show": 0}, "tags": None,
        "series": {"user_upgrade_status": 3, "show_upgrade_window": False}, "is_senior_member": 0,
        "mcn_info": None, "gaia_res_type": 0, "gaia_data": None, "is_risk": False, "elec": {"show_info": {}},
        "contract": None, "certificate_show": False,
    }


@router.get("/x/space/wbi/acc/info")
async def acc_info(request: Request) -> Response:
    world = world_of(request)
    world.stats.hit("bilibili", "profile")
    params = dict(request.query_params)
    fault = world.faults.take("bilibili", "profile")
    early = await _pre_fault(world, fault, "profile")
    if early is not None:
        return early
    rejected = _wbi_gate(world, request, params)
    if rejected is not None:
        return rejected
    mid = params.get("mid", "")
    if not mid.isdigit():
        return json_response(_envelope(-400, "请求错误"))
    a = world.corpus.author_index("bilibili", mid)
    if a is None or world.author_state_of("bilibili", a) == "banned":
        return json_response(_envelope(-404, "啥都木有"))
    data = account_info(world, world.corpus.author("bilibili", a))
    return _post_fault(fault, json_response(_envelope(0, "0", data)), ("data", "sign", "signature"))


# ------------------------------------------------------------------------------------------------- pages


@router.get("/video/{bvid}", response_class=HTMLResponse)
@router.get("/video/{bvid}/", include_in_schema=False, response_class=HTMLResponse)
async def video_page(request: Request, bvid: str) -> Response:
    world = world_of(request)
    world.stats.hit("bilibili", "video_page")
    index = world.corpus.index_of("bilibili", bvid[2:] if bvid.lower().startswith("av") else bvid)
    if index is None or not world.is_live("bilibili", index):
        return HTMLResponse(bilibili_pages.gone_page(), status_code=404)
    post = world.corpus.post("bilibili", index)
    return HTMLResponse(bilibili_pages.video_page(post, world.corpus.tags_for(post), view_data(world, post)))


@router.get("/{mid:int}", response_class=HTMLResponse)
@router.get("/{mid:int}/", include_in_schema=False, response_class=HTMLResponse)
async def space_page(request: Request, mid: int) -> Response:
    world = world_of(request)
    world.stats.hit("bilibili", "space_page")
    a = world.corpus.author_index("bilibili", str(mid))
    if a is None:
        return HTMLResponse(bilibili_pages.gone_page("啊叻？用户不存在？"), status_code=404)
    author = world.corpus.author("bilibili", a)
    posts = [world.corpus.post("bilibili", i) for i in world.corpus.posts_of_author("bilibili", a)
             if world.is_live("bilibili", i)]
    return HTMLResponse(bilibili_pages.space_page(author, posts))
