"""Posts a person adds by hand, for platforms no crawler reads (WeChat Channels: links are found by people).

The link becomes an ordinary post through the ingest path (stored, scored with reasons, contacts linked), then
goes to the review queue whatever its score — a person already judged it worth a look — so a lead can confirm it
and its complaint is drafted and filed through the platform's channel like any other. Adding the same link again
updates the post rather than duplicating it: its id on the platform is derived from the link.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import Engine, select, update

from takedown import audit, clock
from takedown.db import session_scope
from takedown.ingest import Ingestor
from takedown.models import Post, ReviewState
from takedown.records import AuthorRecord, PostRecord

ADD = "post.add_by_hand"
DEFAULT_PLATFORM = "weixin_channels"


class HandAddedError(ValueError):
    """The link or a field cannot make a post; the message names the field."""


@dataclass
class AddedPost:
    post_id: int
    platform: str
    platform_post_id: str
    url: str
    score: float | None
    review_state: str
    new: bool

    def as_dict(self) -> dict:
        return {"post": self.post_id, "platform": self.platform, "platform_post_id": self.platform_post_id,
                "url": self.url, "score": self.score, "review_state": self.review_state, "new": self.new}


def normalise_url(url: str) -> str:
    """The link as stored: an http(s) URL with a host, without its #fragment. HandAddedError otherwise."""
    text = (url or "").strip()
    if not text:
        raise HandAddedError("field url: empty; give the post's link, e.g. https://channels.weixin.qq.com/...")
    if any(c.isspace() for c in text):
        raise HandAddedError(f"field url: {text!r} contains spaces; paste the link alone")
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https"):
        raise HandAddedError(f"field url: {text!r} is not an http(s) link")
    if not parts.hostname or "." not in parts.hostname:
        raise HandAddedError(f"field url: {text!r} has no host name")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, ""))


def post_id_for(url: str) -> str:
    """A stable id for a link the platform gives no public id for: the same link, the same post."""
    return "url-" + hashlib.sha256(url.encode("utf-8")).hexdigest()[:24]


def record_for(url: str, *, platform: str = DEFAULT_PLATFORM, title: str = "", text: str = "",
               author: str = "") -> PostRecord:
    link = normalise_url(url)
    name = author.strip()
    return PostRecord(platform=platform, platform_post_id=post_id_for(link), url=link, title=title.strip(),
                      text=text.strip(), author=AuthorRecord(platform, name, nickname=name) if name else None,
                      raw={"source": "hand"})


def add_post(engine: Engine, record: PostRecord, *, threshold: float, actor: str = "cli") -> AddedPost:
    """Store and score the post, queue it for review (unless a person already decided on it), audit the add."""
    from takedown.scoring import get_scorer

    stats = Ingestor(engine, get_scorer(), threshold).ingest([record], sighting=False)
    with session_scope(engine) as session:
        post = session.execute(select(Post).where(Post.platform == record.platform,
                                                  Post.platform_post_id == record.platform_post_id)).scalar_one()
        before = post.review_state
        if before == ReviewState.NEW:
            session.execute(update(Post).where(Post.id == post.id, Post.review_state == ReviewState.NEW)
                            .values(review_state=ReviewState.QUEUED.value))
            session.refresh(post)
        audit.write(session, action=ADD, entity_type="post", actor=actor, at=clock.now(),
                    changes=[(post.id, {"review_state": before} if not stats.new else None,
                              {"url": post.url, "platform": post.platform, "score": post.score,
                               "review_state": post.review_state})])
        return AddedPost(post.id, post.platform, post.platform_post_id, post.url, post.score, post.review_state,
                         bool(stats.new))
