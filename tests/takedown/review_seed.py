"""Review-queue test data: posts, authors, scores with reasons, sightings and contacts inserted directly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert, select

from takedown.auth import create_user
from takedown.db import session_scope
from takedown.models import (
    Author,
    AuthorContact,
    Brand,
    Contact,
    CrawlRun,
    CrawlStatus,
    Post,
    PostContact,
    ReviewState,
    Score,
    Sighting,
    User,
)

PASSWORD = "correct-horse-42"
XSS_TITLE = "<script>alert(1)</script><img src=x onerror=alert(2)>"
START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)

TITLES = [
    "负债突围，教你一招上岸",
    "想要翻身的看过来，停息挂账不是梦",
    "陷入债务泥潭，主动重组重获生机",
    "从业15年的资深从业者教你协商还款",
    "信用卡逾期协商，个性化分期一次搞定",
]
TEXTS = [
    "负债38万，整合17个网贷平台，停息挂账后分5年偿还，私信我看主页。加薇 cz573982a",
    "征信修复、屏蔽催收，专业法务团队，2000元包上岸，电话 13800138000",
    "债务优化一对一指导，全额退保，投顾退费，输入您的负债情况免费评估",
]
REASONS = [
    {"rule": "promise.stop_interest", "category": "promise", "field": "desc", "text": "停息挂账", "weight": 1.2,
     "explanation": "宣称可停息挂账：典型的非法代理维权话术"},
    {"rule": "contact.wechat", "category": "contact", "field": "desc", "text": "加薇 cz573982a", "weight": 0.8,
     "explanation": "引导添加微信，把借款人带离平台"},
    {"rule": "promise.credit_repair", "category": "promise", "field": "title", "text": "上岸", "weight": 0.6,
     "explanation": "“上岸”指债务问题解决，常见于代理维权推广"},
]


@dataclass
class Seeded:
    post_ids: list[int]
    author_ids: list[int]
    run_id: int


def seed_posts(engine: Engine, n: int, *, platform: str = "douyin", state: str = ReviewState.QUEUED,
               keyword: str = "停息挂账", top_score: float = 0.99, step: float = 0.001,
               titles: list[str] | None = None, authors: int = 3, start_index: int = 0) -> Seeded:
    """n posts with descending scores from top_score, their authors, a score with reasons and a sighting each."""
    with engine.begin() as conn:
        run_id = conn.execute(insert(CrawlRun).returning(CrawlRun.id), [{
            "platform": platform, "keywords": [keyword], "mode": "browser", "started_at": START,
            "finished_at": START + timedelta(minutes=5), "status": CrawlStatus.STOPPED, "pages": 3,
            "posts_seen": n, "posts_new": n, "candidates": n, "errors": 1,
            "error_log": [{"at": START.isoformat(), "keyword": keyword, "page": 3, "kind": "blocked",
                           "code": "2154", "http_status": 200, "message": "验证码拦截"}],
            "stop_reason": "risk control: captcha",
        }]).scalar_one()
        author_ids = list(conn.execute(insert(Author).returning(Author.id, sort_by_parameter_order=True), [
            {"platform": platform, "platform_author_id": f"{platform}-a{start_index + i}",
             "nickname": f"债务规划师小{'王李张'[i % 3]}{start_index + i}",
             "bio": "专注债务优化十年，停息挂账、协商还款，看主页联系", "url": f"https://www.douyin.com/user/a{i}",
             "extra": {}, "risk_score": round(0.9 - 0.1 * i, 2), "first_seen": START, "last_seen": START}
            for i in range(authors)
        ]).scalars())
        rows = []
        for i in range(n):
            k = start_index + i
            rows.append({
                "platform": platform, "platform_post_id": f"{platform}-p{k}",
                "url": f"https://www.douyin.com/video/{7300000000000000000 + k}",
                "title": (titles[i % len(titles)] if titles else f"{TITLES[k % len(TITLES)]} #{k}"),
                "text": TEXTS[k % len(TEXTS)], "hashtags": ["债务优化", "上岸"],
                "published_at": START - timedelta(days=1), "metrics": {"digg": 100 + k},
                "author_id": author_ids[i % len(author_ids)],
                "first_seen": START + timedelta(hours=i), "last_seen": START + timedelta(hours=i),
                "raw": {}, "content_hash": f"h{k}", "score": round(top_score - step * i, 6),
                "score_version": "rules-1", "review_state": state,
            })
        post_ids = list(conn.execute(insert(Post).returning(Post.id, sort_by_parameter_order=True), rows).scalars())
        conn.execute(insert(Score), [
            {"post_id": pid, "model_version": "rules-1", "score": row["score"], "reasons": REASONS,
             "created_at": START} for pid, row in zip(post_ids, rows, strict=True)])
        conn.execute(insert(Sighting), [
            {"post_id": pid, "crawl_run_id": run_id, "keyword": keyword, "page": 1 + i // 20, "rank": i + 1,
             "seen_at": START} for i, pid in enumerate(post_ids)])
        contact_id = conn.execute(select(Contact.id).where(Contact.type == "wechat", Contact.value == "cz573982a")
                                  ).scalar_one_or_none()
        if contact_id is None:
            contact_id = conn.execute(insert(Contact).returning(Contact.id),
                                      [{"type": "wechat", "value": "cz573982a", "first_seen": START}]).scalar_one()
        conn.execute(insert(PostContact), [{"post_id": pid, "contact_id": contact_id} for pid in post_ids])
        conn.execute(insert(AuthorContact), [{"author_id": aid, "contact_id": contact_id} for aid in author_ids])
    return Seeded(post_ids, author_ids, run_id)


def seed_brand(engine: Engine, name: str = "安心借", aliases: list[str] | None = None) -> int:
    with engine.begin() as conn:
        return conn.execute(insert(Brand).returning(Brand.id), [
            {"name": name, "aliases": aliases or [], "official_accounts": {}, "created_at": START}]).scalar_one()


def make_user(engine: Engine, username: str, role: str = "reviewer", password: str = PASSWORD) -> User:
    with session_scope(engine) as session:
        return create_user(session, username, password, role)
