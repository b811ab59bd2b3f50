"""Plain records that cross the boundary from the crawlers into the core.

Adapters build these from a platform's JSON; the ingest step stores them. They carry no database identity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(slots=True)
class AuthorRecord:
    platform: str
    platform_author_id: str
    nickname: str = ""
    bio: str = ""
    url: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. douyin sec_uid, unique_id


@dataclass(slots=True)
class PostRecord:
    platform: str
    platform_post_id: str
    url: str
    title: str = ""
    text: str = ""
    hashtags: list[str] = field(default_factory=list)
    published_at: datetime | None = None  # timezone-aware UTC
    metrics: dict[str, int] = field(default_factory=dict)
    author: AuthorRecord | None = None
    comments: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    def scoring_input(self) -> dict[str, Any]:
        """The record shape of `takedown score` (DESIGN.md command-line contract)."""
        return {
            "id": f"{self.platform}:{self.platform_post_id}",
            "platform": self.platform,
            "title": self.title,
            "desc": self.text,
            "hashtags": list(self.hashtags),
            "author_name": self.author.nickname if self.author else "",
            "author_bio": self.author.bio if self.author else "",
            "comments": list(self.comments),
        }


@dataclass(slots=True)
class PageResult:
    """One search-result page as an adapter parsed it."""

    posts: list[PostRecord]
    has_more: bool
    cursor: str = ""  # what the next page request needs (offset, pcursor, search_id ...)
    total: int | None = None
    # Other paging context the platform returned, e.g. douyin {"logid": extra.logid} (the next page's search_id).
    extra: dict[str, str] = field(default_factory=dict)
