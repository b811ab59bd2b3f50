"""The export package: a spreadsheet safe against formula injection, letters as HTML and one PDF, and an evidence
archive whose manifest hashes are the files' own; handing it over files the batch."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import event, select

from emulator.server import running
from takedown.complaints.batches import build_batches, file_batch
from takedown.complaints.export import SHEET_COLUMNS, export_batch, inert
from takedown.db import session_scope
from takedown.evidence import evidence_root, record_capture
from takedown.models import Batch, Case, CaseState, Complaint, Evidence, Post
from tests.conftest import needs_chromium
from tests.takedown.complaints_seed import START, PostSpec, seed_cases, settings_for, similar_posts, tiny_png

HOSTILE = ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)", "\t=1+1", "\r=2", "＝1+1"]


def _settings(engine, tmp_path: Path, **extra):
    return settings_for(tmp_path, engine.url.render_as_string(hide_password=False), **extra)


def _hostile_batch(engine, settings) -> int:
    specs = similar_posts(len(HOSTILE) + 1, platform="xiaohongshu", base="https://www.xiaohongshu.com")
    for spec, title in zip(specs, HOSTILE, strict=False):
        spec.title = title
        spec.nickname = title  # the author's name lands in a cell too
    case_ids = seed_cases(engine, settings, specs)
    with session_scope(engine) as session:
        [batch] = build_batches(session, case_ids, user=None, settings=settings)  # xiaohongshu: export by default
        assert batch.method == "export"
        return batch.id


def test_inert_cells():
    for value in HOSTILE:
        assert inert(value).startswith("'")
    assert inert("停息挂账") == "停息挂账" and inert("a\x00b\x1fc") == "abc" and inert(3) == 3


def test_sheet_cells_never_hold_a_formula(engine, tmp_path: Path):
    settings = _settings(engine, tmp_path)
    batch_id = _hostile_batch(engine, settings)
    with session_scope(engine) as session:
        result = export_batch(session, batch_id, settings=settings, pdf=False)
    book = load_workbook(result.files["sheet"])  # not read-only: every cell's type is known
    sheet = book.active
    assert [c.value for c in sheet[1]] == list(SHEET_COLUMNS)
    titles = [str(row[SHEET_COLUMNS.index("标题")].value).replace("\r", "\n") for row in sheet.iter_rows(min_row=2)]
    for hostile in HOSTILE:
        assert "'" + hostile.replace("\r", "\n") in titles, hostile
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            assert cell.data_type == "s", (cell.coordinate, cell.value)  # text, never "f" (formula)
            assert not str(cell.value or "").startswith(("=", "+", "-", "@", "\t", "\r", "＝"))
    # The same file read by value only (as a spreadsheet computing cells would): still the literal text.
    values = load_workbook(result.files["sheet"], data_only=True).active
    assert any(str(c.value).startswith("'=HYPERLINK") for row in values.iter_rows(min_row=2) for c in row)


def test_evidence_zip_manifest_hashes_equal_the_files(engine, tmp_path: Path):
    settings = _settings(engine, tmp_path)
    batch_id = _hostile_batch(engine, settings)
    with session_scope(engine) as session:
        result = export_batch(session, batch_id, settings=settings, pdf=False)
        recorded = {f["sha256"] for e in session.execute(select(Evidence)).scalars() for f in e.files}
        refs = [c.client_ref for c in session.execute(select(Complaint).where(Complaint.batch_id == batch_id))
                .scalars()]
    with zipfile.ZipFile(result.files["evidence"]) as zf:
        manifest = json.loads(zf.read("manifest.json"))["files"]
        assert len(manifest) == 3 * len(refs) == result.evidence_files
        for entry in manifest:
            data = zf.read(entry["file"])
            assert hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["bytes"]
            assert entry["sha256"] in recorded and entry["file"].startswith(entry["client_ref"] + "/")
        rows = list(csv.DictReader(io.StringIO(zf.read("manifest.csv").decode("utf-8-sig"))))
        assert [(r["file"], r["sha256"]) for r in rows] == [(m["file"], m["sha256"]) for m in manifest]
    letters = sorted(p.name for p in result.files["letters"].iterdir())
    assert letters == sorted(f"{ref}.html" for ref in refs)


def test_altered_evidence_fails_the_export(engine, tmp_path: Path):
    settings = _settings(engine, tmp_path)
    case_ids = seed_cases(engine, settings, similar_posts(2, platform="xiaohongshu"))
    with session_scope(engine) as session:
        [batch] = build_batches(session, case_ids, user=None, settings=settings)
        evidence = session.execute(select(Evidence).order_by(Evidence.id)).scalars().first()
        path = settings.var_dir / "evidence" / evidence.files[1]["path"]
        path.chmod(0o644)
        path.write_bytes(b"<html>tampered</html>")
        with pytest.raises(Exception, match="was altered"):
            export_batch(session, batch.id, settings=settings, pdf=False)


@needs_chromium
def test_filing_an_export_batch_writes_the_package_and_marks_it_submitted(engine, tmp_path: Path):
    settings = _settings(engine, tmp_path)
    spec = PostSpec(platform="weixin_channels", post_id="finder-001", url="https://channels.weixin.qq.com/p/001")
    case_ids = seed_cases(engine, settings, [spec, *similar_posts(2, platform="weixin_channels",
                                                                  base="https://channels.weixin.qq.com")])
    with session_scope(engine) as session:
        [batch] = build_batches(session, case_ids, user=None, settings=settings)
        assert (batch.channel, batch.method) == ("weixin_channels", "export")
    report = file_batch(engine, batch.id, settings=settings)
    out = Path(report.export_path)
    assert out == settings.var_dir / "exports" / f"batch-{batch.id}"
    pdf = (out / "letters.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") >= 3
    with session_scope(engine) as session:
        assert session.get(Batch, batch.id).state == "done"
        for c in session.execute(select(Complaint).where(Complaint.batch_id == batch.id)).scalars():
            assert c.state == "submitted" and c.external_ref == f"export:{batch.id}"
            assert session.get(Case, c.case_id).state == CaseState.FILED


def test_the_exported_sheet_is_what_the_portals_bulk_upload_takes(engine, tmp_path: Path):
    with running(seed=7, size=300) as base:
        settings = _settings(engine, tmp_path, emulator_url=base)
        ids = httpx.get(f"{base}/_emu/search/douyin", params={"keyword": "停息挂账", "limit": 3}).json()["ids"]
        case_ids = seed_cases(engine, settings, similar_posts(3, platform="douyin", base=f"{base}/douyin", ids=ids))
        with session_scope(engine) as session:
            [batch] = build_batches(session, case_ids, user=None, method="export", settings=settings)
            result = export_batch(session, batch.id, settings=settings, pdf=False)
        with httpx.Client(base_url=base, follow_redirects=False) as client:
            client.post("/portal/douyin/login", data={"username": "takedown", "password": "portal-pass"})
            answer = client.post("/portal/douyin/bulk", files={
                "sheet": ("complaints.xlsx", result.files["sheet"].read_bytes()),
                "evidence_zip": ("evidence.zip", result.files["evidence"].read_bytes())})
        assert answer.status_code == 200, answer.text
        assert answer.json()["created"] == [True, True, True]
        desk = httpx.get(f"{base}/_emu/complaints").json()["complaints"]
        assert sorted(d["post"]["post_id"] for d in desk) == sorted(ids)


def test_a_large_evidence_file_is_streamed_into_the_archive_and_checked(engine, tmp_path: Path):
    """A file bigger than one read block goes into the archive in blocks, hashed as it is written."""
    settings = _settings(engine, tmp_path)
    case_ids = seed_cases(engine, settings, similar_posts(2, platform="xiaohongshu"))
    big = ("<html><body>" + "<p>停息挂账、征信修复，一对一上岸指导</p>" * 60_000 + "</body></html>").encode()
    assert len(big) > 2 * 1024 * 1024
    with session_scope(engine) as session:
        post = session.get(Post, session.get(Case, case_ids[1]).post_id)
        record_capture(session, post, post.url, tiny_png("again"), big, captured_at=START + timedelta(days=2),
                       root=evidence_root(settings))
        [batch] = build_batches(session, case_ids, user=None, settings=settings)
        result = export_batch(session, batch.id, settings=settings, pdf=False)
        ref = session.execute(select(Complaint.client_ref).where(Complaint.case_id == case_ids[1])).scalar_one()
    with zipfile.ZipFile(result.files["evidence"]) as zf:
        assert zf.read(f"{ref}/html-{ref}.html") == big
        [entry] = [m for m in json.loads(zf.read("manifest.json"))["files"] if m["file"] == f"{ref}/html-{ref}.html"]
        assert entry["sha256"] == hashlib.sha256(big).hexdigest() and entry["bytes"] == len(big)
        assert zf.getinfo(f"{ref}/html-{ref}.html").compress_type == zipfile.ZIP_DEFLATED
        assert zf.getinfo(f"{ref}/screenshot-{ref}.png").compress_type == zipfile.ZIP_STORED


def test_text_that_reads_as_an_error_value_stays_text(engine, tmp_path: Path):
    settings = _settings(engine, tmp_path)
    specs = similar_posts(2, platform="xiaohongshu", base="https://www.xiaohongshu.com")
    specs[0].title, specs[1].nickname = "#N/A", "#REF!"
    case_ids = seed_cases(engine, settings, specs)
    with session_scope(engine) as session:
        [batch] = build_batches(session, case_ids, user=None, settings=settings)
        result = export_batch(session, batch.id, settings=settings, pdf=False)
    rows = list(load_workbook(result.files["sheet"]).active.iter_rows(min_row=2))
    cells = [rows[0][SHEET_COLUMNS.index("标题")], rows[1][SHEET_COLUMNS.index("发布账号")]]
    assert [(c.value, c.data_type) for c in cells] == [("#N/A", "s"), ("#REF!", "s")]


def test_exporting_runs_the_same_statements_for_3_complaints_or_9(engine, tmp_path: Path):
    settings = _settings(engine, tmp_path)
    case_ids = seed_cases(engine, settings, similar_posts(12, platform="xiaohongshu"))
    counts = []
    for chunk in (case_ids[:3], case_ids[3:]):
        with session_scope(engine) as session:
            [batch] = build_batches(session, chunk, user=None, settings=settings)
        seen: list[str] = []

        def count(conn, cursor, statement, parameters, context, executemany, seen=seen):
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            with session_scope(engine) as session:
                export_batch(session, batch.id, settings=settings, pdf=False)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        counts.append(len(seen))
    assert counts[0] == counts[1], counts
