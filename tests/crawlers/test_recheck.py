"""Re-checks end to end against the emulator: `takedown cases recheck --emulator URL` in a subprocess (the
Twisted reactor cannot restart here), on SQLite and PostgreSQL. Gone posts' filed cases become removed with
their time to removal, live ones stay filed, a removed post back online reopens its case, an overdue live case
escalates, a new post by a removed post's account is queued as a revival suspect, and risk control stops the
platform's re-checks with what was seen recorded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import Session

from emulator.server import running
from takedown import tracking
from takedown.clock import aware
from takedown.models import AuditLog, Case, CaseState, Post, ReviewState, StatusCheck
from tests.crawlers.crawl_helpers import clear_faults, set_fault
from tests.crawlers.emu_cases import emulator_ids, set_state, store_post

pytestmark = pytest.mark.slow
S = CaseState
H = timedelta(hours=1)


@pytest.fixture(scope="module")
def emulator_url():
    with running(seed=9, size=1000) as url:
        yield url


@pytest.fixture(autouse=True)
def fresh_world(emulator_url):
    httpx.post(f"{emulator_url}/_emu/reset", timeout=10).raise_for_status()
    yield
    clear_faults(emulator_url)


def recheck(database_url: str, emulator_url: str, *args: str, env: dict[str, str] | None = None) -> dict:
    env = os.environ | {"TAKEDOWN_DATABASE_URL": database_url, "TAKEDOWN_CONCURRENCY_PER_PLATFORM": "2"} | (env or {})
    proc = subprocess.run([sys.executable, "-m", "takedown", "cases", "recheck", "--emulator", emulator_url, *args],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, f"recheck failed ({proc.returncode}):\n{proc.stderr[-4000:]}"
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    summary["log"] = proc.stderr
    return summary


def make_case(session: Session, p: Post, state: CaseState, *, filed_at: datetime,
              removed_at: datetime | None = None) -> Case:
    """A case moved along the real state machine to `state`, filed at `filed_at`."""
    case = tracking.open_case(session, p, actor="test", at=filed_at - 3 * H)
    tracking.transition(session, case, S.EVIDENCE_CAPTURED, actor="test", at=filed_at - 2 * H)
    tracking.transition(session, case, S.DRAFTED, actor="test", at=filed_at - H)
    if state == S.DRAFTED:
        return case
    tracking.transition(session, case, S.FILED, actor="test", at=filed_at)
    if state == S.ACKNOWLEDGED:
        tracking.transition(session, case, S.ACKNOWLEDGED, actor="test", at=filed_at + H)
    if state == S.REMOVED:
        tracking.transition(session, case, S.REMOVED, actor="test", at=removed_at)
    return case


def test_recheck_removes_gone_posts_keeps_live_ones_reopens_escalates_and_flags_revivals(
        database_url, engine, emulator_url):
    now = datetime.now(UTC)
    earlier = now - timedelta(hours=200)  # first seen before anything here was filed or removed
    bili = emulator_ids(emulator_url, "bilibili", limit=12)
    douyin = emulator_ids(emulator_url, "douyin", limit=6)
    with Session(engine, expire_on_commit=False) as session:
        def stored(platform: str, post_id: str, **kw) -> Post:
            return store_post(session, emulator_url, platform, post_id, first_seen=kw.pop("first_seen", earlier), **kw)

        gone_b = make_case(session, stored("bilibili", bili[0]), S.FILED, filed_at=now - 30 * H)
        live_b = make_case(session, stored("bilibili", bili[1]), S.FILED, filed_at=now - 30 * H)
        gone_d = make_case(session, stored("douyin", douyin[0]), S.FILED, filed_at=now - 50 * H)
        live_d = make_case(session, stored("douyin", douyin[1]), S.ACKNOWLEDGED, filed_at=now - 50 * H)
        back = make_case(session, stored("bilibili", bili[2]), S.REMOVED, filed_at=now - 100 * H,
                         removed_at=now - 20 * H)
        unfiled = make_case(session, stored("douyin", douyin[2]), S.DRAFTED, filed_at=now - 10 * H)
        overdue = make_case(session, stored("bilibili", bili[3]), S.FILED, filed_at=now - 100 * H)  # SLA 72 h
        old_post = stored("bilibili", bili[4])
        stays_removed = make_case(session, old_post, S.REMOVED, filed_at=now - 100 * H, removed_at=now - 10 * H)
        # The removed post's account posts again: a new post first seen after the removal, not reviewed yet.
        revival = stored("bilibili", bili[5], state=ReviewState.NEW, first_seen=now - 5 * H)
        revival.author_id = old_post.author_id
        session.add(revival)
        session.commit()
    set_state(emulator_url, "bilibili", bili[0], "deleted")
    set_state(emulator_url, "douyin", douyin[0], "private")
    set_state(emulator_url, "douyin", douyin[2], "deleted")
    set_state(emulator_url, "bilibili", bili[4], "owner_only")

    summary = recheck(database_url, emulator_url)
    assert {k: summary[k] for k in ("checked", "live", "gone", "unknown", "removed", "reopened", "escalated")} == {
        "checked": 8, "live": 4, "gone": 4, "unknown": 0, "removed": 2, "reopened": 1, "escalated": 1}
    assert summary["gone_before_filing"] == 1 and summary["revival_suspects"] == 1 and summary["stopped"] == {}

    with Session(engine) as session:
        def fresh(case: Case) -> Case:
            return session.get(Case, case.id)

        assert fresh(gone_b).state == S.REMOVED and fresh(gone_d).state == S.REMOVED
        assert fresh(gone_b).hours_to_removal == pytest.approx(30, abs=0.2)
        assert fresh(gone_d).hours_to_removal == pytest.approx(50, abs=0.2)
        assert aware(fresh(gone_b).removed_at) >= now
        assert fresh(live_b).state == S.FILED and fresh(live_d).state == S.ACKNOWLEDGED
        assert fresh(back).state == S.REOPENED and fresh(back).reopened_count == 1
        assert fresh(unfiled).state == S.DRAFTED, "gone before any complaint: recorded, not a removal"
        assert fresh(stays_removed).state == S.REMOVED
        escalated = fresh(overdue)
        assert escalated.escalation_level == 1 and escalated.state in (S.ESCALATED, S.DRAFTED)
        assert all(fresh(c).last_checked_at is not None for c in (gone_b, live_b, gone_d, live_d, back, unfiled))

        checks = {(pid, observed, code) for pid, observed, code in session.execute(
            select(StatusCheck.post_id, StatusCheck.observed, StatusCheck.code))}
        assert (gone_b.post_id, "gone", "-404") in checks
        assert (gone_d.post_id, "gone", "status_self_see") in checks
        assert (live_b.post_id, "live", "0") in checks and (live_d.post_id, "live", "0") in checks
        assert (stays_removed.post_id, "gone", "62012") in checks
        assert len(checks) == 8

        removal = session.execute(select(AuditLog).where(
            AuditLog.entity_type == "case", AuditLog.entity_id == str(gone_b.id), AuditLog.action == tracking.TRANSITION)
            .order_by(AuditLog.id.desc())).scalars().first()
        assert (removal.before["state"], removal.after["state"], removal.actor) == ("filed", "removed", "recheck")

        assert session.get(Post, revival.id).review_state == ReviewState.QUEUED
        [suspect] = session.execute(select(AuditLog).where(AuditLog.action == tracking.REVIVAL_SUSPECT,
                                                           AuditLog.entity_type == "post")).scalars().all()
        assert suspect.entity_id == str(revival.id) and suspect.after["case_id"] == stays_removed.id

    # Only the named case is checked the second time; nothing moves again.
    again = recheck(database_url, emulator_url, "--case", str(live_b.id))
    assert (again["checked"], again["live"], again["removed"], again["escalated"]) == (1, 1, 0, 0)

    listing = subprocess.run([sys.executable, "-m", "takedown", "cases", "list", "--state", "removed"],
                             capture_output=True, text=True, timeout=120,
                             env=os.environ | {"TAKEDOWN_DATABASE_URL": database_url})
    assert listing.returncode == 0, listing.stderr
    ids = {line.split()[1] for line in listing.stdout.splitlines() if line.startswith("│")}
    assert ids - {"id"} == {str(gone_b.id), str(gone_d.id), str(stays_removed.id)}


def test_risk_control_stops_the_platforms_rechecks_and_records_unknown(sqlite_url, emulator_url):
    from takedown.db import make_engine, upgrade

    engine = make_engine(sqlite_url)
    upgrade(engine)
    now = datetime.now(UTC)
    ids = emulator_ids(emulator_url, "bilibili", limit=6)
    dy = emulator_ids(emulator_url, "douyin", limit=1)
    with Session(engine, expire_on_commit=False) as session:
        cases = [make_case(session, store_post(session, emulator_url, "bilibili", i, first_seen=now - 300 * H),
                           S.FILED, filed_at=now - 10 * H) for i in ids]
        dy_case = make_case(session, store_post(session, emulator_url, "douyin", dy[0], first_seen=now - 300 * H),
                            S.FILED, filed_at=now - 10 * H)
        session.commit()
    set_state(emulator_url, "bilibili", ids[0], "deleted")
    set_state(emulator_url, "douyin", dy[0], "deleted")
    set_fault(emulator_url, platform="bilibili", endpoint="view", kind="captcha")

    summary = recheck(sqlite_url, emulator_url)
    assert "bilibili" in summary["stopped"] and "-352" in summary["stopped"]["bilibili"]
    assert "douyin" not in summary["stopped"], "risk control on one platform leaves the others alone"
    assert summary["unknown"] >= 1 and summary["checked"] < 7 and summary["unchecked"] == 7 - summary["checked"]
    with Session(engine) as session:
        bili_checks = session.execute(select(StatusCheck.observed, StatusCheck.code).join(
            Post, Post.id == StatusCheck.post_id).where(Post.platform == "bilibili")).all()
        assert bili_checks and all(row == ("unknown", "-352") for row in bili_checks)
        assert all(session.get(Case, c.id).state == S.FILED for c in cases), "unknown proves nothing"
        assert session.get(Case, dy_case.id).state == S.REMOVED
    engine.dispose()


def test_recheck_follows_the_emulators_virtual_clock(sqlite_url, emulator_url):
    from takedown.db import make_engine, upgrade

    engine = make_engine(sqlite_url)
    upgrade(engine)
    now = datetime.now(UTC)
    [gone, late] = emulator_ids(emulator_url, "douyin", limit=2)
    with Session(engine, expire_on_commit=False) as session:
        removed = make_case(session, store_post(session, emulator_url, "douyin", gone, first_seen=now - 300 * H),
                            S.FILED, filed_at=now)
        overdue = make_case(session, store_post(session, emulator_url, "douyin", late, first_seen=now - 300 * H),
                            S.FILED, filed_at=now)
        session.commit()
    set_state(emulator_url, "douyin", gone, "deleted")
    # Six days pass on the emulator's clock: one post was taken down, the other is past Douyin's 120 h SLA.
    httpx.post(f"{emulator_url}/_emu/clock", json={"advance_hours": 144}, timeout=10).raise_for_status()
    summary = recheck(sqlite_url, emulator_url)
    assert (summary["removed"], summary["escalated"]) == (1, 1)
    with Session(engine) as session:
        case = session.get(Case, removed.id)
        assert case.hours_to_removal == pytest.approx(144, abs=0.2)
        assert aware(case.removed_at) >= now + timedelta(hours=144)
        assert session.get(Case, overdue.id).escalation_level == 1
    engine.dispose()


def test_recheck_closes_removals_past_the_grace_period_escalates_rejections_and_closes_exhausted_ones(
        sqlite_url, emulator_url):
    from takedown.db import make_engine, upgrade

    engine = make_engine(sqlite_url)
    upgrade(engine)
    now = datetime.now(UTC)
    ids = emulator_ids(emulator_url, "bilibili", limit=4)
    with Session(engine, expire_on_commit=False) as session:
        def stored(i: int) -> Post:
            return store_post(session, emulator_url, "bilibili", ids[i], first_seen=now - 300 * H)

        long_gone = make_case(session, stored(0), S.REMOVED, filed_at=now - 60 * H, removed_at=now - 30 * H)
        just_gone = make_case(session, stored(1), S.REMOVED, filed_at=now - 60 * H, removed_at=now - 10 * H)
        rejected = make_case(session, stored(2), S.FILED, filed_at=now - 20 * H)
        tracking.transition(session, rejected, S.REJECTED, actor="test", at=now - 18 * H)
        exhausted = make_case(session, stored(3), S.FILED, filed_at=now - 20 * H)
        exhausted.escalation_level = tracking.MAX_ESCALATION_LEVEL  # already on 12377
        tracking.transition(session, exhausted, S.REJECTED, actor="test", at=now - 18 * H)
        session.commit()
    set_state(emulator_url, "bilibili", ids[0], "deleted")
    set_state(emulator_url, "bilibili", ids[1], "deleted")

    env = {"TAKEDOWN_CASE_CLOSE_AFTER_HOURS": "24"}  # the grace period is a setting
    summary = recheck(sqlite_url, emulator_url, env=env)
    assert (summary["gone"], summary["live"], summary["escalated"], summary["closed"]) == (2, 2, 1, 2), summary
    with Session(engine) as session:
        assert session.get(Case, long_gone.id).state == S.CLOSED
        assert session.get(Case, just_gone.id).state == S.REMOVED, "only 10 h after the removal"
        escalated = session.get(Case, rejected.id)
        assert escalated.escalation_level == 1 and escalated.state in (S.ESCALATED, S.DRAFTED)
        assert session.get(Case, exhausted.id).state == S.CLOSED
    engine.dispose()
