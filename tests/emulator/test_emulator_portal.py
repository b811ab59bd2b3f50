"""The complaint web portals: login, the form with evidence upload, status pages, lookup by client_ref,
idempotent client_ref, bulk upload of .csv/.xlsx sheets, session expiry, and one real browser filing."""

from __future__ import annotations

import hashlib
import io
import os
import re
import zipfile

import httpx
import pytest

from emulator.server import running
from tests.emulator.emu_helpers import (
    REF_PATTERN,
    emu_complaint,
    file_complaint,
    portal_login,
    varied_text,
)

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PLATFORMS = ("douyin", "kuaishou", "bilibili", "xiaohongshu", "weibo", "12377")


async def _douyin_url(client) -> str:
    post_id = (await client.get("/_emu/search/douyin", params={"keyword": "停息挂账"})).json()["ids"][0]
    return f"http://emu.test/douyin/video/{post_id}"


@pytest.mark.anyio
async def test_every_page_needs_a_session(client):
    for platform in PLATFORMS:
        for method, path in (("GET", "complaints/new"), ("POST", "complaints/new"), ("GET", "complaints"),
                             ("GET", "complaints/DY-20260101-000001"), ("POST", "bulk"), ("GET", "bulk")):
            resp = await client.request(method, f"/portal/{platform}/{path}")
            assert resp.status_code == 303, (platform, path)
            assert resp.headers["location"] == f"/portal/{platform}/login"
        login = await client.get(f"/portal/{platform}/login")
        assert login.status_code == 200 and 'id="username"' in login.text and 'id="password"' in login.text
    assert (await client.get("/portal/tiktok/login")).status_code == 404


@pytest.mark.anyio
async def test_login_wrong_and_right(client):
    wrong = await client.post("/portal/douyin/login", data={"username": "takedown", "password": "nope"})
    assert wrong.status_code == 200 and 'id="login-error"' in wrong.text and "用户名或密码错误" in wrong.text
    assert "emu_portal_douyin" not in wrong.cookies
    right = await portal_login(client, "douyin")
    assert right.headers["location"] == "/portal/douyin/complaints/new"
    form = await client.get("/portal/douyin/complaints/new")
    assert form.status_code == 200
    for marker in ('name="post_url"', 'name="category"', 'name="rights_holder"', 'name="description"',
                   'name="client_ref"', 'type="file" id="evidence" name="evidence" multiple', 'id="submit"',
                   'enctype="multipart/form-data"'):
        assert marker in form.text, marker
    assert [o for o in re.findall(r"<option value=\"([^\"]+)\"", form.text)] == ["违法违规", "金融诈骗", "侵权", "其他"]
    # A session is per platform.
    assert (await client.get("/portal/kuaishou/complaints/new")).status_code == 303


@pytest.mark.anyio
async def test_accounts_and_session_expiry(client):
    await client.post("/_emu/portal/accounts", json={"platform": "weibo", "username": "takedown", "password": "new"})
    old = await client.post("/portal/weibo/login", data={"username": "takedown", "password": "portal-pass"})
    assert 'id="login-error"' in old.text
    await portal_login(client, "weibo", "takedown", "new")
    await portal_login(client, "douyin")
    assert (await client.get("/portal/weibo/complaints/new")).status_code == 200
    expired = (await client.post("/_emu/portal/expire-sessions")).json()
    assert expired == {"ok": True, "expired": 2}
    for platform in ("weibo", "douyin"):
        resp = await client.get(f"/portal/{platform}/complaints/new")
        assert resp.status_code == 303 and resp.headers["location"] == f"/portal/{platform}/login"
    bad = await client.post("/_emu/portal/accounts", json={"platform": "weixin", "username": "a", "password": "b"})
    assert bad.status_code == 400


@pytest.mark.anyio
async def test_form_submission_status_lookup_and_idempotency(client):
    url = await _douyin_url(client)
    await portal_login(client, "douyin")
    files = [("shot.png", b"\x89PNG fake screenshot"), ("page.html", "<html>证据</html>".encode())]
    ref = await file_complaint(client, "douyin", url, varied_text(1), client_ref="case-17-a", files=files)
    assert re.match(REF_PATTERN, ref) and ref.startswith("DY-")

    full = await emu_complaint(client, ref)
    assert [(e["filename"], e["size"], e["sha256"]) for e in full["evidence"]] == [
        (name, len(data), hashlib.sha256(data).hexdigest()) for name, data in files]
    assert full["client_ref"] == "case-17-a" and full["category"] == "金融诈骗" and full["channel"] == "portal"

    page = await client.get(f"/portal/douyin/complaints/{ref}")
    assert f'<span id="complaint-ref">{ref}</span>' in page.text
    assert '<span id="complaint-status">received</span>' in page.text and "受理中" in page.text
    as_json = (await client.get(f"/portal/douyin/complaints/{ref}", params={"format": "json"})).json()
    assert as_json["ref"] == ref and as_json["status"] == "received" and as_json["reason"] is None

    found = (await client.get("/portal/douyin/complaints", params={"client_ref": "case-17-a"})).json()
    assert [(c["ref"], c["client_ref"], c["status"]) for c in found["complaints"]] == [(ref, "case-17-a", "received")]
    assert (await client.get("/portal/douyin/complaints", params={"client_ref": "nope"})).json() == {"complaints": []}

    again = await client.post("/portal/douyin/complaints/new", data={
        "post_url": url, "category": "金融诈骗", "description": varied_text(2), "client_ref": "case-17-a"})
    assert f'<span id="complaint-ref">{ref}</span>' in again.text and 'id="duplicate-note"' in again.text
    assert len((await client.get("/_emu/complaints")).json()["complaints"]) == 1

    # The status page is per platform; other platforms' references are not found.
    assert (await client.get("/portal/douyin/complaints/BL-20260101-000001")).status_code == 404
    assert (await client.get(f"/portal/douyin/complaints/{ref}x", params={"format": "json"})).status_code == 404


@pytest.mark.anyio
async def test_form_validation(client):
    await portal_login(client, "douyin")
    for data, message in (({"post_url": "", "category": "侵权", "description": "x"}, "请填写被投诉内容链接"),
                          ({"post_url": "http://x", "category": "别的", "description": "x"}, "请选择违规类型"),
                          ({"post_url": "http://x", "category": "侵权", "description": " "}, "请填写投诉说明")):
        resp = await client.post("/portal/douyin/complaints/new", data=data)
        assert resp.status_code == 400 and message in resp.text and 'id="form-error"' in resp.text
    assert (await client.get("/_emu/complaints")).json()["complaints"] == []


@pytest.mark.anyio
async def test_bulk_upload_csv_and_xlsx(client):
    import openpyxl

    ids = (await client.get("/_emu/search/bilibili", params={"keyword": "停催", "limit": 4})).json()["ids"]
    await portal_login(client, "bilibili")
    single = await file_complaint(client, "bilibili", f"http://emu.test/bilibili/video/{ids[0]}", varied_text(5),
                                  client_ref="row-1")
    csv_text = ("帖子链接,违规类型,投诉说明,委托编号(client_ref)\n"
                f"http://emu.test/bilibili/video/{ids[0]},侵权,{varied_text(6)},row-1\n"
                f"https://www.bilibili.com/video/{ids[1]},金融诈骗,{varied_text(7)},row-2\n"
                ",,,\n")
    evidence = io.BytesIO()
    with zipfile.ZipFile(evidence, "w") as z:
        z.writestr("row-2/shot.png", b"png bytes")
    resp = await client.post("/portal/bilibili/bulk", files={
        "sheet": ("batch.csv", csv_text.encode("utf-8-sig"), "text/csv"),
        "evidence_zip": ("evidence.zip", evidence.getvalue(), "application/zip")})
    assert resp.status_code == 200, resp.text
    refs = resp.json()["refs"]
    assert len(refs) == 2 and refs[0] == single and refs[1] != single  # row-1 was filed by the form already
    second = await emu_complaint(client, refs[1])
    assert second["channel"] == "bulk" and second["post"] == {"platform": "bilibili", "post_id": ids[1]}
    assert second["evidence"][0]["sha256"] == hashlib.sha256(evidence.getvalue()).hexdigest()
    assert second["evidence_zip"]["entries"] == [
        {"name": "row-2/shot.png", "size": 9, "sha256": hashlib.sha256(b"png bytes").hexdigest()}]

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["帖子链接", "违规类型", "投诉说明", "委托编号"])
    sheet.append([f"http://emu.test/bilibili/video/{ids[2]}", "违法违规", varied_text(8), 3001])
    sheet.append([f"http://emu.test/bilibili/video/{ids[3]}", "其他", varied_text(9), "row-2"])
    data = io.BytesIO()
    book.save(data)
    resp = await client.post("/portal/bilibili/bulk", files={"sheet": ("batch.xlsx", data.getvalue(),
                                                                      "application/vnd.ms-excel")})
    refs2 = resp.json()["refs"]
    assert len(refs2) == 2 and refs2[1] == refs[1]
    assert (await emu_complaint(client, refs2[0]))["client_ref"] == "3001"
    assert len((await client.get("/_emu/complaints")).json()["complaints"]) == 3

    bad = await client.post("/portal/bilibili/bulk", files={"sheet": ("x.csv", "链接,说明\na,b\n".encode(), "text/csv")})
    assert bad.status_code == 400 and "缺少列" in bad.json()["error"]
    assert (await client.post("/portal/bilibili/bulk", files={"other": ("x", b"", "text/plain")})).status_code == 400


@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed")
def test_browser_files_a_complaint_with_evidence(tmp_path):
    from playwright.sync_api import sync_playwright

    shot = tmp_path / "截图.png"
    shot.write_bytes(b"\x89PNG browser evidence")
    with running(seed=7, size=2000) as base, sync_playwright() as pw:
        post_id = httpx.get(f"{base}/_emu/search/douyin", params={"keyword": "停息挂账"}).json()["ids"][0]
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{base}/portal/douyin/complaints/new")
            assert page.url.endswith("/portal/douyin/login")
            page.fill("#username", "takedown")
            page.fill("#password", "portal-pass")
            page.click("#login")
            page.wait_for_url("**/portal/douyin/complaints/new")
            page.fill("#post_url", f"{base}/douyin/video/{post_id}")
            page.select_option("#category", "金融诈骗")
            page.fill("#rights_holder", "某某金融科技有限公司")
            page.fill("#description", varied_text(42))
            page.fill("#client_ref", "browser-1")
            page.set_input_files("#evidence", str(shot))
            page.click("#submit")
            ref = page.locator("#complaint-ref").inner_text(timeout=15_000)
            assert re.match(REF_PATTERN, ref) and ref.startswith("DY-")
            page.click("#status-link")
            assert page.locator("#complaint-status").inner_text() == "received"
        finally:
            browser.close()
        full = httpx.get(f"{base}/_emu/complaints/{ref}").json()
        assert full["post"] == {"platform": "douyin", "post_id": post_id} and full["client_ref"] == "browser-1"
        assert full["evidence"] == [{"filename": "截图.png", "content_type": "image/png", "size": len(shot.read_bytes()),
                                     "sha256": hashlib.sha256(shot.read_bytes()).hexdigest()}]


@pytest.mark.anyio
async def test_portal_faults_and_resuming_after_a_lost_answer(client):
    url = await _douyin_url(client)
    await portal_login(client, "douyin")
    form = {"post_url": url, "category": "金融诈骗", "description": varied_text(50), "client_ref": "lost-1"}

    await client.post("/_emu/faults", json={"platform": "portal", "endpoint": "submit", "kind": "server_error",
                                            "times": 1})
    assert (await client.post("/portal/douyin/complaints/new", data=form)).status_code == 502
    assert (await client.get("/portal/douyin/complaints", params={"client_ref": "lost-1"})).json()["complaints"] == []

    # The complaint is filed but the answer is lost: the filer finds it by its client_ref instead of refiling.
    await client.post("/_emu/faults", json={"platform": "portal", "endpoint": "submit", "kind": "lost_response",
                                            "times": 1})
    assert (await client.post("/portal/douyin/complaints/new", data=form)).status_code == 502
    found = (await client.get("/portal/douyin/complaints", params={"client_ref": "lost-1"})).json()["complaints"]
    assert len(found) == 1 and found[0]["status"] == "received"

    await client.post("/_emu/faults", json={"platform": "portal", "endpoint": "lookup", "kind": "rate_limit",
                                            "retry_after": 7, "times": 1})
    limited = await client.get("/portal/douyin/complaints", params={"client_ref": "lost-1"})
    assert limited.status_code == 429 and limited.headers["retry-after"] == "7"

    await client.post("/_emu/faults", json={"platform": "portal", "endpoint": "status", "kind": "login_expired",
                                            "times": 1})
    assert (await client.get(f"/portal/douyin/complaints/{found[0]['ref']}")).status_code == 303
    assert (await client.get("/portal/douyin/complaints/new")).status_code == 303  # the session is gone
    bad = await client.post("/_emu/faults", json={"platform": "portal", "endpoint": "submit", "kind": "captcha"})
    assert bad.status_code == 400
    assert (await client.get("/_emu/stats")).json()["faults"]["portal"] == {
        "server_error": 1, "lost_response": 1, "rate_limit": 1, "login_expired": 1}
