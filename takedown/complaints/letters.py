"""Complaint letters: the facts of one case gathered from the store, rendered by its channel's template.

A letter is specific to its post by construction: every paragraph of its variable part names the post (its id,
its URL, its author or its quoted text), and its structure follows the post's own facts — how many reasons of
which kinds, whether contacts were found, what the author did elsewhere, which searches found it, which notices
its wording contradicts. Only the letterhead (the rights holder) and the closing (signature) are shared.

Text is the letter's source of truth (`Complaint.body`, editable by a person); the HTML letter and the PDF are
presentations of that text (`letter_html`), escaped, so an edited body shows everywhere the same.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import func, select
from sqlmodel import Session

from takedown.complaints.channels import Catalog, Channel, default_catalog
from takedown.models import (
    Author,
    AuthorContact,
    Case,
    Complaint,
    Contact,
    Evidence,
    Post,
    PostContact,
    ReviewState,
    Score,
    Sighting,
)
from takedown.settings import RightsHolder, Settings

TEMPLATES_DIR = Path(__file__).with_name("templates")
CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
# Separates the letterhead, the variable part and the closing in a rendered template; never in a body.
PART_SEPARATOR = "\x1e"
QUOTE_MAX = 120
TITLE_MAX = 60

CATEGORY_LABELS = {
    "promise": "夸大宣传与虚假承诺",
    "diversion": "引导用户脱离平台私下联系",
    "fee": "收取代理费用",
    "false_identity": "冒充专业机构或人员",
    "fake_policy": "编造虚假政策",
    "anti_collection": "反催收与代理投诉",
    "brand_target": "针对特定金融机构",
    "evasion": "规避平台审核",
}
FIELD_LABELS = {"title": "标题", "desc": "正文", "hashtags": "话题标签", "bio": "账号简介", "comments": "评论",
                "author_name": "账号昵称"}
CONTACT_LABELS = {"wechat": "微信号", "phone": "电话号码", "qq": "QQ号", "url": "链接", "other": "其他联系方式"}
METRIC_LABELS = (("plays", "播放"), ("play", "播放"), ("like", "点赞"), ("likes", "点赞"), ("comments", "评论"),
                 ("shares", "分享"), ("favorites", "收藏"), ("collects", "收藏"), ("danmaku", "弹幕"))
EVIDENCE_KINDS = {"screenshot": "整页截图", "html": "页面HTML源码", "metadata": "取证元数据"}
EVIDENCE_EXT = {"screenshot": "png", "html": "html", "metadata": "json"}


class LetterError(ValueError):
    """A letter cannot be written for this case (names the case and what is missing)."""


@dataclass(frozen=True, slots=True)
class Letter:
    subject: str
    head: str  # the letterhead: the same for every letter of a channel and rights holder
    content: str  # the variable part: specific to the post
    foot: str  # the closing: signature and contact (the same within a day)

    @property
    def body(self) -> str:
        return "\n\n".join(part for part in (self.head, self.content, self.foot) if part)


# --- facts ------------------------------------------------------------------------------------------------


def as_utc(value: datetime | None) -> datetime | None:
    """Stored times come back naive from SQLite; they are UTC on both databases."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def fmt_utc(value: datetime | None) -> str:
    value = as_utc(value)
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""


def fmt_china(value: datetime | None) -> str:
    value = as_utc(value)
    return value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def date_cn(value: datetime | None) -> str:
    value = as_utc(value)
    if not value:
        return ""
    local = value.astimezone(CHINA)
    return f"{local.year}年{local.month}月{local.day}日"


def _clip(text: str, limit: int) -> str:
    text = re.sub(r"\s+", " ", text or "").strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _count(n: int) -> str:
    return f"{n / 10000:.1f}万".replace(".0万", "万") if n >= 10000 else str(n)


def latest_evidence(session: Session, post_id: int) -> Evidence | None:
    return session.execute(
        select(Evidence).where(Evidence.post_id == post_id, Evidence.status == "captured")
        .order_by(Evidence.captured_at.desc(), Evidence.id.desc()).limit(1)
    ).scalars().first()


def positive_reasons(session: Session, post_id: int) -> list[dict[str, Any]]:
    """The reasons of the post's latest score with positive weight, strongest first, one per quoted text."""
    score = session.execute(
        select(Score).where(Score.post_id == post_id).order_by(Score.created_at.desc(), Score.id.desc()).limit(1)
    ).scalars().first()
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for r in (score.reasons if score else []) or []:
        try:
            weight = float(r.get("weight", 0) or 0)
        except (TypeError, ValueError):
            continue
        text = str(r.get("text") or "").strip()
        if weight <= 0 or not text:
            continue
        key = (str(r.get("rule", "")), text)
        if key in seen:
            continue
        seen.add(key)
        out.append({
            "rule": str(r.get("rule", "")), "category": str(r.get("category", "") or "other"),
            "field": str(r.get("field", "")), "field_label": FIELD_LABELS.get(str(r.get("field", "")), "内容"),
            "text": _clip(text, QUOTE_MAX), "weight": weight,
            "explanation": str(r.get("explanation") or "").strip(),
        })
    out.sort(key=lambda r: -r["weight"])
    return out


def _groups(reasons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Reasons grouped by category, the group with the heaviest total first."""
    groups: dict[str, dict[str, Any]] = {}
    for r in reasons:
        g = groups.setdefault(r["category"], {"category": r["category"], "weight": 0.0, "items": [],
                                               "label": CATEGORY_LABELS.get(r["category"], "其他违规表述")})
        g["weight"] += r["weight"]
        g["items"].append(r)
    return sorted(groups.values(), key=lambda g: -g["weight"])


def _contacts(session: Session, post: Post) -> list[dict[str, str]]:
    rows = list(session.execute(
        select(Contact.type, Contact.value).join(PostContact, PostContact.contact_id == Contact.id)
        .where(PostContact.post_id == post.id).order_by(Contact.id)
    ).all())
    found = [{"label": CONTACT_LABELS.get(t, "联系方式"), "value": v, "where": "作品"} for t, v in rows]
    if post.author_id is not None:
        known = {(c["label"], c["value"]) for c in found}
        for t, v in session.execute(
            select(Contact.type, Contact.value).join(AuthorContact, AuthorContact.contact_id == Contact.id)
            .where(AuthorContact.author_id == post.author_id).order_by(Contact.id)
        ).all():
            label = CONTACT_LABELS.get(t, "联系方式")
            if (label, v) not in known:
                found.append({"label": label, "value": v, "where": "作者主页"})
    return found


def _sightings(session: Session, post_id: int) -> dict[str, Any] | None:
    rows = list(session.execute(
        select(Sighting.keyword, Sighting.rank, Sighting.seen_at).where(Sighting.post_id == post_id)
        .order_by(Sighting.seen_at, Sighting.id)
    ).all())
    if not rows:
        return None
    keywords: list[str] = []
    for keyword, _, _ in rows:
        if keyword not in keywords:
            keywords.append(keyword)
    first = rows[0]
    best = min((r for r in rows if r[1]), key=lambda r: r[1], default=first)
    return {"count": len(rows), "keywords": keywords[:6], "more_keywords": max(0, len(keywords) - 6),
            "first_keyword": first[0], "first_rank": first[1], "first_seen": date_cn(first[2]),
            "best_keyword": best[0], "best_rank": best[1], "last_seen": date_cn(rows[-1][2])}


def _notices(channel: Channel, reasons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The channel's notices this post's wording contradicts, each with the post's own quotes that match it."""
    out = []
    for i, notice in enumerate(channel.notices):
        quotes = []
        for r in reasons:
            if r["category"] in notice.applies_to and r["text"] not in quotes and r["category"] != "diversion":
                quotes.append(r["text"])
        diverts = any(r["category"] == "diversion" for r in reasons) and "diversion" in notice.applies_to
        if quotes or diverts or i == 0:
            out.append({"citation": notice.citation, "points": notice.points, "quotes": [_clip(q, 40) for q in quotes[:3]],
                        "diverts": diverts, "id": notice.id})
    return out


def _evidence_files(evidence: Evidence | None, client_ref: str) -> list[dict[str, Any]]:
    if evidence is None:
        return []
    files = []
    for f in evidence.files or []:
        kind = str(f.get("kind", "file"))
        ext = EVIDENCE_EXT.get(kind) or Path(str(f.get("path", ""))).suffix.lstrip(".") or "bin"
        files.append({"kind": kind, "label": EVIDENCE_KINDS.get(kind, "取证文件"), "path": str(f.get("path", "")),
                      "name": f"{kind}-{client_ref}.{ext}", "sha256": str(f.get("sha256", "")),
                      "bytes": int(f.get("bytes") or 0)})
    return files


def _metrics(post: Post) -> str:
    parts, seen = [], set()
    for key, label in METRIC_LABELS:
        value = (post.metrics or {}).get(key)
        if isinstance(value, int) and value > 0 and label not in seen:
            seen.add(label)
            parts.append(f"{label}{_count(value)}次")
    return "、".join(parts)


def gather_facts(session: Session, case: Case, *, channel: Channel, attempt: int, client_ref: str,
                 settings: Settings, catalog: Catalog | None = None, today: datetime | None = None,
                 require_evidence: bool = True) -> dict[str, Any]:
    """Everything a letter says about one case, from the store."""
    catalog = catalog or default_catalog()
    post = session.get(Post, case.post_id)
    if post is None:
        raise LetterError(f"case {case.id}: its post {case.post_id} does not exist")
    author = session.get(Author, post.author_id) if post.author_id is not None else None
    evidence = latest_evidence(session, post.id)
    if evidence is None and require_evidence:
        raise LetterError(f"case {case.id}: post {post.id} has no captured evidence (screenshot, HTML, hashes); "
                          "capture it before drafting a complaint")
    reasons = positive_reasons(session, post.id)
    if not reasons:
        raise LetterError(f"case {case.id}: post {post.id} has no scored reason with positive weight to quote")
    platform_channel = catalog.for_platform(post.platform)
    others = 0
    if author is not None:
        others = session.execute(
            select(func.count()).select_from(Post).where(
                Post.author_id == author.id, Post.id != post.id, Post.review_state == ReviewState.CONFIRMED)
        ).scalar_one()
    earlier = []
    if attempt > 1:
        for c in session.execute(
            select(Complaint).where(Complaint.case_id == case.id, Complaint.attempt < attempt)
            .order_by(Complaint.attempt, Complaint.id)
        ).scalars():
            earlier.append({"channel": catalog.channels[c.channel].name if c.channel in catalog else c.channel,
                            "date": date_cn(c.submitted_at or c.created_at), "ref": c.external_ref or c.client_ref,
                            "state": c.state, "response": _clip(c.response, 80)})
    files = _evidence_files(evidence, client_ref)
    rh: RightsHolder = settings.rights_holder
    documents = [{"name": name, "file": Path(rh.documents[name]).name if name in rh.documents else ""}
                 for name in channel.attachments]
    reasons_by_field: dict[str, int] = {}
    for r in reasons:
        reasons_by_field[r["field_label"]] = reasons_by_field.get(r["field_label"], 0) + 1
    return {
        "channel": channel, "platform_name": platform_channel.name if platform_channel.platforms else post.platform,
        "national": not channel.platforms, "attempt": attempt, "client_ref": client_ref, "case_id": case.id,
        "post": {"id": post.platform_post_id, "url": post.url, "title": _clip(post.title, TITLE_MAX),
                 "published": date_cn(post.published_at), "metrics": _metrics(post),
                 "hashtags": [h for h in (post.hashtags or [])][:5]},
        "author": ({"nickname": author.nickname or author.platform_author_id, "id": author.platform_author_id,
                    "url": author.url, "others": others} if author else None),
        "reasons": reasons, "groups": _groups(reasons), "fields": reasons_by_field,
        "contacts": _contacts(session, post), "sightings": _sightings(session, post.id),
        "notices": _notices(channel, reasons), "rules": [r.title for r in channel.rules],
        "evidence": ({"url": evidence.url, "utc": fmt_utc(evidence.captured_at),
                      "china": fmt_china(evidence.captured_at), "files": files} if evidence else None),
        "documents": documents, "earlier": earlier, "rh": rh,
        "today": date_cn(today or datetime.now(UTC)),
    }


# --- rendering --------------------------------------------------------------------------------------------


@lru_cache(maxsize=2)
def environment(templates_dir: str = str(TEMPLATES_DIR)) -> Environment:
    env = Environment(
        loader=FileSystemLoader(templates_dir), autoescape=select_autoescape(["html.j2", "html"]),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False,
    )
    env.globals["SEP"] = PART_SEPARATOR
    env.filters["cn_num"] = _cn_num  # ordinals: 一、二、三
    env.filters["cn_count"] = lambda n: "两" if n == 2 else _cn_num(n)  # counts: 两处, 两个
    return env


def _cn_num(n: int) -> str:
    digits = "零一二三四五六七八九十"
    if 0 <= n <= 10:
        return digits[n]
    if n < 20:
        return "十" + digits[n - 10]
    if n < 100:
        return digits[n // 10] + "十" + (digits[n % 10] if n % 10 else "")
    return str(n)


_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _tidy(text: str) -> str:
    text = _CONTROL_RE.sub("", text)
    lines = [line.rstrip() for line in text.split("\n")]
    text = "\n".join(lines).strip("\n")
    return re.sub(r"\n{3,}", "\n\n", text)


def template_name(channel: Channel, templates_dir: Path = TEMPLATES_DIR) -> str:
    name = f"{channel.id}.txt.j2"
    if not (templates_dir / name).exists():
        raise LetterError(f"channel {channel.id!r}: no template {name} in {templates_dir}")
    return name


def subject_for(facts: dict[str, Any]) -> str:
    post = facts["post"]
    what = f"{facts['platform_name']}作品{post['id']}"
    prefix = "举报" if facts["national"] else "投诉"
    return _CONTROL_RE.sub("", f"{prefix}：{what}推广非法代理维权服务（{facts['client_ref']}）")[:250]


def render_letter(facts: dict[str, Any], templates_dir: Path = TEMPLATES_DIR) -> Letter:
    env = environment(str(templates_dir))
    facts = _clean(facts)
    rendered = env.get_template(template_name(facts["channel"], templates_dir)).render(**facts)
    parts = rendered.split(PART_SEPARATOR)
    if len(parts) != 3:
        raise LetterError(f"template for channel {facts['channel'].id!r} must render letterhead, content and "
                          f"closing separated by {{{{ SEP }}}} (got {len(parts)} parts)")
    head, content, foot = (_tidy(p) for p in parts)
    return Letter(subject_for(facts), head, content, foot)


def _clean(value: Any) -> Any:
    """Facts without control characters: scraped text never carries the part separator (or anything else a
    letter, an e-mail header or a spreadsheet should not hold)."""
    if isinstance(value, str):
        return _CONTROL_RE.sub("", value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


# --- the letter as HTML (e-mail alternative, export, PDF) -------------------------------------------------


def letter_html(subject: str, body: str, *, channel: Channel | None = None, client_ref: str = "",
                templates_dir: Path = TEMPLATES_DIR) -> str:
    """The letter's text as an HTML document (every character of it escaped)."""
    paragraphs = [p.split("\n") for p in re.split(r"\n\s*\n", body.strip()) if p.strip()]
    env = environment(str(templates_dir))
    return env.get_template("letter.html.j2").render(subject=subject, paragraphs=paragraphs, channel=channel,
                                                     client_ref=client_ref)


def letters_html_document(letters: list[tuple[str, str, str]], templates_dir: Path = TEMPLATES_DIR) -> str:
    """Many letters in one HTML document, one per printed page: [(subject, body, client_ref), ...]."""
    env = environment(str(templates_dir))
    items = [{"subject": s, "client_ref": ref,
              "paragraphs": [p.split("\n") for p in re.split(r"\n\s*\n", b.strip()) if p.strip()]}
             for s, b, ref in letters]
    return env.get_template("letters.html.j2").render(letters=items)


def escape(text: str) -> str:
    return html.escape(text, quote=True)
