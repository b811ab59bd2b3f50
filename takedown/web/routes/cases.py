"""Cases and complaints: the cases list, a case's timeline, editing a draft, the batch builder, filing a batch in
the background with live progress, export package downloads. Behind login; building, filing and editing need a
lead or an admin."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy import update
from sqlmodel import Session

from takedown import audit, clock
from takedown.complaints.batches import BatchError, CaseFilter, build_batches, file_batch
from takedown.complaints.drafting import DraftError, edit_draft
from takedown.evidence import evidence_root
from takedown.models import Batch, Complaint, Evidence, Role, User
from takedown.web import cases as cq
from takedown.web.app import render
from takedown.web.security import current_user, get_db, login_and_csrf, require_role

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False, dependencies=[Depends(login_and_csrf)])
METHODS = ("email", "portal", "export")


def _flag(value: str) -> bool:
    return value.lower() in ("1", "true", "on", "yes")


@router.get("/cases")
def cases_list(request: Request, state: str = "", channel: str = "", overdue: str = "", offset: int = 0,
               user: User = Depends(current_user), db: Session = Depends(get_db)) -> Response:
    offset = max(0, offset)
    page = cq.cases_page(db, state=state, channel=channel, overdue=_flag(overdue), offset=offset,
                         now=clock.now(request.app.state.settings))
    query = {k: v for k, v in {"state": state, "channel": channel, "overdue": "1" if _flag(overdue) else ""}.items()
             if v}
    next_url = f"/cases?{urlencode({**query, 'offset': offset + page['limit']})}" if page["more"] else None
    prev_url = (f"/cases?{urlencode({**query, 'offset': max(0, offset - page['limit'])})}" if offset else None)
    return render(request, "cases.html", {"user": user, **page, "state": state, "channel": channel,
                                          "overdue": _flag(overdue), "next_url": next_url, "prev_url": prev_url})


def _case_or_404(request: Request, db: Session, case_id: int) -> dict:
    detail = cq.case_detail(db, case_id, now=clock.now(request.app.state.settings))
    if detail is None:
        raise HTTPException(404, f"案件 {case_id} 不存在")
    return detail


@router.get("/cases/{case_id}")
def case_page(case_id: int, request: Request, user: User = Depends(current_user),
              db: Session = Depends(get_db)) -> Response:
    detail = _case_or_404(request, db, case_id)
    flash = request.session.pop("flash", "")
    return render(request, "case.html", {"user": user, **detail, "flash": flash, "error": ""})


@router.post("/cases/{case_id}/complaints/{complaint_id}/edit")
def edit_complaint(case_id: int, complaint_id: int, request: Request, body: str = Form(""), subject: str = Form(""),
                   user: User = Depends(require_role(Role.LEAD)), db: Session = Depends(get_db)) -> Response:
    complaint = db.get(Complaint, complaint_id)
    if complaint is None or complaint.case_id != case_id:
        raise HTTPException(404, f"投诉 {complaint_id} 不存在")
    try:
        edit_draft(db, complaint, body[:20000], user=user, subject=subject or None)
    except DraftError as exc:
        db.rollback()
        detail = _case_or_404(request, db, case_id)
        return render(request, "case.html", {"user": user, **detail, "flash": "",
                                             "error": f"无法保存：{exc}"}, status_code=400)
    db.commit()
    request.session["flash"] = f"投诉 {complaint_id} 已保存（已记入审计日志）"
    return RedirectResponse(f"/cases/{case_id}#complaint-{complaint_id}", status_code=303)


@router.get("/evidence/{evidence_id}/screenshot")
def evidence_screenshot(evidence_id: int, request: Request, db: Session = Depends(get_db)) -> Response:
    ev = db.get(Evidence, evidence_id)
    shot = next((f for f in (ev.files or []) if f.get("kind") == "screenshot"), None) if ev else None
    if shot is None:
        raise HTTPException(404, "没有证据截图")
    root = evidence_root(request.app.state.settings).resolve()
    path = (root / str(shot.get("path", ""))).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise HTTPException(404, "没有证据截图")
    return FileResponse(path, media_type="image/png")


# --- batches ----------------------------------------------------------------------------------------------


@router.get("/batches")
def batches_list(request: Request, user: User = Depends(current_user), db: Session = Depends(get_db)) -> Response:
    flash = request.session.pop("flash", "")
    return render(request, "batches.html", {"user": user, "batches": cq.batches(db), "flash": flash})


def _builder(request: Request, db: Session, user: User, *, channel: str = "", errors: list | None = None,
             status: int = 200) -> Response:
    return render(request, "batch_new.html", {
        "user": user, "cases": cq.batchable_cases(db, channel), "channel": channel,
        "channels": sorted({c["channel"] for c in cq.batchable_cases(db)}), "methods": METHODS,
        "errors": errors or []}, status_code=status)


@router.get("/batches/new")
def batch_new(request: Request, channel: str = "", user: User = Depends(require_role(Role.LEAD)),
              db: Session = Depends(get_db)) -> Response:
    return _builder(request, db, user, channel=channel)


@router.post("/batches")
async def batch_create(request: Request, user: User = Depends(require_role(Role.LEAD)),
                       db: Session = Depends(get_db)) -> Response:
    form = await request.form()
    channel = str(form.get("channel") or "")
    method = str(form.get("method") or "")
    if method and method not in METHODS:
        return _builder(request, db, user, channel=channel, errors=[f"未知的提交方式：{method}"], status=400)
    if form.get("all"):
        selection: list[int] | CaseFilter = CaseFilter(channel=channel or None)
    else:
        try:
            selection = [int(v) for v in form.getlist("case_id")]
        except ValueError:
            return _builder(request, db, user, channel=channel, errors=["案件编号无效"], status=400)
        if not selection:
            return _builder(request, db, user, channel=channel, errors=["请至少选择一个案件"], status=400)
    errors: list[tuple[int, str]] = []
    try:
        made = build_batches(db, selection, user=user, method=method or None, settings=request.app.state.settings,
                             errors=errors)
    except BatchError as exc:
        db.rollback()
        return _builder(request, db, user, channel=channel, errors=[str(exc)], status=400)
    db.commit()
    messages = [f"案件 {case_id}：{message}" for case_id, message in errors]
    if not made:
        return _builder(request, db, user, channel=channel, errors=messages or ["所选案件没有可提交的投诉"],
                        status=400)
    note = f"已创建 {len(made)} 个批次" + (f"；{len(messages)} 个案件未加入：" + "；".join(messages) if messages else "")
    request.session["flash"] = note
    if len(made) == 1:
        return RedirectResponse(f"/batches/{made[0].id}", status_code=303)
    return RedirectResponse("/batches", status_code=303)


def _batch_or_404(db: Session, batch_id: int) -> Batch:
    batch = db.get(Batch, batch_id)
    if batch is None:
        raise HTTPException(404, f"批次 {batch_id} 不存在")
    return batch


def _progress_context(request: Request, db: Session, batch_id: int) -> dict:
    progress = cq.batch_progress(db, batch_id)
    if progress is None:
        raise HTTPException(404, f"批次 {batch_id} 不存在")
    progress["running"] = progress["running"] or _thread_alive(request, batch_id)
    progress["error"] = request.app.state.filing_errors.get(batch_id, "")
    return progress


@router.get("/batches/{batch_id}")
def batch_page(batch_id: int, request: Request, user: User = Depends(current_user),
               db: Session = Depends(get_db)) -> Response:
    batch = _batch_or_404(db, batch_id)
    flash = request.session.pop("flash", "")
    return render(request, "batch.html", {
        "user": user, "batch": batch, "progress": _progress_context(request, db, batch_id),
        "complaints": cq.batch_complaints(db, batch_id), "files": cq.export_files(batch), "flash": flash})


@router.get("/batches/{batch_id}/progress")
def batch_progress(batch_id: int, request: Request, user: User = Depends(current_user),
                   db: Session = Depends(get_db)) -> Response:
    batch = _batch_or_404(db, batch_id)
    return render(request, "_batch_progress.html", {"user": user, "batch": batch,
                                                    "progress": _progress_context(request, db, batch_id),
                                                    "files": cq.export_files(batch)})


def _thread_alive(request: Request, batch_id: int) -> bool:
    thread = request.app.state.filing_threads.get(batch_id)
    return thread is not None and thread.is_alive()


def _run_filing(app, batch_id: int, actor: str) -> None:
    settings = app.state.settings
    try:
        file_batch(app.state.engine, batch_id, settings=settings, actor=actor,
                   export_pdf=getattr(app.state, "export_pdf", True))
        app.state.filing_errors.pop(batch_id, None)
    except Exception as exc:  # noqa: BLE001 - shown on the batch page; the batch goes back to partial
        logger.exception("web: filing batch %s failed", batch_id)
        app.state.filing_errors[batch_id] = f"{type(exc).__name__}: {exc}"
        with Session(app.state.engine) as session:
            session.execute(update(Batch).where(Batch.id == batch_id, Batch.state == "filing")
                            .values(state="partial"))
            session.commit()


@router.post("/batches/{batch_id}/file")
def batch_file(batch_id: int, request: Request, user: User = Depends(require_role(Role.LEAD)),
               db: Session = Depends(get_db)) -> Response:
    batch = _batch_or_404(db, batch_id)
    app = request.app
    with app.state.filing_lock:
        if _thread_alive(request, batch_id):
            request.session["flash"] = "该批次正在提交中"
            return RedirectResponse(f"/batches/{batch_id}", status_code=303)
        if cq.batch_progress(db, batch_id)["queued"] == 0:
            request.session["flash"] = "该批次没有待提交的投诉"
            return RedirectResponse(f"/batches/{batch_id}", status_code=303)
        before = batch.state
        batch.state = "filing"
        db.add(batch)
        audit.write(db, action="batch.file", entity_type="batch", user=user,
                    changes=[(batch_id, {"state": before}, {"state": "filing"})])
        db.commit()
        app.state.filing_errors.pop(batch_id, None)
        thread = threading.Thread(target=_run_filing, args=(app, batch_id, audit.actor_name(user)),
                                  name=f"file-batch-{batch_id}", daemon=True)
        app.state.filing_threads[batch_id] = thread
        thread.start()
    request.session["flash"] = "已开始提交，进度每 2 秒刷新"
    return RedirectResponse(f"/batches/{batch_id}", status_code=303)


@router.get("/batches/{batch_id}/files/{name:path}")
def batch_file_download(batch_id: int, name: str, user: User = Depends(current_user),
                        db: Session = Depends(get_db)) -> Response:
    batch = _batch_or_404(db, batch_id)
    path = cq.export_file(batch, name)
    if path is None:
        raise HTTPException(404, "文件不存在")
    return FileResponse(path, filename=Path(path).name)
