"""The one clock: APScheduler 3.x jobs for keyword sweeps, profile/comment fetches for new candidates, case
re-checks, evidence back-fill, scorer retraining and the weekly summary e-mail.

    python scheduler.py               run until interrupted
    python scheduler.py --list        print each job with its next run
    python scheduler.py --run-now ID  run one job once, now, in the foreground

Jobs live in a SQLAlchemyJobStore on the application database (table `apscheduler_jobs`, kept out of Alembic's
autogenerate), with explicit ids and replace_existing, coalescing, max_instances=1 and a misfire grace time.
Timezone and cadence come from the settings (`schedule_*`). Each job runs a `takedown ...` command in a
subprocess (a Scrapy crawl's Twisted reactor cannot restart in-process); a job that fails is logged and tried
again on its next run, and never stops the scheduler.

A restart keeps the schedule: a stored job whose cadence is unchanged keeps its trigger and next run, so an
interval job is not pushed back to "start + interval" on every start, and a run missed while the scheduler was
down (the Monday report, say) fires on start when it is within the misfire grace time. A changed cadence in the
settings replaces the stored trigger.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine, inspect, select

from takedown.db import make_engine, session_scope, upgraded_engine
from takedown.defaults import ensure_defaults
from takedown.models import Keyword, Platform
from takedown.settings import Settings, get_settings

logger = logging.getLogger("takedown.scheduler")
TAKEDOWN = [sys.executable, "-m", "takedown"]


@dataclass(frozen=True)
class JobSpec:
    id: str
    name: str
    trigger: Any


def enabled_platforms(settings: Settings) -> list[str]:
    engine = make_engine(settings.resolved_database_url)
    try:
        with session_scope(engine) as session:
            return list(session.execute(select(Platform.code).where(Platform.enabled).order_by(Platform.code))
                        .scalars())
    finally:
        engine.dispose()


def sweep_keywords(settings: Settings, platform: str) -> list[str]:
    """The enabled keywords for one platform (its own and the "*" ones), in a stable order."""
    engine = make_engine(settings.resolved_database_url)
    try:
        with session_scope(engine) as session:
            rows = session.execute(select(Keyword.text).where(Keyword.enabled, Keyword.platform.in_(["*", platform]))
                                   .order_by(Keyword.id)).scalars()
            return list(dict.fromkeys(rows))
    finally:
        engine.dispose()


def job_specs(settings: Settings, platforms: Sequence[str]) -> list[JobSpec]:
    tz = settings.schedule_timezone
    specs = [JobSpec(f"sweep:{p}", f"keyword sweep on {p}",
                     IntervalTrigger(minutes=settings.schedule_sweep_minutes, timezone=tz)) for p in platforms]
    specs += [
        JobSpec("enrich", "profile/comment fetches for new candidates",
                IntervalTrigger(minutes=settings.schedule_enrich_minutes, timezone=tz)),
        JobSpec("recheck", "case re-checks", IntervalTrigger(minutes=settings.schedule_recheck_minutes, timezone=tz)),
        JobSpec("evidence", "evidence back-fill",
                IntervalTrigger(minutes=settings.schedule_evidence_minutes, timezone=tz)),
        JobSpec("train", "scorer retraining", CronTrigger.from_crontab(settings.schedule_train_cron, timezone=tz)),
        JobSpec("weekly_report", "weekly summary e-mail",
                CronTrigger.from_crontab(settings.schedule_weekly_cron, timezone=tz)),
    ]
    return specs


def command_for(job_id: str, settings: Settings) -> list[str] | None:
    """The `takedown` command line a job runs, built at run time (keywords change between runs); None: nothing
    to do this time."""
    if job_id.startswith("sweep:"):
        platform = job_id.split(":", 1)[1]
        if platform not in enabled_platforms(settings):  # disabled since the job was stored
            logger.info("job=%s platform=%s: platform disabled, skipped", job_id, platform)
            return None
        keywords = sweep_keywords(settings, platform)
        if not keywords:
            logger.info("job=%s platform=%s: no enabled keywords, nothing to sweep", job_id, platform)
            return None
        argv = [*TAKEDOWN, "crawl", "--platform", platform, "--pages", str(settings.schedule_sweep_pages)]
        for keyword in keywords:
            argv += ["--keyword", keyword]
        return argv
    fixed = {
        "enrich": ["enrich"],  # every enabled platform's candidates, at most enrich_limit each
        "recheck": ["cases", "recheck"],
        "evidence": ["evidence", "capture", "--pending"],
        "train": ["train"],
        "weekly_report": ["report", "weekly", "--send"],
    }
    if job_id not in fixed:
        raise KeyError(job_id)
    return [*TAKEDOWN, *fixed[job_id]]


def run_job(job_id: str) -> bool:
    """Run one job's command in a subprocess. Never raises: a failure is logged, and the job runs again at its
    next fire time. Returns whether it succeeded."""
    settings = get_settings()
    try:
        argv = command_for(job_id, settings)
        if argv is None:
            return True
        logger.info("job=%s start: %s", job_id, " ".join(argv[2:]))
        proc = subprocess.run(argv, capture_output=True, text=True,
                              timeout=settings.schedule_job_timeout_seconds, check=False)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-5:]
            logger.error("job=%s failed (exit %s): %s", job_id, proc.returncode, " | ".join(tail))
            return False
        out = (proc.stdout or "").strip().splitlines()
        logger.info("job=%s done%s", job_id, f": {out[-1]}" if out else "")
        return True
    except Exception as exc:  # noqa: BLE001 - a job never stops the scheduler
        logger.error("job=%s failed: %s: %s", job_id, type(exc).__name__, exc)
        return False


JOBS_TABLE = "apscheduler_jobs"


def cadence(trigger: Any) -> tuple:
    """What makes two triggers fire alike. An IntervalTrigger built without a start_date anchors itself at
    "now + interval", so its anchor is left out: only the interval (and zone, jitter, end) says its cadence."""
    if isinstance(trigger, IntervalTrigger):
        return ("interval", trigger.interval, str(trigger.timezone), trigger.jitter, trigger.end_date)
    # CronTrigger's repr names every non-default field, the zone, start/end dates and jitter.
    return (type(trigger).__name__, repr(trigger))


def stored_jobs(store: SQLAlchemyJobStore, engine: Engine, ids: Sequence[str]) -> dict[str, Any]:
    """The jobs of these ids as the job store holds them (none before the table exists). A job that can no
    longer be read (its pickled state from another version) counts as absent: it is replaced."""
    if not inspect(engine).has_table(JOBS_TABLE):
        return {}
    jobs = {}
    for job_id in ids:
        try:
            job = store.lookup_job(job_id)
        except Exception as exc:  # noqa: BLE001 - an unreadable stored job is rebuilt, not fatal
            logger.warning("job=%s: stored job unreadable (%s: %s), rescheduled from its trigger",
                           job_id, type(exc).__name__, exc)
            continue
        if job is not None:
            jobs[job_id] = job
    return jobs


def kept_schedule(spec: JobSpec, stored: Any | None) -> dict[str, Any]:
    """add_job arguments that keep a stored job's place in time when its cadence is unchanged: the stored
    trigger (its interval anchor) and next run, so a restart neither pushes an interval job back to
    "now + interval" nor skips a run missed while down (it fires late, within the misfire grace time). A
    changed cadence starts afresh from the configured trigger."""
    if stored is None or cadence(stored.trigger) != cadence(spec.trigger):
        return {"trigger": spec.trigger}
    # next_run_time None means someone paused the job: it stays paused.
    return {"trigger": stored.trigger, "next_run_time": stored.next_run_time}


def build_scheduler(settings: Settings, *, scheduler_cls: type[BaseScheduler] = BlockingScheduler,
                    platforms: Sequence[str] | None = None,
                    job_funcs: Mapping[str, str] | None = None) -> BaseScheduler:
    """A scheduler with every job registered in the database job store (not started). `job_funcs` maps a job
    id to a "module:function" (no arguments) run instead of run_job(id): the demo's own weekly e-mail."""
    engine = upgraded_engine(settings.resolved_database_url)
    store = SQLAlchemyJobStore(engine=engine, tablename=JOBS_TABLE)
    scheduler = scheduler_cls(
        jobstores={"default": store},
        job_defaults={"coalesce": True, "max_instances": 1,
                      "misfire_grace_time": settings.schedule_misfire_grace_seconds},
        timezone=settings.schedule_timezone,
    )
    specs = job_specs(settings, enabled_platforms(settings) if platforms is None else platforms)
    stored = stored_jobs(store, engine, [spec.id for spec in specs])
    job_funcs = job_funcs or {}
    # Added before start: written to the job store on start, replacing the stored job of the same id.
    for spec in specs:
        func, args = (job_funcs[spec.id], []) if spec.id in job_funcs else ("scheduler:run_job", [spec.id])
        scheduler.add_job(func, args=args, id=spec.id, name=spec.name, replace_existing=True,
                          **kept_schedule(spec, stored.get(spec.id)))
    return scheduler


def list_jobs(settings: Settings) -> list[tuple[str, str, Any]]:
    """(id, name, next run) of every job: the job store's next run where it holds the job with the configured
    cadence (what a start would keep), else the next fire time of the configured trigger."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(settings.schedule_timezone)
    now = datetime.now(tz)
    specs = job_specs(settings, enabled_platforms(settings))
    engine = make_engine(settings.resolved_database_url)
    try:
        stored = stored_jobs(SQLAlchemyJobStore(engine=engine, tablename=JOBS_TABLE), engine,
                             [spec.id for spec in specs])
    finally:
        engine.dispose()
    out = []
    for spec in specs:
        kept = kept_schedule(spec, stored.get(spec.id))
        if "next_run_time" in kept:
            next_run = kept["next_run_time"].astimezone(tz) if kept["next_run_time"] else None
        else:
            next_run = spec.trigger.get_next_fire_time(None, now)
        out.append((spec.id, spec.name, next_run))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scheduler.py", description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--list", action="store_true", help="print each job with its next run, then exit")
    group.add_argument("--run-now", metavar="JOB", help="run one job once now, then exit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = get_settings()
    engine = upgraded_engine(settings.resolved_database_url)
    ensure_defaults(engine)  # the platforms and seed keywords the sweeps read, as `takedown db upgrade` adds them
    engine.dispose()
    if args.list:
        for job_id, name, next_run in list_jobs(settings):
            print(f"{job_id}\t{next_run.isoformat() if next_run else '-'}\t{name}")
        return 0
    if args.run_now:
        known = [spec.id for spec in job_specs(settings, enabled_platforms(settings))]
        if args.run_now not in known:
            print(f"unknown job {args.run_now!r}; known: {', '.join(known)}", file=sys.stderr)
            return 2
        return 0 if run_job(args.run_now) else 1
    scheduler = build_scheduler(settings)
    logger.info("scheduler starting with %d jobs (timezone %s)", len(scheduler.get_jobs()), settings.schedule_timezone)
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
