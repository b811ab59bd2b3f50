"""Filing by export: a package for the portals a person must use themselves. One of the three modules that
write to a platform (here: what a person will upload to it).

Written under `var/exports/batch-<id>/`:
- `complaints.xlsx`: one row per complaint; the first columns are the bulk-upload sheet the portals take
  (帖子链接, 违规类型, 投诉说明, 委托编号, 权利人). Every text cell that a spreadsheet could read as a formula
  (starting with = + - @, a tab or a carriage return, or their full-width forms) is stored as a string with a
  leading apostrophe, so scraped text can never run as a formula.
- `letters/<client_ref>.html`: each letter, escaped; `letters.pdf`: all letters printed by the same Chromium
  (Playwright `page.pdf`) as ONE document, each letter starting on a new page (one browser page per batch:
  printing 2,000 separate PDFs costs minutes, one combined document seconds).
- `evidence.zip`: each complaint's evidence files under `<client_ref>/`, with `manifest.json` and
  `manifest.csv` (file, SHA-256, bytes, complaint, post URL). Hashes are computed from the bytes written and
  checked against the Evidence record; a mismatch fails the export (the evidence was altered).

Handing the package to the person who uploads it IS the filing: `file_batch` marks an export batch's
complaints `submitted` with external_ref `export:<batch id>` (the platform's own reference, when the person gets
one, can be recorded later with `takedown complaints confirm`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from takedown import clock
from takedown.complaints.channels import Catalog, default_catalog
from takedown.complaints.letters import (
    as_utc,
    fmt_utc,
    latest_evidence,
    letter_html,
    letters_html_document,
)
from takedown.complaints.package import evidence_attachments
from takedown.complaints.portal import LAUNCH_ARGS
from takedown.models import Author, Batch, Case, Complaint, Post
from takedown.settings import Settings

SHEET_COLUMNS = ("帖子链接", "违规类型", "投诉说明", "委托编号", "权利人", "平台", "作品ID", "发布账号", "账号ID", "标题",
                 "取证时间(UTC)", "截图SHA-256", "HTML SHA-256", "元数据SHA-256", "信函文件")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
# Not storable in XLSX (XML 1.0): control characters other than tab, newline, carriage return.
_ILLEGAL = dict.fromkeys([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])


class ExportError(RuntimeError):
    pass


def inert(value: Any) -> Any:
    """A cell value a spreadsheet shows as text: formula-like strings get a leading apostrophe."""
    if not isinstance(value, str):
        return value
    value = value.translate(_ILLEGAL)
    return "'" + value if value.startswith(_FORMULA_START) else value


def export_dir(settings: Settings, batch_id: int) -> Path:
    return settings.var_dir / "exports" / f"batch-{batch_id}"


@dataclass
class ExportResult:
    batch_id: int
    path: Path
    complaints: int
    files: dict[str, Path] = field(default_factory=dict)
    evidence_files: int = 0
    evidence_bytes: int = 0
    pdf: str = ""  # "combined" | "none"


@dataclass
class _Row:
    complaint: Complaint
    post: Post
    author: Author | None
    evidence_at: str
    hashes: dict[str, str]


def _rows(session: Session, batch: Batch) -> list[_Row]:
    complaints = list(session.execute(
        select(Complaint).where(Complaint.batch_id == batch.id).order_by(Complaint.id)).scalars())
    out = []
    for c in complaints:
        case = session.get(Case, c.case_id)
        post = session.get(Post, case.post_id)
        author = session.get(Author, post.author_id) if post.author_id is not None else None
        evidence = latest_evidence(session, post.id)
        hashes = {f.get("kind"): f.get("sha256", "") for f in (evidence.files if evidence else [])}
        out.append(_Row(c, post, author, fmt_utc(evidence.captured_at) if evidence else "", hashes))
    return out


def write_sheet(path: Path, rows: list[list[Any]], columns: tuple[str, ...] = SHEET_COLUMNS) -> None:
    """One sheet, header row + rows; every value neutralised (see `inert`) and stored as a string."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet("投诉清单")
    sheet.append(list(columns))
    for row in rows:
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=inert("" if value is None else str(value)))
            cell.data_type = "s"  # never a formula, whatever the text
            cells.append(cell)
        sheet.append(cells)
    book.save(path)


def write_letters_pdf(html_document: str, path: Path, settings: Settings) -> None:
    """Print one HTML document with Chromium (the same browser the portals use)."""
    from playwright.sync_api import sync_playwright

    from takedown.browser import ensure_chromium

    executable = ensure_chromium(settings.chromium_path, install=False)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=LAUNCH_ARGS, headless=True)
        try:
            page = browser.new_page()
            # Written to a file and opened, not set_content: a 2,000-letter document is several megabytes.
            source = path.with_suffix(".print.html")
            source.write_text(html_document, encoding="utf-8")
            page.goto(source.as_uri(), wait_until="load", timeout=300_000)
            page.pdf(path=str(path), format="A4", print_background=True, prefer_css_page_size=True)
            source.unlink()
        finally:
            browser.close()


def write_evidence_zip(path: Path, entries: list[dict[str, Any]]) -> tuple[int, int]:
    """entries: {"arcname", "source", "expected", "client_ref", "complaint_id", "post_url", "kind"}. Returns
    (files, bytes). PNG and other compressed files are stored, text is deflated (fast level)."""
    manifest = []
    total = 0
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for e in entries:
            data = Path(e["source"]).read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            if e["expected"] and digest != e["expected"]:
                raise ExportError(f"complaint {e['complaint_id']}: evidence file {e['source']} has sha256 {digest}, "
                                  f"recorded {e['expected']}: it was altered; run `takedown evidence verify`")
            compress = zipfile.ZIP_STORED if e["arcname"].endswith((".png", ".jpg", ".pdf", ".zip")) else \
                zipfile.ZIP_DEFLATED
            zf.writestr(zipfile.ZipInfo(e["arcname"], date_time=(2020, 1, 1, 0, 0, 0)), data,
                        compress_type=compress, compresslevel=1)
            total += len(data)
            manifest.append({"file": e["arcname"], "sha256": digest, "bytes": len(data), "kind": e["kind"],
                             "client_ref": e["client_ref"], "complaint_id": e["complaint_id"],
                             "post_url": e["post_url"]})
        zf.writestr("manifest.json", json.dumps({"files": manifest}, ensure_ascii=False, indent=1))
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=["file", "sha256", "bytes", "kind", "client_ref", "complaint_id",
                                                 "post_url"])
        writer.writeheader()
        for m in manifest:
            writer.writerow({k: inert(v) if isinstance(v, str) else v for k, v in m.items()})
        zf.writestr("manifest.csv", "\ufeff" + buf.getvalue())
    return len(manifest), total


def export_batch(session: Session, batch_id: int, *, settings: Settings, catalog: Catalog | None = None,
                 pdf: bool = True, out_dir: Path | None = None) -> ExportResult:
    """Write the batch's package (sheet, letters, evidence archive) and return where. Re-exporting replaces it."""
    catalog = catalog or default_catalog()
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise ExportError(f"batch {batch_id}: no such batch")
    channel = catalog[batch.channel]
    rows = _rows(session, batch)
    if not rows:
        raise ExportError(f"batch {batch_id}: has no complaints")
    final = out_dir or export_dir(settings, batch_id)
    work = final.with_name(final.name + ".tmp")
    shutil.rmtree(work, ignore_errors=True)
    (work / "letters").mkdir(parents=True)

    sheet_rows, letters, entries = [], [], []
    for r in rows:
        c = r.complaint
        letter_name = f"letters/{c.client_ref}.html"
        (work / letter_name).write_text(letter_html(c.subject, c.body, channel=channel, client_ref=c.client_ref),
                                        encoding="utf-8")
        letters.append((c.subject, c.body, c.client_ref))
        sheet_rows.append([
            r.post.url, channel.portal_category, c.body, c.client_ref, settings.rights_holder.company_name,
            r.post.platform, r.post.platform_post_id, r.author.nickname if r.author else "",
            r.author.platform_author_id if r.author else "", r.post.title, r.evidence_at,
            r.hashes.get("screenshot", ""), r.hashes.get("html", ""), r.hashes.get("metadata", ""), letter_name,
        ])
        for att in evidence_attachments(session, r.post.id, c.client_ref, settings):
            entries.append({"arcname": f"{c.client_ref}/{att.name}", "source": att.path, "expected": att.sha256,
                            "kind": att.kind, "client_ref": c.client_ref, "complaint_id": c.id,
                            "post_url": r.post.url})

    write_sheet(work / "complaints.xlsx", sheet_rows)
    n_files, n_bytes = write_evidence_zip(work / "evidence.zip", entries)
    if pdf:
        write_letters_pdf(letters_html_document(letters), work / "letters.pdf", settings)
    (work / "README.txt").write_text(
        f"批次 {batch_id}（{channel.name}，{len(rows)} 件投诉）导出于 {as_utc(clock.now(settings)).isoformat()}\n"
        "complaints.xlsx：批量投诉表（帖子链接、违规类型、投诉说明、委托编号……）\n"
        "letters/：每件投诉的信函（HTML）；letters.pdf：全部信函，每件从新的一页开始\n"
        "evidence.zip：取证文件（按委托编号分目录），manifest.json / manifest.csv 列出每个文件的 SHA-256\n",
        encoding="utf-8")
    shutil.rmtree(final, ignore_errors=True)
    work.rename(final)
    files = {"sheet": final / "complaints.xlsx", "evidence": final / "evidence.zip", "letters": final / "letters"}
    if pdf:
        files["pdf"] = final / "letters.pdf"
    return ExportResult(batch_id, final, len(rows), files, n_files, n_bytes, "combined" if pdf else "none")
