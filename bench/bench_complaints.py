"""Complaints: drafting and exporting 2,000 complaints whose evidence is already captured, on SQLite.

Setup (not timed): 2,000 confirmed posts on Xiaohongshu (an export channel) by 200 accounts, each with scored
reasons (1–4 of them, of several kinds), contacts for about half, one or two sightings, an open case in
evidence_captured, and an evidence capture in the store (a 120 KB incompressible "screenshot", a ~30 KB HTML
page, a metadata JSON).

Figures, each against a baseline measured in the same run on the same data:
- draft: `build_batches` over all cases = drafting every complaint (facts from the store, the channel's
  Jinja2 template, the complaint row, audit entries, the case moved to drafted) and queueing them in a batch.
  Baseline: the same facts (`gather_facts`, same queries) joined by plain string concatenation into a letter and
  inserted as complaint rows — what the store alone costs without templates, audit or state machine.
- export: `export_batch` without the PDF = 2,000 HTML letters + the XLSX sheet (every cell neutralised) + the
  evidence ZIP (every file re-hashed and checked, manifest.json + manifest.csv). Baseline: the same bytes written
  without templates: letters by string concatenation with html.escape, the same sheet columns written with
  openpyxl as plain values, the same files zipped with the same compression, no hashing.
- draft + export: the two above together, the issue's target: ≤ 10 s for 2,000 (evidence already captured).
  Baseline: the two baselines together.
- pdf: all 2,000 letters printed by Chromium as ONE combined document (each letter on a new page; a letter fits
  one A4 page as a rule). Baseline: one `page.pdf` per letter (same browser, same page), measured on a sample
  and scaled to 2,000. Printing 2,000 separate PDFs is why the export prints one document per batch.
"""

from __future__ import annotations

import html
import os
import random
import tempfile
import time
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select

from bench.common import Figure
from takedown.complaints.batches import CaseFilter, build_batches
from takedown.complaints.channels import default_catalog
from takedown.complaints.export import export_batch, write_letters_pdf
from takedown.complaints.letters import gather_facts, letters_html_document
from takedown.complaints.package import evidence_attachments
from takedown.db import make_engine, session_scope, upgrade
from takedown.evidence import evidence_root, sha256_bytes
from takedown.models import (
    Author,
    Case,
    Complaint,
    Contact,
    Evidence,
    Post,
    PostContact,
    Score,
    Sighting,
)
from takedown.settings import SEED_KEYWORDS, Settings

N = 2000
PDF_SAMPLE = 100
REASON_POOL = [
    {"rule": "promise.stop_interest", "category": "promise", "field": "title", "text": "停息挂账", "weight": 1.2,
     "explanation": "宣称可代为办理停息挂账，属于非法代理维权的典型承诺。"},
    {"rule": "promise.credit_repair", "category": "promise", "field": "desc", "text": "征信修复", "weight": 0.9,
     "explanation": "宣称可修复征信，征信记录不能通过中介修复。"},
    {"rule": "fee.service_fee", "category": "fee", "field": "desc", "text": "2000元包上岸", "weight": 0.7,
     "explanation": "以包办结果为名收取代理费用。"},
    {"rule": "fake_policy.new_policy", "category": "fake_policy", "field": "desc", "text": "退保新政", "weight": 1.0,
     "explanation": "编造国家政策诱导用户办理退保。"},
    {"rule": "anti_collection.stop_collection", "category": "anti_collection", "field": "desc", "text": "屏蔽催收",
     "weight": 0.8, "explanation": "宣称可屏蔽催收，教唆借款人逃避还款。"},
    {"rule": "false_identity.professional_persona", "category": "false_identity", "field": "author_name",
     "text": "资深法务", "weight": 0.6, "explanation": "冒充专业法务人员获取信任。"},
]


def _store(root: Path, data: bytes, ext: str) -> tuple[str, str]:
    """The evidence store's layout, without its fsync (setup speed only)."""
    digest = sha256_bytes(data)
    relative = f"{digest[:2]}/{digest}.{ext}"
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return relative, digest


def fill(engine, settings: Settings, n: int, seed: int = 5) -> None:
    rng = random.Random(seed)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    root = evidence_root(settings)
    authors = max(10, n // 10)
    with engine.begin() as conn:
        conn.execute(insert(Author), [
            {"platform": "xiaohongshu", "platform_author_id": f"xhs-{i:05d}", "nickname": f"上岸规划师{i}",
             "bio": "", "url": f"https://www.xiaohongshu.com/user/profile/{i:024x}", "extra": {},
             "first_seen": start, "last_seen": start} for i in range(authors)])
        contacts = [{"type": "wechat", "value": f"wx{rng.randrange(10**8):08d}", "first_seen": start}
                    for _ in range(n // 2)]
        conn.execute(insert(Contact), contacts)
        posts, scores, sightings, links, cases, evidence = [], [], [], [], [], []
        for i in range(n):
            pid = i + 1
            at = start + timedelta(minutes=11 * i)
            note = f"{rng.randrange(16**24):024x}"
            reasons = rng.sample(REASON_POOL, rng.randint(1, 4))
            posts.append({"id": pid, "platform": "xiaohongshu", "platform_post_id": note,
                          "url": f"https://www.xiaohongshu.com/explore/{note}",
                          "title": f"{rng.choice(['负债突围', '上岸经验', '停息挂账攻略'])}第{i}期", "text": "…",
                          "hashtags": [], "metrics": {"likes": rng.randrange(5000), "comments": rng.randrange(300)},
                          "author_id": 1 + i % authors, "first_seen": at, "last_seen": at, "raw": None,
                          "content_hash": "", "score": 0.9, "score_version": "bench", "review_state": "confirmed"})
            scores.append({"post_id": pid, "model_version": "bench", "score": 0.9, "reasons": reasons,
                           "created_at": at})
            for k in range(rng.randint(1, 2)):
                sightings.append({"post_id": pid, "keyword": SEED_KEYWORDS[(i + k) % len(SEED_KEYWORDS)], "page": 1,
                                  "rank": rng.randint(1, 60), "seen_at": at + timedelta(hours=k)})
            if i % 2 == 0:
                links.append({"post_id": pid, "contact_id": 1 + (i // 2)})
            shot = b"\x89PNG\r\n\x1a\n" + os.urandom(120_000)
            page = (f"<html><body><h1>{posts[-1]['title']}</h1>" + "<p>正文内容</p>" * 2500 + "</body></html>").encode()
            meta = f'{{"post": "{note}", "i": {i}}}'.encode()
            files = []
            for kind, data, ext in (("screenshot", shot, "png"), ("html", page, "html"), ("metadata", meta, "json")):
                path, digest = _store(root, data, ext)
                files.append({"kind": kind, "path": path, "sha256": digest, "bytes": len(data)})
            evidence.append({"post_id": pid, "url": posts[-1]["url"], "status": "captured",
                             "captured_at": at + timedelta(hours=2), "screenshot_sha256": files[0]["sha256"],
                             "html_sha256": files[1]["sha256"], "metadata_sha256": files[2]["sha256"],
                             "files": files, "attempts": 1, "error": ""})
            cases.append({"post_id": pid, "state": "evidence_captured", "channel": "xiaohongshu", "opened_at": at,
                          "evidence_at": at + timedelta(hours=2), "updated_at": at})
        conn.execute(insert(Post), posts)
        conn.execute(insert(Score), scores)
        conn.execute(insert(Sighting), sightings)
        conn.execute(insert(PostContact), links)
        conn.execute(insert(Evidence), evidence)
        conn.execute(insert(Case), cases)


def baseline_draft(engine, settings: Settings) -> float:
    """Same facts, same store, letters by concatenation, plain inserts (rolled back afterwards)."""
    catalog = default_catalog()
    channel = catalog["xiaohongshu"]
    t = time.perf_counter()
    with session_scope(engine) as session:
        rows = []
        for case in session.execute(select(Case).order_by(Case.id)).scalars():
            ref = f"TD-B{case.id}-1"
            f = gather_facts(session, case, channel=channel, attempt=1, client_ref=ref, settings=settings,
                             catalog=catalog)
            p = f["post"]
            body = ("致" + channel.name + "：\n\n投诉人：" + f["rh"].company_name + "\n\n事由：投诉作品" + p["id"] + "，链接 "
                    + p["url"] + "。\n\n" + "\n".join(r["field_label"] + "：“" + r["text"] + "”。" + r["explanation"]
                                                     for r in f["reasons"])
                    + "\n\n" + "\n".join(x["label"] + "：" + x["sha256"] for x in f["evidence"]["files"]))
            rows.append({"case_id": case.id, "channel": channel.id, "method": "export", "attempt": 9,
                         "state": "draft", "subject": "投诉：" + p["id"], "body": body, "client_ref": ref,
                         "response": ""})
        session.execute(insert(Complaint), rows)
        elapsed = time.perf_counter() - t
        session.rollback()
    return elapsed


def baseline_export(session, batch_id: int, settings: Settings, out: Path) -> float:
    from openpyxl import Workbook

    t = time.perf_counter()
    out.mkdir(parents=True)
    (out / "letters").mkdir()
    complaints = list(session.execute(select(Complaint).where(Complaint.batch_id == batch_id)
                                      .order_by(Complaint.id)).scalars())
    book = Workbook(write_only=True)
    sheet = book.create_sheet("投诉清单")
    sheet.append(["帖子链接", "违规类型", "投诉说明", "委托编号", "权利人", "平台", "作品ID", "发布账号", "账号ID", "标题",
                  "取证时间(UTC)", "截图SHA-256", "HTML SHA-256", "元数据SHA-256", "信函文件"])
    with zipfile.ZipFile(out / "evidence.zip", "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for c in complaints:
            case = session.get(Case, c.case_id)
            post = session.get(Post, case.post_id)
            author = session.get(Author, post.author_id)
            atts = evidence_attachments(session, post.id, c.client_ref, settings)
            (out / "letters" / f"{c.client_ref}.html").write_text(
                "<!doctype html><html><head><meta charset=utf-8><title>" + html.escape(c.subject) + "</title></head>"
                "<body><h1>" + html.escape(c.subject) + "</h1>"
                + "".join("<p>" + html.escape(p).replace("\n", "<br>") + "</p>" for p in c.body.split("\n\n"))
                + "</body></html>", encoding="utf-8")
            sheet.append([post.url, "违法违规", c.body, c.client_ref, settings.rights_holder.company_name,
                          post.platform, post.platform_post_id, author.nickname, author.platform_author_id,
                          post.title, "", *[a.sha256 for a in atts], f"letters/{c.client_ref}.html"])
            for a in atts:
                kind = zipfile.ZIP_STORED if a.name.endswith(".png") else zipfile.ZIP_DEFLATED
                zf.write(a.path, f"{c.client_ref}/{a.name}", compress_type=kind, compresslevel=1)
    book.save(out / "complaints.xlsx")
    return time.perf_counter() - t


def baseline_pdf_each(letters: list[tuple[str, str, str]], settings: Settings, out: Path) -> float:
    """One page.pdf per letter on a sample, same browser; seconds for the sample."""
    from playwright.sync_api import sync_playwright

    from takedown.complaints.letters import letter_html
    from takedown.complaints.portal import LAUNCH_ARGS

    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=settings.chromium_path, args=LAUNCH_ARGS, headless=True)
        page = browser.new_page()
        t = time.perf_counter()
        for subject, body, ref in letters:
            page.set_content(letter_html(subject, body, client_ref=ref))
            page.pdf(path=str(out / f"{ref}.pdf"), format="A4", prefer_css_page_size=True)
        elapsed = time.perf_counter() - t
        browser.close()
    return elapsed


def run(quick: bool = False) -> list[Figure]:
    n = N // 10 if quick else N
    sample = max(10, PDF_SAMPLE // (10 if quick else 1))
    with tempfile.TemporaryDirectory(prefix="bench-complaints-") as tmp:
        tmp_path = Path(tmp)
        settings = Settings(var_dir=tmp_path / "var", database_url=f"sqlite:///{tmp_path / 'bench.db'}")
        engine = make_engine(settings.database_url)
        upgrade(engine)
        fill(engine, settings, n)

        base_draft = baseline_draft(engine, settings)
        t = time.perf_counter()
        with session_scope(engine) as session:
            errors: list = []
            [batch] = build_batches(session, CaseFilter(), user=None, settings=settings, errors=errors)
            batch_id = batch.id
        draft = time.perf_counter() - t
        assert not errors and batch.total == n, errors[:3]

        with session_scope(engine) as session:
            t = time.perf_counter()
            result = export_batch(session, batch_id, settings=settings, pdf=False)
            export = time.perf_counter() - t
            assert result.complaints == n and result.evidence_files == 3 * n
            base_export = baseline_export(session, batch_id, settings, tmp_path / "baseline-export")
            letters = [(c.subject, c.body, c.client_ref) for c in session.execute(
                select(Complaint).where(Complaint.batch_id == batch_id).order_by(Complaint.id)).scalars()]

        t = time.perf_counter()
        write_letters_pdf(letters_html_document(letters), tmp_path / "letters.pdf", settings)
        pdf = time.perf_counter() - t
        pages = (tmp_path / "letters.pdf").read_bytes().count(b"/Type /Page") - \
            (tmp_path / "letters.pdf").read_bytes().count(b"/Type /Pages")
        each = baseline_pdf_each(letters[:sample], settings, tmp_path / "each") * (n / sample)
        engine.dispose()

    label = f"{n:,}"
    print(f"complaints: {n} letters printed as one PDF of {pages} pages")
    return [
        Figure(f"complaints: draft {label}", draft, "s", base_draft, "facts + string concatenation + insert",
               target="informational"),
        Figure(f"complaints: export {label} (letters HTML + XLSX + ZIP)", export, "s", base_export,
               "same bytes without templates, hashing or neutralising", target="informational"),
        Figure(f"complaints: draft + export {label}", draft + export, "s", base_draft + base_export,
               "both baselines", target="value <= 10 s", met=draft + export <= 10.0 * (n / N)),
        Figure(f"complaints: letters PDF {label} (one document, {pages} pages)", pdf, "s", each,
               f"one page.pdf per letter ({sample} measured, scaled)", target="value < baseline", met=pdf < each),
    ]
