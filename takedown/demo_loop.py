"""The demo's second half: from the queue to verified removals, on the emulator (issue 5's whole loop).

The demo reviewer (a lead account marked is_demo, so the audit log says who acted) confirms the top candidates;
evidence is captured with Chromium; the cases are split over the three filing methods — e-mail to the platform's
complaint inbox, the platform's web form, and an export package that the demo then uploads through the portal's
bulk form as a person would; the emulator's clock is fast-forwarded in steps, decisions are polled, re-checks
prove removals, rejected and overdue cases escalate (re-filed, then 12377) and are filed again, and re-checks
close cases: a removal still gone after the grace period, or a rejection by 12377 too. A face like demo.py: it may use everything.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, select

from takedown.db import session_scope
from takedown.models import Batch, Case, CaseState, Complaint, Post, ReviewState
from takedown.settings import Settings

CONFIRM_PER_PLATFORM = 9
METHODS = ("email", "portal", "export")
STEP_HOURS = 24
MAX_DAYS = 21  # a slow removal (the lognormal's tail) plus the grace period before the case closes
PORTAL_USER, PORTAL_PASSWORD = "takedown", "portal-pass"  # the emulator's default portal account


def run_takedown_loop(engine: Engine, settings: Settings, emulator_url: str, run_command) -> dict[str, Any]:
    from takedown.auth import get_user
    from takedown.complaints.batches import build_batches, poll_portal_statuses
    from takedown.review import decide
    from takedown.web.serve import ensure_demo_user

    username, _ = ensure_demo_user(engine)
    with session_scope(engine) as session:
        user = get_user(session, username)
        top: list[int] = []
        for platform in ("bilibili", "douyin"):
            top += session.execute(
                select(Post.id).where(Post.platform == platform, Post.review_state == ReviewState.QUEUED)
                .order_by(Post.score.desc(), Post.id).limit(CONFIRM_PER_PLATFORM)
            ).scalars().all()
        decide(session, user, [(pid, ReviewState.QUEUED) for pid in top], "confirmed", note="演示：确认高分候选")
    _say(f"demo reviewer confirmed {len(top)} top candidates; capturing evidence ...")
    run_command(["evidence", "capture", "--pending"], settings)

    with session_scope(engine) as session:
        cases = session.execute(select(Case.id).where(Case.post_id.in_(top)).order_by(Case.id)).scalars().all()
        batch_ids: list[int] = []
        for i, method in enumerate(METHODS):
            share = cases[i::len(METHODS)]
            batch_ids += [b.id for b in build_batches(session, share, user=user, method=method, settings=settings)]
    _say(f"filing {len(batch_ids)} batches by e-mail, web form and export package ...")
    _file(batch_ids, settings, emulator_url, run_command)

    client = httpx.Client(base_url=emulator_url, timeout=30)
    for day in range(0, MAX_DAYS * 24, STEP_HOURS):
        clock = client.post("/_emu/clock", json={"advance_hours": STEP_HOURS}).json()
        settings.clock_offset_hours = clock["offset_hours"]
        with session_scope(engine) as session:
            for batch_id in batch_ids:
                poll_portal_statuses(session, batch_id, settings=settings, actor=username)
        run_command(["cases", "recheck", "--emulator", emulator_url], settings)
        # Overdue and rejected cases were escalated and their re-filing drafted: the lead files those too.
        with session_scope(engine) as session:
            waiting = session.execute(select(Case.id).where(Case.id.in_(cases), Case.state == CaseState.DRAFTED)).scalars().all()
            refile = [b.id for b in build_batches(session, waiting, user=user, settings=settings)] if waiting else []
        if refile:
            _say(f"day {(day + STEP_HOURS) // 24}: re-filing {len(waiting)} escalated cases")
            _file(refile, settings, emulator_url, run_command)
            batch_ids += refile
        elif _all_closed(engine, cases):
            break
    client.close()
    return outcome(engine, cases, batch_ids)


def _file(batch_ids: list[int], settings: Settings, emulator_url: str, run_command) -> None:
    for batch_id in batch_ids:
        run_command(["complaints", "file", str(batch_id), "--pace", "0", "--emulator", emulator_url], settings,
                    check=False)
    _upload_exports(engine_for(settings), emulator_url, batch_ids)


def engine_for(settings: Settings) -> Engine:
    from takedown.db import make_engine

    return make_engine(settings.resolved_database_url)


def _upload_exports(engine: Engine, emulator_url: str, batch_ids: list[int]) -> None:
    """What a person does with an export package: upload its sheet through the portal's bulk form."""
    with session_scope(engine) as session:
        batches = session.execute(select(Batch).where(Batch.id.in_(batch_ids), Batch.method == "export",
                                                      Batch.export_path != "")).scalars()
        packages = [(b.channel, Path(b.export_path)) for b in batches]
    engine.dispose()
    for channel, folder in packages:
        sheets = sorted(folder.glob("*.xlsx"))
        if not sheets:
            continue
        with httpx.Client(base_url=emulator_url, timeout=30, follow_redirects=True) as person:
            person.post(f"/portal/{channel}/login", data={"username": PORTAL_USER, "password": PORTAL_PASSWORD})
            with sheets[0].open("rb") as sheet:
                answer = person.post(f"/portal/{channel}/bulk", files={"sheet": (sheets[0].name, sheet)})
            _say(f"uploaded the export sheet of {channel} by hand: {answer.status_code}")


def _all_closed(engine: Engine, case_ids: list[int]) -> bool:
    with session_scope(engine) as session:
        states = session.execute(select(Case.state).where(Case.id.in_(case_ids))).scalars().all()
    return all(s == CaseState.CLOSED for s in states)


def outcome(engine: Engine, case_ids: list[int], batch_ids: list[int]) -> dict[str, Any]:
    with session_scope(engine) as session:
        cases = session.execute(select(Case).where(Case.id.in_(case_ids))).scalars().all()
        complaints = session.execute(select(Complaint).where(Complaint.batch_id.in_(batch_ids))).scalars().all()
        methods = {c.method for c in complaints if c.submitted_at is not None}
    hours = [c.hours_to_removal for c in cases if c.hours_to_removal is not None]
    return {
        "confirmed": len(cases),
        "filed": sum(c.filed_at is not None for c in cases),
        "removed": sum(c.removed_at is not None for c in cases),
        # Refused and never removed: a rejection that escalated into a removal counts as removed only.
        "rejected": sum(c.rejected_at is not None and c.removed_at is None for c in cases),
        "closed": sum(c.state == CaseState.CLOSED for c in cases),
        "median_hours_to_removal": round(statistics.median(hours), 1) if hours else None,
        "filing_methods": sorted(methods),
        "case_states": {s: sum(c.state == s for c in cases) for s in sorted({c.state for c in cases})},
    }


def _say(message: str) -> None:
    print(message, file=sys.stderr)
