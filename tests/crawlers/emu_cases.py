"""Posts of the emulator stored directly (as a crawl would have stored them), and helpers to script its world."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy import select
from sqlmodel import Session

from takedown.models import Author, Post, ReviewState, Score

REASONS = [{"rule": "promise.stop_interest", "category": "promise", "field": "desc", "text": "停息挂账",
            "weight": 1.2, "explanation": "宣称可停息挂账"}]


def emulator_ids(base: str, platform: str, keyword: str = "债务优化", limit: int = 10) -> list[str]:
    answer = httpx.get(f"{base}/_emu/search/{platform}", params={"keyword": keyword, "limit": limit}, timeout=10)
    answer.raise_for_status()
    return answer.json()["ids"]


def emulator_post(base: str, platform: str, post_id: str) -> dict:
    answer = httpx.get(f"{base}/_emu/posts/{platform}/{post_id}", timeout=10)
    answer.raise_for_status()
    return answer.json()


def set_state(base: str, platform: str, post_id: str, state: str) -> None:
    httpx.post(f"{base}/_emu/posts/{platform}/{post_id}/state", json={"state": state}, timeout=10).raise_for_status()


def post_url(base: str, platform: str, post_id: str) -> str:
    return f"{base}/{platform}/video/{post_id}"


def store_post(session: Session, base: str, platform: str, post_id: str, *,
               state: str = ReviewState.CONFIRMED, first_seen: datetime | None = None) -> Post:
    """The emulator's post and its author as rows (author reused when already stored)."""
    data = emulator_post(base, platform, post_id)
    a = data["author"]
    author = session.execute(select(Author).where(Author.platform == platform,
                                                  Author.platform_author_id == a["id"])).scalar_one_or_none()
    seen = first_seen or datetime.now(UTC)
    if author is None:
        author = Author(platform=platform, platform_author_id=a["id"], nickname=a["nickname"], bio=a["bio"],
                        first_seen=seen, last_seen=seen)
        session.add(author)
        session.flush()
    post = Post(platform=platform, platform_post_id=post_id, url=post_url(base, platform, post_id),
                title=data["title"], text=data["text"], hashtags=data["tags"], author_id=author.id,
                first_seen=seen, last_seen=seen, raw={}, content_hash=post_id, score=0.9, score_version="test",
                review_state=state)
    session.add(post)
    session.flush()
    session.add(Score(post_id=post.id, model_version="test", score=0.9, reasons=REASONS, created_at=seen))
    session.flush()
    return post
