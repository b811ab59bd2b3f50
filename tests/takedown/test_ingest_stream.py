"""Ingesting a stream of page groups with the scoring done ahead in a forked worker: the database ends up exactly
as `ingest_pages` leaves it, group by group, whatever the worker guessed, and a dead worker loses nothing."""

from __future__ import annotations

import json
import os
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from takedown.db import make_engine, upgrade
from takedown.ingest import Ingestor, SearchPage
from takedown.models import Author, AuthorContact, Contact, Post, PostContact, Score, Sighting
from takedown.records import AuthorRecord, PostRecord
from takedown.scoring import get_scorer

CORPUS = Path(__file__).resolve().parents[2] / "data" / "corpus-train.jsonl"
START = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def _children() -> list[int]:
    """This process's forked children (the scorer), from /proc: children running this process's command line
    (a spawned process, such as multiprocessing's resource tracker, runs another); zombies too, until reaped."""
    me = str(os.getpid())
    with open(f"/proc/{me}/cmdline", "rb") as fh:
        cmdline = fh.read()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii") as fh:
                    if fh.read().rsplit(")", 1)[1].split()[1] != me:
                        continue
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    if fh.read() in (cmdline, b""):  # (a zombie's command line reads as empty)
                        found.append(int(entry))
            except OSError:
                continue
    return found


def _clock():
    """The same times, call by call, in both runs compared (author risk reads first_seen < now)."""
    ticks = iter(range(10**6))
    return lambda: START + timedelta(minutes=next(ticks))


def _corpus(n: int) -> list[dict]:
    with CORPUS.open(encoding="utf-8") as lines:
        return [json.loads(line) for _, line in zip(range(n), lines, strict=False)]


def _post(i: int, rec: dict, *, author: str, bio: str | None = None, comments: list[str] | None = None,
          suffix: str = "") -> PostRecord:
    return PostRecord(
        platform="bilibili", platform_post_id=f"BV{i:06d}", url=f"https://www.bilibili.com/video/BV{i:06d}",
        title=rec["title"] + suffix, text=rec["desc"], hashtags=list(rec["hashtags"]),
        published_at=START - timedelta(hours=i), metrics={"like": i},
        author=AuthorRecord("bilibili", author, nickname=rec["author_name"],
                            bio=rec["author_bio"] if bio is None else bio),
        comments=list(comments or []), raw={"bvid": f"BV{i:06d}"},
    )


def _groups() -> list[list[SearchPage]]:
    """Six groups that make the worker's guesses go every way: authors whose bio only an earlier group or the
    database knows, the same author with and without a bio in one group, posts seen again unchanged, changed,
    or without the comments stored for them, contacts shared across groups."""
    recs = _corpus(240)
    groups = []
    for g in range(6):
        pages = []
        for p in range(2):
            records = []
            for k in range(20):
                i = g * 40 + p * 20 + k
                rec = recs[i]
                author = f"u{i % 23}"  # authors recur across groups and within one
                bio = "" if i % 3 else None  # a third carry their bio; the rest rely on what is stored
                records.append(_post(i, rec, author=author, bio=bio))
            if g >= 2:  # seen again: unchanged, changed, and without the comments stored for them
                records.append(_post(p, recs[p], author=f"u{p % 23}", bio=""))
                records.append(_post(41 + p, recs[41 + p], author=f"u{(41 + p) % 23}", suffix=f" 更新{g}"))
                records.append(_post(200 + p, recs[200 + p], author="u0", bio=""))
            pages.append(SearchPage(records, keyword=f"债务优化 {g}", page=p + 1, first_rank=p * 20 + 1))
        groups.append(pages)
    return groups


def _before(engine) -> None:
    """What the database knows before the stream: an author's bio, and a post's comments (enrichment)."""
    recs = _corpus(240)
    ingestor = Ingestor(engine, get_scorer(), threshold=0.5, now=lambda: START - timedelta(days=1))
    ingestor.ingest([_post(200, recs[200], author="u0", bio="专业停息挂账 债务优化 V：abc12345"),
                     _post(201, recs[201], author="u1", comments=["置顶：需要停息挂账的加V：helper_9988"])],
                    sighting=False)


def _snapshot(engine) -> dict:
    with Session(engine) as s:
        ppid = dict(s.execute(select(Post.id, Post.platform_post_id)).all())
        aid = dict(s.execute(select(Author.id, Author.platform_author_id)).all())
        cid = {i: (t, v) for i, t, v in s.execute(select(Contact.id, Contact.type, Contact.value)).all()}
        return {
            "posts": sorted((p.platform_post_id, p.title, p.comments, p.content_hash, p.score, p.score_version,
                             p.review_state, aid.get(p.author_id), p.first_seen, p.last_seen)
                            for p in s.execute(select(Post)).scalars()),
            "scores": sorted((ppid[r.post_id], r.score, json.dumps(r.reasons, ensure_ascii=False), r.created_at)
                             for r in s.execute(select(Score)).scalars()),
            "authors": sorted((a.platform_author_id, a.bio, a.risk_score) for a in s.execute(select(Author)).scalars()),
            "sightings": sorted((ppid[x.post_id], x.keyword, x.page, x.rank, x.seen_at)
                                for x in s.execute(select(Sighting)).scalars()),
            "post_contacts": sorted((ppid[x.post_id], cid[x.contact_id])
                                    for x in s.execute(select(PostContact)).scalars()),
            "author_contacts": sorted((aid[x.author_id], cid[x.contact_id])
                                      for x in s.execute(select(AuthorContact)).scalars()),
        }


def _sequential(tmp_path: Path) -> dict:
    engine = make_engine(f"sqlite:///{tmp_path / 'sequential.db'}")
    upgrade(engine)
    _before(engine)
    ingestor = Ingestor(engine, get_scorer(), threshold=0.5, now=_clock())
    for pages in _groups():
        ingestor.ingest_pages(pages)
    snapshot = _snapshot(engine)
    engine.dispose()
    return snapshot


def test_a_stream_stores_exactly_what_ingesting_group_by_group_stores(engine, tmp_path):
    _before(engine)
    stats = Ingestor(engine, get_scorer(), threshold=0.5, now=_clock()).ingest_stream(_groups())
    got, want = _snapshot(engine), _sequential(tmp_path)
    assert stats.posts == len(want["sightings"])
    assert stats.new == len(want["posts"]) - 2  # (two were stored before the stream)
    assert got == want
    # the groups exercised what they were built for: bios from the database and from earlier groups, stored
    # comments kept, re-scored changes
    posts = {p[0]: p for p in got["posts"]}
    assert posts["BV000201"][2] == ["置顶：需要停息挂账的加V：helper_9988"]
    assert len([s for s in got["scores"] if s[0] == "BV000041"]) == 5  # first seen, then changed in 4 groups
    assert any('"field": "bio"' in s[2] and s[0] == "BV000200" for s in got["scores"])


def test_the_worker_dying_mid_stream_loses_nothing(engine, tmp_path):
    _before(engine)

    def groups_killing_the_worker():
        for n, pages in enumerate(_groups()):
            if n == 3:
                workers = _children()
                assert len(workers) == 1, "the stream should be scoring ahead in a worker"
                os.kill(workers[0], signal.SIGKILL)
            yield pages

    Ingestor(engine, get_scorer(), threshold=0.5, now=_clock()).ingest_stream(groups_killing_the_worker())
    assert _snapshot(engine) == _sequential(tmp_path)
    assert not _children()


def test_a_failing_group_raises_after_the_groups_before_it_were_stored(engine):
    good = _groups()[:2]
    bad = [SearchPage([_post(999, _corpus(1)[0], author="u1")], keyword="k")]
    bad[0].records[0].platform = None  # type: ignore[assignment]  # NOT NULL: the group's transaction fails

    def groups():
        yield from good
        yield bad
        yield _groups()[2]

    ingestor = Ingestor(engine, get_scorer(), threshold=0.5, now=_clock())
    with pytest.raises(IntegrityError, match="(?i)null"):  # the database's own error, as ingest_pages raises it
        ingestor.ingest_stream(groups())
    with Session(engine) as s:
        stored = set(s.execute(select(Post.platform_post_id)).scalars())
    assert stored == {r.platform_post_id for pages in good for page in pages for r in page.records}
    assert not _children()


def test_a_source_that_fails_has_the_groups_it_gave_stored_before_its_error_is_raised(engine):
    given = _groups()[:2]

    def source():
        yield from given
        raise OSError("the file cannot be read on")

    ingestor = Ingestor(engine, get_scorer(), threshold=0.5, now=_clock())
    with pytest.raises(OSError, match="cannot be read"):
        ingestor.ingest_stream(source())
    with Session(engine) as s:
        stored = set(s.execute(select(Post.platform_post_id)).scalars())
    assert stored == {r.platform_post_id for pages in given for page in pages for r in page.records}
    assert not _children()


class _Counting:
    """The scorer, counting the records scored in this process (the worker's copy counts in the worker)."""

    def __init__(self) -> None:
        self.scorer, self.records = get_scorer(), 0

    def score(self, records):
        records = list(records)
        self.records += len(records)
        return self.scorer.score(records)


def test_the_worker_scores_ahead_and_only_what_the_store_changed_is_scored_again_here(engine):
    _before(engine)
    counting = _Counting()
    groups = _groups()
    Ingestor(engine, counting, threshold=0.5, now=_clock()).ingest_stream(groups)  # type: ignore[arg-type]
    # The worker guessed every bio (from the database, from earlier groups, from the group itself) but not
    # the comments stored for BV000201: it is scored again here when it first comes back (group 2), and
    # later unchanged, not scored at all.
    assert counting.records == 1
