"""What the search spider hands to the pipeline: a parsed result page, or a specific error on one page."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from takedown.records import PostRecord


@dataclass(slots=True)
class ResultPage:
    platform: str
    keyword: str
    page: int
    first_rank: int  # 1-based rank of the page's first post in the keyword's whole result list
    posts: list[PostRecord] = field(default_factory=list)


@dataclass(slots=True)
class PageError:
    platform: str
    keyword: str
    page: int
    error: dict[str, Any]  # AdapterError.as_dict(), or {"kind": "network", ...}
