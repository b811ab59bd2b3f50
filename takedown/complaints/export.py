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
import os
import re
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, select
from sqlmodel import Session

from takedown import clock
from takedown.complaints.channels import Catalog, default_catalog
from takedown.complaints.letters import (
    as_utc,
    evidence_files,
    fmt_utc,
    latest_evidence_many,
    letter_html,
    letters_html_document,
)
from takedown.complaints.portal import LAUNCH_ARGS
from takedown.evidence import evidence_root
from takedown.models import Author, Batch, Case, Complaint, Post
from takedown.settings import Settings

SHEET_COLUMNS = ("帖子链接", "违规类型", "投诉说明", "委托编号", "权利人", "平台", "作品ID", "发布账号", "账号ID", "标题",
                 "取证时间(UTC)", "截图SHA-256", "HTML SHA-256", "元数据SHA-256", "信函文件")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
# Not storable in XLSX (XML 1.0): control characters other than tab, newline, carriage return.
_ILLEGAL = dict.fromkeys([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
_ILLEGAL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
# Evidence read for the archive in blocks: hashed and written in one pass, whatever the file's size.
_BLOCK = 1 << 20
_CHUNK = 500


class ExportError(RuntimeError):
    pass


def inert(value: Any) -> Any:
    """A cell value a spreadsheet shows as text: formula-like strings get a leading apostrophe."""
    if not isinstance(value, str):
        return value
    if _ILLEGAL_RE.search(value):  # rare: a search is much cheaper than translating every long letter
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
    post: Any  # the post's row
    author: Any | None
    evidence: Any | None  # the post's latest captured Evidence row
    evidence_at: str
    hashes: dict[str, str]


def _rows(session: Session, batch: Batch) -> list[_Row]:
    """The batch's complaints with their posts, authors and latest evidence: a few queries per chunk of
    complaints, not four per complaint."""
    complaints = list(session.execute(
        select(Complaint).where(Complaint.batch_id == batch.id).order_by(Complaint.id)).scalars())
    conn = session.connection()  # the select above flushed the session
    case_t, post_t, author_t = Case.__table__, Post.__table__, Author.__table__
    ids = bindparam("ids", expanding=True)
    post_of: dict[int, int] = {}
    posts: dict[int, Any] = {}
    authors: dict[int, Any] = {}
    for chunk in _chunks(sorted({c.case_id for c in complaints})):
        post_of.update(conn.execute(select(case_t.c.id, case_t.c.post_id).where(case_t.c.id.in_(ids)),
                                    {"ids": list(chunk)}).all())
    for chunk in _chunks(sorted(set(post_of.values()))):
        posts.update((row.id, row) for row in conn.execute(
            select(post_t.c.id, post_t.c.platform, post_t.c.platform_post_id, post_t.c.url, post_t.c.title,
                   post_t.c.author_id).where(post_t.c.id.in_(ids)), {"ids": list(chunk)}))
    for chunk in _chunks(sorted({p.author_id for p in posts.values() if p.author_id is not None})):
        authors.update((row.id, row) for row in conn.execute(
            select(author_t.c.id, author_t.c.nickname, author_t.c.platform_author_id)
            .where(author_t.c.id.in_(ids)), {"ids": list(chunk)}))
    evidence = latest_evidence_many(session, list(posts))
    out = []
    for c in complaints:
        post = posts[post_of[c.case_id]]
        author = authors.get(post.author_id) if post.author_id is not None else None
        ev = evidence.get(post.id)
        hashes = {f.get("kind"): f.get("sha256", "") for f in (ev.files if ev else [])}
        out.append(_Row(c, post, author, ev, fmt_utc(ev.captured_at) if ev else "", hashes))
    return out


def _chunks(items: list[Any], size: int = _CHUNK) -> list[list[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def write_sheet(path: Path, rows: list[list[Any]], columns: tuple[str, ...] = SHEET_COLUMNS) -> None:
    """One sheet, header row + rows; every value neutralised (see `inert`) and stored as a string."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ERROR_CODES

    book = Workbook(write_only=True)
    sheet = book.create_sheet("投诉清单")
    sheet.append(list(columns))
    for row in rows:
        cells: list[Any] = []
        for value in row:
            text = inert("" if value is None else str(value))
            # openpyxl stores a plain str as a string unless it reads as a formula (inert never lets one
            # through) or an error code: only those need a cell typed by hand, and a cell per value costs a
            # third of the sheet's time.
            if text in ERROR_CODES or text.startswith("="):
                cell = WriteOnlyCell(sheet, value=text)
                cell.data_type = "s"  # never a formula or an error value, whatever the text
                cells.append(cell)
            else:
                cells.append(text)
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
    (files, bytes). PNG and other compressed files are stored, text is deflated (fast level). Each file is read
    once, in blocks, hashed as it is written; a hash that is not the recorded one fails the export."""
    manifest = []
    total = 0
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for e in entries:
            stored = e["arcname"].endswith((".png", ".jpg", ".pdf", ".zip"))
            digest, size = _copy_hashed(Path(e["source"]), zf, e["arcname"],
                                        zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)
            if e["expected"] and digest != e["expected"]:
                raise ExportError(f"complaint {e['complaint_id']}: evidence file {e['source']} has sha256 {digest}, "
                                  f"recorded {e['expected']}: it was altered; run `takedown evidence verify`")
            total += size
            manifest.append({"file": e["arcname"], "sha256": digest, "bytes": size, "kind": e["kind"],
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


def _copy_hashed(source: Path, zf: zipfile.ZipFile, arcname: str, compress_type: int) -> tuple[str, int]:
    """Stream one file into the archive (fixed date, level 1: the entry `writestr` would write for its bytes);
    its SHA-256 and size as read."""
    info = zipfile.ZipInfo(arcname, date_time=(2020, 1, 1, 0, 0, 0))
    info.compress_type = compress_type
    # The level `writestr(..., compresslevel=1)` sets; public as compress_level from Python 3.13.
    setattr(info, "compress_level" if hasattr(info, "compress_level") else "_compresslevel", 1)
    h = hashlib.sha256()
    size = 0
    with source.open("rb") as src:
        # Known up front, as writestr knows it: decides ZIP64 the same way, so the entry's header is the same.
        info.file_size = os.fstat(src.fileno()).st_size
        with zf.open(info, "w") as dst:
            while block := src.read(_BLOCK):
                h.update(block)
                dst.write(block)
                size += len(block)
    return h.hexdigest(), size


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

    root = evidence_root(settings)
    sheet_rows, letters, entries = [], [], []
    for r in rows:
        c = r.complaint
        letter_name = f"letters/{c.client_ref}.html"
        letters.append((c.subject, c.body, c.client_ref))
        sheet_rows.append([
            r.post.url, channel.portal_category, c.body, c.client_ref, settings.rights_holder.company_name,
            r.post.platform, r.post.platform_post_id, r.author.nickname if r.author else "",
            r.author.platform_author_id if r.author else "", r.post.title, r.evidence_at,
            r.hashes.get("screenshot", ""), r.hashes.get("html", ""), r.hashes.get("metadata", ""), letter_name,
        ])
        for f in evidence_files(r.evidence, c.client_ref):
            entries.append({"arcname": f"{c.client_ref}/{f['name']}", "source": root / f["path"],
                            "expected": f["sha256"], "kind": f["kind"], "client_ref": c.client_ref,
                            "complaint_id": c.id, "post_url": r.post.url})

    for subject, body, ref in letters:
        (work / "letters" / f"{ref}.html").write_text(letter_html(subject, body, channel=channel, client_ref=ref),
                                                       encoding="utf-8")
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
