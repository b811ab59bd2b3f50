"""The CrawlRun record of one platform's crawl: started, pages, counts, errors with the platform's own codes, and
why it stopped. Written as the crawl goes, so a killed crawl still shows what it did (the page counts are advanced
by the ingest, in the transaction that stores the pages)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from takedown.db import session_scope
from takedown.models import CrawlRun, CrawlStatus, utcnow

# Keep the error log of one run bounded; the count keeps counting past it.
MAX_LOGGED_ERRORS = 200


class CrawlLog:
    def __init__(self, engine: Engine):
        self.engine = engine

    def start(self, platform: str, keywords: list[str], mode: str) -> int:
        with session_scope(self.engine) as session:
            run = CrawlRun(platform=platform, keywords=list(keywords), mode=mode)
            session.add(run)
            session.flush()
            return run.id

    def error(self, run_id: int, *, keyword: str, page: int, error: dict[str, Any]) -> None:
        entry = {"at": utcnow().isoformat(), "keyword": keyword, "page": page, **error}
        with session_scope(self.engine) as session:
            run = session.get(CrawlRun, run_id, with_for_update=True)
            run.errors += 1
            if len(run.error_log) < MAX_LOGGED_ERRORS:
                run.error_log = [*run.error_log, entry]

    def finish(self, run_id: int, *, stopped: str = "", failed: str = "") -> CrawlRun:
        with session_scope(self.engine) as session:
            run = session.get(CrawlRun, run_id)
            run.finished_at = utcnow()
            if failed:
                run.status, run.stop_reason = CrawlStatus.FAILED, failed[:255]
            elif stopped:
                run.status, run.stop_reason = CrawlStatus.STOPPED, stopped[:255]
            else:
                run.status, run.stop_reason = CrawlStatus.FINISHED, run.stop_reason or "completed"
            return run
