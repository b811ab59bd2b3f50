"""The evidence store on SQLite and PostgreSQL: content-addressed files never overwritten, capture records with
their hashes and metadata moving the case on, failures recorded, and verification catching a changed or a
missing file (also through `takedown evidence verify`)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session

from takedown import evidence, tracking
from takedown.clock import aware
from takedown.evidence import EvidenceStoreError, Mismatch
from takedown.models import AuditLog, CaseState, Evidence, ReviewState
from tests.takedown.case_helpers import T0, author, post

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
HTML = "<html><head><title>停息挂账，教你一招上岸</title></head><body>负债38万</body></html>".encode()


def _flip_byte(path: Path, at: int = 20) -> None:
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))


def test_store_is_content_addressed_and_reuses_identical_bytes(tmp_path):
    relative, digest = evidence.store_bytes(PNG, "png", root=tmp_path)
    assert digest == hashlib.sha256(PNG).hexdigest()
    assert relative == f"{digest[:2]}/{digest}.png"
    path = tmp_path / relative
    assert path.read_bytes() == PNG
    inode, mtime = path.stat().st_ino, path.stat().st_mtime_ns
    assert evidence.store_bytes(PNG, ".PNG", root=tmp_path) == (relative, digest)
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == (inode, mtime), "the same bytes reuse the file"
    other, other_digest = evidence.store_bytes(PNG + b"x", "png", root=tmp_path)
    assert other != relative and other_digest != digest
    assert not list(tmp_path.rglob(".tmp-*")), "no temporary files are left behind"
    with pytest.raises(ValueError):
        evidence.store_bytes(PNG, "../png", root=tmp_path)


def test_an_existing_file_is_never_overwritten_even_when_it_was_altered(tmp_path):
    relative, digest = evidence.store_bytes(PNG, "png", root=tmp_path)
    path = tmp_path / relative
    _flip_byte(path)
    altered = path.read_bytes()
    with pytest.raises(EvidenceStoreError, match="not overwritten"):
        evidence.store_bytes(PNG, "png", root=tmp_path)
    assert path.read_bytes() == altered, "the altered file stays as found, for the verification to report"


def test_a_capture_stores_three_hashed_files_with_metadata_and_moves_the_case(engine, tmp_path):
    with Session(engine) as session:
        p = post(session, "7300000000000000001", by=author(session, nickname="债务规划师小王"))
        case = tracking.open_case(session, p, actor="alice", at=T0)
        record = evidence.record_capture(session, p, p.url, PNG, HTML, captured_at=T0, root=tmp_path)
        assert record.status == "captured" and aware(record.captured_at) == T0
        assert record.screenshot_sha256 == hashlib.sha256(PNG).hexdigest()
        assert record.html_sha256 == hashlib.sha256(HTML).hexdigest()
        files = {f["kind"]: f for f in record.files}
        assert set(files) == {"screenshot", "html", "metadata"}
        for kind, column in (("screenshot", "screenshot_sha256"), ("html", "html_sha256"),
                             ("metadata", "metadata_sha256")):
            data = (tmp_path / files[kind]["path"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == getattr(record, column) == files[kind]["sha256"]
            assert files[kind]["bytes"] == len(data)
        meta = json.loads((tmp_path / files["metadata"]["path"]).read_text(encoding="utf-8"))
        assert meta["url"] == p.url and meta["platform"] == "douyin"
        assert meta["platform_post_id"] == "7300000000000000001"
        assert meta["captured_at_utc"] == "2026-03-01T08:00:00+00:00"
        assert meta["captured_at_shanghai"] == "2026-03-01T16:00:00+08:00"
        assert meta["title"] == p.title and meta["text"] == p.text
        assert meta["author"]["nickname"] == "债务规划师小王"
        assert meta["screenshot_sha256"] == record.screenshot_sha256 and meta["html_sha256"] == record.html_sha256
        assert case.state == CaseState.EVIDENCE_CAPTURED and aware(case.evidence_at) == T0
        [entry] = session.execute(select(AuditLog).where(AuditLog.action == evidence.CAPTURE)).scalars().all()
        assert entry.entity_id == str(record.id) and entry.after["html_sha256"] == record.html_sha256
        assert evidence.verify(session, root=tmp_path) == []


def test_a_confirmed_post_without_a_case_gets_one_and_a_failure_leaves_the_case_alone(engine, tmp_path):
    with Session(engine) as session:
        p = post(session, "p1", state=ReviewState.CONFIRMED)
        q = post(session, "p2")
        q_case = tracking.open_case(session, q, actor="alice", at=T0)
        assert evidence.pending_post_ids(session) == [q.id]
        evidence.record_capture(session, p, p.url, PNG, HTML, captured_at=T0, root=tmp_path)
        assert tracking.case_for_post(session, p.id).state == CaseState.EVIDENCE_CAPTURED
        failed = evidence.record_failure(session, q, q.url, "TimeoutError: page did not load", attempts=2, at=T0)
        assert (failed.status, failed.attempts, failed.files) == ("failed", 2, [])
        assert q_case.state == CaseState.CONFIRMED
        assert evidence.pending_post_ids(session) == [q.id], "a failed capture is still pending"
        assert evidence.verify(session, root=tmp_path) == [], "failed captures have no files to verify"


def test_verify_reports_a_changed_and_a_missing_file(engine, tmp_path):
    with Session(engine) as session:
        a = evidence.record_capture(session, post(session, "p1"), "https://example.invalid/1", PNG, HTML,
                                    captured_at=T0, root=tmp_path)
        b = evidence.record_capture(session, post(session, "p2"), "https://example.invalid/2", PNG + b"2",
                                    HTML + b"2", captured_at=T0, root=tmp_path)
        shot = next(f for f in a.files if f["kind"] == "screenshot")
        html = next(f for f in b.files if f["kind"] == "html")
        _flip_byte(tmp_path / shot["path"])
        (tmp_path / html["path"]).unlink()
        stats: dict[str, int] = {}
        problems = evidence.verify(session, root=tmp_path, stats=stats)
    assert stats == {"evidence": 2, "files": 6, "mismatches": 2}
    changed, missing = problems
    assert isinstance(changed, Mismatch)
    assert (changed.evidence_id, changed.kind, changed.path, changed.problem) == (a.id, "screenshot", shot["path"],
                                                                                 "changed")
    assert changed.expected == a.screenshot_sha256
    assert changed.actual == hashlib.sha256((tmp_path / shot["path"]).read_bytes()).hexdigest()
    assert (missing.evidence_id, missing.kind, missing.problem, missing.actual) == (b.id, "html", "missing", None)
    assert f"evidence {b.id}: html file {html['path']} missing" in str(missing)


def test_the_verify_command_exits_non_zero_and_prints_each_mismatch(database_url, engine, tmp_path):
    var = tmp_path / "var"
    with Session(engine, expire_on_commit=False) as session:
        record = evidence.record_capture(session, post(session, "p1"), "https://example.invalid/1", PNG, HTML,
                                         captured_at=T0, root=var / "evidence")
        session.commit()
    env = os.environ | {"TAKEDOWN_DATABASE_URL": database_url, "TAKEDOWN_VAR_DIR": str(var)}
    args = [sys.executable, "-m", "takedown", "evidence", "verify"]
    clean = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
    assert clean.returncode == 0, clean.stderr
    assert "1 captures, 3 files checked" in clean.stderr and "0 mismatch" in clean.stderr

    html = next(f for f in record.files if f["kind"] == "html")
    _flip_byte(var / "evidence" / html["path"], at=3)
    broken = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
    assert broken.returncode == 1
    assert f"evidence {record.id}: html file {html['path']} changed" in broken.stdout
    assert record.html_sha256 in broken.stdout
    with Session(engine) as session:
        assert session.execute(select(Evidence.status)).scalar_one() == "captured", "verification changes nothing"
