"""Store what a crawl found: upsert authors and posts, add sightings, score new or changed posts, link contacts.

After the contacts are linked, in the same transaction, what the team already knows is added (set-based SQL,
a few statements per batch): a post that shows a contact of a CONFIRMED post gets the reason
`context.shared_contact` and its score raised by SHARED_CONTACT_BOOST; a post whose author is high-risk (risk
from the author's other posts >= HIGH_RISK_AUTHOR) gets `context.high_risk_author` and HIGH_RISK_AUTHOR_BOOST;
and Author.risk_score of every author in the batch is recomputed from all of the author's posts.

One call stores one batch (a result page, or a chunk of records) in one transaction, so a failure loses at most
that batch and never anything stored before. Writes are idempotent: the same post seen again updates its row
(`last_seen`, metrics) and adds a sighting; unique constraints on (platform, platform id) make duplicates
impossible rather than merely avoided. Bulk Core statements keep this fast (the target is thousands of posts a
second on SQLite).
"""

from __future__ import annotations

import hashlib
import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from takedown import clock
from takedown.db import bulk_insert, bulk_update, json_value, select_in
from takedown.forked_worker import ForkedWorker, WorkerDied
from takedown.gcpause import gc_paused
from takedown.models import (
    Author,
    AuthorContact,
    Brand,
    Contact,
    CrawlRun,
    Post,
    PostContact,
    ReviewState,
    Score,
    Sighting,
)
from takedown.records import AuthorRecord, PostRecord
from takedown.scoring import Reason, Scorer, ScoreResult
from takedown.scoring.scorer import SCORE_DECIMALS

log = logging.getLogger(__name__)

# Review states a re-score may move a post between; anything a person decided stays as decided.
_MACHINE_STATES = {ReviewState.NEW, ReviewState.QUEUED}
_CHUNK = 500  # rows per statement: well under SQLite's bound-parameter limit

# Context from what the team already decided (see Ingestor._context_boost). A boost b moves a score s to
# 1 - (1 - s)(1 - b): a post ranks higher, never above 1, and a strong post stays ahead of a weak one.
SHARED_CONTACT_BOOST = 0.5  # the post shows a contact (WeChat id, phone ...) of a CONFIRMED post
HIGH_RISK_AUTHOR = 0.8  # author risk (from the author's other posts) from which the author counts as high-risk
HIGH_RISK_AUTHOR_BOOST = 0.3
CONFIRMED_AUTHOR_RISK = 0.95  # an author with a confirmed post is at least this risky
_CONTACT_LABELS = {"wechat": "微信", "phone": "电话", "qq": "QQ", "url": "链接", "other": "邮箱"}
_POST = Post.__table__
# Search results sometimes lack the bio (PLATFORMS.md: Douyin's signature is unverified there): a known bio is
# never overwritten with an empty one. (The same syntax on SQLite and PostgreSQL.)
_AUTHOR_UPSERT = (
    "ON CONFLICT (platform, platform_author_id) DO UPDATE SET nickname = excluded.nickname, url = excluded.url, "
    "last_seen = excluded.last_seen, bio = CASE WHEN excluded.bio = '' THEN author.bio ELSE excluded.bio END"
)


@dataclass(slots=True)
class SearchPage:
    """One page of search results as a crawl found it: its posts in rank order, and where they were found."""

    records: Sequence[PostRecord]
    keyword: str = ""
    page: int = 1
    first_rank: int = 1  # the rank of records[0] in the keyword's whole result list


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


def content_hash(scoring_input: dict[str, Any]) -> str:
    """Hash of exactly what the scorer reads (`PostRecord.scoring_input()`, its id aside): a change here, and only
    here, triggers a re-score."""
    data = {k: v for k, v in scoring_input.items() if k != "id"}
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Ingestor:
    def __init__(self, engine: Engine, scorer: Scorer, threshold: float,
                 now: Callable[[], datetime] = clock.now):
        self.engine = engine
        self.scorer = scorer
        self.threshold = threshold
        self.now = now  # domain time: first/last seen follow the demo's fast-forwarded clock like cases do
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
        sighting: bool = True,
    ) -> IngestStats:
        """Store one batch. `sighting=False` stores without recording that a search found the posts (the
        enrichment step re-ingests a post with its comments and its author's profile)."""
        return self.ingest_pages([SearchPage(records, keyword, page, first_rank)], crawl_run_id=crawl_run_id,
                                 sighting=sighting)

    def ingest_pages(self, pages: Sequence[SearchPage], *, crawl_run_id: int | None = None,
                     sighting: bool = True) -> IngestStats:
        """Store several result pages in one transaction (a crawl hands over its pages in groups: the fixed
        cost of a transaction is paid per group, not per page). A post found on several of them is stored and
        scored once and gets a sighting per page. With `crawl_run_id` (and sightings), the run's counters are
        advanced in the same transaction, so they never disagree with what was stored."""
        ranked, found = _rank(pages)
        return self._store(ranked, found, len(pages), crawl_run_id, sighting, ahead=None)

    def ingest_stream(self, groups: Iterable[Sequence[SearchPage]], *, crawl_run_id: int | None = None,
                      sighting: bool = True) -> IngestStats:
        """`ingest_each`, totalled; a group that fails raises, after the groups before it were stored."""
        total = IngestStats()
        for _, outcome in self.ingest_each(groups, crawl_run_id=crawl_run_id, sighting=sighting):
            if isinstance(outcome, Exception):
                raise outcome
            total.add(outcome)
        return total

    def ingest_each(self, groups: Iterable[Sequence[SearchPage]], *, crawl_run_id: int | None = None,
                    sighting: bool = True) -> Iterator[tuple[Sequence[SearchPage], IngestStats | Exception]]:
        """Store a stream of page groups, each in its own transaction exactly as `ingest_pages` would, with
        the next group scored ahead in a forked worker while this one is stored: scoring and storing each take
        about half of a batch's time, and here they run on two cores at once (`takedown posts import`, a
        crawl's store process). Yields each group, in order, with its stats or with the exception that kept it
        from being stored (its transaction rolled back; the stream goes on).

        The worker scores each post as the store will most likely see it (`_as_stored`). A post whose content
        turns out different (`_fill_known` gave it stored comments, say) is scored again here, and one whose
        stored content is the same is not re-scored, so every score is the one `ingest_pages` gives. Without
        `fork`, or once the worker has died, the scoring is done here. A group is stored once the next one has
        been read (or the stream has ended, or failed: its error is raised once the groups read are stored).
        (The worker is forked: call this from a process whose other threads, if any, hold no lock the scorer
        needs; logging's are re-made at fork.)"""
        worker = ForkedWorker.start(partial(_score_ahead, self.scorer), name="takedown-scorer")
        # (pages, ranked, found, handed to the worker) of the groups read and not stored yet
        waiting: deque[tuple[Sequence[SearchPage], dict, list, bool]] = deque()
        bios: dict[tuple[str, str], str] = {}  # what the author table will hold once the groups handed over are

        def lose_worker(exc: WorkerDied) -> None:
            nonlocal worker
            log.error("ingest: %s; scoring in this process from now on", exc)
            if worker is not None:
                worker.close()
            worker = None

        def store_oldest() -> tuple[Sequence[SearchPage], IngestStats | Exception]:
            pages, ranked, found, handed = waiting.popleft()
            ahead = None
            if handed and worker is not None:
                try:
                    ahead = dict(zip(ranked, worker.result(), strict=True))
                except WorkerDied as exc:
                    lose_worker(exc)
            try:
                return pages, self._store(ranked, found, len(pages), crawl_run_id, sighting, ahead)
            except Exception as exc:  # handed to the caller: the group's transaction rolled back
                return pages, exc

        source = iter(groups)
        try:
            while True:
                try:
                    pages = next(source)
                except StopIteration:
                    break
                except Exception:  # the source failed (a file that cannot be read on): store what it gave
                    while waiting:
                        yield store_oldest()
                    raise
                ranked, found = _rank(pages)
                handed = False
                if worker is not None and ranked:
                    try:
                        worker.submit(self._as_stored(ranked, bios))
                        handed = True
                    except WorkerDied as exc:
                        lose_worker(exc)
                waiting.append((pages, ranked, found, handed))
                if len(waiting) > 1:  # the worker has the next group: store this one meanwhile
                    yield store_oldest()
            while waiting:
                yield store_oldest()
        finally:
            if worker is not None:
                worker.close()

    def _as_stored(self, ranked: dict[tuple[str, str], tuple[int, PostRecord]],
                   bios: dict[tuple[str, str], str]) -> list[dict[str, Any]]:
        """The scoring inputs of a group as `_store` will most likely score them: with the author's bio it will
        find stored (`_fill_known`) when the post has none. `bios` is brought up to what the author table holds
        once the group is stored (`_AUTHOR_UPSERT`: a known bio is kept when the new one is empty); authors not
        met before in the stream are looked up. Only a guess: `_store` uses a result scored ahead only when it
        was scored on exactly the content it has (the same content hash)."""
        last: dict[tuple[str, str], AuthorRecord] = {}  # as _upsert_authors takes them: the group's last
        for _, record in ranked.values():
            if record.author:
                last[(record.author.platform, record.author.platform_author_id)] = record.author
        unknown = [key for key, author in last.items() if not author.bio and key not in bios]
        if unknown:
            with self.engine.connect() as conn:
                for key, _, bio in _stored_authors(conn, unknown):
                    bios[key] = bio
        for key, author in last.items():
            if author.bio:
                bios[key] = author.bio
        inputs = []
        for _, record in ranked.values():
            data = record.scoring_input()
            author = record.author
            if author is not None and not author.bio:
                data["author_bio"] = bios.get((author.platform, author.platform_author_id)) or ""
            inputs.append(data)
        return inputs

    def _store(self, ranked: dict[tuple[str, str], tuple[int, PostRecord]],
               found: list[tuple[tuple[str, str], str, int, int]], n_pages: int, crawl_run_id: int | None,
               sighting: bool, ahead: dict[tuple[str, str], tuple[str, ScoreResult]] | None) -> IngestStats:
        """`ahead`: (content hash, result) of posts scored before the store looked at them, used for those
        whose content is still the same."""
        stats = IngestStats(posts=len(found))
        if not ranked:
            return stats
        now = self.now()
        with gc_paused(), self.engine.begin() as conn:  # see gcpause: a batch makes no cycles
            author_ids, bios = self._upsert_authors(conn, [r.author for _, r in ranked.values() if r.author], now)
            existing = self._existing_posts(conn, list(ranked))
            _fill_known(ranked, existing, bios)
            to_score: list[tuple[tuple[str, str], PostRecord, str]] = []
            inputs = []
            done: dict[tuple[str, str], tuple[PostRecord, str, ScoreResult]] = {}
            for key, (_, record) in ranked.items():
                data = record.scoring_input()
                digest = content_hash(data)
                known = existing.get(key)
                if known is not None and known["content_hash"] == digest:
                    continue
                early = ahead.get(key) if ahead else None
                if early is not None and early[0] == digest:  # scored ahead, on exactly this content
                    done[key] = (record, digest, early[1])
                else:
                    to_score.append((key, record, digest))
                    inputs.append(data)
            for (key, record, digest), result in zip(to_score, self.scorer.score(inputs), strict=True):
                done[key] = (record, digest, result)
            scored = {key: done[key] for key in ranked if key in done}  # in the batch's order, whoever scored
            stats.scored = len(scored)

            post_ids: dict[tuple[str, str], int] = {}
            states: dict[tuple[str, str], str] = {}
            new_rows, changed_rows, seen_rows = [], [], []
            for key, (_, record) in ranked.items():
                author_id = author_ids.get((record.author.platform, record.author.platform_author_id)) if record.author else None
                official = bool(record.author and (record.author.platform, record.author.platform_author_id) in self._official)
                known = existing.get(key)
                if key in scored:
                    _, digest, result = scored[key]
                    state = self._state_for(result.score, official, known["review_state"] if known else None)
                    states[key] = state
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
            if new_rows:
                # the driver's executemany, then the new ids in one query: cheaper than INSERT ... RETURNING
                # through SQLAlchemy's per-row processing
                bulk_insert(conn, _POST, new_rows)
                post_ids.update(self._post_ids(conn, [(r["platform"], r["platform_post_id"]) for r in new_rows]))
            # (the driver's executemany, as for the inserts: a crawl re-sees most posts it finds)
            bulk_update(conn, _POST, changed_rows)
            bulk_update(conn, _POST, seen_rows)

            author_of = {post_ids[key]: author_ids[(r.author.platform, r.author.platform_author_id)]
                         for key, (r, _, _) in scored.items() if r.author}
            changed = [known["id"] for key, known in existing.items() if key in scored]
            # what the authors were before this batch (its own contacts not linked yet: no self-boost)
            before = self._author_aggregates(conn, set(author_of.values()), now, changed)
            self._link_contacts(conn, scored, post_ids, author_ids, now)
            boosted = self._context_boost(conn, scored, post_ids, author_of, before)
            if boosted:
                rows = []
                for key, result in boosted.items():
                    record = scored[key][0]
                    known = existing.get(key)
                    official = bool(record.author and (record.author.platform, record.author.platform_author_id)
                                    in self._official)
                    was = states[key]
                    state = self._state_for(result.score, official, known["review_state"] if known else None)
                    states[key] = state
                    if state == ReviewState.QUEUED and was != ReviewState.QUEUED and (
                            known is None or known["review_state"] != ReviewState.QUEUED):
                        stats.candidates += 1
                    rows.append({"pid": post_ids[key], "score": result.score, "review_state": state})
                    scored[key] = (record, scored[key][1], result)
                bulk_update(conn, _POST, rows)
            self._update_author_risk(conn, before, {pid: scored[key][2].score for key, pid in post_ids.items()
                                                    if key in scored and pid in author_of}, author_of)

            score_rows = [
                {
                    "post_id": post_ids[key],
                    "model_version": result.model_version,
                    "score": result.score,
                    # (orjson writes a Reason, a dataclass, as the object of its fields in their order)
                    "reasons": result.reasons,
                    "created_at": now,
                }
                for key, (_, _, result) in scored.items()
            ]
            bulk_insert(conn, Score.__table__, score_rows)
            if not sighting:
                return stats
            sightings = [
                {"post_id": post_ids[key], "crawl_run_id": crawl_run_id, "keyword": keyword, "page": page,
                 "rank": rank, "seen_at": now}
                for key, keyword, page, rank in found
            ]
            bulk_insert(conn, Sighting.__table__, sightings)
            if crawl_run_id is not None:
                conn.execute(update(CrawlRun).where(CrawlRun.id == crawl_run_id).values(
                    pages=CrawlRun.pages + n_pages, posts_seen=CrawlRun.posts_seen + stats.posts,
                    posts_new=CrawlRun.posts_new + stats.new, posts_updated=CrawlRun.posts_updated + stats.updated,
                    candidates=CrawlRun.candidates + stats.candidates))
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
            "comments": list(record.comments),
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

    def _upsert_authors(self, conn: Connection, authors: list[AuthorRecord], now: datetime
                        ) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], str]]:
        """Ids and bios (as stored after the upsert: a known bio is kept) of the authors."""
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
        # the driver's executemany, then ids and bios in one query per 500: cheaper than the same upsert with
        # RETURNING through SQLAlchemy's per-row processing
        bulk_insert(conn, Author.__table__, rows, on_conflict=_AUTHOR_UPSERT)
        ids: dict[tuple[str, str], int] = {}
        bios: dict[tuple[str, str], str] = {}
        for key, aid, bio in _stored_authors(conn, unique):
            ids[key] = aid
            bios[key] = bio
        return ids, bios

    @staticmethod
    def _existing_posts(conn: Connection, keys: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        """id, content_hash, review_state and comments (as stored: see `_fill_known`) of the stored posts."""
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for platform, ppids in _by_platform(keys).items():
            for pid, ppid, digest, state, comments in select_in(
                    conn, "SELECT id, platform_post_id, content_hash, review_state, comments FROM post "
                          "WHERE platform = ? AND platform_post_id IN ({})", (platform,), ppids):
                found[(platform, ppid)] = {"id": pid, "content_hash": digest, "review_state": state,
                                           "comments": comments}
        return found

    @staticmethod
    def _post_ids(conn: Connection, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
        found: dict[tuple[str, str], int] = {}
        for platform, ppids in _by_platform(keys).items():
            for pid, ppid in select_in(conn, "SELECT id, platform_post_id FROM post "
                                             "WHERE platform = ? AND platform_post_id IN ({})", (platform,), ppids):
                found[(platform, ppid)] = pid
        return found

    # ------------------------------------------------------------------ author and contact context
    def _context_boost(
        self,
        conn: Connection,
        scored: dict[tuple[str, str], tuple[PostRecord, str, ScoreResult]],
        post_ids: dict[tuple[str, str], int],
        author_of: dict[int, int],
        before: dict[int, tuple[float, float, int, int]],
    ) -> dict[tuple[str, str], ScoreResult]:
        """Posts of this batch that share a contact with a CONFIRMED post, or whose author's earlier posts make
        the author high-risk, get a higher score and a reason saying why (see the module docstring). Set-based:
        one query per 500 posts for the shared contacts; the author side comes from `before`."""
        if not scored:
            return {}
        key_of = {post_ids[key]: key for key in scored}
        batch_ids = sorted(key_of)
        shared: dict[int, list[tuple[str, str]]] = {}
        pc, pc2 = PostContact.__table__.alias("pc"), PostContact.__table__.alias("pc2")
        confirmed = Post.__table__.alias("confirmed")
        contact = Contact.__table__
        for chunk in _chunks(batch_ids):
            rows = conn.execute(
                select(pc.c.post_id, contact.c.type, contact.c.value).distinct()
                .select_from(pc.join(pc2, pc2.c.contact_id == pc.c.contact_id)
                             .join(confirmed, confirmed.c.id == pc2.c.post_id)
                             .join(contact, contact.c.id == pc.c.contact_id))
                .where(pc.c.post_id.in_(chunk), pc2.c.post_id != pc.c.post_id,
                       confirmed.c.review_state == ReviewState.CONFIRMED)
            )
            for pid, ctype, value in rows:
                shared.setdefault(pid, []).append((ctype, value))

        out: dict[tuple[str, str], ScoreResult] = {}
        for pid in batch_ids:
            key = key_of[pid]
            result = scored[key][2]
            reasons = []
            factor = 1.0  # what is left of (1 - score)
            contacts = shared.get(pid)
            if contacts:
                factor *= 1.0 - SHARED_CONTACT_BOOST
                shown = "、".join(f"{_CONTACT_LABELS.get(t, t)} {v}" for t, v in sorted(contacts)[:3])
                reasons.append(Reason("context.shared_contact", "diversion", "contacts", shown,
                                      SHARED_CONTACT_BOOST,
                                      f"该内容留有的联系方式（{shown}）与已确认的违规推广内容相同，系同一引流渠道。"))
            aggregate = before.get(author_of.get(pid, -1))
            author_risk = _risk(*aggregate) if aggregate else 0.0
            if author_risk >= HIGH_RISK_AUTHOR:
                factor *= 1.0 - HIGH_RISK_AUTHOR_BOOST
                reasons.append(Reason("context.high_risk_author", "false_identity", "author",
                                      f"账号风险 {author_risk:.2f}", HIGH_RISK_AUTHOR_BOOST,
                                      "发布账号的其他内容已被确认或评定为高风险代理维权推广，该账号为高风险账号。"))
            if reasons:
                score = round(1.0 - (1.0 - result.score) * factor, SCORE_DECIMALS)
                out[key] = ScoreResult(result.id, score, reasons + result.reasons, result.contacts,
                                       result.model_version)
        return out

    @staticmethod
    def _author_aggregates(conn: Connection, author_ids: set[int], now: datetime, changed: Sequence[int]
                           ) -> dict[int, tuple[float, float, int, int]]:
        """(max score, sum of scores, posts, confirmed) of each author's posts from before this batch (this
        batch's re-scored posts left out), counting only posts nobody rejected or marked duplicate; `confirmed`
        counts the author's confirmed posts, plus one when a contact the author gave appears in another
        account's confirmed post."""
        out: dict[int, tuple[float, float, int, int]] = {}
        ignored = (ReviewState.REJECTED, ReviewState.DUPLICATE, ReviewState.OFFICIAL)
        for chunk in _chunks(sorted(author_ids)):
            stmt = (
                select(_POST.c.author_id, func.max(_POST.c.score), func.sum(_POST.c.score), func.count(),
                       func.sum(case((_POST.c.review_state == ReviewState.CONFIRMED, 1), else_=0)))
                .where(_POST.c.author_id.in_(chunk), _POST.c.first_seen < now,
                       _POST.c.review_state.not_in(ignored), _POST.c.score.is_not(None))
                .group_by(_POST.c.author_id)
            )
            if changed:
                stmt = stmt.where(_POST.c.id.not_in(list(changed)))
            for aid, top, total, n, n_confirmed in conn.execute(stmt).all():
                out[aid] = (float(top), float(total), int(n), int(n_confirmed or 0))
            # an author whose contact (WeChat id, phone ...) appears in a confirmed post counts as confirmed
            ac, pc = AuthorContact.__table__, PostContact.__table__
            linked = conn.execute(
                select(ac.c.author_id).distinct()
                .select_from(ac.join(pc, pc.c.contact_id == ac.c.contact_id).join(_POST, _POST.c.id == pc.c.post_id))
                .where(ac.c.author_id.in_(chunk), _POST.c.review_state == ReviewState.CONFIRMED,
                       _POST.c.author_id.is_distinct_from(ac.c.author_id))
            ).scalars()
            for aid in linked:
                top, total, n, confirmed = out.get(aid, (0.0, 0.0, 0, 0))
                out[aid] = (top, total, n, confirmed + 1)
        return out

    @staticmethod
    def _update_author_risk(conn: Connection, before: dict[int, tuple[float, float, int, int]],
                            batch_scores: dict[int, float], author_of: dict[int, int]) -> None:
        """Author.risk_score of the batch's authors from all their posts: the earlier ones (`before`) and this
        batch's (bio and contacts are part of every post's scoring input, so the scores carry them)."""
        merged = dict(before)
        for pid, score in batch_scores.items():
            aid = author_of[pid]
            top, total, n, confirmed = merged.get(aid, (0.0, 0.0, 0, 0))
            merged[aid] = (max(top, score), total + score, n + 1, confirmed)
        bulk_update(conn, Author.__table__, [{"risk_score": round(_risk(*agg), 4), "pid": aid}
                                             for aid, agg in sorted(merged.items())])

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


def _rank(pages: Sequence[SearchPage]) -> tuple[dict[tuple[str, str], tuple[int, PostRecord]],
                                                list[tuple[tuple[str, str], str, int, int]]]:
    """The latest version of each post of the pages with its rank, and a (post, keyword, page, rank) per
    sighting: a post found twice on one page is sighted once there."""
    ranked: dict[tuple[str, str], tuple[int, PostRecord]] = {}
    found: list[tuple[tuple[str, str], str, int, int]] = []
    for result_page in pages:
        on_page: dict[tuple[str, str], int] = {}
        for offset, record in enumerate(result_page.records):
            key = (record.platform, record.platform_post_id)
            on_page[key] = result_page.first_rank + offset
            ranked[key] = (result_page.first_rank + offset, record)
        found += [(key, result_page.keyword, result_page.page, rank) for key, rank in on_page.items()]
    return ranked, found


def _score_ahead(scorer: Scorer, inputs: list[dict[str, Any]]) -> list[tuple[str, ScoreResult]]:
    """(content hash, result) of each scoring input: the worker's half of `Ingestor.ingest_each`."""
    return [(content_hash(data), result) for data, result in zip(inputs, scorer.score(inputs), strict=True)]


def _stored_authors(conn: Connection, keys: Iterable[tuple[str, str]]
                    ) -> Iterator[tuple[tuple[str, str], int, str]]:
    """((platform, platform author id), row id, bio) of the stored authors among `keys`."""
    for platform, author_ids in _by_platform(keys).items():
        for aid, pid, bio in select_in(
                conn, "SELECT id, platform_author_id, bio FROM author WHERE platform = ? AND platform_author_id IN ({})",
                (platform,), author_ids):
            yield (platform, pid), aid, bio


def _by_platform(keys: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for platform, platform_id in keys:
        out.setdefault(platform, []).append(platform_id)
    return out


def _fill_known(ranked: dict[tuple[str, str], tuple[int, PostRecord]],
                existing: dict[tuple[str, str], dict[str, Any]], bios: dict[tuple[str, str], str]) -> None:
    """Give each record what is already known and its source does not carry: a search result has no
    comments, and Bilibili's none of the author's bio. Scored without them, a post whose contact sits in its
    author's bio or pinned comment would drop out of the queue at every re-crawl."""
    for key, (rank, record) in ranked.items():
        changes: dict[str, Any] = {}
        known = existing.get(key)
        if not record.comments and known and known["comments"]:
            stored = json_value(known["comments"])  # (as the driver gave it: decoded only here, when needed)
            if stored:
                changes["comments"] = list(stored)
        author = record.author
        if author is not None and not author.bio:
            bio = bios.get((author.platform, author.platform_author_id))
            if bio:
                changes["author"] = replace(author, bio=bio)
        if changes:
            ranked[key] = (rank, replace(record, **changes))


def _risk(top: float, total: float, n: int, confirmed: int) -> float:
    """An author's risk: the mean of their best and their average post score, at least CONFIRMED_AUTHOR_RISK
    once one of their posts is confirmed."""
    value = (top + total / n) / 2.0 if n else 0.0
    return max(value, CONFIRMED_AUTHOR_RISK) if confirmed else value
