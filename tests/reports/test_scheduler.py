from __future__ import annotations

import email
import email.policy
import logging
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine, inspect
from sqlmodel import SQLModel

import scheduler
from takedown.db import alembic_config, make_engine, session_scope, upgrade
from takedown.defaults import ensure_defaults
from takedown.settings import Settings, get_settings
from tests.reports.seed import seed

REPO = Path(__file__).resolve().parents[2]
CHINA = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def env(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    ensure_defaults(engine)
    with session_scope(engine) as session:
        seed(session)
    engine.dispose()
    values = {"TAKEDOWN_DATABASE_URL": sqlite_url, "TAKEDOWN_VAR_DIR": str(tmp_path / "var"),
              "TAKEDOWN_SMTP_HOST": "", "TAKEDOWN_EMULATOR_URL": ""}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield {**os.environ, **values}
    get_settings.cache_clear()


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "scheduler.py", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=180)


def test_list_prints_every_job_with_its_next_run(env: dict[str, str]):
    result = _run(["--list"], env)
    assert result.returncode == 0, result.stderr
    lines = [line.split("\t") for line in result.stdout.strip().splitlines()]
    ids = {row[0] for row in lines}
    platforms = scheduler.enabled_platforms(get_settings())
    assert platforms, "ensure_defaults enables the platforms"
    assert ids == {f"sweep:{p}" for p in platforms} | {"enrich", "recheck", "evidence", "train", "weekly_report"}
    enrich = next(row for row in lines if row[0] == "enrich")
    assert enrich[2] == "profile/comment fetches for new candidates"
    weekly = next(row for row in lines if row[0] == "weekly_report")
    assert weekly[1].endswith("+08:00") and "T09:00:00" in weekly[1]
    assert all(row[1] != "-" for row in lines)


def test_run_now_weekly_report_writes_an_eml_to_the_outbox(env: dict[str, str], tmp_path: Path):
    result = _run(["--run-now", "weekly_report"], env)
    assert result.returncode == 0, result.stderr
    (eml,) = (tmp_path / "var" / "outbox").glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message.get_body(preferencelist=("plain",)) is not None
    assert message.get_body(preferencelist=("html",)) is not None
    assert "job=weekly_report done" in result.stderr


def test_run_now_rejects_an_unknown_job(env: dict[str, str]):
    result = _run(["--run-now", "nope"], env)
    assert result.returncode == 2 and "unknown job" in result.stderr


def test_a_failing_job_is_logged_and_the_scheduler_goes_on(env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                                                            caplog: pytest.LogCaptureFixture):
    calls: list[str] = []

    def fake_command(job_id: str, settings: Settings) -> list[str]:
        calls.append(job_id)
        if job_id == "train":
            return [sys.executable, "-c", "import sys; sys.stderr.write('boom\\n'); sys.exit(3)"]
        if job_id == "recheck":
            raise RuntimeError("cannot build the command")
        return [sys.executable, "-c", "print('ok')"]

    monkeypatch.setattr(scheduler, "command_for", fake_command)
    caplog.set_level(logging.INFO, logger="takedown.scheduler")
    assert scheduler.run_job("train") is False
    assert scheduler.run_job("recheck") is False
    assert scheduler.run_job("evidence") is True
    assert "job=train failed (exit 3): boom" in caplog.text
    assert "job=recheck failed: RuntimeError" in caplog.text

    # inside a running scheduler: the failing job does not stop it, the next job still runs
    sched = scheduler.build_scheduler(get_settings(), scheduler_cls=BackgroundScheduler, platforms=[])
    try:
        sched.start()
        jobs = {job.id: job for job in sched.get_jobs()}
        assert set(jobs) == {"enrich", "recheck", "evidence", "train", "weekly_report"}
        assert all(job.coalesce and job.max_instances == 1 and job.misfire_grace_time == 900
                   for job in jobs.values())
        calls.clear()
        for job_id in ("train", "evidence"):
            jobs[job_id].modify(next_run_time=datetime.now(UTC))
        sched.wakeup()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not {"train", "evidence"} <= set(calls):
            time.sleep(0.1)
        assert {"train", "evidence"} <= set(calls)
        assert sched.running
        assert sched.get_job("train") is not None  # still scheduled for its next run
    finally:
        sched.shutdown(wait=True)


def test_a_sweep_crawls_the_enabled_keywords_of_its_platform(env: dict[str, str]):
    from takedown.models import Keyword, Platform

    settings = get_settings()
    engine = make_engine(settings.resolved_database_url)
    with session_scope(engine) as session:
        session.add(Keyword(text="只搜B站", platform="bilibili"))
        session.add(Keyword(text="只搜抖音", platform="douyin"))
        session.add(Keyword(text="停用", platform="*", enabled=False))
    argv = scheduler.command_for("sweep:bilibili", settings)
    assert argv[argv.index("crawl") + 1:argv.index("crawl") + 3] == ["--platform", "bilibili"]
    keywords = [argv[i + 1] for i, a in enumerate(argv) if a == "--keyword"]
    assert "只搜B站" in keywords and "停用" not in keywords and "只搜抖音" not in keywords
    assert "停息挂账" in keywords  # a seed keyword for every platform
    with session_scope(engine) as session:
        session.get(Platform, "bilibili").enabled = False
    engine.dispose()
    assert scheduler.command_for("sweep:bilibili", settings) is None  # disabled since it was scheduled
    assert scheduler.command_for("weekly_report", settings)[-3:] == ["report", "weekly", "--send"]
    assert scheduler.command_for("enrich", settings)[-1] == "enrich"


def test_the_enrich_job_runs_every_schedule_enrich_minutes(env: dict[str, str], monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TAKEDOWN_SCHEDULE_ENRICH_MINUTES", "7")
    get_settings.cache_clear()
    [spec] = [s for s in scheduler.job_specs(get_settings(), []) if s.id == "enrich"]
    assert spec.trigger.interval.total_seconds() == 7 * 60


def test_run_now_enrich_runs_takedown_enrich(env: dict[str, str]):
    # No post scores above 1: nothing to fetch, so no platform (real or emulated) is asked anything.
    result = _run(["--run-now", "enrich"], env | {"TAKEDOWN_ENRICH_THRESHOLD": "1.1"})
    assert result.returncode == 0, result.stderr
    assert "job=enrich done" in result.stderr and '"status": "idle"' in result.stderr


# --- the schedule across restarts -------------------------------------------------------------------------


def _started(settings: Settings) -> BackgroundScheduler:
    """A scheduler over the job store, started paused: its jobs are written to the store, none runs."""
    sched = scheduler.build_scheduler(settings, scheduler_cls=BackgroundScheduler, platforms=[])
    sched.start(paused=True)
    return sched


def _set_stored_next_run(settings: Settings, job_id: str, when: datetime) -> None:
    engine = make_engine(settings.resolved_database_url)
    try:
        store = SQLAlchemyJobStore(engine=engine, tablename="apscheduler_jobs")
        job = store.lookup_job(job_id)
        job.next_run_time = when
        store.update_job(job)
    finally:
        engine.dispose()


def _next_runs(sched: BackgroundScheduler) -> dict[str, datetime | None]:
    return {job.id: job.next_run_time for job in sched.get_jobs()}


def test_a_restart_keeps_each_jobs_next_run(env: dict[str, str]):
    first = _started(get_settings())
    before = _next_runs(first)
    first.shutdown()
    time.sleep(0.05)  # a fresh "now + interval" would now differ
    second = _started(get_settings())
    try:
        assert _next_runs(second) == before
        assert set(before) == {"enrich", "recheck", "evidence", "train", "weekly_report"}
    finally:
        second.shutdown()


def test_a_run_missed_while_down_fires_on_start_within_the_grace_time(env: dict[str, str], tmp_path: Path):
    _started(get_settings()).shutdown()
    # The scheduler was down when these came due (written to the store directly: a live scheduler, even a
    # paused one, may pick a due job up while shutting down).
    now = datetime.now(UTC)
    _set_stored_next_run(get_settings(), "weekly_report", now - timedelta(minutes=5))  # grace is 15 minutes
    _set_stored_next_run(get_settings(), "train", now - timedelta(hours=2))  # beyond the grace: skipped

    second = scheduler.build_scheduler(get_settings(), scheduler_cls=BackgroundScheduler, platforms=[])
    events: list[tuple[int, str]] = []
    second.add_listener(lambda event: events.append((event.code, event.job_id)),
                        EVENT_JOB_EXECUTED | EVENT_JOB_MISSED | EVENT_JOB_ERROR)
    second.start()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and (EVENT_JOB_EXECUTED, "weekly_report") not in events:
            time.sleep(0.2)
        assert (EVENT_JOB_EXECUTED, "weekly_report") in events
        assert (EVENT_JOB_MISSED, "train") in events and (EVENT_JOB_EXECUTED, "train") not in events
        # the late run was the real report: an .eml of the last complete week is in the outbox
        (eml,) = (tmp_path / "var" / "outbox").glob("*.eml")
        assert eml.stat().st_size > 0
        following = second.get_job("weekly_report").next_run_time.astimezone(CHINA)
        assert following > now and (following.weekday(), following.hour, following.minute) == (0, 9, 0)
    finally:
        second.shutdown(wait=True)


def test_a_changed_cadence_takes_effect_on_restart(env: dict[str, str], monkeypatch: pytest.MonkeyPatch):
    first = _started(get_settings())
    before = _next_runs(first)
    first.shutdown()
    monkeypatch.setenv("TAKEDOWN_SCHEDULE_ENRICH_MINUTES", "7")
    monkeypatch.setenv("TAKEDOWN_SCHEDULE_WEEKLY_CRON", "30 10 * * tue")
    get_settings.cache_clear()
    started = datetime.now(UTC)
    second = _started(get_settings())
    try:
        after = _next_runs(second)
        enrich = second.get_job("enrich")
        assert enrich.trigger.interval == timedelta(minutes=7)
        assert started + timedelta(minutes=7) <= after["enrich"] <= datetime.now(UTC) + timedelta(minutes=7)
        weekly = after["weekly_report"].astimezone(CHINA)
        assert (weekly.weekday(), weekly.hour, weekly.minute) == (1, 10, 30)
        # the jobs whose cadence did not change keep their next run
        assert {k: after[k] for k in ("recheck", "evidence", "train")} == \
            {k: before[k] for k in ("recheck", "evidence", "train")}
    finally:
        second.shutdown()


def test_list_shows_the_job_stores_next_runs(env: dict[str, str]):
    sched = _started(get_settings())
    soon = (datetime.now(UTC) + timedelta(minutes=3)).replace(microsecond=0)
    sched.modify_job("enrich", next_run_time=soon)  # a fresh trigger would say now + 60 min
    sched.pause_job("train")
    sched.shutdown()
    result = _run(["--list"], env)
    assert result.returncode == 0, result.stderr
    rows = {line.split("\t")[0]: line.split("\t") for line in result.stdout.strip().splitlines()}
    assert datetime.fromisoformat(rows["enrich"][1]) == soon
    assert rows["enrich"][1].endswith("+08:00")
    assert rows["train"][1] == "-"  # paused in the store
    assert rows["sweep:bilibili"][1] != "-"  # never stored: its configured trigger's next run


def test_the_weekly_report_runs_monday_0900_in_shanghai():
    [spec] = [s for s in scheduler.job_specs(Settings(), []) if s.id == "weekly_report"]
    # Monday 00:30 in Shanghai is still Sunday 16:30 UTC: the run is that Monday 09:00 Shanghai, 01:00 UTC
    fire = spec.trigger.get_next_fire_time(None, datetime(2026, 11, 29, 16, 30, tzinfo=UTC))
    assert fire == datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
    local = fire.astimezone(CHINA)
    assert (local.weekday(), local.hour, local.minute) == (0, 9, 0)
    # from Monday 10:00 Shanghai: the next Monday
    assert spec.trigger.get_next_fire_time(None, datetime(2026, 11, 30, 2, tzinfo=UTC)) == \
        datetime(2026, 12, 7, 1, 0, tzinfo=UTC)


def test_the_job_table_is_kept_out_of_alembic_autogenerate(engine: Engine):
    url = engine.url.render_as_string(hide_password=False)
    sched = scheduler.build_scheduler(Settings(database_url=url), scheduler_cls=BackgroundScheduler, platforms=[])
    sched.start(paused=True)
    sched.shutdown()
    assert inspect(engine).has_table("apscheduler_jobs")
    command.check(alembic_config(engine))  # raises AutoGenerateDiffsDetected on any difference
    # and without the exclusion autogenerate would want to drop it: the check above is not vacuous
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert ("remove_table", "apscheduler_jobs") in [(d[0], d[1].name) for d in diffs if d[0] == "remove_table"]
