"""`takedown posts import FILE.jsonl`: posts found elsewhere, stored and scored in bulk like crawled ones.

What a team brings when it starts: an earlier tool's export, a vendor's feed, the list a colleague kept. One
JSON object a line:

    {"platform": "douyin", "url": "https://www.douyin.com/video/7301", "platform_post_id": "7301",
     "title": "...", "desc": "...", "hashtags": ["..."], "comments": ["..."],
     "published_at": "2026-11-01T08:00:00+08:00", "metrics": {"like": 12},
     "author_id": "...", "author_name": "...", "author_bio": "..."}

`platform` and `url` are required; without `platform_post_id` the id is derived from the link (as for posts
added by hand), so importing the same file twice updates the posts rather than duplicating them. A bad line is
reported with its line number and field and left out; the others are imported. The posts go through
`Ingestor.ingest_stream` in groups of GROUP (one transaction each, the next group scored ahead), so a file of
any size is read as it goes, and a failure loses at most the group it happened in. An import is not a search:
it records no sighting, and it queues a post only when its score reaches the queue threshold.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from takedown.hand_added import HandAddedError, normalise_url, post_id_for
from takedown.ingest import Ingestor, IngestStats, SearchPage
from takedown.records import AuthorRecord, PostRecord
from takedown.scoring.errors import RecordError
from takedown.scoring.io import read_records

GROUP = 1000  # posts per transaction
_TEXT_FIELDS = ("platform_post_id", "title", "desc", "author_id", "author_name", "author_bio")
_KNOWN = {"platform", "url", "hashtags", "comments", "published_at", "metrics", *_TEXT_FIELDS}


@dataclass
class ImportSummary:
    lines: int = 0  # non-blank lines read
    stats: IngestStats = field(default_factory=IngestStats)
    errors: list[dict[str, Any]] = field(default_factory=list)  # {"line", "field", "error"}

    def as_dict(self) -> dict[str, Any]:
        return {"lines": self.lines, "imported": self.lines - len(self.errors), "new": self.stats.new,
                "updated": self.stats.updated, "scored": self.stats.scored, "candidates": self.stats.candidates,
                "errors": len(self.errors)}


def parse_post(n: int, value: dict[str, Any], platforms: frozenset[str]) -> PostRecord:
    """The post of line `n`; RecordError (naming the line and the field) when a field cannot make one."""
    def bad(name: str, message: str) -> RecordError:
        return RecordError(f"line {n}", name, message)

    platform = value.get("platform")
    if platform not in platforms:
        raise bad("platform", f"{platform!r} is not a known platform; known: {', '.join(sorted(platforms))}")
    try:
        url = normalise_url(value.get("url") if isinstance(value.get("url"), str) else "")
    except HandAddedError as exc:
        raise bad("url", str(exc).removeprefix("field url: ")) from None
    text = {}
    for name in _TEXT_FIELDS:
        given = value.get(name)
        if given is not None and not isinstance(given, str):
            raise bad(name, f"expected text, got {type(given).__name__}")
        text[name] = (given or "").strip()
    lists = {}
    for name in ("hashtags", "comments"):
        items = value.get(name) or []
        if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
            raise bad(name, "expected a list of texts")
        lists[name] = [x.strip() for x in items if x.strip()]
    metrics = value.get("metrics") or {}
    if not isinstance(metrics, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in metrics.values()):
        raise bad("metrics", "expected an object of counts (whole numbers, 0 or more)")
    published = _time(value.get("published_at"))
    if published is False:
        raise bad("published_at", f"{value.get('published_at')!r} is not a time with its zone "
                                  "(e.g. 2026-11-01T08:00:00+08:00) nor Unix seconds")
    post_id = text["platform_post_id"] or post_id_for(url)
    author_id = text["author_id"] or text["author_name"]
    author = AuthorRecord(platform, author_id, nickname=text["author_name"], bio=text["author_bio"]) \
        if author_id else None
    return PostRecord(platform=platform, platform_post_id=post_id, url=url, title=text["title"],
                      text=text["desc"], hashtags=lists["hashtags"], published_at=published,
                      metrics=dict(metrics), author=author, comments=lists["comments"],
                      raw={"source": "import", **{k: v for k, v in value.items() if k not in _KNOWN}})


def _time(value: Any) -> datetime | None | bool:
    """UTC time of an ISO 8601 text with a zone or of Unix seconds; None when absent; False when unreadable."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return False
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return False
        return parsed.astimezone(UTC) if parsed.tzinfo is not None else False
    return False


def import_posts(engine: Engine, path: str | Path, *, threshold: float, platforms: Iterable[str],
                 scorer: Any = None) -> ImportSummary:
    """Store and score the posts of a JSONL file (see the module docstring); the summary counts what was
    imported and lists the lines left out."""
    from takedown.scoring import get_scorer

    platforms = frozenset(platforms)
    summary = ImportSummary()

    def groups() -> Iterator[list[SearchPage]]:
        group: list[PostRecord] = []
        for n, item in read_records(path):
            summary.lines += 1
            try:
                if isinstance(item, RecordError):
                    raise item
                group.append(parse_post(n, item, platforms))
            except RecordError as exc:
                summary.errors.append({"line": n, "field": exc.field, "error": exc.message})
                continue
            if len(group) == GROUP:
                yield [SearchPage(group)]
                group = []
        if group:
            yield [SearchPage(group)]

    summary.stats = Ingestor(engine, scorer or get_scorer(), threshold).ingest_stream(groups(), sighting=False)
    return summary
