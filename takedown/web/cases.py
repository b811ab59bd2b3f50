"""Read models for the case and complaint pages: the cases list with SLA age, a case's timeline (audit entries,
filings, platform answers, re-checks, evidence captures merged by time), batch progress, export files.

Plain dicts only; the templates escape everything they print."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from sqlmodel import Session

from takedown import clock, tracking
from takedown.complaints.drafting import EDITABLE_STATES
from takedown.models import (
    AuditLog,
    Batch,
    Case,
    CaseState,
    Complaint,
    ComplaintState,
    Evidence,
    Post,
    StatusCheck,
    User,
)
from takedown.web.queries import usernames

CASE_STATE_LABELS = {
    "confirmed": "已确认违规", "evidence_captured": "已取证", "drafted": "已起草", "filed": "已投诉",
    "acknowledged": "平台已受理", "removed": "已下架", "rejected": "投诉被驳回", "escalated": "已升级",
    "closed": "已结案", "reopened": "已重开",
}
COMPLAINT_STATE_LABELS = {
    "draft": "草稿", "queued": "待提交", "submitting": "提交中", "submitted": "已提交", "unconfirmed": "待人工确认",
    "failed": "提交失败", "accepted": "平台已受理", "rejected": "被驳回",
}
BATCH_STATE_LABELS = {"open": "待提交", "filing": "提交中", "done": "完成", "partial": "部分完成"}
METHOD_LABELS = {"email": "邮件", "portal": "平台投诉入口", "export": "导出投诉包"}
CHANNEL_LABELS = {
    "bilibili": "哔哩哔哩", "douyin": "抖音", "kuaishou": "快手", "xiaohongshu": "小红书", "weibo": "微博",
    "weixin_channels": "微信视频号", "12377": "12377 违法和不良信息举报中心",
}
OBSERVED_LABELS = {"live": "仍在线", "gone": "已下架", "unknown": "无法确定"}
CASE_ACTION_LABELS = {
    "case.open": "立案", "case.transition": "状态变更", "case.escalate": "升级", "case.revival": "复活/重开",
    "case.revival_suspect": "疑似复活",
    "complaint.draft": "起草投诉", "complaint.edit": "编辑投诉", "complaint.queue": "加入批次",
    "complaint.submit": "提交投诉", "complaint.fail": "提交失败", "complaint.unconfirmed": "待人工确认",
    "complaint.reconcile": "核对提交", "complaint.confirm": "人工确认", "complaint.response": "平台答复",
    "evidence.capture": "取证", "evidence.failure": "取证失败", "review.decide": "审核决定", "review.undo": "撤销",
    "batch.create": "创建批次", "batch.file": "开始提交批次",
}
BATCHABLE = tuple(s.value for s in (CaseState.EVIDENCE_CAPTURED, CaseState.DRAFTED, CaseState.ESCALATED,
                                    CaseState.REOPENED))
WAITING = tuple(s.value for s in tracking.WAITING_STATES)
FILED_STATES = ("submitted", "accepted", "rejected")
PAGE = 50


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def sla_age(state: str, due: datetime | None, now: datetime) -> dict[str, Any]:
    """How the SLA stands for a case waiting for the platform: overdue by / hours left (whole hours)."""
    due = _aware(due)
    if due is None or state not in WAITING:
        return {"label": "—", "overdue": False, "hours": None}
    hours = (due - now).total_seconds() / 3600
    if hours < 0:
        return {"label": f"已超期 {int(-hours)} 小时", "overdue": True, "hours": round(hours, 1)}
    return {"label": f"剩余 {int(hours)} 小时", "overdue": False, "hours": round(hours, 1)}


def _case_row(case: Case, title: str, now: datetime, latest: Complaint | None) -> dict[str, Any]:
    return {
        "id": case.id, "post_id": case.post_id, "title": title, "state": case.state, "channel": case.channel,
        "opened_at": case.opened_at, "filed_at": case.filed_at, "sla_due_at": case.sla_due_at,
        "sla": sla_age(case.state, case.sla_due_at, now), "escalation_level": case.escalation_level,
        "hours_to_removal": case.hours_to_removal, "reopened_count": case.reopened_count,
        "complaint": _complaint_brief(latest) if latest else None,
    }


def _complaint_brief(c: Complaint) -> dict[str, Any]:
    return {"id": c.id, "state": c.state, "channel": c.channel, "method": c.method, "attempt": c.attempt,
            "external_ref": c.external_ref, "response": c.response}


def cases_page(session: Session, *, state: str = "", channel: str = "", overdue: bool = False,
               offset: int = 0, limit: int = PAGE, now: datetime | None = None) -> dict[str, Any]:
    now = _aware(now) or clock.now()
    stmt = select(Case, Post.title).join(Post, Post.id == Case.post_id)
    if state:
        stmt = stmt.where(Case.state == state)
    if channel:
        stmt = stmt.where(Case.channel == channel)
    if overdue:
        stmt = stmt.where(Case.state.in_(WAITING), Case.sla_due_at.is_not(None), Case.sla_due_at < now)
    rows = session.execute(stmt.order_by(Case.id.desc()).offset(max(0, offset)).limit(limit + 1)).all()
    cases = [r[0] for r in rows[:limit]]
    latest = latest_complaints(session, [c.id for c in cases])
    items = [_case_row(c, title or "", now, latest.get(c.id)) for c, title in rows[:limit]]
    counts = dict(session.execute(select(Case.state, func.count()).group_by(Case.state)).all())
    channels = sorted(session.execute(select(Case.channel).distinct()).scalars())
    n_overdue = session.execute(select(func.count()).select_from(Case).where(
        Case.state.in_(WAITING), Case.sla_due_at.is_not(None), Case.sla_due_at < now)).scalar_one()
    return {"items": items, "more": len(rows) > limit, "offset": offset, "limit": limit,
            "counts": {s: counts.get(s, 0) for s in CASE_STATE_LABELS}, "total": sum(counts.values()),
            "overdue_count": n_overdue, "channels": channels}


def latest_complaints(session: Session, case_ids: list[int]) -> dict[int, Complaint]:
    if not case_ids:
        return {}
    out: dict[int, Complaint] = {}
    for c in session.execute(select(Complaint).where(Complaint.case_id.in_(case_ids))
                             .order_by(Complaint.attempt, Complaint.id)).scalars():
        out[c.case_id] = c
    return out


def batchable_cases(session: Session, channel: str = "", limit: int = 500) -> list[dict[str, Any]]:
    stmt = (select(Case, Post.title).join(Post, Post.id == Case.post_id).where(Case.state.in_(BATCHABLE))
            .order_by(Case.id))
    if channel:
        stmt = stmt.where(Case.channel == channel)
    now = clock.now()
    return [_case_row(c, t or "", now, None) for c, t in session.execute(stmt.limit(limit)).all()]


def _audit_row(e: AuditLog, names: dict[int, str], demo_ids: set[int]) -> dict[str, Any]:
    before, after = e.before or {}, e.after or {}
    summary, labels = "", CASE_STATE_LABELS if e.entity_type == "case" else COMPLAINT_STATE_LABELS
    if "state" in before or "state" in after:
        b, a = before.get("state"), after.get("state")
        summary = f"{labels.get(b, b) if b else '—'} → {labels.get(a, a) if a else '—'}"
    elif e.action == "complaint.edit":
        summary = "正文已修改"
    note = after.get("note") or ""
    is_demo = e.actor == "demo" or (e.user_id in demo_ids)
    return {"kind": "audit", "at": e.at, "id": e.id, "action": e.action,
            "action_label": CASE_ACTION_LABELS.get(e.action, e.action), "entity_type": e.entity_type,
            "entity_id": e.entity_id, "actor": e.actor, "username": names.get(e.user_id) if e.user_id else None,
            "is_demo": is_demo, "summary": summary, "note": note, "before": e.before, "after": e.after}


def case_detail(session: Session, case_id: int, *, now: datetime | None = None) -> dict[str, Any] | None:
    case = session.get(Case, case_id)
    if case is None:
        return None
    now = _aware(now) or clock.now()
    post = session.get(Post, case.post_id)
    complaints = list(session.execute(select(Complaint).where(Complaint.case_id == case_id)
                                      .order_by(Complaint.attempt, Complaint.id)).scalars())
    checks = list(session.execute(select(StatusCheck).where(
        or_(StatusCheck.case_id == case_id, StatusCheck.post_id == case.post_id)).order_by(StatusCheck.id)).scalars())
    evidence = list(session.execute(select(Evidence).where(Evidence.post_id == case.post_id)
                                    .order_by(Evidence.id)).scalars())
    conds = [(AuditLog.entity_type == "case") & (AuditLog.entity_id == str(case_id)),
             (AuditLog.entity_type == "post") & (AuditLog.entity_id == str(case.post_id))]
    if complaints:
        conds.append((AuditLog.entity_type == "complaint")
                     & AuditLog.entity_id.in_([str(c.id) for c in complaints]))
    if evidence:
        conds.append((AuditLog.entity_type == "evidence") & AuditLog.entity_id.in_([str(e.id) for e in evidence]))
    entries = list(session.execute(select(AuditLog).where(or_(*conds)).order_by(AuditLog.at, AuditLog.id)).scalars())
    user_ids = {e.user_id for e in entries if e.user_id}
    names = usernames(session, user_ids)
    demo_ids = set(session.execute(select(User.id).where(User.id.in_(user_ids), User.is_demo)).scalars()) \
        if user_ids else set()

    events: list[dict[str, Any]] = [_audit_row(e, names, demo_ids) for e in entries]
    complaint_rows = []
    for c in complaints:
        row = {**_complaint_brief(c), "subject": c.subject, "body": c.body, "edited": c.edited,
               "client_ref": c.client_ref, "batch_id": c.batch_id, "created_at": c.created_at,
               "submitted_at": c.submitted_at, "responded_at": c.responded_at,
               "editable": c.state in EDITABLE_STATES}
        complaint_rows.append(row)
        if c.submitted_at:
            events.append({"kind": "filing", "at": c.submitted_at, "complaint": row})
        if c.responded_at or (c.state == ComplaintState.REJECTED and c.response):
            events.append({"kind": "response", "at": c.responded_at or c.submitted_at or c.created_at,
                           "complaint": row})
    for s in checks:
        events.append({"kind": "check", "at": s.checked_at, "id": s.id, "observed": s.observed, "code": s.code,
                       "http_status": s.http_status, "detail": s.detail})
    evidence_rows = []
    for ev in evidence:
        row = {"id": ev.id, "url": ev.url, "status": ev.status, "captured_at": ev.captured_at,
               "screenshot_sha256": ev.screenshot_sha256, "html_sha256": ev.html_sha256,
               "metadata_sha256": ev.metadata_sha256, "error": ev.error, "attempts": ev.attempts,
               "has_screenshot": any(f.get("kind") == "screenshot" for f in ev.files or [])}
        evidence_rows.append(row)
        events.append({"kind": "evidence", "at": ev.captured_at, "evidence": row})
    order = {"evidence": 0, "audit": 1, "filing": 2, "response": 3, "check": 4}
    events.sort(key=lambda ev: (_aware(ev["at"]) or datetime.min.replace(tzinfo=UTC), order[ev["kind"]]))
    current = complaint_rows[-1] if complaint_rows else None
    return {
        "case": {**_case_row(case, post.title if post else "", now, complaints[-1] if complaints else None),
                 "evidence_at": case.evidence_at, "drafted_at": case.drafted_at,
                 "acknowledged_at": case.acknowledged_at, "removed_at": case.removed_at,
                 "rejected_at": case.rejected_at, "escalated_at": case.escalated_at, "closed_at": case.closed_at,
                 "last_checked_at": case.last_checked_at, "linked_case_id": case.linked_case_id},
        "post": {"id": post.id, "title": post.title, "url": post.url, "platform": post.platform,
                 "platform_post_id": post.platform_post_id} if post else None,
        "complaints": complaint_rows, "current": current,
        "checks": [{"at": s.checked_at, "observed": s.observed, "code": s.code} for s in checks],
        "evidence": evidence_rows, "timeline": events,
    }


def timeline_json(detail: dict[str, Any]) -> dict[str, Any]:
    """The case detail for the API: datetimes as ISO strings (FastAPI encodes the rest)."""
    def enc(value: Any) -> Any:
        if isinstance(value, datetime):
            return _aware(value).isoformat()
        if isinstance(value, dict):
            return {k: enc(v) for k, v in value.items()}
        if isinstance(value, list):
            return [enc(v) for v in value]
        return value

    return enc(detail)


def batches(session: Session, limit: int = 200) -> list[dict[str, Any]]:
    rows = list(session.execute(select(Batch).order_by(Batch.id.desc()).limit(limit)).scalars())
    names = usernames(session, {b.created_by_id for b in rows if b.created_by_id})
    return [{"id": b.id, "channel": b.channel, "method": b.method, "state": b.state, "total": b.total,
             "filed": b.filed, "failed": b.failed, "created_at": b.created_at, "finished_at": b.finished_at,
             "created_by": names.get(b.created_by_id) if b.created_by_id else None} for b in rows]


def batch_progress(session: Session, batch_id: int) -> dict[str, Any] | None:
    """Live counts from the complaints (the batch's own counters are written when a run finishes)."""
    batch = session.get(Batch, batch_id)
    if batch is None:
        return None
    session.refresh(batch)
    counts = dict(session.execute(select(Complaint.state, func.count()).where(Complaint.batch_id == batch_id)
                                  .group_by(Complaint.state)).all())
    total = sum(counts.values())
    filed = sum(counts.get(s, 0) for s in FILED_STATES)
    return {"id": batch.id, "channel": batch.channel, "method": batch.method, "state": batch.state,
            "total": total, "filed": filed, "failed": counts.get("failed", 0),
            "queued": counts.get("queued", 0) + counts.get("submitting", 0),
            "by_state": {s: counts[s] for s in COMPLAINT_STATE_LABELS if counts.get(s)},
            "created_at": batch.created_at, "finished_at": batch.finished_at, "export_path": batch.export_path,
            "running": batch.state == "filing"}


def batch_complaints(session: Session, batch_id: int) -> list[dict[str, Any]]:
    rows = session.execute(select(Complaint, Post.title, Post.url, Case.id).join(Case, Case.id == Complaint.case_id)
                           .join(Post, Post.id == Case.post_id).where(Complaint.batch_id == batch_id)
                           .order_by(Complaint.id)).all()
    return [{**_complaint_brief(c), "subject": c.subject, "body": c.body, "client_ref": c.client_ref,
             "edited": c.edited, "case_id": case_id, "title": title or "", "url": url or "",
             "editable": c.state in EDITABLE_STATES} for c, title, url, case_id in rows]


def export_files(batch: Batch) -> list[dict[str, Any]]:
    """The files of an export batch's package, relative to its folder."""
    if not batch.export_path:
        return []
    root = Path(batch.export_path)
    if not root.is_dir():
        return []
    return [{"name": p.relative_to(root).as_posix(), "bytes": p.stat().st_size}
            for p in sorted(root.rglob("*")) if p.is_file()]


def export_file(batch: Batch, name: str) -> Path | None:
    """A file inside the batch's export folder, or None (never a path outside it)."""
    if not batch.export_path or not name or "\x00" in name:
        return None
    root = Path(batch.export_path).resolve()
    try:
        target = (root / name).resolve()
    except (OSError, ValueError):
        return None
    if not target.is_relative_to(root) or target == root or not target.is_file():
        return None
    return target
