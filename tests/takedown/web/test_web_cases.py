"""The case and complaint pages: cases list with SLA age, a case's timeline, editing a draft (audited), the batch
builder with its preview, filing an export batch in the background with live progress, package downloads."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from takedown import clock, tracking
from takedown.complaints.batches import apply_response, build_batches, file_batch
from takedown.db import session_scope
from takedown.models import AuditLog, Batch, Case, Complaint, StatusCheck
from takedown.web import cases as cq
from tests.takedown.complaints_seed import seed_cases, similar_posts
from tests.takedown.review_seed import XSS_TITLE
from tests.takedown.web.conftest import login_as


@pytest.fixture
def app_client(make_client, engine):
    client = make_client(engine)
    client.app.state.export_pdf = False  # no Chromium print in the tests: the package is otherwise the same
    return client


def _seed(client, engine, n: int = 3, **spec) -> list[int]:
    specs = similar_posts(n)
    for s in specs:
        for k, v in spec.items():
            setattr(s, k, v)
    return seed_cases(engine, client.app.state.settings, specs)


def _filed_and_rejected(client, engine, case_id: int) -> int:
    """Draft, batch and file (export) the case's complaint; the platform then rejects it. Returns its id."""
    settings = client.app.state.settings
    with session_scope(engine) as session:
        [batch] = build_batches(session, [case_id], user=None, method="export", settings=settings)
        batch_id = batch.id
    file_batch(engine, batch_id, settings=settings, export_pdf=False)
    with session_scope(engine) as session:
        complaint = session.execute(select(Complaint).where(Complaint.case_id == case_id)).scalar_one()
        apply_response(session, complaint, {"status": "rejected", "reason": "证据不足，无法认定侵权"})
        session.add(StatusCheck(post_id=session.get(Case, case_id).post_id, case_id=case_id, observed="live",
                                code="ok_200", http_status=200))
        return complaint.id


def test_cases_list_shows_states_and_sla_age(app_client, engine):
    client = app_client
    ids = _seed(client, engine, 3)
    _filed_and_rejected(client, engine, ids[0])
    settings = client.app.state.settings
    with session_scope(engine) as session:
        [batch] = build_batches(session, [ids[1], ids[2]], user=None, method="export", settings=settings)
        batch_id = batch.id
    file_batch(engine, batch_id, settings=settings, export_pdf=False)
    with session_scope(engine) as session:
        session.get(Case, ids[1]).sla_due_at = clock.now(settings) - timedelta(hours=12, minutes=30)
    login_as(client, engine, "rita", "reviewer")
    page = client.get("/cases")
    assert page.status_code == 200
    assert "投诉被驳回" in page.text and "已投诉" in page.text
    assert "已超期 12 小时" in page.text
    assert re.search(r"剩余 11\d 小时", page.text)
    assert "证据不足，无法认定侵权" in page.text  # the rejection reason in the list
    overdue = client.get("/cases?overdue=1").text
    assert f'data-id="{ids[1]}"' in overdue and f'data-id="{ids[2]}"' not in overdue
    rejected = client.get("/cases?state=rejected").text
    assert f'data-id="{ids[0]}"' in rejected and f'data-id="{ids[1]}"' not in rejected
    api = client.get("/api/cases", params={"overdue": "true"}).json()
    assert [c["id"] for c in api["items"]] == [ids[1]] and api["items"][0]["sla"]["overdue"]
    assert api["counts"]["filed"] == 2 and api["counts"]["rejected"] == 1


def test_timeline_shows_transitions_filing_rejection_and_check(app_client, engine):
    client = app_client
    ids = _seed(client, engine, 1)
    complaint_id = _filed_and_rejected(client, engine, ids[0])
    with session_scope(engine) as session:  # the demo's scripted reviewer moves it on: marked as such
        tracking.transition(session, session.get(Case, ids[0]), "escalated", actor="demo")
    login_as(client, engine, "rita", "reviewer")
    page = client.get(f"/cases/{ids[0]}")
    assert page.status_code == 200
    html = page.text
    assert "已取证 → 已起草" in html and "已投诉 → 平台已受理" in html and "平台已受理 → 投诉被驳回" in html
    with session_scope(engine) as session:
        ref = session.get(Complaint, complaint_id).external_ref
    assert ref.startswith("export:") and f"<strong>{ref}</strong>" in html  # the filing with its reference
    assert "驳回理由：证据不足，无法认定侵权" in html
    assert re.search(r"demo <span class=\"tag\">演示</span>", html) and "投诉被驳回 → 已升级" in html
    assert "复查" in html and "仍在线" in html and "ok_200" in html
    assert "截图 SHA-256" in html and "/evidence/" in html
    shot = re.search(r'href="(/evidence/\d+/screenshot)"', html).group(1)
    assert client.get(shot).content.startswith(b"\x89PNG")
    # The reviewer sees no edit form.
    assert "edit-draft" not in html
    api = client.get(f"/api/cases/{ids[0]}").json()
    kinds = {e["kind"] for e in api["timeline"]}
    assert {"audit", "filing", "response", "check", "evidence"} <= kinds
    assert api["complaints"][0]["response"] == "证据不足，无法认定侵权"
    times = [e["at"] for e in api["timeline"]]
    assert times == sorted(times)


def test_a_lead_edits_a_draft_and_the_edit_is_audited(app_client, engine):
    client = app_client
    ids = _seed(client, engine, 1)
    with session_scope(engine) as session:
        [batch] = build_batches(session, ids, user=None, method="export", settings=client.app.state.settings)
        complaint = session.execute(select(Complaint).where(Complaint.batch_id == batch.id)).scalar_one()
        cid, old_body = complaint.id, complaint.body
    token = login_as(client, engine, "lena", "lead")
    page = client.get(f"/cases/{ids[0]}")
    assert 'class="edit-draft"' in page.text
    done = client.post(f"/cases/{ids[0]}/complaints/{cid}/edit",
                       data={"body": "改过的投诉正文\r\n第二行", "subject": "新标题", "csrf_token": token})
    assert done.status_code == 303
    with session_scope(engine) as session:
        c = session.get(Complaint, cid)
        assert c.body == "改过的投诉正文\n第二行" and c.edited and c.subject == "新标题"
        entry = session.execute(select(AuditLog).where(AuditLog.action == "complaint.edit",
                                                       AuditLog.entity_id == str(cid))).scalar_one()
        assert entry.actor == "lena" and entry.before["body"] == old_body
        assert entry.after["body"] == "改过的投诉正文\n第二行"
    html = client.get(f"/cases/{ids[0]}").text
    assert "编辑投诉" in html and "改过的投诉正文" in html and "已人工编辑" in html
    empty = client.post(f"/cases/{ids[0]}/complaints/{cid}/edit", data={"body": "  ", "csrf_token": token})
    assert empty.status_code == 400


def test_reviewer_cannot_build_file_or_edit_and_csrf_is_required(app_client, engine):
    client = app_client
    ids = _seed(client, engine, 1)
    with session_scope(engine) as session:
        [batch] = build_batches(session, ids, user=None, method="export", settings=client.app.state.settings)
        bid = batch.id
        cid = session.execute(select(Complaint.id).where(Complaint.batch_id == bid)).scalar_one()
    token = login_as(client, engine, "rita", "reviewer")
    assert client.get("/batches/new").status_code == 403
    assert client.post("/batches", data={"case_id": ids[0], "csrf_token": token}).status_code == 403
    assert client.post(f"/batches/{bid}/file", data={"csrf_token": token}).status_code == 403
    assert client.post(f"/cases/{ids[0]}/complaints/{cid}/edit",
                       data={"body": "x", "csrf_token": token}).status_code == 403
    assert client.get(f"/batches/{bid}").status_code == 200 and "提交投诉" not in client.get(f"/batches/{bid}").text
    client.cookies.clear()
    token = login_as(client, engine, "lena", "lead")
    for path, data in [("/batches", {"case_id": ids[0]}), (f"/batches/{bid}/file", {}),
                       (f"/cases/{ids[0]}/complaints/{cid}/edit", {"body": "x"})]:
        assert client.post(path, data=data).status_code == 403
        assert client.post(path, data={**data, "csrf_token": "forged"}).status_code == 403
    with session_scope(engine) as session:
        assert session.get(Batch, bid).state == "open"
        assert session.get(Complaint, cid).body != "x"
        assert session.execute(select(Batch)).scalars().all() == [session.get(Batch, bid)]


def _wait_done(client, bid: int, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        progress = client.get(f"/api/batches/{bid}").json()
        if not progress["running"] and progress["state"] in ("done", "partial"):
            return progress
        time.sleep(0.2)
    raise AssertionError(f"batch {bid} did not finish: {progress}")


def test_build_preview_file_and_progress_of_an_export_batch_end_to_end(app_client, engine):
    client = app_client
    ids = _seed(client, engine, 3)
    token = login_as(client, engine, "lena", "lead")
    builder = client.get("/batches/new")
    assert builder.status_code == 200 and all(f'value="{i}"' in builder.text for i in ids)
    made = client.post("/batches", data={"case_id": [str(i) for i in ids], "method": "export",
                                         "csrf_token": token})
    assert made.status_code == 303
    bid = int(made.headers["location"].rsplit("/", 1)[1])
    preview = client.get(f"/batches/{bid}")
    assert preview.status_code == 200 and 'id="file-batch"' in preview.text
    with session_scope(engine) as session:
        complaints = session.execute(select(Complaint).where(Complaint.batch_id == bid)).scalars().all()
        assert len(complaints) == 3 and {c.state for c in complaints} == {"queued"}
        bodies = [c.body for c in complaints]
    from html import escape

    for body in bodies:  # every complaint's full body, as it will be filed
        assert escape(body, quote=False) in preview.text or escape(body) in preview.text
    partial = client.get(f"/batches/{bid}/progress")
    assert partial.status_code == 200 and "<html" not in partial.text
    assert '<span class="total">3</span>' in partial.text and "hx-trigger" not in partial.text
    started = client.post(f"/batches/{bid}/file", data={"csrf_token": token})
    assert started.status_code == 303
    progress = _wait_done(client, bid)
    assert progress["state"] == "done" and progress["filed"] == 3 and progress["failed"] == 0
    assert progress["total"] == 3 and all(c["state"] == "submitted" for c in progress["complaints"])
    page = client.get(f"/batches/{bid}")
    assert "完成" in page.text and 'id="file-batch"' not in page.text
    partial = client.get(f"/batches/{bid}/progress").text
    assert '<span class="filed">3</span>' in partial and "hx-trigger" not in partial
    # The package's files are offered for download.
    names = re.findall(rf'href="/batches/{bid}/files/([^"]+)"', page.text)
    assert "complaints.xlsx" in names and "evidence.zip" in names and any(n.startswith("letters/") for n in names)
    sheet = client.get(f"/batches/{bid}/files/complaints.xlsx")
    assert sheet.status_code == 200 and sheet.content[:2] == b"PK"
    letter = client.get(f"/batches/{bid}/files/{[n for n in names if n.startswith('letters/')][0]}")
    assert letter.status_code == 200
    # Nothing outside the batch's folder.
    var = client.app.state.settings.var_dir
    (var / "exports" / "secret.txt").write_text("TOPSECRET")
    (var / "secret.txt").write_text("TOPSECRET")
    for bad in ["..%2Fsecret.txt", "..%2F..%2Fsecret.txt", "letters%2F..%2F..%2Fsecret.txt", "%2E%2E%2Fsecret.txt"]:
        response = client.get(f"/batches/{bid}/files/{bad}")
        assert response.status_code == 404 and b"TOPSECRET" not in response.content, bad
    for bad in ["../../web_secret", "..%2F..%2Fweb_secret", "%2e%2e/%2e%2e/web_secret", "letters/../../../web_secret",
                "/etc/passwd", "%2Fetc%2Fpasswd", "letters", ""]:
        response = client.get(f"/batches/{bid}/files/{bad}")
        # 404, or 422 where the client folded the dots away and the path no longer names this batch
        assert response.status_code in (404, 422), (bad, response.status_code)
        assert b"test-secret" not in response.content
    # The same names reaching the route as they are (no client-side normalising) are refused too.
    with session_scope(engine) as session:
        batch = session.get(Batch, bid)
        assert cq.export_file(batch, "complaints.xlsx") is not None
        for bad in ["../../web_secret", "letters/../../../web_secret", "/etc/passwd", "..", "letters", "",
                    "../batch-999/complaints.xlsx", "a\x00b"]:
            assert cq.export_file(batch, bad) is None, bad
    with session_scope(engine) as session:
        assert session.execute(select(AuditLog).where(AuditLog.action == "batch.file",
                                                      AuditLog.entity_id == str(bid))).scalar_one().actor == "lena"
        assert {session.get(Case, i).state for i in ids} == {"filed"}
    listing = client.get("/batches").text
    assert f'href="/batches/{bid}"' in listing and "导出投诉包" in listing


def test_progress_partial_polls_while_filing(app_client, engine):
    client = app_client
    ids = _seed(client, engine, 2)
    with session_scope(engine) as session:
        [batch] = build_batches(session, ids, user=None, method="export", settings=client.app.state.settings)
        batch.state = "filing"
        bid = batch.id
    login_as(client, engine, "rita")
    partial = client.get(f"/batches/{bid}/progress", headers={"HX-Request": "true"}).text
    assert 'hx-trigger="every 2s"' in partial and f'hx-get="/batches/{bid}/progress"' in partial
    assert '<span class="total">2</span>' in partial and '<span class="filed">0</span>' in partial
    assert "待提交：2" in partial


def test_a_script_title_renders_escaped_on_the_case_pages(app_client, engine):
    client = app_client
    ids = _seed(client, engine, 1, title=XSS_TITLE)
    with session_scope(engine) as session:
        [batch] = build_batches(session, ids, user=None, method="export", settings=client.app.state.settings)
        bid = batch.id
    login_as(client, engine, "lena", "lead")
    for url in ["/cases", f"/cases/{ids[0]}", "/batches/new", f"/batches/{bid}", "/batches"]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "<script>alert(1)</script>" not in response.text, url
        assert "<img src=x onerror" not in response.text, url
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in client.get("/cases").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in client.get(f"/cases/{ids[0]}").text


def test_builder_all_filtered_and_errors(app_client, engine):
    client = app_client
    ids = _seed(client, engine, 2)
    token = login_as(client, engine, "adam", "admin")
    none = client.post("/batches", data={"csrf_token": token})
    assert none.status_code == 400 and "请至少选择一个案件" in none.text
    missing = client.post("/batches", data={"case_id": "99999", "csrf_token": token})
    assert missing.status_code == 400
    made = client.post("/batches", data={"all": "1", "channel": "douyin", "method": "export", "csrf_token": token})
    assert made.status_code == 303
    with session_scope(engine) as session:
        assert session.execute(select(Complaint).where(Complaint.case_id.in_(ids))).scalars().all()
        assert all(c.batch_id for c in session.execute(select(Complaint)).scalars())
    assert client.get("/cases/99999").status_code == 404 and client.get("/batches/99999").status_code == 404
    assert client.get("/api/batches/99999").status_code == 404


def test_a_filing_run_that_stops_shows_why_and_can_be_started_again(sqlite_engine, make_client, monkeypatch):
    from takedown.web.routes import cases as case_routes

    client = make_client(sqlite_engine)
    ids = seed_cases(sqlite_engine, client.app.state.settings, similar_posts(1))
    with session_scope(sqlite_engine) as session:
        [batch] = build_batches(session, ids, user=None, method="export", settings=client.app.state.settings)
        bid = batch.id

    def refuse(*_args, **_kwargs):
        raise RuntimeError("no mail account configured")

    monkeypatch.setattr(case_routes, "file_batch", refuse)
    token = login_as(client, sqlite_engine, "lena", "lead")
    assert client.post(f"/batches/{bid}/file", data={"csrf_token": token}).status_code == 303
    client.app.state.filing_threads[bid].join(10)
    progress = client.get(f"/api/batches/{bid}").json()
    assert progress["state"] == "partial" and "no mail account configured" in progress["error"]
    page = client.get(f"/batches/{bid}").text
    assert "提交中断：RuntimeError: no mail account configured" in page and 'id="file-batch"' in page
