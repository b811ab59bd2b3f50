"""Filing against the emulator's complaint channels: e-mail into its SMTP inbox, the portal with the system
Chromium, the outbox when no SMTP host is set, resuming after a crash without filing twice (in-process and with
a real subprocess killed mid-batch), and reading a rejection back from the portal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from email import policy
from email.parser import BytesParser
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from takedown import audit
from takedown.complaints.batches import build_batches, file_batch, poll_portal_statuses
from takedown.complaints.channels import resolve_channels
from takedown.complaints.email import EmailFiler
from takedown.complaints.package import build_filing
from takedown.complaints.portal import PortalFiler
from takedown.db import session_scope
from takedown.evidence import evidence_root
from takedown.models import Case, CaseState, Complaint, Evidence
from tests.conftest import REPO, needs_chromium
from tests.takedown.complaints_seed import emulator_posts, seed_cases, settings_for

pytestmark = pytest.mark.timeout(300)




def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _complaints(base: str) -> list[dict]:
    return httpx.get(f"{base}/_emu/complaints", timeout=10).json()["complaints"]


def _submits(base: str) -> int:
    return httpx.get(f"{base}/_emu/stats", timeout=10).json()["requests"].get("portal", {}).get("submit", 0)


def _setup(engine, tmp_path: Path, base: str, n: int, method: str, platform: str = "douyin", **extra):
    settings = settings_for(tmp_path, _url(engine), emulator_url=base, **extra)
    case_ids = seed_cases(engine, settings, emulator_posts(base, platform, n))
    with session_scope(engine) as session:
        [batch] = build_batches(session, case_ids, user=None, method=method, settings=settings)
        batch_id = batch.id
    return settings, case_ids, batch_id


def _states(engine, batch_id: int) -> dict[int, str]:
    with session_scope(engine) as session:
        return dict(session.execute(select(Complaint.id, Complaint.state).where(Complaint.batch_id == batch_id)).all())


def test_channels_point_at_the_emulator(world, tmp_path: Path):
    catalog = resolve_channels(settings_for(tmp_path, "sqlite://", emulator_url=world))
    assert catalog["douyin"].portal_url == f"{world}/portal/douyin"
    assert catalog["douyin"].email_address == "jubao@douyin.emu"
    assert catalog["weixin_channels"].email_address == "tousu@weixin.emu"
    assert catalog["12377"].portal_url == f"{world}/portal/12377"


def test_email_filing_arrives_with_the_evidence_attached(engine, world, tmp_path: Path):
    settings, case_ids, batch_id = _setup(engine, tmp_path, world, 6, "email", platform="bilibili")
    report = file_batch(engine, batch_id, settings=settings, pace=0)
    assert len(report.submitted) == 6 and not report.failed

    messages = httpx.get(f"{world}/_emu/mailbox/bilibili", timeout=10).json()["messages"]
    assert len(messages) == 6
    with session_scope(engine) as session:
        for c in session.execute(select(Complaint).where(Complaint.batch_id == batch_id)).scalars():
            assert c.state == "submitted" and c.submitted_at is not None
            assert c.external_ref == f"<td-{c.client_ref}@takedown.local>"
            [msg] = [m for m in messages if m["message_id"] == c.external_ref]
            assert msg["copies"] == 1 and msg["to"] == ["copyright@bilibili.emu"]
            assert msg["text"].strip() == c.body.strip() and c.client_ref in msg["subject"]
            assert "<html" in msg["html"]
            case = session.get(Case, c.case_id)
            assert case.state == CaseState.FILED and case.filed_at is not None and case.sla_due_at is not None
            evidence = session.execute(select(Evidence).where(Evidence.post_id == case.post_id)).scalar_one()
            sent = {a["filename"]: a["sha256"] for a in msg["attachments"]}
            for f in evidence.files:
                name = next(n for n in sent if n.startswith(f["kind"] + "-"))
                assert sent[name] == f["sha256"]  # the bytes that arrived are the evidence recorded
            assert [e.action for e in audit.history(session, "complaint", c.id)][0] == "complaint.submit"
    desk = _complaints(world)
    assert len(desk) == 6 and all(d["post"] is not None for d in desk)  # each matched its post
    assert len({d["post"]["post_id"] for d in desk}) == 6
    # six letters about near-identical posts from one sender: none looks templated to the platform
    assert all(d["template_matches"] == 0 and d["reason"] != "疑似批量模板投诉，不予受理" for d in desk)


def test_altered_evidence_is_never_sent_and_the_rest_of_the_batch_goes_on(engine, world, tmp_path: Path):
    settings, case_ids, batch_id = _setup(engine, tmp_path, world, 2, "email", platform="bilibili")
    with session_scope(engine) as session:
        evidence = session.execute(select(Evidence).order_by(Evidence.id)).scalars().first()
        altered_post = evidence.post_id
        path = evidence_root(settings) / evidence.files[0]["path"]
    path.chmod(0o644)
    path.write_bytes(path.read_bytes() + b"\x00")
    report = file_batch(engine, batch_id, settings=settings, pace=0)
    assert len(report.submitted) == 1 and len(report.failed) == 1
    assert "was altered" in report.failed[0][1]
    messages = httpx.get(f"{world}/_emu/mailbox/bilibili", timeout=10).json()["messages"]
    assert len(messages) == 1
    with session_scope(engine) as session:
        [failed] = [c for c in session.execute(select(Complaint).where(Complaint.batch_id == batch_id)).scalars()
                    if c.state == "failed"]
        assert session.get(Case, failed.case_id).post_id == altered_post


@needs_chromium
def test_portal_filing_reads_the_reference_back(engine, world, tmp_path: Path):
    settings, case_ids, batch_id = _setup(engine, tmp_path, world, 3, "portal")
    # The session expires on the first submit: the filer logs in again and files it once. Then the portal files
    # one but loses its answer (502): the filer finds it by client_ref instead of filing it again.
    for kind in ("login_expired", "lost_response"):
        httpx.post(f"{world}/_emu/faults", json={"platform": "portal", "endpoint": "submit", "kind": kind,
                                                  "times": 1}, timeout=10).raise_for_status()
    report = file_batch(engine, batch_id, settings=settings, pace=0)
    assert len(report.submitted) == 3, report.as_dict()
    desk = {d["client_ref"]: d for d in _complaints(world)}
    with session_scope(engine) as session:
        for c in session.execute(select(Complaint).where(Complaint.batch_id == batch_id)).scalars():
            assert c.state == "submitted" and c.external_ref.startswith("DY-")
            assert desk[c.client_ref]["ref"] == c.external_ref
            assert len(desk[c.client_ref]["evidence"]) == 3
            assert session.get(Case, c.case_id).state == CaseState.FILED
    assert len(desk) == 3
    assert _submits(world) == 4  # the expired one was refused before filing; the lost answer was not re-sent


def test_smtp_credentials_are_used_and_never_logged(engine, world, tmp_path: Path, caplog):
    from emulator.server import smtp_address

    host, port = smtp_address(world)
    settings, case_ids, batch_id = _setup(engine, tmp_path, world, 1, "email", smtp_host=host, smtp_port=port,
                                          smtp_security="none", smtp_username="filer",
                                          smtp_password="s3cret-smtp-pw",
                                          smtp_allow_plain_auth=True)  # the emulator's inbox speaks no TLS
    caplog.set_level("DEBUG")
    report = file_batch(engine, batch_id, settings=settings, pace=0)
    assert len(report.submitted) == 1
    assert "s3cret-smtp-pw" not in caplog.text and "s3cret-smtp-pw" not in repr(settings)
    with session_scope(engine) as session:
        for entry in session.execute(select(Complaint)).scalars():
            assert "s3cret-smtp-pw" not in entry.response


def test_without_an_smtp_host_mail_goes_to_the_outbox_unsent(engine, tmp_path: Path):
    settings = settings_for(tmp_path, _url(engine))
    from tests.takedown.complaints_seed import similar_posts

    case_ids = seed_cases(engine, settings, similar_posts(2, platform="bilibili", base="https://www.bilibili.com"))
    with session_scope(engine) as session:
        [batch] = build_batches(session, case_ids, user=None, method="email", settings=settings)
    report = file_batch(engine, batch.id, settings=settings, pace=0)
    assert sorted(report.unconfirmed) == sorted(_states(engine, batch.id)) and not report.submitted
    with session_scope(engine) as session:
        for c in session.execute(select(Complaint).where(Complaint.batch_id == batch.id)).scalars():
            assert c.state == "unconfirmed" and "NOT sent" in c.response and "outbox" in c.response
            assert session.get(Case, c.case_id).state == CaseState.DRAFTED  # nothing was filed
            eml = settings.var_dir / "outbox" / f"{c.client_ref}.eml"
            msg = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
            assert msg["Message-ID"] == f"<td-{c.client_ref}@takedown.local>"
            assert msg["To"] == "copyright@bilibili.com"
            names = [p.get_filename() for p in msg.iter_attachments()]
            assert names == [f"screenshot-{c.client_ref}.png", f"html-{c.client_ref}.html",
                             f"metadata-{c.client_ref}.json"]
            assert oct(eml.stat().st_mode & 0o777) == "0o600"


@needs_chromium
def test_resume_reconciles_a_portal_filing_left_submitting(engine, world, tmp_path: Path):
    """The process died after the portal filed complaint 1 but before it was recorded: the next run finds it
    by client_ref and does not send it again."""
    settings, case_ids, batch_id = _setup(engine, tmp_path, world, 3, "portal")
    catalog = resolve_channels(settings)
    with session_scope(engine) as session:
        first = session.execute(select(Complaint).where(Complaint.batch_id == batch_id).order_by(Complaint.id)
                                ).scalars().first()
        filing = build_filing(session, first, catalog["douyin"], settings)
        first.state = "submitting"
        first_id = first.id
    with PortalFiler(catalog["douyin"], settings) as portal:
        ref = portal.send(filing).external_ref
    assert _submits(world) == 1
    report = file_batch(engine, batch_id, settings=settings, pace=0)
    assert report.reconciled == [first_id] and len(report.submitted) == 2
    assert _submits(world) == 3  # complaint 1 was not submitted again
    with session_scope(engine) as session:
        assert session.get(Complaint, first_id).external_ref == ref
        assert audit.history(session, "complaint", first_id)[0].action == "complaint.reconcile"
    assert set(_states(engine, batch_id).values()) == {"submitted"}


def test_resume_never_resends_an_email_left_submitting(engine, world, tmp_path: Path):
    settings, case_ids, batch_id = _setup(engine, tmp_path, world, 3, "email")
    catalog = resolve_channels(settings)
    with session_scope(engine) as session:
        first = session.execute(select(Complaint).where(Complaint.batch_id == batch_id).order_by(Complaint.id)
                                ).scalars().first()
        filing = build_filing(session, first, catalog["douyin"], settings)
        first.state = "submitting"
        first_id = first.id
    with EmailFiler(settings) as mailer:
        mailer.send(filing)  # it went out, then the process "died"
    report = file_batch(engine, batch_id, settings=settings, pace=0)
    assert report.unconfirmed == [first_id] and len(report.submitted) == 2
    states = _states(engine, batch_id)
    assert states.pop(first_id) == "unconfirmed" and set(states.values()) == {"submitted"}
    messages = httpx.get(f"{world}/_emu/mailbox/douyin", timeout=10).json()["messages"]
    assert len(messages) == 3 and all(m["copies"] == 1 for m in messages)
    # a second run sends nothing more
    again = file_batch(engine, batch_id, settings=settings, pace=0)
    assert not again.submitted and not again.unconfirmed
    assert all(m["copies"] == 1 for m in httpx.get(f"{world}/_emu/mailbox/douyin", timeout=10).json()["messages"])


def _run_filing(batch_id: int, base: str, settings, pace: float) -> subprocess.Popen:
    env = {**os.environ, "TAKEDOWN_DATABASE_URL": settings.database_url, "TAKEDOWN_VAR_DIR": str(settings.var_dir),
           "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "takedown", "complaints", "file", str(batch_id), "--pace",
                             str(pace), "--emulator", base], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def _kill_after(proc: subprocess.Popen, seen, n: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while seen() < n:
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "the filing process never got that far"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)


@needs_chromium
@pytest.mark.slow
def test_killed_mid_batch_then_rerun_files_each_case_exactly_once_portal(engine, world, tmp_path: Path):
    settings, case_ids, batch_id = _setup(engine, tmp_path, world, 5, "portal")
    proc = _run_filing(batch_id, world, settings, pace=1.0)
    _kill_after(proc, lambda: len(_complaints(world)), 2)
    states = _states(engine, batch_id)
    assert "queued" in states.values()  # it really died mid-batch
    rerun = _run_filing(batch_id, world, settings, pace=0)
    out, errs = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, errs.decode()[-2000:]
    desk = _complaints(world)
    assert len(desk) == 5 and _submits(world) == 5  # five submissions in all: none twice
    assert Counter(d["post"]["post_id"] for d in desk).most_common(1)[0][1] == 1
    assert set(_states(engine, batch_id).values()) == {"submitted"}
    with session_scope(engine) as session:
        refs = {c.client_ref: c.external_ref for c in session.execute(
            select(Complaint).where(Complaint.batch_id == batch_id)).scalars()}
        assert all(session.get(Case, i).state == CaseState.FILED for i in case_ids)
    assert refs == {d["client_ref"]: d["ref"] for d in desk}


@pytest.mark.slow
def test_killed_mid_batch_then_rerun_never_sends_an_email_twice(engine, world, tmp_path: Path):
    settings, case_ids, batch_id = _setup(engine, tmp_path, world, 5, "email")

    def mails() -> list[dict]:
        return httpx.get(f"{world}/_emu/mailbox/douyin", timeout=10).json()["messages"]

    proc = _run_filing(batch_id, world, settings, pace=1.0)
    _kill_after(proc, lambda: len(mails()), 2)
    rerun = _run_filing(batch_id, world, settings, pace=0)
    _, errs = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, errs.decode()[-2000:]
    messages = mails()
    assert all(m["copies"] == 1 for m in messages)  # no Message-ID arrived twice
    with session_scope(engine) as session:
        for c in session.execute(select(Complaint).where(Complaint.batch_id == batch_id)).scalars():
            arrived = [m for m in messages if m["message_id"] == f"<td-{c.client_ref}@takedown.local>"]
            if c.state == "submitted":
                assert len(arrived) == 1
            else:  # died while sending: a person decides; it was not sent again
                assert c.state == "unconfirmed" and len(arrived) <= 1
    assert len(messages) == 5 or any(s == "unconfirmed" for s in _states(engine, batch_id).values())


@needs_chromium
def test_a_rejection_is_read_back_from_the_portal_with_its_reason(engine, world, tmp_path: Path):
    httpx.post(f"{world}/_emu/complaints/config", json={"accept_rate": 0, "ack_hours": 1}, timeout=10
               ).raise_for_status()
    settings, case_ids, batch_id = _setup(engine, tmp_path, world, 2, "portal")
    file_batch(engine, batch_id, settings=settings, pace=0)
    with session_scope(engine) as session:
        early = poll_portal_statuses(session, batch_id, settings=settings)
        assert early.checked == 2 and not early.rejected  # not decided yet on the platform's clock
    httpx.post(f"{world}/_emu/clock", json={"advance_hours": 5}, timeout=10).raise_for_status()
    with session_scope(engine) as session:
        report = poll_portal_statuses(session, batch_id, settings=settings)
    assert len(report.rejected) == 2
    desk = {d["ref"]: d for d in _complaints(world)}
    with session_scope(engine) as session:
        for c in session.execute(select(Complaint).where(Complaint.batch_id == batch_id)).scalars():
            assert c.state == "rejected" and c.responded_at is not None
            assert c.response == desk[c.external_ref]["reason"] and c.response
            case = session.get(Case, c.case_id)
            assert case.state == CaseState.REJECTED and case.acknowledged_at is not None
            assert case.rejected_at is not None


def test_email_filing_records_a_refusal_and_goes_on(engine, world, tmp_path: Path):
    settings, case_ids, batch_id = _setup(engine, tmp_path, world, 2, "email")
    with session_scope(engine) as session:
        c = session.execute(select(Complaint).where(Complaint.batch_id == batch_id).order_by(Complaint.id)
                            ).scalars().first()
        evidence = session.execute(select(Evidence).where(
            Evidence.post_id == session.get(Case, c.case_id).post_id)).scalar_one()
        missing = evidence_root(settings) / evidence.files[0]["path"]
    os.chmod(missing, 0o644)
    missing.unlink()  # an evidence file vanished: that complaint cannot be sent, the other is
    report = file_batch(engine, batch_id, settings=settings, pace=0)
    assert len(report.failed) == 1 and len(report.submitted) == 1
    with session_scope(engine) as session:
        failed = session.get(Complaint, report.failed[0][0])
        assert failed.state == "failed" and "No such file" in failed.response
