"""Store what a crawl found: upsert authors and posts, add sightings, score new or changed posts, link contacts.

One call stores one batch (a result page, or a chunk of records) in one transaction, so a failure loses at most
that batch and never anything stored before. Writes are idempotent: the same post seen again updates its row
(`last_seen`, metrics) and adds a sighting; unique constraints on (platform, platform id) make duplicates
impossible rather than merely avoided. Bulk Core statements keep this fast (the target is thousands of posts a
second on SQLite).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, case, select, update
from sqlalchemy.dialects import postgresql, sqlite

from takedown.models import (
    Author,
    AuthorContact,
    Brand,
    Contact,
    Post,
    PostContact,
    ReviewState,
    Score,
    Sighting,
    utcnow,
)
from takedown.records import AuthorRecord, PostRecord
from takedown.scoring import Scorer, ScoreResult

# Review states a re-score may move a post between; anything a person decided stays as decided.
_MACHINE_STATES = {ReviewState.NEW, ReviewState.QUEUED}
_CHUNK = 500  # rows per statement: well under SQLite's bound-parameter limit
_POST = Post.__table__


@dataclass(slots=True)
class IngestStats:
    posts: int = 0
    new: int = 0
    updated: int = 0
    scored: int = 0
    candidates: int = 0  # posts of this batch newly at or above the queue threshold

    def add(self, other: IngestStats) -> None:
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def content_hash(record: PostRecord) -> str:
    """Hash of exactly what the scorer reads: a change here, and only here, triggers a re-score."""
    data = record.scoring_input()
    data.pop("id")
    return hashlib.sha256(json.dumps(data, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Ingestor:
    def __init__(self, engine: Engine, scorer: Scorer, threshold: float):
        self.engine = engine
        self.scorer = scorer
        self.threshold = threshold
        dialect = engine.dialect.name
        self._insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}[dialect]
        self._official = self._load_official_accounts()

    def _load_official_accounts(self) -> dict[tuple[str, str], int]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(Brand.id, Brand.official_accounts)).all()
        return {
            (platform, str(account)): brand_id
            for brand_id, accounts in rows
            for platform, ids in (accounts or {}).items()
            for account in ids
        }

    def ingest(
        self,
        records: Sequence[PostRecord],
        *,
        keyword: str = "",
        crawl_run_id: int | None = None,
        page: int = 1,
        first_rank: int = 1,
    ) -> IngestStats:
        ranked: dict[tuple[str, str], tuple[int, PostRecord]] = {}
        for offset, record in enumerate(records):
            ranked[(record.platform, record.platform_post_id)] = (first_rank + offset, record)
        stats = IngestStats(posts=len(ranked))
        if not ranked:
            return stats
        now = utcnow()
        with self.engine.begin() as conn:
            author_ids = self._upsert_authors(conn, [r.author for _, r in ranked.values() if r.author], now)
            existing = self._existing_posts(conn, list(ranked))
            to_score: list[tuple[tuple[str, str], PostRecord, str]] = []
            for key, (_, record) in ranked.items():
                digest = content_hash(record)
                known = existing.get(key)
                if known is None or known["content_hash"] != digest:
                    to_score.append((key, record, digest))
            results = self.scorer.score([record.scoring_input() for _, record, _ in to_score])
            scored = {key: (record, digest, result) for (key, record, digest), result in zip(to_score, results, strict=True)}
            stats.scored = len(scored)

            post_ids: dict[tuple[str, str], int] = {}
            new_rows, changed_rows, seen_rows = [], [], []
            for key, (_, record) in ranked.items():
                author_id = author_ids.get((record.author.platform, record.author.platform_author_id)) if record.author else None
                official = bool(record.author and (record.author.platform, record.author.platform_author_id) in self._official)
                known = existing.get(key)
                if key in scored:
                    _, digest, result = scored[key]
                    state = self._state_for(result.score, official, known["review_state"] if known else None)
                    if state == ReviewState.QUEUED and (known is None or known["review_state"] != ReviewState.QUEUED):
                        stats.candidates += 1
                    row = self._post_row(record, author_id, digest, result, state, now)
                    if known is None:
                        new_rows.append(row | {"first_seen": now})
                    else:
                        changed_rows.append(row | {"pid": known["id"]})
                else:
                    seen_rows.append({"pid": known["id"], "last_seen": now, "metrics": record.metrics, "url": record.url})
            stats.new, stats.updated = len(new_rows), len(changed_rows) + len(seen_rows)

            for key, known in existing.items():
                post_ids[key] = known["id"]
            for chunk in _chunks(new_rows):
                stmt = self._insert(_POST).returning(_POST.c.id, _POST.c.platform, _POST.c.platform_post_id)
                for pid, platform, ppid in conn.execute(stmt, list(chunk)):
                    post_ids[(platform, ppid)] = pid
            if changed_rows:
                cols = {c: bindparam(c) for c in changed_rows[0] if c != "pid"}
                conn.execute(update(Post).where(Post.id == bindparam("pid")).values(**cols), changed_rows)
            if seen_rows:
                conn.execute(
                    update(Post)
                    .where(Post.id == bindparam("pid"))
                    .values(last_seen=bindparam("last_seen"), metrics=bindparam("metrics"), url=bindparam("url")),
                    seen_rows,
                )

            score_rows = [
                {
                    "post_id": post_ids[key],
                    "model_version": result.model_version,
                    "score": result.score,
                    "reasons": [_reason_json(r) for r in result.reasons],
                    "created_at": now,
                }
                for key, (_, _, result) in scored.items()
            ]
            for chunk in _chunks(score_rows):
                conn.execute(self._insert(Score.__table__), list(chunk))
            sightings = [
                {"post_id": post_ids[key], "crawl_run_id": crawl_run_id, "keyword": keyword, "page": page, "rank": rank, "seen_at": now}
                for key, (rank, _) in ranked.items()
            ]
            for chunk in _chunks(sightings):
                conn.execute(self._insert(Sighting.__table__), list(chunk))
            self._link_contacts(conn, scored, post_ids, author_ids, now)
        return stats

    def _state_for(self, score: float, official: bool, current: str | None) -> str:
        if current is not None and current not in _MACHINE_STATES:
            return current
        if official:
            return ReviewState.OFFICIAL
        return ReviewState.QUEUED if score >= self.threshold else ReviewState.NEW

    @staticmethod
    def _post_row(record: PostRecord, author_id: int | None, digest: str, result: ScoreResult, state: str, now: datetime) -> dict[str, Any]:
        return {
            "platform": record.platform,
            "platform_post_id": record.platform_post_id,
            "url": record.url,
            "title": record.title,
            "text": record.text,
            "hashtags": list(record.hashtags),
            "published_at": _aware(record.published_at),
            "metrics": dict(record.metrics),
            "author_id": author_id,
            "last_seen": now,
            "raw": record.raw,
            "content_hash": digest,
            "score": result.score,
            "score_version": result.model_version,
            "review_state": state,
        }

    def _upsert_authors(self, conn: Connection, authors: list[AuthorRecord], now: datetime) -> dict[tuple[str, str], int]:
        unique = {(a.platform, a.platform_author_id): a for a in authors}
        rows = [
            {
                "platform": a.platform,
                "platform_author_id": a.platform_author_id,
                "nickname": a.nickname,
                "bio": a.bio,
                "url": a.url,
                "extra": a.extra,
                "official_brand_id": self._official.get((a.platform, a.platform_author_id)),
                "first_seen": now,
                "last_seen": now,
            }
            for a in unique.values()
        ]
        ids: dict[tuple[str, str], int] = {}
        table = Author.__table__
        # One cached statement run over many parameter sets (executemany with RETURNING), not a multi-row
        # VALUES clause: SQLAlchemy would compile the latter anew for every batch.
        stmt = self._insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=["platform", "platform_author_id"],
            set_={
                "nickname": stmt.excluded.nickname,
                "url": stmt.excluded.url,
                "last_seen": stmt.excluded.last_seen,
                # Search results sometimes lack the bio (PLATFORMS.md: Douyin's signature is unverified there):
                # never overwrite a known bio with an empty one.
                "bio": case((stmt.excluded.bio == "", table.c.bio), else_=stmt.excluded.bio),
            },
        ).returning(table.c.id, table.c.platform, table.c.platform_author_id)
        for chunk in _chunks(rows):
            for aid, platform, pid in conn.execute(stmt, list(chunk)):
                ids[(platform, pid)] = aid
        return ids

    @staticmethod
    def _existing_posts(conn: Connection, keys: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        by_platform: dict[str, list[str]] = {}
        for platform, ppid in keys:
            by_platform.setdefault(platform, []).append(ppid)
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for platform, ppids in by_platform.items():
            for chunk in _chunks(ppids):
                rows = conn.execute(
                    select(Post.id, Post.platform_post_id, Post.content_hash, Post.review_state).where(
                        Post.platform == platform, Post.platform_post_id.in_(chunk)
                    )
                )
                for pid, ppid, digest, state in rows:
                    found[(platform, ppid)] = {"id": pid, "content_hash": digest, "review_state": state}
        return found

    def _link_contacts(
        self,
        conn: Connection,
        scored: dict[tuple[str, str], tuple[PostRecord, str, ScoreResult]],
        post_ids: dict[tuple[str, str], int],
        author_ids: dict[tuple[str, str], int],
        now: datetime,
    ) -> None:
        wanted = {(c.type, c.value) for _, _, result in scored.values() for c in result.contacts}
        if not wanted:
            return
        rows = [{"type": t, "value": v, "first_seen": now} for t, v in sorted(wanted)]
        for chunk in _chunks(rows):
            conn.execute(self._insert(Contact.__table__).on_conflict_do_nothing(index_elements=["type", "value"]), list(chunk))
        contact_ids: dict[tuple[str, str], int] = {}
        for chunk in _chunks(sorted(wanted)):
            values = [v for _, v in chunk]
            for cid, ctype, value in conn.execute(
                select(Contact.id, Contact.type, Contact.value).where(Contact.value.in_(values))
            ):
                if (ctype, value) in wanted:
                    contact_ids[(ctype, value)] = cid
        post_links, author_links = set(), set()
        for key, (record, _, result) in scored.items():
            for c in result.contacts:
                cid = contact_ids[(c.type, c.value)]
                post_links.add((post_ids[key], cid))
                if record.author:
                    author_links.add((author_ids[(record.author.platform, record.author.platform_author_id)], cid))
        for table, column, links in ((PostContact, "post_id", post_links), (AuthorContact, "author_id", author_links)):
            link_rows = [{column: owner, "contact_id": cid} for owner, cid in sorted(links)]
            for chunk in _chunks(link_rows):
                conn.execute(self._insert(table.__table__).on_conflict_do_nothing(), list(chunk))


def _reason_json(reason: Any) -> dict[str, Any]:
    return {
        "rule": reason.rule,
        "category": reason.category,
        "field": reason.field,
        "text": reason.text,
        "weight": reason.weight,
        "explanation": reason.explanation,
    }
