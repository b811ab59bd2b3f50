"""The `takedown` command. Thin: each command parses its options and calls the module that does the work."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from takedown.settings import get_settings

app = typer.Typer(help="Find, rank, review and take down posts promoting illegal debt-agency services.",
                  no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
err = Console(stderr=True)


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def _fetch_settings(platforms: list[str], emulator: str, delay: float | None):
    """Settings for a command that fetches from the platforms (crawl, enrich, re-check): known platforms only,
    the emulator when given, and no politeness delay against it unless one is asked for."""
    from crawlers.platforms import ADAPTERS

    for name in platforms:
        if name not in ADAPTERS:
            _fail(f"unknown platform {name!r}; known: {', '.join(sorted(ADAPTERS))}")
    settings = get_settings().model_copy()
    if emulator:
        settings.emulator_url = emulator
    settings.download_delay = delay if delay is not None else (0.0 if settings.emulator_url else settings.download_delay)
    return settings


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration to the configured database, then add the default configuration."""
    from takedown.db import current_revision, upgraded_engine
    from takedown.defaults import ensure_defaults

    settings = get_settings()
    engine = upgraded_engine(settings.resolved_database_url)
    ensure_defaults(engine)
    err.print(f"database at revision {current_revision(engine)}: {engine.url.render_as_string(hide_password=True)}")


@app.command()
def crawl(
    platform: Annotated[list[str], typer.Option(help="Platform to search, e.g. bilibili or douyin; repeat to crawl "
                                                     "several at once.")],
    keyword: Annotated[list[str], typer.Option(help="Keyword to search; repeat for several.")],
    pages: Annotated[int, typer.Option(min=1, help="Result pages per keyword at most.")] = 1,
    emulator: Annotated[str, typer.Option(help="Crawl the emulator at this URL instead of the real platform.")] = "",
    delay: Annotated[float | None, typer.Option(help="Seconds between requests (default: 0 on the emulator, "
                                                     "else the configured politeness delay).")] = None,
    log_level: Annotated[str, typer.Option(help="Log level of the crawl: DEBUG, INFO, WARNING, ERROR.")] = "INFO",
) -> None:
    """Search platforms for keywords, store and score every post, and record a CrawlRun per platform.

    Prints one JSON line per platform: run id, status, pages, posts, new, candidates, errors, stop reason."""
    from crawlers.page_store import prestart, release_prestarted

    settings = _fetch_settings(platform, emulator, delay)
    platforms = list(dict.fromkeys(platform))
    # each platform's store process loads the scorer while Scrapy is imported and the database upgraded here
    prestart(settings.resolved_database_url, settings.queue_threshold, len(platforms), log_level=log_level.upper())
    try:
        from crawlers.run import CrawlJob, run_crawls
        from takedown.db import session_scope, upgraded_engine
        from takedown.models import CrawlRun

        engine = upgraded_engine(settings.resolved_database_url)
        run_ids = run_crawls([CrawlJob(name, keyword, pages) for name in platforms], settings,
                             log_level=log_level.upper())
    finally:
        release_prestarted()
    with session_scope(engine) as session:
        runs = [session.get(CrawlRun, run_id) for run_id in run_ids.values() if run_id]
    if len(runs) < len(run_ids):
        _fail("a crawl did not start; see the log above", code=1)
    for run in runs:
        typer.echo(json.dumps({
            "run": run.id, "platform": run.platform, "status": run.status, "pages": run.pages,
            "posts": run.posts_seen, "new": run.posts_new, "candidates": run.candidates,
            "errors": run.errors, "stop_reason": run.stop_reason,
        }, ensure_ascii=False))


@app.command()
def enrich(
    platform: Annotated[list[str] | None, typer.Option(help="Platform whose candidates to enrich; repeat for "
                                                            "several. Default: every enabled platform.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Posts per platform at most (default: the "
                                                          "enrich_limit setting).")] = None,
    emulator: Annotated[str, typer.Option(help="Fetch from the emulator at this URL instead of the real "
                                               "platform.")] = "",
    delay: Annotated[float | None, typer.Option(help="Seconds between requests (default: 0 on the emulator, "
                                                     "else the configured politeness delay).")] = None,
    log_level: Annotated[str, typer.Option(help="Log level: DEBUG, INFO, WARNING, ERROR.")] = "INFO",
) -> None:
    """Fetch the top comments and the author's profile of high-scoring candidates not enriched yet (contacts
    often hide there), store them, and re-score the posts.

    Prints one JSON line per platform: run id, status, targets, posts fetched, comments stored, bios updated,
    rescored, newly queued, closed, gone, errors, stop reason."""
    from sqlalchemy import select

    from crawlers.enrich import run_enrich
    from crawlers.platforms import ADAPTERS
    from takedown.db import session_scope, upgraded_engine
    from takedown.models import Platform

    settings = _fetch_settings(platform or [], emulator, delay)
    engine = upgraded_engine(settings.resolved_database_url)
    if not platform:
        with session_scope(engine) as session:
            enabled = session.execute(select(Platform.code).where(Platform.enabled).order_by(Platform.code)).scalars()
            platform = [code for code in enabled if code in ADAPTERS] or sorted(ADAPTERS)
    engine.dispose()
    for summary in run_enrich(settings, platform, limit=limit, log_level=log_level.upper()):
        if summary["stop_reason"] and summary["status"] == "stopped":
            err.print(f"{summary['platform']}: enrichment stopped early: {summary['stop_reason']}", markup=False)
        typer.echo(json.dumps(summary, ensure_ascii=False))


@app.command()
def score(
    input: Annotated[Path, typer.Argument(help="JSONL records: id, platform, title, desc, hashtags, author_name, "
                                               "author_bio, comments.", exists=True, dir_okay=False)],
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write one result line per input line.")],
) -> None:
    """Score records offline: one output line per input line, same order."""
    from takedown.scoring.io import run_score

    summary = run_score(input, output)
    for problem in summary["errors"]:
        err.print(f"bad record on line {problem['line']}: {problem['error']}", markup=False, highlight=False)
    err.print(f"scored {summary['scored']} of {summary['records']} records into {output} "
              f"(model {summary['model_version']})", markup=False)


@app.command(name="eval")
def evaluate(
    labeled: Annotated[Path, typer.Argument(help="JSONL records with a `label` (0/1).", exists=True, dir_okay=False)],
    cv: Annotated[int | None, typer.Option(help="Also k-fold cross-validate the learned scorer on this file "
                                                "(retrained on each fold's training part).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the metrics as JSON.")] = False,
) -> None:
    """Precision at 10/50/100, PR-AUC, ROC-AUC, recall at precision 0.9, per-category recall (false-positive
    rate for the negative categories)."""
    from takedown.scoring.evaluate import format_report
    from takedown.scoring.io import run_eval

    result = run_eval(labeled, cv=cv)
    for problem in result["skipped"]:
        err.print(f"skipped line {problem['line']} ({problem['id']}): {problem['error']}", markup=False)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    typer.echo(format_report(result["metrics"], title=f"scorer {result['model_version']} on {labeled.name}"))
    base = result["keyword_baseline"]
    typer.echo(f"\n  keyword-counting baseline: PR-AUC {base['pr_auc']:.3f}, "
               f"recall at precision 0.9 {base['recall_at_precision_0.9']:.3f}")
    if cv:
        typer.echo("")
        typer.echo(format_report(result["cross_validation"],
                                 title=f"{cv}-fold cross-validation of the learned scorer (retrained per fold)"))
        alone = result["cross_validation"]["cross_validation"]
        typer.echo(f"\n  out-of-fold PR-AUC of the rules alone {alone['pr_auc_rules_alone']:.4f}, "
                   f"of the model alone {alone['pr_auc_model_alone']:.4f}")


@app.command()
def train(
    database_url: Annotated[str, typer.Option("--database-url", help="Database whose reviewer decisions to learn "
                                                                      "from (default: the configured one).")] = "",
    no_reviews: Annotated[bool, typer.Option("--no-reviews", help="Train on the corpus alone.")] = False,
    corpus: Annotated[Path | None, typer.Option(help="Labelled JSONL (default: the shared corpus).",
                                                exists=True, dir_okay=False)] = None,
    cv: Annotated[int, typer.Option(min=2, help="Folds of the cross-validation printed (and of the stack when "
                                               "there is no calibration set).")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """(Re)train the learned model from the shared corpus, our adversarial sets (data/adversarial/) and every
    reviewer decision in the database, fit its stack on the calibration set (data/calibration/), store it under
    <var_dir>/models/<version>/ as the current model, and print its cross-validated metrics."""
    from dataclasses import replace

    from takedown.db import upgraded_engine
    from takedown.scoring.store import ModelStore
    from takedown.scoring.training import DEFAULT_CONFIG, calibration_set, train, training_set

    engine = None
    if not no_reviews:
        engine = upgraded_engine(database_url or get_settings().resolved_database_url)
    records, weights, sources = training_set(corpus, engine)
    if engine is not None:
        engine.dispose()
    if not records:
        _fail("nothing to train on: no labelled corpus found and no reviewer decisions")
    calibration, cal_source = calibration_set()
    if cal_source:
        sources["calibration"] = cal_source
    try:
        artifact = train(records, weights, config=replace(DEFAULT_CONFIG, folds=cv), sources=sources,
                         calibration=calibration)
    except ValueError as exc:
        _fail(str(exc))
    store = ModelStore.default()
    with store.lock():
        path = store.save(artifact)
    m = artifact.meta
    if as_json:
        typer.echo(json.dumps({"version": artifact.version, "path": str(path), **m}, ensure_ascii=False, indent=2))
        return
    cvm = m["cv"]
    src = m["sources"]
    reviews = src.get("reviews", {})
    typer.echo(f"model {artifact.version} -> {path} (current)")
    typer.echo(f"trained on {m['records']} records ({m['positives']} positive): corpus "
               f"{src.get('corpus', {}).get('records', 0)}, adversarial sets "
               f"{src.get('adversarial', {}).get('records', 0)}, reviewer decisions {reviews.get('records', 0)}"
               + (f" ({reviews.get('confirmed', 0)} confirmed)" if reviews else ""))
    typer.echo(f"{cv}-fold cross-validation, out-of-fold:")
    rows = [("PR-AUC", cvm["pr_auc"]), ("ROC-AUC", cvm["roc_auc"]),
            ("precision@50", cvm.get("precision_at_50", float("nan"))),
            ("recall at precision 0.9", cvm["recall_at_precision_0.9"]),
            ("PR-AUC, rules alone", cvm["pr_auc_rules_alone"]), ("PR-AUC, model alone", cvm["pr_auc_model_alone"])]
    for name, value in rows:
        typer.echo(f"  {name:<26} {value:6.4f}")
    typer.echo(f"stack: score = sigmoid({artifact.stack.rule:.3f} x rule logit + {artifact.stack.model:.3f} x "
               f"model logit + {artifact.stack.intercept:.3f}), fitted on the {m['stack_fitted_on']}")
    cal = m.get("calibration")
    if cal:
        typer.echo(f"calibration set ({cal['records']} records, {cal['positives']} positive): "
                   f"PR-AUC {cal['pr_auc']:.4f}, recall at precision 0.9 {cal['recall_at_precision_0.9']:.4f}")


@app.command(name="emulator")
def emulator_cmd(
    host: str = "127.0.0.1",
    port: int = 8300,
    seed: Annotated[int, typer.Option(help="Corpus seed: the same seed serves the same posts.")] = 7,
    size: Annotated[int, typer.Option(min=100, max=1_000_000, help="Posts per platform.")] = 2000,
) -> None:
    """Serve the local stand-in for the platforms (search, post pages, faults) until interrupted."""
    from emulator.server import serve

    err.print(f"emulator on http://{host}:{port} (seed {seed}, {size} posts per platform)")
    serve(host=host, port=port, seed=seed, size=size)


@app.command()
def demo(
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Run the pipeline once, print the summary, exit.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")] = False,
    pages: Annotated[int, typer.Option(min=1, help="Result pages per keyword.")] = 2,
    size: Annotated[int, typer.Option(min=100, max=1_000_000, help="Emulated posts per platform.")] = 5000,
    database: Annotated[str, typer.Option(help="Database URL (default: var/demo.db).")] = "",
    host: Annotated[str, typer.Option(help="Address the review app listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port the review app listens on.")] = 8000,
) -> None:
    """The whole job on the built-in emulator: crawl Bilibili and Douyin for the seed keywords, score, queue,
    then serve the review app with a demo login (unless --no-serve)."""
    from emulator.server import running
    from takedown.demo import DEMO_SEED, demo_database_url, format_summary, run_demo

    with running(seed=DEMO_SEED, size=size) as emulator_url:
        summary = run_demo(emulator_url, pages=pages, size=size, database_url=database)
        if as_json:
            typer.echo(json.dumps(summary, ensure_ascii=False))
        else:
            format_summary(summary, Console())
        if no_serve:
            return
        # The emulator stays up while the app is served: post links and the scheduled sweeps use it.
        from takedown.db import make_engine
        from takedown.demo import demo_settings, start_demo_scheduler
        from takedown.web.serve import ensure_demo_user, serve

        settings = demo_settings(database)
        settings.emulator_url = emulator_url
        engine = make_engine(settings.resolved_database_url)
        username, password = ensure_demo_user(engine)
        engine.dispose()
        jobs = start_demo_scheduler(settings)
        Console().print(f"\n[bold]review app:[/bold] http://{host}:{port}   demo login: [bold]{username}[/bold] / "
                        f"[bold]{password}[/bold]   (Ctrl-C stops)\n"
                        f"scheduled on a compressed clock: a sweep every 2 min, candidate enrichment and re-checks every "
                        f"3 min, the weekly "
                        f"e-mail every 4 min into {settings.var_dir / 'outbox'}")
        try:
            serve(demo_database_url(database), host=host, port=port)
        finally:
            jobs.shutdown(wait=False)


user_app = typer.Typer(help="Accounts of the review web app.", no_args_is_help=True)
app.add_typer(user_app, name="user")


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help="reviewer, lead or admin.")] = "reviewer",
) -> None:
    """Create a web app user. The password is prompted (twice), or read from stdin when piped."""
    from takedown.auth import UserError, check_role, create_user, get_user
    from takedown.db import session_scope, upgraded_engine

    try:
        check_role(role)
    except UserError as exc:
        _fail(str(exc))
    engine = upgraded_engine(get_settings().resolved_database_url)
    with session_scope(engine) as session:
        if get_user(session, name) is not None:
            _fail(f"the user {name!r} already exists")
    if sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        with session_scope(engine) as session:
            user = create_user(session, name, password, role)
    except UserError as exc:
        _fail(str(exc))
    err.print(f"created user {user.username!r} with role {user.role}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the review web app against the configured database until interrupted."""
    from sqlalchemy.engine import make_url

    from takedown.web.serve import serve as serve_app

    settings = get_settings()
    shown = make_url(settings.resolved_database_url).render_as_string(hide_password=True)
    err.print(f"review app on http://{host}:{port} (database {shown})")
    serve_app(settings.resolved_database_url, host=host, port=port)


evidence_app = typer.Typer(help="Evidence of confirmed posts: capture with Chromium, verify the store.",
                           no_args_is_help=True)
app.add_typer(evidence_app, name="evidence")
cases_app = typer.Typer(help="Cases from confirmation to a removal proved by a re-check.", no_args_is_help=True)
app.add_typer(cases_app, name="cases")


@evidence_app.command("capture")
def evidence_capture(
    post: Annotated[list[int] | None, typer.Option("--post", help="Post id (database) to capture; repeat.")] = None,
    pending: Annotated[bool, typer.Option("--pending", help="Every case waiting for evidence: confirmed without "
                                                            "a capture, or reopened.")] = False,
    attempts: Annotated[int | None, typer.Option(min=1, help="Tries per page (default: settings, 2).")] = None,
) -> None:
    """Capture each post's page with the system Chromium: full-page screenshot, HTML, hashes, metadata."""
    from crawlers.evidence_capture import capture
    from takedown.db import session_scope, upgraded_engine
    from takedown.evidence import pending_post_ids

    settings = get_settings()
    engine = upgraded_engine(settings.resolved_database_url)
    ids = list(post or [])
    if pending:
        with session_scope(engine) as session:
            ids += pending_post_ids(session)
    engine.dispose()
    ids = list(dict.fromkeys(ids))
    if not ids:
        if not post and not pending:
            _fail("name posts with --post ID, or use --pending")
        typer.echo(json.dumps({"captured": 0, "failed": 0, "results": []}))
        return
    summary = capture(settings, ids, attempts=attempts)
    for result in summary["results"]:
        if result["status"] == "failed":
            err.print(f"post {result['post_id']}: capture failed after {result['attempts']} attempt(s): "
                      f"{result['error']}", markup=False, highlight=False)
    typer.echo(json.dumps(summary, ensure_ascii=False))


@evidence_app.command("verify")
def evidence_verify() -> None:
    """Re-hash every stored evidence file; exit 1 and print each file that is missing or changed."""
    from takedown.db import session_scope, upgraded_engine
    from takedown.evidence import evidence_root, verify

    settings = get_settings()
    engine = upgraded_engine(settings.resolved_database_url)
    stats: dict[str, int] = {}
    with session_scope(engine) as session:
        mismatches = verify(session, root=evidence_root(settings), stats=stats)
    engine.dispose()
    for mismatch in mismatches:
        typer.echo(str(mismatch))
    typer.echo(f"{stats.get('evidence', 0)} captures, {stats.get('files', 0)} files checked under "
               f"{evidence_root(settings)}: {len(mismatches)} mismatch(es)", err=True)
    if mismatches:
        raise typer.Exit(1)


@cases_app.command("list")
def cases_list(
    state: Annotated[str | None, typer.Option(help="Only cases in this state, e.g. filed or removed.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many cases, newest first.")] = 200,
) -> None:
    """A table of cases: state, channel, times, SLA, escalation level, time to removal."""
    from rich.table import Table
    from sqlalchemy import select

    from takedown.clock import in_china
    from takedown.db import session_scope, upgraded_engine
    from takedown.models import Case, CaseState, Post

    if state is not None and state not in CaseState._value2member_map_:
        _fail(f"unknown state {state!r}; known: {', '.join(s.value for s in CaseState)}")
    engine = upgraded_engine(get_settings().resolved_database_url)
    stmt = (select(Case, Post.platform_post_id).join(Post, Post.id == Case.post_id)
            .order_by(Case.id.desc()).limit(limit))
    if state is not None:
        stmt = stmt.where(Case.state == state)
    with session_scope(engine) as session:
        rows = session.execute(stmt).all()
    engine.dispose()

    def when(value) -> str:
        return in_china(value).strftime("%Y-%m-%d %H:%M") if value is not None else ""

    table = Table(title=f"cases{f' ({state})' if state else ''}: {len(rows)} shown (times Asia/Shanghai)")
    for column in ("id", "post", "channel", "state", "opened", "filed", "SLA due", "level", "removed",
                   "h to removal", "checked", "linked"):
        table.add_column(column)
    for case, platform_post_id in rows:
        table.add_row(
            str(case.id), f"{case.post_id} ({platform_post_id})", case.channel, case.state, when(case.opened_at),
            when(case.filed_at), when(case.sla_due_at), str(case.escalation_level), when(case.removed_at),
            f"{case.hours_to_removal:.1f}" if case.hours_to_removal is not None else "", when(case.last_checked_at),
            str(case.linked_case_id or ""),
        )
    Console(width=200).print(table)


@cases_app.command("recheck")
def cases_recheck(
    case: Annotated[list[int] | None, typer.Option("--case", help="Case id to re-check; repeat. Default: every "
                                                                  "case still of interest.")] = None,
    emulator: Annotated[str, typer.Option(help="Check against the emulator at this URL (and follow its "
                                               "virtual clock).")] = "",
    delay: Annotated[float | None, typer.Option(help="Seconds between requests (default: 0 on the emulator, "
                                                     "else the configured politeness delay).")] = None,
) -> None:
    """Re-check whether each case's post is still up; record every check, mark gone posts removed, close removed
    cases still gone after the grace period (case_close_after_hours) and reopen revived ones; then escalate
    overdue and rejected cases, close those 12377 rejected too, and detect revivals. Prints a JSON summary."""
    from crawlers.recheck import run_recheck
    from takedown.clock import follow_offset
    from takedown.db import upgraded_engine

    settings = _fetch_settings([], emulator, delay)
    if emulator:
        offset = _emulator_clock_offset(emulator)
        if offset is not None and offset > settings.clock_offset_hours:
            follow_offset(offset)
            settings.clock_offset_hours = offset
    engine = upgraded_engine(settings.resolved_database_url)
    engine.dispose()
    summary = run_recheck(settings, list(case) if case else None)
    for platform, reason in summary.get("stopped", {}).items():
        err.print(f"{platform}: re-checks stopped early: {reason}", markup=False)
    typer.echo(json.dumps(summary, ensure_ascii=False))


def _emulator_clock_offset(url: str) -> float | None:
    """The emulator's virtual clock offset in hours, or None when it has no clock."""
    import httpx

    try:
        answer = httpx.get(f"{url.rstrip('/')}/_emu/clock", timeout=5)
        return float(answer.json()["offset_hours"]) if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return None


posts_app = typer.Typer(help="Posts from outside the crawls: added by hand (platforms no crawler reads, e.g. WeChat "
                                  "Channels), or imported in bulk from a file.",
                        no_args_is_help=True)
app.add_typer(posts_app, name="posts")


def _post_platforms() -> frozenset[str]:
    """The platforms a post may be added or imported for: those a complaint channel files for."""
    from takedown.complaints.channels import default_catalog

    return frozenset(p for channel in default_catalog().channels.values() for p in channel.platforms)


@posts_app.command("add")
def posts_add(
    url: Annotated[str, typer.Argument(help="The post's link, e.g. https://channels.weixin.qq.com/...")],
    platform: Annotated[str, typer.Option(help="The post's platform; its complaint channel files the case.")
                        ] = "weixin_channels",
    title: Annotated[str, typer.Option(help="The post's title, as shown.")] = "",
    desc: Annotated[str, typer.Option(help="The post's text (description), as shown: what the letter quotes.")
                    ] = "",
    author: Annotated[str, typer.Option(help="The account's name, as shown.")] = "",
) -> None:
    """Add a post found by hand: stored and scored like a crawled one, then queued for review, so a lead can
    confirm it and file its complaint through the platform's channel. Prints the post as JSON."""
    from takedown.db import upgraded_engine
    from takedown.hand_added import HandAddedError, add_post, record_for

    known = _post_platforms()
    if platform not in known:
        _fail(f"unknown platform {platform!r}; known: {', '.join(sorted(known))}")
    try:
        record = record_for(url, platform=platform, title=title, text=desc, author=author)
    except HandAddedError as exc:
        _fail(str(exc))
    settings = get_settings()
    engine = upgraded_engine(settings.resolved_database_url)
    added = add_post(engine, record, threshold=settings.queue_threshold)
    engine.dispose()
    typer.echo(json.dumps(added.as_dict(), ensure_ascii=False))


@posts_app.command("import")
def posts_import(
    path: Annotated[Path, typer.Argument(help="JSONL, one post a line: platform, url, platform_post_id, title, "
                                              "desc, hashtags, comments, published_at, metrics, author_id, "
                                              "author_name, author_bio.", exists=True, dir_okay=False)],
) -> None:
    """Import posts found elsewhere (an earlier tool's export, a vendor's feed): stored and scored in bulk like
    crawled ones, queued when their score reaches the threshold. A bad line is reported (line, field, why) and
    left out; the rest are imported. Prints a summary as JSON; exits 1 when a line was left out."""
    from takedown.db import upgraded_engine
    from takedown.post_import import import_posts

    settings = get_settings()
    engine = upgraded_engine(settings.resolved_database_url)
    summary = import_posts(engine, path, threshold=settings.queue_threshold, platforms=_post_platforms())
    engine.dispose()
    for problem in summary.errors:
        err.print(f"line {problem['line']}, field {problem['field']}: {problem['error']} (left out)", markup=False,
                  highlight=False)
    typer.echo(json.dumps(summary.as_dict(), ensure_ascii=False))
    if summary.errors:
        raise typer.Exit(1)


complaints_app = typer.Typer(help="Complaints: draft per channel, batch, file (e-mail, portal, export), show.",
                             no_args_is_help=True)
app.add_typer(complaints_app, name="complaints")


def _complaints_settings(emulator: str = ""):
    settings = get_settings().model_copy()
    if emulator:
        settings.emulator_url = emulator
    return settings


def _case_selection(session, case: list[int] | None, all_cases: bool):
    from takedown.complaints.batches import CaseFilter

    if case:
        return list(case)
    if all_cases:
        return CaseFilter()
    _fail("name cases with --case ID, or use --all")


@complaints_app.command("draft")
def complaints_draft(
    case: Annotated[list[int] | None, typer.Option("--case", help="Case id; repeat for several.")] = None,
    all_cases: Annotated[bool, typer.Option("--all", help="Every case waiting for a complaint.")] = False,
) -> None:
    """Draft each case's next complaint from its channel's template (idempotent)."""
    from takedown.complaints.batches import _select_cases
    from takedown.complaints.drafting import draft_all
    from takedown.db import session_scope, upgraded_engine

    settings = _complaints_settings()
    engine = upgraded_engine(settings.resolved_database_url)
    errors: list[tuple[int, str]] = []
    with session_scope(engine) as session:
        selection = _case_selection(session, case, all_cases)
        ids = selection if isinstance(selection, list) else [c.id for c in _select_cases(session, selection)]
        drafted = draft_all(session, ids, settings=settings, errors=errors)
        rows = [{"complaint": c.id, "case": c.case_id, "channel": c.channel, "attempt": c.attempt,
                 "state": c.state, "client_ref": c.client_ref} for c in drafted]
    for _, message in errors:
        err.print(message, markup=False, highlight=False)
    typer.echo(json.dumps({"drafted": rows, "errors": len(errors)}, ensure_ascii=False))


@complaints_app.command("batch")
def complaints_batch(
    case: Annotated[list[int] | None, typer.Option("--case", help="Case id; repeat for several.")] = None,
    all_cases: Annotated[bool, typer.Option("--all", help="Every case waiting for a complaint.")] = False,
    method: Annotated[str | None, typer.Option(help="email, portal or export (default: each channel's own).")] = None,
) -> None:
    """Group the cases' complaints into batches, one per (channel, method), drafting where needed; prints the
    batch ids."""
    from takedown.complaints.batches import BatchError, build_batches
    from takedown.db import session_scope, upgraded_engine

    if method is not None and method not in ("email", "portal", "export"):
        _fail(f"unknown method {method!r}: use email, portal or export")
    settings = _complaints_settings()
    engine = upgraded_engine(settings.resolved_database_url)
    errors: list[tuple[int, str]] = []
    try:
        with session_scope(engine) as session:
            batches = build_batches(session, _case_selection(session, case, all_cases), user=None, method=method,
                                    settings=settings, errors=errors)
            rows = [{"batch": b.id, "channel": b.channel, "method": b.method, "complaints": b.total}
                    for b in batches]
    except BatchError as exc:
        _fail(str(exc))
    for _, message in errors:
        err.print(message, markup=False, highlight=False)
    for row in rows:
        typer.echo(row["batch"])
    err.print(json.dumps(rows, ensure_ascii=False), markup=False, highlight=False)


@complaints_app.command("file")
def complaints_file(
    batch_id: Annotated[int, typer.Argument(help="Batch id.")],
    pace: Annotated[float | None, typer.Option(min=0, help="Seconds between filings (default: the channel's).")] = None,
    emulator: Annotated[str, typer.Option(help="File with the emulator at this URL (portals and SMTP inbox).")] = "",
) -> None:
    """File a batch: every queued complaint through its channel method, paced; resumes safely after a crash."""
    from takedown.complaints.batches import BatchError, file_batch
    from takedown.complaints.portal import PortalSetupError
    from takedown.db import upgraded_engine

    settings = _complaints_settings(emulator)
    engine = upgraded_engine(settings.resolved_database_url)
    try:
        report = file_batch(engine, batch_id, settings=settings, pace=pace)
    except (BatchError, PortalSetupError) as exc:
        _fail(str(exc))
    for complaint_id, reason in report.failed:
        err.print(f"complaint {complaint_id}: failed: {reason}", markup=False, highlight=False)
    for complaint_id in report.unconfirmed:
        err.print(f"complaint {complaint_id}: UNCONFIRMED: {report.notes.get(complaint_id, '')}", markup=False,
                  highlight=False)
    typer.echo(json.dumps(report.as_dict(), ensure_ascii=False))
    if report.failed or report.unresolved:
        raise typer.Exit(1)


@complaints_app.command("export")
def complaints_export(
    batch_id: Annotated[int, typer.Argument(help="Batch id.")],
    no_pdf: Annotated[bool, typer.Option("--no-pdf", help="Skip the PDF of the letters.")] = False,
) -> None:
    """Write the batch's package under var/exports/batch-ID/: sheet, letters (HTML + one PDF), evidence ZIP.
    For an export batch this is its filing: its complaints become submitted."""
    from takedown.complaints.batches import BatchError, file_batch
    from takedown.complaints.export import ExportError, export_batch
    from takedown.db import session_scope, upgraded_engine
    from takedown.models import Batch

    settings = _complaints_settings()
    engine = upgraded_engine(settings.resolved_database_url)
    try:
        with session_scope(engine) as session:
            batch = session.get(Batch, batch_id)
            if batch is None:
                _fail(f"batch {batch_id}: no such batch")
            method = batch.method
        if method == "export":
            report = file_batch(engine, batch_id, settings=settings, export_pdf=not no_pdf)
            typer.echo(json.dumps(report.as_dict(), ensure_ascii=False))
            return
        with session_scope(engine) as session:
            result = export_batch(session, batch_id, settings=settings, pdf=not no_pdf)
    except (BatchError, ExportError) as exc:
        _fail(str(exc))
    typer.echo(json.dumps({"batch": batch_id, "path": str(result.path), "complaints": result.complaints,
                           "evidence_files": result.evidence_files}, ensure_ascii=False))


@complaints_app.command("show")
def complaints_show(
    complaint_id: Annotated[int, typer.Argument(help="Complaint id.")],
) -> None:
    """A complaint: channel, method, state, references, the platform's answer, and its letter."""
    from takedown.db import session_scope, upgraded_engine
    from takedown.models import Complaint

    settings = _complaints_settings()
    engine = upgraded_engine(settings.resolved_database_url)
    with session_scope(engine) as session:
        c = session.get(Complaint, complaint_id)
        if c is None:
            _fail(f"complaint {complaint_id}: no such complaint")
        typer.echo(json.dumps({
            "complaint": c.id, "case": c.case_id, "channel": c.channel, "method": c.method, "attempt": c.attempt,
            "batch": c.batch_id, "state": c.state, "client_ref": c.client_ref, "external_ref": c.external_ref,
            "submitted_at": c.submitted_at.isoformat() if c.submitted_at else None, "edited": c.edited,
            "response": c.response}, ensure_ascii=False, indent=1))
        typer.echo("")
        typer.echo(c.subject)
        typer.echo("")
        typer.echo(c.body)


@complaints_app.command("confirm")
def complaints_confirm(
    complaint_id: Annotated[int, typer.Argument(help="Complaint id.")],
    not_sent: Annotated[bool, typer.Option("--not-sent", help="It did not go out: re-queue it.")] = False,
    ref: Annotated[str, typer.Option(help="The platform's reference, when known.")] = "",
) -> None:
    """Settle an unconfirmed complaint by hand (it went out, or not), or record a platform reference."""
    from takedown.complaints.batches import BatchError, confirm_filing
    from takedown.db import session_scope, upgraded_engine
    from takedown.models import Complaint

    settings = _complaints_settings()
    engine = upgraded_engine(settings.resolved_database_url)
    try:
        with session_scope(engine) as session:
            c = session.get(Complaint, complaint_id)
            if c is None:
                _fail(f"complaint {complaint_id}: no such complaint")
            confirm_filing(session, c, user=None, sent=not not_sent, external_ref=ref)
            state = c.state
    except BatchError as exc:
        _fail(str(exc))
    typer.echo(json.dumps({"complaint": complaint_id, "state": state}))


@complaints_app.command("poll")
def complaints_poll(
    batch_id: Annotated[int, typer.Argument(help="Batch id.")],
    emulator: Annotated[str, typer.Option(help="Ask the emulator at this URL.")] = "",
) -> None:
    """Ask the channel's portal for the answers to a batch's filed complaints and record them."""
    from takedown.complaints.batches import BatchError, poll_portal_statuses
    from takedown.db import session_scope, upgraded_engine

    settings = _complaints_settings(emulator)
    engine = upgraded_engine(settings.resolved_database_url)
    try:
        with session_scope(engine) as session:
            report = poll_portal_statuses(session, batch_id, settings=settings)
    except BatchError as exc:
        _fail(str(exc))
    typer.echo(json.dumps({"batch": batch_id, "checked": report.checked, "accepted": report.accepted,
                           "rejected": [{"complaint": i, "reason": r} for i, r in report.rejected],
                           "acknowledged": report.acknowledged,
                           "unknown": [{"complaint": i, "reason": r} for i, r in report.unknown]},
                          ensure_ascii=False))


# --- reports ---------------------------------------------------------------------------------------------

report_app = typer.Typer(help="Reports: the weekly summary e-mail.", no_args_is_help=True)
app.add_typer(report_app, name="report")


@report_app.command("weekly")
def report_weekly(
    week: Annotated[str | None, typer.Option(help="ISO week, e.g. 2026-W47 (Asia/Shanghai). Default: the last "
                                                  "complete week.")] = None,
    preview: Annotated[Path | None, typer.Option(help="Write the HTML (charts inlined) to this file.")] = None,
    send: Annotated[bool, typer.Option("--send", help="Send it to the configured recipients (no SMTP host: "
                                                      "written to var/outbox/).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the metrics as JSON.")] = False,
) -> None:
    """Build the weekly summary (metrics, charts, cases CSV); preview it, send it, or print its figures."""
    from datetime import timedelta

    from reports.mail import MailError, send_report
    from reports.metrics import week_of, weekly_metrics
    from reports.weekly import build_weekly_message, preview_html
    from takedown import clock
    from takedown.db import session_scope, upgraded_engine

    settings = get_settings()
    week = week or week_of(clock.now(settings) - timedelta(days=7))
    engine = upgraded_engine(settings.resolved_database_url)
    try:
        with session_scope(engine) as session:
            metrics = weekly_metrics(session, week, trailing=settings.report_trailing_weeks)
            message = build_weekly_message(session, week, settings, metrics=metrics)
    except ValueError as exc:
        _fail(str(exc))
    if preview is not None:
        preview.parent.mkdir(parents=True, exist_ok=True)
        preview.write_text(preview_html(message), encoding="utf-8")
        err.print(f"preview written to {preview}")
    result: dict = {"week": week}
    if send:
        try:
            delivery = send_report(message, settings)
        except MailError as exc:
            _fail(str(exc), code=1)
        if delivery.sent:
            result.update(sent=True, via=delivery.where, recipients=delivery.recipients)
        else:
            result.update(sent=False, outbox=delivery.where)
            err.print(f"no SMTP host configured: the report is in {delivery.where} (NOT sent)")
    if as_json:
        result["metrics"] = {k: v for k, v in metrics.items() if k not in ("start", "end")}
    if send or as_json or preview is None:
        typer.echo(json.dumps(result, ensure_ascii=False, default=str))


def main() -> None:  # pragma: no cover - console script entry
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
