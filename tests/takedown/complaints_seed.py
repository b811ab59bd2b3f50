"""Complaint test data: confirmed posts with authors, scored reasons, contacts, sightings, an open case and a
captured evidence record each (files in the evidence store under the settings' var_dir)."""

from __future__ import annotations

import hashlib
import struct
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import Engine, select

from takedown.db import session_scope
from takedown.evidence import evidence_root, record_capture
from takedown.models import (
    Author,
    AuthorContact,
    Case,
    Contact,
    Post,
    PostContact,
    ReviewState,
    Score,
    Sighting,
)
from takedown.settings import Settings

START = datetime(2026, 10, 20, 2, 30, tzinfo=UTC)

REASONS = [
    {"rule": "promise.stop_interest", "category": "promise", "field": "title", "text": "停息挂账", "weight": 1.2,
     "explanation": "宣称可代为办理停息挂账，属于非法代理维权的典型承诺。"},
    {"rule": "promise.credit_repair", "category": "promise", "field": "desc", "text": "征信修复", "weight": 0.9,
     "explanation": "宣称可修复征信，征信记录不能通过中介修复。"},
    {"rule": "contact.wechat", "category": "diversion", "field": "desc", "text": "加薇 cz573982a", "weight": 0.8,
     "explanation": "在正文中留有微信号，引导用户脱离平台私下联系。"},
    {"rule": "fee.service_fee", "category": "fee", "field": "desc", "text": "2000元包上岸", "weight": 0.7,
     "explanation": "以包办结果为名收取代理费用。"},
    {"rule": "warning.caution", "category": "warning", "field": "comments", "text": "小心被骗", "weight": -0.8,
     "explanation": "评论提醒谨防受骗。"},
]


@dataclass
class PostSpec:
    platform: str
    post_id: str
    url: str
    title: str = "负债突围，教你一招停息挂账"
    text: str = "征信修复、协商还款一对一指导，加薇 cz573982a，2000元包上岸"
    author_id: str = "a1"
    nickname: str = "债务规划师小王"
    reasons: list[dict] = field(default_factory=lambda: [dict(r) for r in REASONS])
    contacts: list[tuple[str, str]] = field(default_factory=lambda: [("wechat", "cz573982a")])
    author_contacts: list[tuple[str, str]] = field(default_factory=list)
    keywords: list[tuple[str, int]] = field(default_factory=lambda: [("停息挂账", 3)])
    metrics: dict[str, int] = field(default_factory=lambda: {"plays": 12800, "likes": 356, "comments": 41})


def tiny_png(seed: str) -> bytes:
    """A valid 4x4 PNG whose pixels depend on `seed` (distinct bytes per post)."""
    digest = hashlib.sha256(seed.encode()).digest()
    raw = b"".join(b"\x00" + digest[i * 12:(i * 12) + 12] for i in range(4)) if len(digest) >= 48 else b"".join(
        b"\x00" + (digest * 2)[i * 12:(i * 12) + 12] for i in range(4))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def similar_posts(n: int, *, platform: str = "douyin", base: str = "https://www.douyin.com",
                  ids: list[str] | None = None) -> list[PostSpec]:
    """n near-identical promotions (same title, text and reasons) by three accounts: the hard case for
    complaint specificity."""
    out = []
    for i in range(n):
        post_id = ids[i] if ids else f"73{i:017d}"
        path = "video" if platform in ("douyin", "bilibili") else "p"
        out.append(PostSpec(platform=platform, post_id=post_id, url=f"{base.rstrip('/')}/{path}/{post_id}",
                            author_id=f"{platform}-author-{i % 3}", nickname=f"债务规划师小{'王李张'[i % 3]}",
                            keywords=[("停息挂账", 1 + i)]))
    return out


def emulator_posts(base: str, platform: str, n: int, keyword: str = "停息挂账") -> list[PostSpec]:
    """n promotions the emulator knows (so its complaint desk matches them), as similar posts with their real
    ids and URLs."""
    ids = httpx.get(f"{base}/_emu/search/{platform}", params={"keyword": keyword, "limit": n}, timeout=10).json()["ids"]
    assert len(ids) >= n, f"the emulator found only {len(ids)} {platform} posts for {keyword}"
    return similar_posts(n, platform=platform, base=f"{base}/{platform}", ids=ids[:n])


def seed_cases(engine: Engine, settings: Settings, specs: list[PostSpec]) -> list[int]:
    """Store each post confirmed, with its score, contacts, sightings, a case and captured evidence; returns
    the case ids in order."""
    case_ids = []
    root = evidence_root(settings)
    with session_scope(engine) as session:
        authors: dict[tuple[str, str], Author] = {}
        contacts: dict[tuple[str, str], Contact] = {}

        def contact(kind: str, value: str) -> Contact:
            if (kind, value) not in contacts:
                c = Contact(type=kind, value=value, first_seen=START)
                session.add(c)
                session.flush()
                contacts[(kind, value)] = c
            return contacts[(kind, value)]

        for i, spec in enumerate(specs):
            key = (spec.platform, spec.author_id)
            if key not in authors:
                a = Author(platform=spec.platform, platform_author_id=spec.author_id, nickname=spec.nickname,
                           bio="专注债务优化，看主页联系", url=f"https://example.invalid/user/{spec.author_id}",
                           first_seen=START, last_seen=START)
                session.add(a)
                session.flush()
                authors[key] = a
                for kind, value in spec.author_contacts:
                    session.add(AuthorContact(author_id=a.id, contact_id=contact(kind, value).id))
            at = START + timedelta(minutes=7 * i)
            post = Post(platform=spec.platform, platform_post_id=spec.post_id, url=spec.url, title=spec.title,
                        text=spec.text, hashtags=["停息挂账"], published_at=at - timedelta(days=2),
                        metrics=spec.metrics, author_id=authors[key].id, first_seen=at, last_seen=at, raw={},
                        score=0.93, score_version="test", review_state=ReviewState.CONFIRMED)
            session.add(post)
            session.flush()
            session.add(Score(post_id=post.id, model_version="test", score=0.93, reasons=spec.reasons,
                              created_at=at))
            for rank_kw, rank in spec.keywords:
                session.add(Sighting(post_id=post.id, keyword=rank_kw, page=1, rank=rank, seen_at=at))
            for kind, value in spec.contacts:
                session.add(PostContact(post_id=post.id, contact_id=contact(kind, value).id))
            session.flush()
            html = (f"<html><body><h1>{spec.title}</h1><p>{spec.text}</p><p>{spec.post_id}</p></body></html>"
                    ).encode()
            record_capture(session, post, spec.url, tiny_png(spec.post_id), html,
                           captured_at=at + timedelta(hours=1), root=root)
            case = session.execute(select(Case).where(Case.post_id == post.id)).scalar_one()
            case_ids.append(case.id)
    return case_ids


def settings_for(tmp_path: Path, database_url: str, **extra) -> Settings:
    return Settings(var_dir=tmp_path / "var", database_url=database_url, **extra)
