"""HTML pages of the emulated Bilibili: home (cookie issuer), video page, removed-video page, author space.

Links stay inside the emulator: "/bilibili/..." stands for www.bilibili.com and space.bilibili.com alike.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from html import escape
from typing import Any

from .corpus import Author, Post

PREFIX = "/bilibili"
CST = timezone(timedelta(hours=8))


def _when(ts: int) -> str:
    return datetime.fromtimestamp(ts, CST).strftime("%Y-%m-%d %H:%M:%S")


def home_page() -> str:
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        "<title>哔哩哔哩 (゜-゜)つロ 干杯~-bilibili</title></head><body>"
        '<div id="i_cecream"><header class="bili-header"><form class="nav-search-form" action="//search.bilibili.com/all">'
        '<input class="nav-search-input" name="keyword" placeholder="搜索"></form></header>'
        '<main class="bili-feed4"><p>推荐</p></main></div></body></html>'
    )


def gone_page(message: str = "啊叻？视频不见了？") -> str:
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>出错啦! - bilibili.com</title></head>'
        f'<body><div class="error-container"><div class="error-panel"><img class="error-img" alt="">'
        f'<p class="error-text">{escape(message)}</p><p>你要找的内容可能已被删除或不存在</p>'
        f'<a href="{PREFIX}/">返回首页</a></div></div></body></html>'
    )


def video_page(post: Post, tags: list[str], view: dict[str, Any]) -> str:
    a, m = post.author, post.metrics
    title, desc = escape(post.title), escape(post.text)
    tag_links = "".join(
        f'<li class="tag"><a class="tag-link" href="//search.bilibili.com/all?keyword={escape(t)}">{escape(t)}</a></li>'
        for t in tags
    )
    comments = "".join(f'<div class="reply-item"><span class="reply-content">{escape(c)}</span></div>'
                       for c in post.comments)
    state = json.dumps({"bvid": post.post_id, "aid": post.aid, "videoData": view,
                        "tags": [{"tag_name": t} for t in tags]}, ensure_ascii=False).replace("</", "<\\/")
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title data-vue-meta=\"true\">{title}_哔哩哔哩_bilibili</title>"
        f'<meta name="description" content="{desc[:200]}">'
        f'<meta name="keywords" content="{title},{escape(",".join(tags))}">'
        f'<meta name="author" content="{escape(a.nickname)}">'
        f'<meta itemprop="uploadDate" content="{_when(m.pubdate)}">'
        f'<link rel="canonical" href="https://www.bilibili.com/video/{post.post_id}/"></head><body>'
        f'<div id="app"><div class="video-info-container"><h1 class="video-title" title="{title}">{title}</h1>'
        f'<div class="video-info-detail"><span class="view item">{m.play}</span>'
        f'<span class="dm item">{m.danmaku}</span><span class="pubdate-ip-text">{_when(m.pubdate)}</span></div></div>'
        f'<div class="up-panel-container"><div class="up-info--right">'
        f'<a class="up-name" href="{PREFIX}/{a.mid}" target="_blank">{escape(a.nickname)}</a>'
        f'<div class="up-description up-detail-bottom" title="{escape(a.bio)}">{escape(a.bio)}</div></div></div>'
        f'<div class="video-desc-container"><span class="desc-info-text">{desc}</span></div>'
        f'<div class="video-tag-container"><ul class="tag-panel">{tag_links}</ul></div>'
        f'<div class="video-toolbar"><span class="video-like-info">{m.like}</span>'
        f'<span class="video-coin-info">{m.coin}</span><span class="video-fav-info">{m.favorite}</span>'
        f'<span class="video-share-info">{m.share}</span></div>'
        f'<div id="comment" class="reply-list">{comments}</div></div>'
        f"<script>window.__INITIAL_STATE__={state};</script></body></html>"
    )


def space_page(author: Author, posts: list[Post]) -> str:
    items = "".join(
        f'<li class="small-item" data-aid="{p.post_id}"><a class="title" href="{PREFIX}/video/{p.post_id}"'
        f' title="{escape(p.title)}">{escape(p.title)}</a><span class="play">{p.metrics.play}</span>'
        f'<span class="time">{_when(p.metrics.pubdate)[:10]}</span></li>'
        for p in posts
    )
    name, sign = escape(author.nickname), escape(author.bio)
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{name}的个人空间-{name}个人主页-哔哩哔哩视频</title>"
        f'<meta name="description" content="{sign}"></head><body>'
        f'<div id="app" class="space"><div class="h-inner"><div class="h-user"><span id="h-name">{name}</span>'
        f'<span class="h-mid">UID:{author.mid}</span><div class="h-sign" title="{sign}">{sign}</div></div></div>'
        f'<div id="page-index"><h3 class="section-title">TA的视频 <span class="count">{len(posts)}</span></h3>'
        f'<ul class="clearfix cube-list">{items}</ul></div></div></body></html>'
    )
