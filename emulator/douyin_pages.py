"""HTML pages of the emulated Douyin, above all the search page whose own JavaScript fetches the results.

The search page's script flow (what a browser-mode crawler relies on):
1. ensure localStorage `xmst` (msToken, 107 chars) and `webid` (19 digits), creating them on first visit;
2. build the general-search query (device_platform ... list_type, search_id, client fields, verifyFp, webid,
   msToken) with URLSearchParams, and sign that exact string with `aBogus(secret, query, navigator.userAgent)`
   where `secret` is embedded in this page (derived from the `s_v_web_id` cookie the page response set);
3. fetch `<base>/aweme/v1/web/general/search/single/?<query>&a_bogus=<token>` and render each result
   (`aweme_info`, or every item of `aweme_mix_info.mix_items`) as a tall card in `#search-result-list`;
4. when the `#search-sentinel` below the list comes within 600 px of the viewport (IntersectionObserver,
   plus a scroll listener as fallback) and the last answer had `has_more == 1`, fetch the next page with
   offset = previous `cursor` and search_id = previous `extra.logid`.
`<base>` is the path before "/search/", i.e. "/douyin" here and "" on the real host.

The post page and the author page run the same client (`_CLIENT`: tokens, client fields, signing) to fetch
the post's comments and the author's profile, as the real pages do; a browser-mode crawler captures those.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from html import escape
from urllib.parse import quote

from .corpus import Author, Post
from .douyin_token import JS_SOURCE

PREFIX = "/douyin"
CST = timezone(timedelta(hours=8))
RISKY = ("债务", "征信", "催收", "停息", "挂账", "逾期", "上岸", "退保", "退费", "协商", "分期", "负债", "网贷", "减免")

_STYLE = """
a{color:inherit;text-decoration:none}
body{margin:0;font-family:"PingFang SC","Microsoft YaHei",sans-serif;background:#161823;color:#e8e8e8}
#douyin-header{position:sticky;top:0;background:#161823;padding:12px 24px;border-bottom:1px solid #2f3035;z-index:2}
#douyin-header input{width:420px;padding:8px 12px;border-radius:8px;border:1px solid #444;background:#252632;color:#fff}
.search-risk-tip{margin:12px auto;max-width:880px;padding:10px 14px;background:#3a2a12;color:#ffcf7a;border-radius:6px}
#search-result-list{list-style:none;margin:0 auto;padding:0 16px;max-width:900px}
.search-result-card{min-height:340px;box-sizing:border-box;padding:16px 0;border-bottom:1px solid #2f3035}
.search-result-card .cover{height:200px;border-radius:8px;background:linear-gradient(135deg,#2b2d3a,#3d2b3f)}
.search-result-card .desc{margin:10px 0;white-space:pre-wrap;line-height:1.5}
.search-result-card .meta{color:#999;font-size:13px}
.search-result-card.mix{border-left:3px solid #fe2c55;padding-left:10px}
#search-status{text-align:center;color:#999;padding:24px}
"""

# The web client every page script shares: msToken and webid in localStorage, the client fields, and the
# signed query (`a_bogus` over the exact query string and navigator.userAgent, with the secret this page
# embeds). `base` is the path before /search/, /video/, /note/ or /user/: "/douyin" here, "" on the real host.
_CLIENT = r"""
function __dyClient(fp) {
  var secret = String.fromCharCode.apply(null, window.__ac_k.map(function (c) { return c ^ 90; }));
  var base = location.pathname.replace(/\/(search|video|note|user)\/.*$/, "");
  function rand(n, chars) {
    var out = "";
    for (var i = 0; i < n; i++) { out += chars.charAt(Math.floor(Math.random() * chars.length)); }
    return out;
  }
  var msToken = localStorage.getItem("xmst");
  if (!msToken || msToken.length < 20) {
    msToken = rand(107, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
    localStorage.setItem("xmst", msToken);
  }
  var webid = localStorage.getItem("webid");
  if (!/^\d{19}$/.test(webid || "")) {
    webid = "7" + rand(18, "0123456789");
    localStorage.setItem("webid", webid);
  }
  function signedQuery(pairs) {
    var p = new URLSearchParams();
    pairs.concat([
     ["update_version_code", "170400"], ["pc_client_type", "1"], ["version_code", "190600"],
     ["version_name", "19.6.0"], ["cookie_enabled", String(navigator.cookieEnabled)],
     ["screen_width", String(screen.width)], ["screen_height", String(screen.height)],
     ["browser_language", navigator.language || "zh-CN"], ["browser_platform", navigator.platform || ""],
     ["browser_name", "Chrome"], ["browser_online", String(navigator.onLine)], ["engine_name", "Blink"],
     ["platform", "PC"], ["verifyFp", fp], ["fp", fp], ["webid", webid], ["msToken", msToken]
    ]).forEach(function (kv) { p.append(kv[0], kv[1]); });
    var qs = p.toString();
    return qs + "&a_bogus=" + encodeURIComponent(aBogus(secret, qs, navigator.userAgent));
  }
  // GET base + path with the signed query; resolves to the parsed JSON, or null for an empty or non-JSON body.
  async function getJSON(path, pairs) {
    var resp = await fetch(base + path + "?" + signedQuery(pairs),
                           { credentials: "include", headers: { Accept: "application/json, text/plain, */*" } });
    var text = await resp.text();
    if (!resp.ok || !text) return null;
    try { return JSON.parse(text); } catch (e) { return null; }
  }
  return { base: base, signedQuery: signedQuery, getJSON: getJSON };
}
var WEB_APP = [["device_platform", "webapp"], ["aid", "6383"], ["channel", "channel_pc_web"]];
"""

_APP = r"""
(function () {
  var cfg = window.SSR_SEARCH;
  var client = __dyClient(cfg.fp);
  var base = client.base;
  var state = { cursor: 0, searchId: "", hasMore: true, loading: false, pages: 0 };
  var list = document.getElementById("search-result-list");
  var status = document.getElementById("search-status");

  function buildQuery(offset, searchId) {
    return client.signedQuery(WEB_APP.concat([
     ["search_channel", "aweme_general"], ["keyword", cfg.keyword], ["search_source", "tab_search"],
     ["query_correct_type", "1"], ["is_filter_search", "0"], ["offset", String(offset)], ["count", "10"],
     ["need_filter_settings", "1"], ["list_type", "multi"], ["search_id", searchId]]));
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function card(info, mix) {
    var li = el("li", "search-result-card" + (mix ? " mix" : ""));
    li.setAttribute("data-e2e", "search-result-card");
    li.setAttribute("data-aweme-id", info.aweme_id);
    var isNote = info.images && info.images.length > 0;
    var a = el("a", "card-link");
    a.href = base + (isNote ? "/note/" : "/video/") + info.aweme_id;
    a.appendChild(el("div", "cover"));
    a.appendChild(el("div", "desc", info.desc || ""));
    li.appendChild(a);
    var meta = el("div", "meta");
    var who = el("a", "author", "@" + ((info.author && info.author.nickname) || ""));
    who.href = base + "/user/" + ((info.author && info.author.sec_uid) || "");
    meta.appendChild(who);
    var when = new Date((info.create_time || 0) * 1000).toISOString().slice(0, 10);
    meta.appendChild(el("span", "stat", "  ❤ " + ((info.statistics && info.statistics.digg_count) || 0) + "  · " + when));
    li.appendChild(meta);
    return li;
  }

  function render(items) {
    items.forEach(function (item) {
      if (item.aweme_info) list.appendChild(card(item.aweme_info, false));
      else if (item.aweme_mix_info && item.aweme_mix_info.mix_items) {
        item.aweme_mix_info.mix_items.forEach(function (m) { list.appendChild(card(m, true)); });
      }
    });
  }

  function stop(message) { state.hasMore = false; status.textContent = message; }

  async function load() {
    if (state.loading || !state.hasMore) return;
    state.loading = true;
    status.textContent = "加载中...";
    try {
      var url = base + "/aweme/v1/web/general/search/single/?" + buildQuery(state.cursor, state.searchId);
      var resp = await fetch(url, { credentials: "include", headers: { Accept: "application/json, text/plain, */*" } });
      var text = await resp.text();
      if (!resp.ok) { stop("网络不给力，请稍后重试 (" + resp.status + ")"); return; }
      if (!text) { stop("请完成验证后继续"); return; }
      var j = JSON.parse(text);
      if (j.status_code !== 0) { stop(j.status_msg || "出错了"); return; }
      if (j.search_nil_info && j.search_nil_info.search_nil_type === "verify_check") { stop("请完成验证后继续"); return; }
      render(j.data || []);
      state.pages += 1;
      document.body.setAttribute("data-pages-loaded", String(state.pages));
      state.cursor = j.cursor;
      state.searchId = (j.extra && j.extra.logid) || "";
      state.hasMore = j.has_more === 1;
      status.textContent = state.hasMore ? "" : "暂时没有更多了";
    } catch (e) {
      stop("加载失败");
    } finally {
      state.loading = false;
    }
    // A short page may leave the sentinel in view; the observer would not fire again on its own.
    if (state.hasMore && nearBottom()) load();
  }

  function nearBottom() {
    return window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 600;
  }

  var sentinel = document.getElementById("search-sentinel");
  if ("IntersectionObserver" in window) {
    new IntersectionObserver(function (entries) {
      if (entries.some(function (e) { return e.isIntersecting; })) load();
    }, { rootMargin: "0px 0px 600px 0px" }).observe(sentinel);
  }
  window.addEventListener("scroll", function () { if (nearBottom()) load(); }, { passive: true });
  load();
})();
"""


# The post page loads its top comments the way the real one does: a signed comment-list request.
_COMMENTS_APP = r"""
(function () {
  var cfg = window.SSR_DETAIL;
  var client = __dyClient(cfg.fp);
  client.getJSON("/aweme/v1/web/comment/list/", WEB_APP.concat([
    ["aweme_id", cfg.aweme_id], ["cursor", "0"], ["count", "20"], ["item_type", "0"], ["insert_ids", ""],
    ["whale_cut_token", ""], ["cut_version", "1"], ["rcFT", ""]]))
  .then(function (j) {
    var n = j && j.status_code === 0 && j.comments ? j.comments.length : 0;
    document.body.setAttribute("data-comments-loaded", String(n));
  }, function () { document.body.setAttribute("data-comments-loaded", "error"); });
})();
"""

# The profile page asks for the account the same way.
_PROFILE_APP = r"""
(function () {
  var cfg = window.SSR_USER;
  var client = __dyClient(cfg.fp);
  client.getJSON("/aweme/v1/web/user/profile/other/", WEB_APP.concat([
    ["publish_video_strategy_type", "2"], ["source", "channel_pc_web"], ["sec_user_id", cfg.sec_uid],
    ["personal_center_strategy", "1"]]))
  .then(function (j) {
    var ok = j && j.status_code === 0 && j.user && j.user.uid;
    document.body.setAttribute("data-profile-loaded", ok ? "1" : "0");
  }, function () { document.body.setAttribute("data-profile-loaded", "error"); });
})();
"""


def _scripts(name: str, cfg: dict, secret: str, app: str) -> str:
    """The page's config, secret and client (see _CLIENT) followed by its own app script."""
    data = json.dumps(cfg, ensure_ascii=False).replace("</", "<\\/")
    k = json.dumps([ord(c) ^ 90 for c in secret])
    return (f"<script>window.{name}={data};window.__ac_k={k};</script>"
            f"<script>{JS_SOURCE}</script><script>{_CLIENT}</script><script>{app}</script>")


def _when(ts: int) -> str:
    return datetime.fromtimestamp(ts, CST).strftime("%Y-%m-%d %H:%M")


def home_page() -> str:
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>抖音-记录美好生活</title></head>'
        f'<body><div id="douyin-header"><form action="{PREFIX}/search/"><input name="q" placeholder="搜索你感兴趣的内容">'
        "</form></div></body></html>"
    )


def search_page(keyword: str, fp: str, secret: str) -> str:
    tip = ""
    if any(w in keyword for w in RISKY):
        tip = '<div class="search-risk-tip" data-e2e="search-risk-tip">切勿轻信债务减免、征信修复等承诺，谨防上当受骗</div>'
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(keyword)} - 抖音搜索</title><style>{_STYLE}</style></head><body>"
        f'<div id="douyin-header"><input id="search-input" value="{escape(keyword)}"></div>{tip}'
        '<ul id="search-result-list" data-e2e="scroll-list"></ul>'
        '<div id="search-sentinel" style="height:1px"></div><div id="search-status"></div>'
        + _scripts("SSR_SEARCH", {"keyword": keyword, "fp": fp}, secret, _APP) + "</body></html>"
    )


def gone_page(message: str) -> str:
    # The real site answers an SPA shell with an error panel (HTTP 200), not a 404.
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>抖音-记录美好生活</title></head>'
        f'<body><div class="video-not-found" data-e2e="video-not-found"><p class="error-title">{escape(message)}</p>'
        f'<a href="{PREFIX}/">去首页看看</a></div></body></html>'
    )


def post_page(post: Post, info: dict, note: bool, fp: str, secret: str) -> str:
    a, m = post.author, post.metrics
    render_data = quote(json.dumps({"app": {"videoDetail": info}}, ensure_ascii=False))
    tags = "".join(f'<a class="hashtag" href="{PREFIX}/search/{escape(t["hashtag_name"])}">#{escape(t["hashtag_name"])}</a>'
                   for t in info["text_extra"])
    title = escape(post.title)
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{title} - 抖音</title>"
        f'<meta name="description" content="{escape(info["desc"][:200])}">'
        f'<link rel="canonical" href="https://www.douyin.com/{"note" if note else "video"}/{post.post_id}"></head><body>'
        f'<div id="video-detail" data-e2e="{"note" if note else "video"}-detail" data-aweme-id="{post.post_id}">'
        f'<h1 class="video-title" data-e2e="video-desc">{escape(info["caption"])}</h1><div class="hashtags">{tags}</div>'
        f'<div class="video-info"><span data-e2e="video-player-digg">{m.like}</span>'
        f'<span data-e2e="video-player-comment">{m.reply}</span><span data-e2e="video-player-collect">{m.favorite}</span>'
        f'<span data-e2e="video-player-share">{m.share}</span>'
        f'<span class="publish-time" data-e2e="detail-video-publish-time">发布时间：{_when(m.pubdate)}</span>'
        f'<span class="ip-label">IP属地：{escape(a.ip_label)}</span></div>'
        f'<div class="author" data-e2e="user-info"><a href="{PREFIX}/user/{a.sec_uid}">{escape(a.nickname)}</a>'
        f'<p class="signature">{escape(a.bio)}</p></div>'
        f'<div class="comments" data-e2e="comment-list">'
        + "".join(f'<div class="comment-item">{escape(c)}</div>' for c in post.comments)
        + f'</div></div><script id="RENDER_DATA" type="application/json">{render_data}</script>'
        + _scripts("SSR_DETAIL", {"aweme_id": post.post_id, "fp": fp}, secret, _COMMENTS_APP) + "</body></html>"
    )


def user_gone_page(message: str, sec_uid: str, fp: str, secret: str) -> str:
    """An account that does not exist (or is banned): the error panel, and the profile request the page still
    makes (its answer is what says why)."""
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>抖音-记录美好生活</title></head>'
        f'<body><div class="user-not-found" data-e2e="user-not-found"><p class="error-title">{escape(message)}</p>'
        f'<a href="{PREFIX}/">去首页看看</a></div>'
        + _scripts("SSR_USER", {"sec_uid": sec_uid, "fp": fp}, secret, _PROFILE_APP) + "</body></html>"
    )


def user_page(author: Author, posts: list[Post], fp: str, secret: str) -> str:
    items = "".join(
        f'<li class="user-post" data-aweme-id="{p.post_id}"><a href="{PREFIX}/{"note" if p.images else "video"}/{p.post_id}">'
        f"{escape(p.title)}</a><span>{p.metrics.like}</span></li>"
        for p in posts
    )
    name = escape(author.nickname)
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{name}的抖音 - 抖音</title>"
        f'<meta name="description" content="{escape(author.bio)}"></head><body>'
        f'<div id="user-detail" data-e2e="user-detail"><h1 data-e2e="user-name">{name}</h1>'
        f'<p class="unique-id">抖音号：{escape(author.unique_id)}</p>'
        f'<p class="signature" data-e2e="user-info-desc">{escape(author.bio)}</p>'
        f'<p class="ip-label">IP属地：{escape(author.ip_label)}</p>'
        f'<ul data-e2e="user-post-list">{items}</ul></div>'
        + _scripts("SSR_USER", {"sec_uid": author.sec_uid, "fp": fp}, secret, _PROFILE_APP) + "</body></html>"
    )
