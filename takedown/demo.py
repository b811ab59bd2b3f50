"""`takedown demo`: the main job end to end on the built-in emulator and a SQLite file.

A face, like cli.py: it may use everything (emulator, crawlers, core).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy import select

from takedown.db import make_engine, session_scope, upgraded_engine
from takedown.defaults import ensure_defaults
from takedown.models import CrawlRun, Post, ReviewState, Score
from takedown.settings import SEED_KEYWORDS, Settings, get_settings

DEMO_PLATFORMS = ("bilibili", "douyin")
DEMO_SEED = 7
TOP_N = 10
# Candidates per platform whose comments and author profile the demo fetches after the crawl: enough to show
# contacts found in pinned comments and bios, few enough to keep the demo quick (Douyin opens two pages each).
DEMO_ENRICH_LIMIT = 6
# The weekly e-mails the demo writes: the latest weeks that hold its data (the takedown loop's emulated clock
# runs up to 14 days past the crawl, so up to three weeks).
DEMO_REPORT_WEEKS = 3
logger = logging.getLogger("takedown.demo")


def demo_database_url(database_url: str = "") -> str:
    """The demo keeps its own SQLite file unless told otherwise, so it never mixes with real data."""
    return database_url or f"sqlite:///{get_settings().var_dir / 'demo.db'}"


def takedown_command(args: list[str], settings: Settings, *, check: bool = True,
                     extra_env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Run one `takedown` command in a subprocess (each Scrapy crawl or browser job needs a fresh process) with
    the demo's settings; returns the JSON lines it printed. Its log and progress bar go to our stderr."""
    env = os.environ | {
        "TAKEDOWN_DATABASE_URL": settings.resolved_database_url,
        "TAKEDOWN_EMULATOR_URL": settings.emulator_url,
        "TAKEDOWN_CHROMIUM_PATH": settings.chromium_path,
        "TAKEDOWN_DOWNLOAD_DELAY": str(settings.download_delay),
        "TAKEDOWN_CONCURRENCY_PER_PLATFORM": str(settings.concurrency_per_platform),
        "TAKEDOWN_VAR_DIR": str(settings.var_dir),
    } | (extra_env or {})
    done = subprocess.run([sys.executable, "-m", "takedown", *args], stdout=subprocess.PIPE, text=True, env=env)
    if check and done.returncode != 0:
        raise RuntimeError(f"`takedown {' '.join(args[:2])}` failed with exit code {done.returncode}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def demo_settings(database_url: str = "") -> Settings:
    from takedown.browser import ensure_chromium

    settings = get_settings().model_copy()
    settings.database_url = demo_database_url(database_url)
    settings.download_delay = 0.0  # the emulator needs no politeness
    settings.concurrency_per_platform = 4
    settings.chromium_path = ensure_chromium(settings.chromium_path)
    return settings


def run_demo(emulator_url: str, *, pages: int = 2, size: int = 5000, database_url: str = "",
             takedown_loop: bool = True) -> dict[str, Any]:
    """Crawl, score and queue on the running emulator, then (takedown_loop) confirm, file and track."""
    settings = demo_settings(database_url)
    settings.emulator_url = emulator_url
    engine = upgraded_engine(settings.resolved_database_url)
    ensure_defaults(engine)
    print(f"emulator on {emulator_url}; crawling {', '.join(DEMO_PLATFORMS)} for "
          f"{len(SEED_KEYWORDS)} seed keywords, {pages} pages each ...", file=sys.stderr)
    args = ["crawl", "--pages", str(pages), "--log-level", "WARNING"]
    for platform in DEMO_PLATFORMS:
        args += ["--platform", platform]
    for keyword in SEED_KEYWORDS:
        args += ["--keyword", keyword]
    run_ids = {run["platform"]: run["run"] for run in takedown_command(args, settings)}
    enriched = enrich_candidates(settings)
    summary = build_summary(engine, run_ids)
    for platform, row in summary["platforms"].items():
        row["enriched"] = enriched.get(platform, {})
    summary["ground_truth"] = queue_against_truth(engine, emulator_url)
    if takedown_loop:
        from takedown.demo_loop import run_takedown_loop

        summary.update(run_takedown_loop(engine, settings, emulator_url, takedown_command))
        emails = weekly_emails(settings)
        summary["weekly_email"] = busiest_email(emails)
        summary["weekly_emails"] = [r.get("outbox") for r in emails]
    summary["database"] = engine.url.render_as_string(hide_password=True)
    summary["emulator"] = {"url": emulator_url, "seed": DEMO_SEED, "size": size}
    engine.dispose()
    return summary


def enrich_candidates(settings: Settings) -> dict[str, dict[str, Any]]:
    """The top candidates' comments and author profiles (`takedown enrich`, in a subprocess like the crawl):
    per platform, what was fetched, stored and re-scored."""
    print(f"fetching comments and author profiles of the top {DEMO_ENRICH_LIMIT} candidates per platform ...",
          file=sys.stderr)
    args = ["enrich", "--limit", str(DEMO_ENRICH_LIMIT), "--log-level", "WARNING"]
    for platform in DEMO_PLATFORMS:
        args += ["--platform", platform]
    keys = ("run", "status", "posts", "comments", "bios", "rescored", "queued", "gone", "errors", "stop_reason")
    return {row["platform"]: {key: row.get(key) for key in keys} for row in takedown_command(args, settings)}


# The demo's compressed clock: what runs every few hours or weekly in production runs every few minutes.
DEMO_SCHEDULE = {
    "TAKEDOWN_SCHEDULE_SWEEP_MINUTES": "2",
    "TAKEDOWN_SCHEDULE_ENRICH_MINUTES": "3",
    "TAKEDOWN_SCHEDULE_SWEEP_PAGES": "1",
    "TAKEDOWN_SCHEDULE_RECHECK_MINUTES": "3",
    "TAKEDOWN_SCHEDULE_EVIDENCE_MINUTES": "3",
    "TAKEDOWN_SCHEDULE_WEEKLY_CRON": "*/4 * * * *",
    "TAKEDOWN_SCHEDULE_TRAIN_CRON": "30 3 * * *",
}


def start_demo_scheduler(settings: Settings):
    """The scheduler's jobs on the compressed clock, in a background thread beside the web app: a viewer sees a
    sweep land within two minutes and a weekly e-mail in the outbox within four."""
    from apscheduler.schedulers.background import BackgroundScheduler

    import scheduler

    os.environ.update(DEMO_SCHEDULE | {
        "TAKEDOWN_DATABASE_URL": settings.resolved_database_url,
        "TAKEDOWN_EMULATOR_URL": settings.emulator_url,
        "TAKEDOWN_DOWNLOAD_DELAY": "0",
        "TAKEDOWN_VAR_DIR": str(settings.var_dir),
        "TAKEDOWN_SMTP_HOST": "",  # the demo never mails anyone: reports go to the outbox
    })
    get_settings.cache_clear()
    # The weekly job reports the weeks holding the demo's data (see weekly_emails), not the wall clock's last week.
    jobs = scheduler.build_scheduler(get_settings(), scheduler_cls=BackgroundScheduler,
                                     job_funcs={"weekly_report": "takedown.demo:scheduled_weekly_email"})
    jobs.start()
    return jobs


def weekly_emails(settings: Settings) -> list[dict[str, Any]]:
    """The summary e-mail of each week that holds the demo's data, written to the outbox (the demo never mails
    anyone): one `report weekly --json` result each ({week, outbox, metrics}). The weeks come from the data, not
    the wall clock: crawls and reviews carry real time, cases the emulator's fast-forwarded clock, so the
    takedown loop's filings and removals may lie in a later week than today, and "last week" holds nothing."""
    from reports.metrics import active_weeks

    engine = make_engine(settings.resolved_database_url)
    try:
        with session_scope(engine) as session:
            weeks = active_weeks(session, limit=DEMO_REPORT_WEEKS)
    finally:
        engine.dispose()
    results = []
    for week in weeks:
        results += takedown_command(["report", "weekly", "--week", week, "--send", "--json"], settings,
                                    extra_env={"TAKEDOWN_SMTP_HOST": ""})
    return results


def busiest_email(results: list[dict[str, Any]]) -> str | None:
    """The outbox path of the e-mail with the most to say (the largest sum of headline figures)."""
    from reports.metrics import HEADLINE

    if not results:
        return None
    return max(results, key=lambda r: sum(r["metrics"][key] for key in HEADLINE)).get("outbox")


def weekly_email(settings: Settings) -> str | None:
    """The demo weeks' summary e-mails, written to the outbox: the path of the busiest week's."""
    return busiest_email(weekly_emails(settings))


def scheduled_weekly_email() -> None:
    """The demo scheduler's weekly job (instead of `report weekly --send`, which reports the wall clock's last
    week): every demo week's e-mail into the outbox. Settings come from the environment start_demo_scheduler
    set. Never raises: a failing job must not stop the scheduler."""
    try:
        paths = [r.get("outbox") for r in weekly_emails(get_settings())]
        logger.info("job=weekly_report done: %s", ", ".join(str(p) for p in paths) or "no week holds data yet")
    except Exception as exc:  # noqa: BLE001 - logged; runs again at its next fire time
        logger.error("job=weekly_report failed: %s: %s", type(exc).__name__, exc)


def build_summary(engine, run_ids: dict[str, int | None]) -> dict[str, Any]:
    platforms: dict[str, Any] = {}
    with session_scope(engine) as session:
        for platform, run_id in run_ids.items():
            run = session.get(CrawlRun, run_id) if run_id else None
            top = session.execute(
                select(Post)
                .where(Post.platform == platform, Post.review_state == ReviewState.QUEUED)
                .order_by(Post.score.desc(), Post.id)
                .limit(TOP_N)
            ).scalars().all()
            platforms[platform] = {
                "run": run_id,
                "status": run.status if run else "not started",
                "pages": run.pages if run else 0,
                "posts": run.posts_seen if run else 0,
                "new_posts": run.posts_new if run else 0,
                "candidates": run.candidates if run else 0,
                "errors": run.errors if run else 0,
                "stop_reason": run.stop_reason if run else "",
                "top": [_candidate(session, post) for post in top],
            }
        queued = session.execute(select(Post.id).where(Post.review_state == ReviewState.QUEUED)).all()
    return {"platforms": platforms, "queue": len(queued)}


def queue_against_truth(engine, emulator_url: str) -> dict[str, Any]:
    """How many queued posts the emulator labelled as real promotions, and how many promotions stayed out."""
    import httpx

    with session_scope(engine) as session:
        rows = session.execute(select(Post.platform, Post.platform_post_id, Post.review_state)).all()
    counts = {"queued": 0, "queued_promotions": 0, "promotions": 0, "posts": len(rows)}
    with httpx.Client(base_url=emulator_url, timeout=10) as client:
        for platform, post_id, state in rows:
            label = client.get(f"/_emu/truth/{platform}/{post_id}").json().get("label")
            queued = state == ReviewState.QUEUED
            counts["queued"] += queued
            counts["promotions"] += label == 1
            counts["queued_promotions"] += queued and label == 1
    counts["precision"] = round(counts["queued_promotions"] / counts["queued"], 4) if counts["queued"] else None
    counts["recall"] = round(counts["queued_promotions"] / counts["promotions"], 4) if counts["promotions"] else None
    return counts


def _candidate(session, post: Post) -> dict[str, Any]:
    latest = session.execute(
        select(Score).where(Score.post_id == post.id).order_by(Score.id.desc()).limit(1)
    ).scalar_one_or_none()
    reasons = latest.reasons if latest else []
    return {
        "post_id": post.platform_post_id,
        "url": post.url,
        "title": post.title,
        "score": round(post.score or 0.0, 4),
        "reasons": [{k: r.get(k) for k in ("rule", "category", "field", "text")} for r in reasons],
    }


def format_summary(summary: dict[str, Any], console: Console) -> None:
    table = Table(title="takedown demo: crawl summary")
    for column in ("platform", "status", "pages", "posts", "new", "candidates", "errors", "stop reason"):
        table.add_column(column)
    for platform, row in summary["platforms"].items():
        table.add_row(platform, row["status"], str(row["pages"]), str(row["posts"]), str(row["new_posts"]),
                      str(row["candidates"]), str(row["errors"]), Text(row["stop_reason"]))
    console.print(table)
    for platform, row in summary["platforms"].items():
        enriched = row.get("enriched") or {}
        if enriched.get("posts"):
            console.print(f"{platform}: comments and author profile fetched for {enriched['posts']} candidates: "
                          f"{enriched['comments']} comments, {enriched['bios']} bios updated, {enriched['rescored']} "
                          f"re-scored, {enriched['queued']} newly queued", markup=False)
    for platform, row in summary["platforms"].items():
        top = Table(title=f"{platform}: top {len(row['top'])} candidates")
        for column in ("score", "title", "reasons"):
            top.add_column(column, overflow="fold")
        for c in row["top"]:
            reasons = "; ".join(f"{r['rule']}「{r['text']}」({r['field']})" for r in c["reasons"][:4])
            # Text(): scraped titles must never be read as rich markup.
            top.add_row(f"{c['score']:.3f}", Text(c["title"][:60]), Text(reasons))
        console.print(top)
    console.print(f"review queue: {summary['queue']} posts; database: {summary['database']}")
    if "confirmed" in summary:
        console.print(
            f"takedown loop: {summary['confirmed']} confirmed, {summary['filed']} filed "
            f"({', '.join(summary['filing_methods'])}), {summary['removed']} removed, {summary['rejected']} rejected; "
            f"median time to removal {summary['median_hours_to_removal']} h (emulated clock)", markup=False)
    if summary.get("weekly_email"):
        console.print(f"weekly summary e-mail: {summary['weekly_email']}", markup=False)
    truth = summary.get("ground_truth")
    if truth and truth["queued"]:
        console.print(f"against the emulator's labels: {truth['queued_promotions']} of {truth['queued']} queued posts "
                      f"are promotions (precision {truth['precision']:.2%}); the queue holds "
                      f"{truth['recall']:.2%} of the {truth['promotions']} promotions crawled")
