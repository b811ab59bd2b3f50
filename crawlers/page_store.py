"""Where the search pipeline's result pages go to be scored and stored: in this process (`InlinePageStore`), or in
a child process (`ChildPageStore`, the default) so that fetching and parsing in Scrapy's reactor and scoring and
storing run on two cores at once (the child scores the next group in a worker of its own while it stores one:
`Ingestor.ingest_each`). Both store a group of pages in one transaction and, when a group fails, retry its pages
one by one, so a bad page is recorded as `store_failed` and costs only itself."""

from __future__ import annotations

import logging
import multiprocessing
import queue
import time
from collections.abc import Iterator, Sequence

from takedown.crawl_log import CrawlLog
from takedown.db import make_engine
from takedown.ingest import Ingestor, IngestStats, SearchPage

logger = logging.getLogger(__name__)

MAX_GROUP = 50  # pages stored in one transaction at most
GATHER_SECONDS = 0.2  # how long the child waits for a group to fill before storing what it has
IDLE_SECONDS = 1.0  # with no page for this long, the group held back for the next one is stored
MAX_PENDING = 64  # pages queued for the child; a full queue holds the crawl back instead of growing memory


def store_pages(ingestor: Ingestor, log: CrawlLog, run_id: int, pages: Sequence[SearchPage]) -> None:
    """Store `pages` in one transaction; if that fails, each page on its own, recording the ones that fail."""
    try:
        stats = ingestor.ingest_pages(pages, crawl_run_id=run_id)
    except Exception as exc:
        store_one_by_one(ingestor, log, run_id, pages, exc)
        return
    _log_stored(run_id, pages, stats)


def store_one_by_one(ingestor: Ingestor, log: CrawlLog, run_id: int, pages: Sequence[SearchPage],
                     failure: Exception) -> None:
    """After a group of pages failed to store (`failure`): each page on its own, recording the ones that fail."""
    if len(pages) == 1:
        _record_failure(log, run_id, pages[0], failure)
        return
    logger.warning("run=%s: storing a group of %d pages failed; storing them one by one", run_id, len(pages))
    for page in pages:
        try:
            ingestor.ingest_pages([page], crawl_run_id=run_id)
        except Exception as exc:
            _record_failure(log, run_id, page, exc)


def _log_stored(run_id: int, pages: Sequence[SearchPage], stats: IngestStats) -> None:
    logger.info("run=%s stored pages=%d posts=%d new=%d updated=%d scored=%d candidates=%d", run_id, len(pages),
                stats.posts, stats.new, stats.updated, stats.scored, stats.candidates)


def _record_failure(log: CrawlLog, run_id: int, page: SearchPage, exc: Exception) -> None:
    # The page's transaction rolled back; say why, so a lost page is never silent.
    logger.error("run=%s keyword=%s page=%d store_failed", run_id, page.keyword, page.page, exc_info=exc)
    log.error(run_id, keyword=page.keyword, page=page.page, error={
        "kind": "store_failed", "code": type(exc).__name__, "http_status": None, "message": str(exc)[:500]})


class InlinePageStore:
    """Scores and stores each page as it arrives, in this process."""

    def __init__(self, database_url: str, threshold: float, run_id: int):
        from takedown.scoring import get_scorer

        self.engine = make_engine(database_url)
        self.ingestor = Ingestor(self.engine, get_scorer(), threshold)
        self.log = CrawlLog(self.engine)
        self.run_id = run_id

    def submit(self, page: SearchPage) -> None:
        store_pages(self.ingestor, self.log, self.run_id, [page])

    def close(self) -> str:
        """Returns "" (nothing can be left behind in this process)."""
        self.engine.dispose()
        return ""


def _serve(database_url: str, threshold: float, inbox: multiprocessing.Queue, log_level: str) -> None:
    """The child: load the scorer, then take the run's id (None: no crawl came), then whatever pages are waiting
    (at most MAX_GROUP), storing them together, until None."""
    # A spawned child starts with bare logging: write to the crawl's stderr in Scrapy's format.
    logging.basicConfig(level=log_level, format="%(asctime)s [%(name)s] %(levelname)s: %(message)s")
    from takedown.scoring import get_scorer

    # The scorer's first use builds its lookup tables: here, while the crawl starts, and before the worker is
    # forked (ingest_each), which then shares them. The database is not touched before the run exists: it may
    # still be being upgraded.
    get_scorer().score([{"id": "warm-up", "title": "warm-up"}])
    run_id = inbox.get()
    if run_id is None:
        return
    store = InlinePageStore(database_url, threshold, run_id)

    def groups() -> Iterator[list[SearchPage]]:
        done = False
        while not done:
            try:
                group = [inbox.get(timeout=IDLE_SECONDS)]
            except queue.Empty:  # the crawl is waiting (a platform's back-off): let the group read last be
                yield []         # stored now rather than when the next page comes
                continue
            # wait a moment for more: each transaction has a fixed cost (queries per group, the commit), and
            # small groups pay it for a few pages each while the crawl and the platform share the CPU with us
            deadline = time.monotonic() + GATHER_SECONDS
            while len(group) < MAX_GROUP and group[-1] is not None:
                try:
                    group.append(inbox.get(timeout=max(0.0, deadline - time.monotonic())))
                except queue.Empty:
                    break
            if group[-1] is None:
                group.pop()
                done = True
            if group:
                yield group

    # the next group is scored in a worker while this one is stored (Ingestor.ingest_each)
    for pages, outcome in store.ingestor.ingest_each(groups(), crawl_run_id=run_id):
        if not pages:
            continue
        if isinstance(outcome, Exception):
            store_one_by_one(store.ingestor, store.log, run_id, pages, outcome)
        else:
            _log_stored(run_id, pages, outcome)
    store.close()


class ChildPageStore:
    """Hands pages to a child process that scores and stores them. Spawned, not forked: the parent runs an event
    loop and maybe a browser, neither of which survives a fork.

    The child is started before its run exists (`open(run_id)` names it) and loads the scorer meanwhile: more
    than a second, which `prestart` lets it spend while the crawl command imports Scrapy and upgrades the
    database rather than while the first pages wait."""

    def __init__(self, database_url: str, threshold: float, run_id: int | None = None, *, log_level: str = "INFO"):
        context = multiprocessing.get_context("spawn")
        self.inbox = context.Queue(maxsize=MAX_PENDING)
        self.process = context.Process(target=_serve, args=(database_url, threshold, self.inbox, log_level),
                                       name="takedown-store", daemon=True)
        self.process.start()
        self.database_url, self.threshold, self.log_level = database_url, threshold, log_level
        self.run_id: int | None = None
        self.fallback: InlinePageStore | None = None
        self.lost = ""
        if run_id is not None:
            self.open(run_id)

    @classmethod
    def take(cls, database_url: str, threshold: float, *, log_level: str = "INFO") -> ChildPageStore:
        """A child `prestart`ed with these parameters, or else a new one."""
        for store in _prestarted:
            if (store.database_url, store.threshold, store.log_level) == (database_url, threshold, log_level):
                _prestarted.remove(store)
                return store
        return cls(database_url, threshold, log_level=log_level)

    def open(self, run_id: int) -> None:
        """Tell the child which run its pages belong to; once, before the first `submit`."""
        self.run_id = run_id
        self.inbox.put(run_id)

    def submit(self, page: SearchPage) -> None:
        while self.fallback is None:
            try:
                self.inbox.put(page, timeout=1.0)
                return
            except queue.Full:
                if not self.process.is_alive():
                    self._fall_back()
        self.fallback.submit(page)

    def _fall_back(self) -> None:
        # Pages the child had taken but not stored are gone with it; say so, and store the rest here.
        self.lost = f"store process died (exit {self.process.exitcode})"
        logger.error("run=%s: %s; storing in the crawl process from now on", self.run_id, self.lost)
        self.fallback = InlinePageStore(self.database_url, self.threshold, self.run_id)

    def close(self) -> str:
        """Waits until every page handed over is stored. Returns why the run cannot be trusted to be complete
        ("" when it can)."""
        while self.process.is_alive():
            try:
                self.inbox.put(None, timeout=1.0)
                break
            except queue.Full:
                continue
        self.process.join()
        if self.process.exitcode != 0 and not self.lost:
            self.lost = f"store process died (exit {self.process.exitcode})"
        self.inbox.close()
        if self.fallback is not None:
            self.fallback.close()
        return self.lost


_prestarted: list[ChildPageStore] = []


def prestart(database_url: str, threshold: float, count: int, *, log_level: str = "INFO") -> None:
    """Start `count` store children now, for the crawl's pipelines to `take`; `release_prestarted` lets go of
    those none took."""
    _prestarted.extend(ChildPageStore(database_url, threshold, log_level=log_level) for _ in range(count))


def release_prestarted() -> None:
    while _prestarted:
        _prestarted.pop().close()
