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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape
from sqlalchemy import bindparam, func, literal_column, select, union_all
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
    return _positive(score.reasons if score else [])


def _positive(stored: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for r in stored or []:
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


def _contacts(in_post: list[tuple[str, str]], of_author: list[tuple[str, str]]) -> list[dict[str, str]]:
    """The post's own contacts, then those of its author's page it does not show itself."""
    found = [{"label": CONTACT_LABELS.get(t, "联系方式"), "value": v, "where": "作品"} for t, v in in_post]
    known = {(c["label"], c["value"]) for c in found}
    for t, v in of_author:
        label = CONTACT_LABELS.get(t, "联系方式")
        if (label, v) not in known:
            found.append({"label": label, "value": v, "where": "作者主页"})
    return found


def _sightings(rows: list[tuple[str, int, datetime]]) -> dict[str, Any] | None:
    """rows: (keyword, rank, seen_at) in the order they were seen."""
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


def evidence_files(evidence: Any, client_ref: str) -> list[dict[str, Any]]:
    """The capture's files as a complaint names them (`<kind>-<client_ref>.<ext>`), path relative to the
    evidence root, with their recorded SHA-256. `evidence`: an Evidence or a row with its `files`."""
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


def _metrics(post: Any) -> str:
    parts, seen = [], set()
    for key, label in METRIC_LABELS:
        value = (post.metrics or {}).get(key)
        if isinstance(value, int) and value > 0 and label not in seen:
            seen.add(label)
            parts.append(f"{label}{_count(value)}次")
    return "、".join(parts)


# Chunks of ids per IN (...): far below every database's limit on bound parameters.
_CHUNK = 500


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class _Author(NamedTuple):
    id: int
    nickname: str
    platform_author_id: str
    url: str


@dataclass(slots=True)
class CaseFacts:
    """What the store says about one case, for its letter: everything but the complaint's own reference (known
    once its row exists), which `facts` adds."""

    case_id: int
    channel: Channel
    attempt: int
    post: Any  # the post's row
    author: Any | None  # its author's row
    others: int  # the author's other confirmed posts
    evidence: Any | None  # the latest captured Evidence row
    reasons: list[dict[str, Any]]
    contacts: list[dict[str, str]]
    sightings: dict[str, Any] | None
    earlier: list[Complaint]  # this case's complaints of earlier attempts

    def facts(self, client_ref: str, *, settings: Settings, catalog: Catalog,
              today: datetime | None = None) -> dict[str, Any]:
        """Everything a letter says about the case (what `gather_facts` returns)."""
        post, author, evidence, channel, reasons = self.post, self.author, self.evidence, self.channel, self.reasons
        platform_channel = catalog.for_platform(post.platform)
        earlier = [{"channel": catalog.channels[c.channel].name if c.channel in catalog else c.channel,
                    "date": date_cn(c.submitted_at or c.created_at), "ref": c.external_ref or c.client_ref,
                    "state": c.state, "response": _clip(c.response, 80)} for c in self.earlier]
        files = evidence_files(evidence, client_ref)
        rh: RightsHolder = settings.rights_holder
        documents = [{"name": name, "file": Path(rh.documents[name]).name if name in rh.documents else ""}
                     for name in channel.attachments]
        reasons_by_field: dict[str, int] = {}
        for r in reasons:
            reasons_by_field[r["field_label"]] = reasons_by_field.get(r["field_label"], 0) + 1
        return {
            "channel": channel, "platform_name": platform_channel.name if platform_channel.platforms else post.platform,
            "national": not channel.platforms, "attempt": self.attempt, "client_ref": client_ref,
            "case_id": self.case_id,
            "post": {"id": post.platform_post_id, "url": post.url, "title": _clip(post.title, TITLE_MAX),
                     "published": date_cn(post.published_at), "metrics": _metrics(post),
                     "hashtags": [h for h in (post.hashtags or [])][:5]},
            "author": ({"nickname": author.nickname or author.platform_author_id, "id": author.platform_author_id,
                        "url": author.url, "others": self.others} if author else None),
            "reasons": reasons, "groups": _groups(reasons), "fields": reasons_by_field,
            "contacts": self.contacts, "sightings": self.sightings,
            "notices": _notices(channel, reasons), "rules": [r.title for r in channel.rules],
            "evidence": ({"url": evidence.url, "utc": fmt_utc(evidence.captured_at),
                          "china": fmt_china(evidence.captured_at), "files": files} if evidence else None),
            "documents": documents, "earlier": earlier, "rh": rh,
            "today": date_cn(today or datetime.now(UTC)),
        }


class _FactQueries(NamedTuple):
    posts: Any
    evidence: Any
    scores: Any
    sightings: Any
    contacts: Any


@lru_cache(maxsize=1)
def _fact_queries() -> _FactQueries:
    """The statements `load_facts` runs, built once: building a statement costs more than running it on a
    small chunk, and an expanding IN keeps one cached compilation whatever the chunk's size."""
    post_t, author_t, ev_t, score_t = Post.__table__, Author.__table__, Evidence.__table__, Score.__table__
    contact_t, pc_t, ac_t, sight_t = (Contact.__table__, PostContact.__table__, AuthorContact.__table__,
                                      Sighting.__table__)
    post_ids, author_ids = bindparam("posts", expanding=True), bindparam("authors", expanding=True)
    other = post_t.alias("other")
    others = (select(func.count()).select_from(other)
              .where(other.c.author_id == post_t.c.author_id, other.c.id != post_t.c.id,
                     other.c.review_state == ReviewState.CONFIRMED.value)
              .scalar_subquery())
    return _FactQueries(
        posts=select(post_t.c.id, post_t.c.platform, post_t.c.platform_post_id, post_t.c.url, post_t.c.title,
                     post_t.c.published_at, post_t.c.metrics, post_t.c.hashtags, post_t.c.author_id,
                     *[c.label(f"a_{c.name}") for c in (author_t.c.id, author_t.c.nickname,
                                                        author_t.c.platform_author_id, author_t.c.url)],
                     others.label("others"))
        .select_from(post_t.outerjoin(author_t, author_t.c.id == post_t.c.author_id))
        .where(post_t.c.id.in_(post_ids)),
        evidence=select(ev_t.c.post_id, ev_t.c.url, ev_t.c.captured_at, ev_t.c.files)
        .where(ev_t.c.post_id.in_(post_ids), ev_t.c.status == "captured")
        .order_by(ev_t.c.post_id, ev_t.c.captured_at.desc(), ev_t.c.id.desc()),
        scores=select(score_t.c.post_id, score_t.c.reasons).where(score_t.c.post_id.in_(post_ids))
        .order_by(score_t.c.post_id, score_t.c.created_at.desc(), score_t.c.id.desc()),
        sightings=select(sight_t.c.post_id, sight_t.c.keyword, sight_t.c.rank, sight_t.c.seen_at)
        .where(sight_t.c.post_id.in_(post_ids)).order_by(sight_t.c.post_id, sight_t.c.seen_at, sight_t.c.id),
        # Contacts shown in the posts (source 0) and on their authors' pages (1), each list in contact order.
        contacts=union_all(
            select(literal_column("0").label("src"), pc_t.c.post_id.label("owner"), contact_t.c.id,
                   contact_t.c.type, contact_t.c.value)
            .select_from(contact_t.join(pc_t, pc_t.c.contact_id == contact_t.c.id))
            .where(pc_t.c.post_id.in_(post_ids)),
            select(literal_column("1"), ac_t.c.author_id, contact_t.c.id, contact_t.c.type, contact_t.c.value)
            .select_from(contact_t.join(ac_t, ac_t.c.contact_id == contact_t.c.id))
            .where(ac_t.c.author_id.in_(author_ids)),
        ).order_by("src", "owner", "id"),
    )


def latest_evidence_many(session: Session, post_ids: Sequence[int]) -> dict[int, Any]:
    """Each post's latest captured Evidence row (post_id, url, captured_at, files), posts without one left out:
    `latest_evidence` for many posts in a query per chunk."""
    if session.autoflush:
        session.flush()
    conn = session.connection()
    out: dict[int, Any] = {}
    for chunk in _chunks(sorted(set(post_ids))):
        for row in conn.execute(_fact_queries().evidence, {"posts": list(chunk)}):
            out.setdefault(row.post_id, row)  # newest first
    return out


def load_facts(session: Session, items: Sequence[tuple[Case, Channel, int]], *,
               require_evidence: bool = True,
               complaints: dict[int, list[Complaint]] | None = None) -> list[CaseFacts | LetterError]:
    """The facts of many cases in a few queries per chunk of cases (the same, query for query, whether one case
    or two thousand): for each (case, channel, attempt) its CaseFacts, or the LetterError saying why no letter
    can be written. `complaints`: each case's complaints when the caller already loaded them (ORM objects)."""
    if session.autoflush:
        session.flush()  # the queries below are plain SQL: they see what the session holds only once flushed
    conn = session.connection()
    q = _fact_queries()
    post_ids = sorted({case.post_id for case, _, _ in items})
    posts: dict[int, Any] = {}
    evidence: dict[int, Any] = {}
    scores: dict[int, list[dict[str, Any]] | None] = {}
    contacts: dict[tuple[int, int], list[tuple[str, str]]] = {}
    sightings: dict[int, list[tuple[str, int, datetime]]] = {}
    for chunk in _chunks(post_ids):
        ids = {"posts": list(chunk)}
        posts.update((row.id, row) for row in conn.execute(q.posts, ids))
        # Every capture and score of the posts, newest first: the first of each post is its latest.
        for row in conn.execute(q.evidence, ids):
            evidence.setdefault(row.post_id, row)
        for post_id, reasons in conn.execute(q.scores, ids):
            scores.setdefault(post_id, reasons)
        for post_id, keyword, rank, seen_at in conn.execute(q.sightings, ids):
            sightings.setdefault(post_id, []).append((keyword, rank, seen_at))
        authors = sorted({posts[p].author_id for p in chunk if p in posts and posts[p].author_id is not None})
        for src, owner, _, kind, value in conn.execute(q.contacts, {**ids, "authors": authors}):
            contacts.setdefault((src, owner), []).append((kind, value))
    if complaints is None:
        complaints = {}
        later = sorted({case.id for case, _, attempt in items if attempt > 1})
        for chunk in _chunks(later):
            for c in session.execute(select(Complaint).where(Complaint.case_id.in_(chunk))
                                     .order_by(Complaint.case_id, Complaint.attempt, Complaint.id)).scalars():
                complaints.setdefault(c.case_id, []).append(c)

    out: list[CaseFacts | LetterError] = []
    reasons_of: dict[int, list[dict[str, Any]]] = {}
    for case, channel, attempt in items:
        post = posts.get(case.post_id)
        if post is None:
            out.append(LetterError(f"case {case.id}: its post {case.post_id} does not exist"))
            continue
        if post.id not in evidence and require_evidence:
            out.append(LetterError(f"case {case.id}: post {post.id} has no captured evidence (screenshot, HTML, "
                                   "hashes); capture it before drafting a complaint"))
            continue
        if post.id not in reasons_of:
            reasons_of[post.id] = _positive(scores.get(post.id))
        reasons = reasons_of[post.id]
        if not reasons:
            out.append(LetterError(f"case {case.id}: post {post.id} has no scored reason with positive weight to "
                                   "quote"))
            continue
        author = None if post.a_id is None else _Author(post.a_id, post.a_nickname, post.a_platform_author_id,
                                                        post.a_url)
        own = contacts.get((0, post.id), [])
        out.append(CaseFacts(
            case_id=case.id, channel=channel, attempt=attempt, post=post, author=author,
            others=post.others if author else 0, evidence=evidence.get(post.id), reasons=reasons,
            contacts=_contacts(own, contacts.get((1, post.author_id), []) if post.author_id is not None else []),
            sightings=_sightings(sightings.get(post.id, [])),
            earlier=[c for c in complaints.get(case.id, []) if c.attempt < attempt] if attempt > 1 else [],
        ))
    return out


def gather_facts(session: Session, case: Case, *, channel: Channel, attempt: int, client_ref: str,
                 settings: Settings, catalog: Catalog | None = None, today: datetime | None = None,
                 require_evidence: bool = True) -> dict[str, Any]:
    """Everything a letter says about one case, from the store."""
    catalog = catalog or default_catalog()
    [found] = load_facts(session, [(case, channel, attempt)], require_evidence=require_evidence)
    if isinstance(found, LetterError):
        raise found
    return found.facts(client_ref, settings=settings, catalog=catalog, today=today)


# --- rendering --------------------------------------------------------------------------------------------


@lru_cache(maxsize=2)
def environment(templates_dir: str = str(TEMPLATES_DIR)) -> Environment:
    # auto_reload off: templates ship with the code, and checking each file's mtime on every letter (and every
    # template it extends or includes) is a measurable part of drafting thousands of them.
    env = Environment(
        loader=FileSystemLoader(templates_dir), autoescape=select_autoescape(["html.j2", "html"]),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False,
        auto_reload=False,
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


_letter_templates: dict[tuple[str, str], Template] = {}


def _letter_template(channel: Channel, templates_dir: Path) -> Template:
    key = (str(templates_dir), channel.id)
    template = _letter_templates.get(key)
    if template is None:
        template = environment(key[0]).get_template(template_name(channel, templates_dir))
        _letter_templates[key] = template
    return template


def subject_for(facts: dict[str, Any]) -> str:
    post = facts["post"]
    what = f"{facts['platform_name']}作品{post['id']}"
    prefix = "举报" if facts["national"] else "投诉"
    return _CONTROL_RE.sub("", f"{prefix}：{what}推广非法代理维权服务（{facts['client_ref']}）")[:250]


def render_letter(facts: dict[str, Any], templates_dir: Path = TEMPLATES_DIR) -> Letter:
    facts = _clean(facts)
    rendered = _letter_template(facts["channel"], templates_dir).render(**facts)
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
