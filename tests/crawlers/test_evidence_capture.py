"""Evidence capture of emulator post pages with the system Chromium, through `takedown evidence capture` in a
subprocess: screenshot and HTML stored and hashed, the case moved on; a removed page and an unreachable one are
recorded as failures (the latter after its retries) without stopping the rest."""

from __future__ import annotations

import hashlib
import html
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session

from emulator.server import free_port, running
from takedown import tracking
from takedown.models import CaseState, Evidence, ReviewState
from tests.conftest import needs_chromium
from tests.crawlers.emu_cases import emulator_ids, set_state, store_post

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_chromium]


@pytest.fixture(scope="module")
def emulator_url():
    with running(seed=5, size=500) as url:
        yield url


def _capture(database_url: str, var: Path, *args: str) -> dict:
    env = os.environ | {"TAKEDOWN_DATABASE_URL": database_url, "TAKEDOWN_VAR_DIR": str(var)}
    proc = subprocess.run([sys.executable, "-m", "takedown", "evidence", "capture", *args],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_capture_stores_screenshot_and_html_and_records_failures(database_url, engine, emulator_url, tmp_path):
    bili = emulator_ids(emulator_url, "bilibili", limit=2)
    douyin = emulator_ids(emulator_url, "douyin", limit=1)
    set_state(emulator_url, "bilibili", bili[1], "deleted")
    with Session(engine, expire_on_commit=False) as session:
        live = store_post(session, emulator_url, "bilibili", bili[0])
        gone = store_post(session, emulator_url, "bilibili", bili[1])
        dy = store_post(session, emulator_url, "douyin", douyin[0])
        unreachable = store_post(session, emulator_url, "douyin", emulator_ids(emulator_url, "douyin", limit=2)[1])
        unreachable.url = f"http://127.0.0.1:{free_port()}/douyin/video/{unreachable.platform_post_id}"
        queued = store_post(session, emulator_url, "bilibili", emulator_ids(emulator_url, "bilibili", limit=3)[2],
                            state=ReviewState.QUEUED)
        for p in (live, gone, dy, unreachable):
            tracking.open_case(session, p, actor="alice")
        session.commit()

    var = tmp_path / "var"
    summary = _capture(database_url, var, "--pending")
    assert (summary["captured"], summary["failed"]) == (2, 2)
    by_post = {r["post_id"]: r for r in summary["results"]}
    assert set(by_post) == {live.id, gone.id, dy.id, unreachable.id}, "pending: confirmed cases only"
    assert by_post[gone.id]["attempts"] == 1 and "HTTP 404" in by_post[gone.id]["error"], "a 404 is not retried"
    assert by_post[unreachable.id]["attempts"] == 2, "a network failure is tried again"

    root = var / "evidence"
    with Session(engine) as session:
        for p in (live, dy):
            [record] = session.execute(select(Evidence).where(Evidence.post_id == p.id)).scalars().all()
            assert record.status == "captured" and record.url == p.url
            files = {f["kind"]: root / f["path"] for f in record.files}
            shot, page = files["screenshot"].read_bytes(), files["html"].read_bytes()
            assert shot.startswith(b"\x89PNG\r\n\x1a\n") and len(shot) > 5000
            assert html.escape(p.title, quote=False) in page.decode("utf-8") or p.title in html.unescape(
                page.decode("utf-8"))
            assert hashlib.sha256(shot).hexdigest() == record.screenshot_sha256
            assert hashlib.sha256(page).hexdigest() == record.html_sha256
            assert hashlib.sha256(files["metadata"].read_bytes()).hexdigest() == record.metadata_sha256
            meta = json.loads(files["metadata"].read_text(encoding="utf-8"))
            assert meta["platform_post_id"] == p.platform_post_id and meta["captured_at_shanghai"].endswith("+08:00")
            assert tracking.case_for_post(session, p.id).state == CaseState.EVIDENCE_CAPTURED
        for p in (gone, unreachable):
            [record] = session.execute(select(Evidence).where(Evidence.post_id == p.id)).scalars().all()
            assert record.status == "failed" and record.files == [] and record.error
            assert tracking.case_for_post(session, p.id).state == CaseState.CONFIRMED
        assert session.execute(select(Evidence).where(Evidence.post_id == queued.id)).first() is None

    # Captured posts are no longer pending; a named post is captured whatever its case state.
    again = _capture(database_url, var, "--pending", "--post", str(queued.id), "--attempts", "1")
    assert {r["post_id"] for r in again["results"]} == {gone.id, unreachable.id, queued.id}
    assert {r["post_id"] for r in again["results"] if r["status"] == "captured"} == {queued.id}
    verify = subprocess.run([sys.executable, "-m", "takedown", "evidence", "verify"], capture_output=True, text=True,
                            env=os.environ | {"TAKEDOWN_DATABASE_URL": database_url, "TAKEDOWN_VAR_DIR": str(var)},
                            timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr
