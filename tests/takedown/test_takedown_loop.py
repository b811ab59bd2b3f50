"""The whole takedown loop on the emulator, once per filing method: a lead confirms a queued post, Chromium
captures its page, a complaint is drafted, batched and filed (e-mail into the SMTP inbox, the portal form, or an
export package a person uploads through the bulk form), the platform decides (accept rate 1, a fixed removal
delay), `takedown cases recheck` proves the removal and, after the grace period, closes the case. And the
other ending: a complaint rejected at every level — the platform, its re-filing, then the national 12377 portal —
escalated by `takedown cases recheck` each time and finally closed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import Session

from crawlers.evidence_capture import capture
from takedown import review
from takedown.clock import aware
from takedown.complaints.batches import build_batches, file_batch, poll_portal_statuses
from takedown.db import session_scope
from takedown.evidence import evidence_root
from takedown.models import AuditLog, Case, CaseState, Complaint, Evidence, ReviewState, User
from tests.conftest import REPO, needs_chromium
from tests.crawlers.emu_cases import emulator_ids, store_post
from tests.takedown.complaints_seed import settings_for

pytestmark = [pytest.mark.slow, pytest.mark.browser, needs_chromium, pytest.mark.timeout(600)]
S = CaseState
REMOVAL_HOURS = 10.0  # sigma 0: every accepted complaint's post goes exactly this long after receipt
GRACE_HOURS = 72.0  # the default case_close_after_hours
TOLERANCE_HOURS = 0.05  # three minutes: the re-check runs a few seconds after the clock reached the removal


EMULATOR_SEED = 11  # (the emu and world fixtures: tests/takedown/conftest.py)


def _decide(base: str, accept_rate: float) -> None:
    httpx.post(f"{base}/_emu/complaints/config", json={"accept_rate": accept_rate, "median_hours": REMOVAL_HOURS,
                                                       "sigma": 0, "ack_hours": 1}, timeout=10).raise_for_status()


def _move_clock(base: str, settings, **body) -> None:
    """Move the emulator's clock, and this process's domain time with it (as the demo does)."""
    answer = httpx.post(f"{base}/_emu/clock", json=body, timeout=10)
    answer.raise_for_status()
    settings.clock_offset_hours = answer.json()["offset_hours"]


def _received(base: str, platform_post_id: str) -> list[dict]:
    """The complaints the emulator's channels received about the post, oldest first (by post: an e-mail's
    client_ref at the platform is its Message-ID)."""
    return [c for c in httpx.get(f"{base}/_emu/complaints", timeout=10).json()["complaints"]
            if c["post"] is not None and c["post"]["post_id"] == platform_post_id]


def _recheck(settings, base: str) -> dict:
    env = os.environ | {"TAKEDOWN_DATABASE_URL": settings.database_url, "TAKEDOWN_VAR_DIR": str(settings.var_dir),
                        "TAKEDOWN_CONCURRENCY_PER_PLATFORM": "2", "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "takedown", "cases", "recheck", "--emulator", base],
                          capture_output=True, text=True, env=env, timeout=300, cwd=REPO)
    assert proc.returncode == 0, f"recheck failed ({proc.returncode}):\n{proc.stderr[-4000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _confirm_and_capture(engine, settings, base: str, platform: str) -> tuple[str, int]:
    """A queued emulator post, confirmed by a lead (the review hook opens its case), its page captured by
    Chromium (the case moves to evidence_captured). Returns (the platform's post id, case id)."""
    [post_id] = emulator_ids(base, platform, limit=1)
    with Session(engine, expire_on_commit=False) as session:
        post = store_post(session, base, platform, post_id, state=ReviewState.QUEUED)
        lead = User(username="lead", password_hash="x", role="lead")
        session.add(lead)
        session.flush()
        result = review.decide(session, lead, [(post.id, ReviewState.QUEUED)], "confirm")
        assert len(result.applied) == 1
        session.commit()
        case = session.execute(select(Case).where(Case.post_id == post.id)).scalar_one()
        assert case.state == S.CONFIRMED
    summary = capture(settings, [post.id], root=evidence_root(settings))
    assert summary["captured"] == 1, summary
    with Session(engine) as session:
        evidence = session.execute(select(Evidence).where(Evidence.post_id == post.id)).scalar_one()
        assert evidence.status == "captured" and evidence.screenshot_sha256 and evidence.html_sha256
        assert session.get(Case, case.id).state == S.EVIDENCE_CAPTURED
    return post_id, case.id


def _file(engine, settings, case_ids: list[int], method: str | None = None) -> int:
    """Draft, batch (one batch) and file; returns the batch id."""
    with session_scope(engine) as session:
        [batch] = build_batches(session, case_ids, user=None, method=method, settings=settings)
        batch_id = batch.id
        assert all(session.get(Case, i).state == S.DRAFTED for i in case_ids)
    report = file_batch(engine, batch_id, settings=settings, pace=0)
    assert report.submitted and not report.failed and not report.unconfirmed, report.as_dict()
    return batch_id


def _upload_sheet(base: str, channel: str, package: Path) -> None:
    """What a person does with an export package: upload its sheet through the portal's bulk form."""
    [sheet] = sorted(package.glob("*.xlsx"))
    with httpx.Client(base_url=base, timeout=30, follow_redirects=True) as person:
        person.post(f"/portal/{channel}/login", data={"username": "takedown", "password": "portal-pass"})
        with sheet.open("rb") as data:
            answer = person.post(f"/portal/{channel}/bulk", files={"sheet": (sheet.name, data)})
    assert answer.status_code == 200 and answer.json()["created"] == [True], answer.text


def _case(engine, case_id: int) -> Case:
    with Session(engine, expire_on_commit=False) as session:
        return session.get(Case, case_id)


@pytest.mark.parametrize(("method", "platform"), [("email", "bilibili"), ("portal", "douyin"),
                                                  ("export", "douyin")])
def test_confirm_to_closed_with_the_time_to_removal_the_platform_took(engine, world, tmp_path, method, platform):
    settings = settings_for(tmp_path, engine.url.render_as_string(hide_password=False), emulator_url=world)
    _decide(world, accept_rate=1.0)
    platform_post_id, case_id = _confirm_and_capture(engine, settings, world, platform)

    batch_id = _file(engine, settings, [case_id], method)
    with Session(engine) as session:
        complaint = session.execute(select(Complaint).where(Complaint.batch_id == batch_id)).scalar_one()
        assert (complaint.method, complaint.state) == (method, "submitted")
    case = _case(engine, case_id)
    assert case.state == S.FILED and case.filed_at is not None
    if method == "export":
        _upload_sheet(world, platform, Path(_batch_path(engine, batch_id)))
    [received] = _received(world, platform_post_id)
    assert received["decision"] == "accepted" and received["platform"] == platform
    removal_at = datetime.fromisoformat(received["removal_at"])

    # The platform acknowledges after an hour: read back from the portal (e-mail and portal filings).
    _move_clock(world, settings, advance_hours=2)
    if method != "export":
        with session_scope(engine) as session:
            assert poll_portal_statuses(session, batch_id, settings=settings).acknowledged == [complaint.id]
        assert _case(engine, case_id).state == S.ACKNOWLEDGED
    early = _recheck(settings, world)
    assert (early["checked"], early["live"], early["removed"]) == (1, 1, 0), "not removed yet"

    # The clock reaches the removal: the re-check proves it, the time to removal is the platform's.
    _move_clock(world, settings, set=(removal_at + timedelta(seconds=5)).isoformat())
    if method != "export":
        with session_scope(engine) as session:
            assert poll_portal_statuses(session, batch_id, settings=settings).accepted == [complaint.id]
    removed = _recheck(settings, world)
    assert (removed["gone"], removed["removed"], removed["closed"]) == (1, 1, 0), removed
    case = _case(engine, case_id)
    assert case.state == S.REMOVED
    expected = (removal_at - aware(case.filed_at)).total_seconds() / 3600
    assert expected == pytest.approx(REMOVAL_HOURS, abs=TOLERANCE_HOURS)
    assert case.hours_to_removal == pytest.approx(expected, abs=TOLERANCE_HOURS)

    # Inside the grace period the case stays removed; after it, the post still gone, the case is closed.
    _move_clock(world, settings, advance_hours=GRACE_HOURS - 24)
    assert _recheck(settings, world)["closed"] == 0 and _case(engine, case_id).state == S.REMOVED
    _move_clock(world, settings, advance_hours=25)
    closed = _recheck(settings, world)
    assert (closed["gone"], closed["closed"]) == (1, 1), closed
    case = _case(engine, case_id)
    assert case.state == S.CLOSED and case.hours_to_removal == pytest.approx(expected, abs=TOLERANCE_HOURS)
    assert aware(case.closed_at) >= aware(case.removed_at) + timedelta(hours=GRACE_HOURS)
    with Session(engine) as session:
        path = [(e.before["state"], e.after["state"]) for e in session.execute(
            select(AuditLog).where(AuditLog.entity_type == "case", AuditLog.entity_id == str(case_id),
                                   AuditLog.action == "case.transition").order_by(AuditLog.id)).scalars()]
    expected_path = [("confirmed", "evidence_captured"), ("evidence_captured", "drafted"), ("drafted", "filed")]
    if method != "export":
        expected_path.append(("filed", "acknowledged"))
    expected_path += [(expected_path[-1][1], "removed"), ("removed", "closed")]
    assert path == expected_path


def _batch_path(engine, batch_id: int) -> str:
    from takedown.models import Batch

    with Session(engine) as session:
        path = session.get(Batch, batch_id).export_path
    assert path
    return path


def test_rejected_everywhere_escalates_to_a_refiling_then_12377_then_closes(engine, world, tmp_path):
    settings = settings_for(tmp_path, engine.url.render_as_string(hide_password=False), emulator_url=world)
    _decide(world, accept_rate=0.0)
    platform_post_id, case_id = _confirm_and_capture(engine, settings, world, "douyin")
    steps = [("douyin", "email", 1), ("douyin", "email", 2), ("12377", "portal", 3)]
    for level, (channel, method, attempt) in enumerate(steps):
        batch_id = _file(engine, settings, [case_id], method)
        with Session(engine) as session:
            complaint = session.execute(select(Complaint).where(Complaint.batch_id == batch_id)).scalar_one()
            assert (complaint.channel, complaint.method, complaint.attempt) == (channel, method, attempt)
        # The channel received it (12377 through its own portal, with Chromium) and refuses it at acknowledgement.
        received = _received(world, platform_post_id)
        assert len(received) == level + 1
        assert received[-1]["platform"] == channel and received[-1]["decision"] == "rejected"
        _move_clock(world, settings, advance_hours=2)
        with session_scope(engine) as session:
            report = poll_portal_statuses(session, batch_id, settings=settings)
        assert [cid for cid, _ in report.rejected] == [complaint.id]
        case = _case(engine, case_id)
        assert case.state == S.REJECTED and case.escalation_level == level

        summary = _recheck(settings, world)
        case = _case(engine, case_id)
        if level < 2:  # the post is still up: one level up, the next complaint drafted
            assert (summary["live"], summary["escalated"], summary["closed"]) == (1, 1, 0), summary
            assert case.state == S.DRAFTED and case.escalation_level == level + 1
        else:  # 12377 refused too: nothing left to escalate to
            assert (summary["escalated"], summary["closed"]) == (0, 1), summary
            assert case.state == S.CLOSED and case.escalation_level == 2 and case.removed_at is None
    with Session(engine) as session:
        complaints = session.execute(select(Complaint).where(Complaint.case_id == case_id)
                                     .order_by(Complaint.attempt)).scalars().all()
        assert [(c.channel, c.attempt, c.state) for c in complaints] == [
            ("douyin", 1, "rejected"), ("douyin", 2, "rejected"), ("12377", 3, "rejected")]
        assert all(c.response for c in complaints), "each rejection keeps its reason"
        escalations = session.execute(select(AuditLog).where(
            AuditLog.action == "case.escalate", AuditLog.entity_id == str(case_id)).order_by(AuditLog.id)
        ).scalars().all()
        assert [(e.after["channel"], e.after["reason"], e.actor) for e in escalations] == [
            ("douyin", "rejected", "recheck"), ("12377", "rejected", "recheck")]
    assert _recheck(settings, world)["checked"] == 0, "a case closed without a removal is no longer checked"
