from __future__ import annotations

import email
import email.policy
import logging
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

import scheduler
from takedown.db import make_engine, session_scope, upgrade
from takedown.defaults import ensure_defaults
from takedown.settings import Settings, get_settings
from tests.reports.seed import seed

REPO = Path(__file__).resolve().parents[2]


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
