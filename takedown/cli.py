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


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration to the configured database, then add the default configuration."""
    from takedown.db import current_revision, make_engine, upgrade
    from takedown.defaults import ensure_defaults

    settings = get_settings()
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    ensure_defaults(engine)
    err.print(f"database at revision {current_revision(engine)}: {engine.url.render_as_string(hide_password=True)}")


@app.command()
def crawl(
    platform: Annotated[str, typer.Option(help="Platform to search, e.g. bilibili or douyin.")],
    keyword: Annotated[list[str], typer.Option(help="Keyword to search; repeat for several.")],
    pages: Annotated[int, typer.Option(min=1, help="Result pages per keyword at most.")] = 1,
    emulator: Annotated[str, typer.Option(help="Crawl the emulator at this URL instead of the real platform.")] = "",
    delay: Annotated[float | None, typer.Option(help="Seconds between requests (default: 0 on the emulator, "
                                                     "else the configured politeness delay).")] = None,
) -> None:
    """Search one platform for keywords, store and score every post, and record the CrawlRun."""
    from crawlers.platforms import ADAPTERS
    from crawlers.run import CrawlJob, run_crawls
    from takedown.db import make_engine, session_scope, upgrade
    from takedown.models import CrawlRun

    if platform not in ADAPTERS:
        _fail(f"unknown platform {platform!r}; known: {', '.join(sorted(ADAPTERS))}")
    settings = get_settings().model_copy()
    if emulator:
        settings.emulator_url = emulator
    settings.download_delay = delay if delay is not None else (0.0 if settings.emulator_url else settings.download_delay)
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    run_ids = run_crawls([CrawlJob(platform, keyword, pages)], settings)
    with session_scope(engine) as session:
        run = session.get(CrawlRun, run_ids[platform]) if run_ids.get(platform) else None
    if run is None:
        _fail("the crawl did not start; see the log above", code=1)
    typer.echo(json.dumps({
        "run": run.id, "platform": run.platform, "status": run.status, "pages": run.pages,
        "posts": run.posts_seen, "new": run.posts_new, "candidates": run.candidates,
        "errors": run.errors, "stop_reason": run.stop_reason,
    }, ensure_ascii=False))


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
    cv: Annotated[int | None, typer.Option(help="k-fold cross-validation instead of the shipped scorer.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the metrics as JSON.")] = False,
) -> None:
    """Precision at 10/50/100, PR-AUC, ROC-AUC, recall at precision 0.9, per-category recall."""
    from takedown.scoring.evaluate import format_report
    from takedown.scoring.io import run_eval

    result = run_eval(labeled, cv=cv)
    for problem in result["skipped"]:
        err.print(f"skipped line {problem['line']} ({problem['id']}): {problem['error']}", markup=False)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    typer.echo(format_report(result["metrics"], title=f"scorer {result['model_version']} on {labeled.name}"))
    if cv:
        typer.echo("")
        typer.echo(format_report(result["cross_validation"], title=f"{cv}-fold cross-validation"))


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
    from takedown.demo import demo_database_url, format_summary, run_demo

    summary = run_demo(pages=pages, size=size, database_url=database)
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False))
    else:
        format_summary(summary, Console())
    if no_serve:
        return
    from takedown.db import make_engine
    from takedown.web.serve import ensure_demo_user, serve

    engine = make_engine(demo_database_url(database))
    username, password = ensure_demo_user(engine)
    engine.dispose()
    Console().print(f"\n[bold]review app:[/bold] http://{host}:{port}   demo login: [bold]{username}[/bold] / "
                    f"[bold]{password}[/bold]   (Ctrl-C stops)")
    serve(demo_database_url(database), host=host, port=port)


user_app = typer.Typer(help="Accounts of the review web app.", no_args_is_help=True)
app.add_typer(user_app, name="user")


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help="reviewer, lead or admin.")] = "reviewer",
) -> None:
    """Create a web app user. The password is prompted (twice), or read from stdin when piped."""
    from takedown.auth import UserError, check_role, create_user, get_user
    from takedown.db import make_engine, session_scope, upgrade

    try:
        check_role(role)
    except UserError as exc:
        _fail(str(exc))
    engine = make_engine(get_settings().resolved_database_url)
    upgrade(engine)
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


def main() -> None:  # pragma: no cover - console script entry
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
