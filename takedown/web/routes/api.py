"""The JSON API: the same resources and the same session as the pages; 401 instead of a redirect.

State-changing calls need the `X-CSRF-Token` header (the token comes with GET /api/me). The queue's keyboard
actions in the browser use these endpoints too.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlmodel import Session

from takedown import review
from takedown.auth import UserError, create_user, update_user
from takedown.models import Role, User
from takedown.web import present, queries
from takedown.web.security import csrf_token, current_user, get_db, login_and_csrf, require_role

router = APIRouter(prefix="/api", dependencies=[Depends(login_and_csrf)],
                   responses={401: {"description": "未登录或会话已过期"}, 403: {"description": "角色不足或缺少 CSRF 令牌"}})

Decision = Literal["confirm", "reject", "duplicate"]


# What each queue filter means (query parameters and FilterIn alike).
_D = {
    "state": "审核状态：new/queued/confirmed/rejected/duplicate/official/all",
    "platform": "平台代码，如 douyin、bilibili",
    "keyword": "发现该帖的搜索关键词",
    "min_score": "最低分（默认为入队阈值）",
    "max_score": "最高分",
    "brand": "品牌 id：标题或正文提及该品牌名或别名",
    "found_from": "发现日期起（YYYY-MM-DD，含）",
    "found_to": "发现日期止（YYYY-MM-DD，含）",
    "q": "标题与正文搜索（不区分大小写）",
}


class FilterIn(BaseModel):
    state: str = Field("queued", description=_D["state"])
    platform: str = Field("", description=_D["platform"])
    keyword: str = Field("", description=_D["keyword"])
    min_score: str = Field("", description=_D["min_score"])
    max_score: str = Field("", description=_D["max_score"])
    brand: str = Field("", description=_D["brand"])
    found_from: str = Field("", description=_D["found_from"])
    found_to: str = Field("", description=_D["found_to"])
    q: str = Field("", description=_D["q"])


class DecisionIn(BaseModel):
    decision: Decision
    expected_state: str = Field(..., description="审核员看到的状态；若帖子已被他人处理则返回 409")
    note: str = Field("", max_length=2000)
    duplicate_of: int | None = Field(None, description="标为重复时的原帖 id（可选）")


class BulkItem(BaseModel):
    id: int
    expected_state: str


class BulkDecisionIn(BaseModel):
    decision: Decision
    items: list[BulkItem] = Field(..., min_length=1, max_length=10_000)
    note: str = Field("", max_length=2000)


class FilterDecisionIn(BaseModel):
    decision: Decision
    filter: FilterIn
    expected_count: int = Field(..., ge=0, description="审核员确认前看到的数量（GET /api/queue/count）")


class UserIn(BaseModel):
    username: str
    password: str
    role: Literal["reviewer", "lead", "admin"] = "reviewer"


class UserPatch(BaseModel):
    role: Literal["reviewer", "lead", "admin"] | None = None
    is_active: bool | None = None
    password: str | None = None


def _filter(request: Request, params: dict[str, str]) -> review.QueueFilter:
    return present.parse_filter(params, request.app.state.tz)


@router.get("/me", summary="当前用户与 CSRF 令牌")
def me(request: Request, user: User = Depends(current_user)) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "role": user.role, "is_demo": user.is_demo,
            "csrf_token": csrf_token(request)}


@router.get("/queue", summary="审核队列（按分数从高到低，键集分页）")
def queue(request: Request, state: str = Query("queued", description=_D["state"]),
          platform: str = Query("", description=_D["platform"]), keyword: str = Query("", description=_D["keyword"]),
          min_score: str = Query("", description=_D["min_score"]), max_score: str = Query("", description=_D["max_score"]),
          brand: str = Query("", description=_D["brand"]), found_from: str = Query("", description=_D["found_from"]),
          found_to: str = Query("", description=_D["found_to"]), q: str = Query("", description=_D["q"]),
          after: str = Query("", description="上一页返回的 next_cursor"), limit: int = Query(50, ge=1, le=200),
          _user: User = Depends(current_user), db: Session = Depends(get_db)) -> dict[str, Any]:
    params = dict(request.query_params)
    page = review.queue_page(db, _filter(request, params), threshold=request.app.state.settings.queue_threshold,
                             after=review.Cursor.decode(after), limit=limit)
    return {"items": page.rows, "next_cursor": page.next_cursor.encode() if page.next_cursor else None}


@router.get("/queue/count", summary="筛选结果的数量（批量处理前确认）")
def queue_count(request: Request, state: str = Query("queued", description=_D["state"]),
                platform: str = Query("", description=_D["platform"]),
                keyword: str = Query("", description=_D["keyword"]),
                min_score: str = Query("", description=_D["min_score"]),
                max_score: str = Query("", description=_D["max_score"]), brand: str = Query("", description=_D["brand"]),
                found_from: str = Query("", description=_D["found_from"]),
                found_to: str = Query("", description=_D["found_to"]), q: str = Query("", description=_D["q"]),
                _user: User = Depends(current_user), db: Session = Depends(get_db)) -> dict[str, Any]:
    params = dict(request.query_params)
    qfilter = _filter(request, params)
    n = review.count(db, qfilter, threshold=request.app.state.settings.queue_threshold)
    return {"count": n, "state": qfilter.state, "state_label": present.STATE_LABELS.get(qfilter.state, ""),
            "max": request.app.state.settings.web_bulk_filter_max}


@router.get("/posts/{post_id}", summary="帖子详情：文本、命中规则、分数、联系方式、作者、发现记录、审核历史")
def post(post_id: int, _user: User = Depends(current_user), db: Session = Depends(get_db)) -> dict[str, Any]:
    detail = queries.post_detail(db, post_id)
    if detail is None:
        raise HTTPException(404, f"帖子 {post_id} 不存在")
    return detail


def _result(request: Request, result: review.DecisionResult, *, undo: bool = False) -> JSONResponse:
    body = present.result_json(result, request.app.state.tz, undo=undo)
    conflict = bool(result.conflicts) and not result.applied and not result.unchanged
    return JSONResponse(body, status_code=409 if conflict else 200)


@router.post("/posts/{post_id}/decision", summary="对一条帖子做出决定（409：已被他人处理）")
def decide_one(post_id: int, body: DecisionIn, request: Request, user: User = Depends(current_user),
               db: Session = Depends(get_db)) -> JSONResponse:
    result = review.decide(db, user, [(post_id, body.expected_state)], body.decision, note=body.note.strip(),
                           duplicate_of=body.duplicate_of)
    db.commit()
    return _result(request, result)


@router.post("/decisions", summary="批量决定所选帖子（已被他人处理的列在 conflicts 中）")
def decide_many(body: BulkDecisionIn, request: Request, user: User = Depends(current_user),
                db: Session = Depends(get_db)) -> JSONResponse:
    if len(body.items) > request.app.state.settings.web_bulk_filter_max:
        raise review.ReviewError(f"一次最多处理 {request.app.state.settings.web_bulk_filter_max} 条")
    result = review.decide(db, user, [(i.id, i.expected_state) for i in body.items], body.decision,
                           note=body.note.strip(), kind="bulk" if len(body.items) > 1 else "single")
    db.commit()
    return _result(request, result)


@router.post("/decisions/filter", summary="批量决定整个筛选结果（组长及以上；数量变化时 409）")
def decide_filter(body: FilterDecisionIn, request: Request, user: User = Depends(require_role(Role.LEAD)),
                  db: Session = Depends(get_db)) -> JSONResponse:
    settings = request.app.state.settings
    try:
        result = review.decide_filter(db, user, _filter(request, body.filter.model_dump()), body.decision,
                                      threshold=settings.queue_threshold, expected_count=body.expected_count,
                                      max_posts=settings.web_bulk_filter_max)
    except review.CountChanged as exc:
        db.rollback()
        return JSONResponse({"detail": str(exc), "count": exc.actual}, status_code=409)
    db.commit()
    return _result(request, result)


@router.post("/undo", summary="撤销自己的上一次操作")
def undo(request: Request, user: User = Depends(current_user), db: Session = Depends(get_db)) -> JSONResponse:
    try:
        result = review.undo_last(db, user)
    except review.NothingToUndo as exc:
        return JSONResponse({"detail": str(exc)}, status_code=404)
    db.commit()
    return _result(request, result, undo=True)


@router.get("/authors", summary="作者，按风险从高到低")
def authors(offset: int = Query(0, ge=0), limit: int = Query(50, ge=1, le=200), platform: str = "",
            _user: User = Depends(current_user), db: Session = Depends(get_db)) -> dict[str, Any]:
    return {"items": queries.authors_by_risk(db, offset=offset, limit=limit, platform=platform)}


@router.get("/authors/{author_id}", summary="作者详情与其帖子")
def author(author_id: int, _user: User = Depends(current_user), db: Session = Depends(get_db)) -> dict[str, Any]:
    detail = queries.author_detail(db, author_id)
    if detail is None:
        raise HTTPException(404, f"作者 {author_id} 不存在")
    return detail


@router.get("/dashboard", summary="按状态与平台的数量、最近的抓取任务")
def dashboard(_user: User = Depends(current_user), db: Session = Depends(get_db)) -> dict[str, Any]:
    data = queries.dashboard(db)
    data.pop("table")
    return data


@router.get("/audit", summary="审计日志（组长及以上）")
def audit_log(entity_type: str = "", entity_id: str = "", actor: str = "", before: int | None = None,
              limit: int = Query(100, ge=1, le=500), _user: User = Depends(require_role(Role.LEAD)),
              db: Session = Depends(get_db)) -> dict[str, Any]:
    return {"items": queries.audit_entries(db, entity_type=entity_type, entity_id=entity_id, actor=actor,
                                           before_id=before, limit=limit)}


@router.get("/users", summary="用户列表（管理员）")
def users(_user: User = Depends(require_role(Role.ADMIN)), db: Session = Depends(get_db)) -> dict[str, Any]:
    return {"items": queries.users(db)}


@router.post("/users", status_code=201, summary="创建用户（管理员）")
def add_user(body: UserIn, user: User = Depends(require_role(Role.ADMIN)),
             db: Session = Depends(get_db)) -> dict[str, Any]:
    try:
        created = create_user(db, body.username, body.password, body.role, by=user)
    except UserError as exc:
        db.rollback()
        raise HTTPException(400, exc.zh) from None
    db.commit()
    return {"id": created.id, "username": created.username, "role": created.role}


@router.patch("/users/{user_id}", summary="修改用户角色、启用状态或密码（管理员）")
def change_user(user_id: int, body: UserPatch, user: User = Depends(require_role(Role.ADMIN)),
                db: Session = Depends(get_db)) -> dict[str, Any]:
    target = db.get(User, user_id)
    if target is None:
        raise HTTPException(404, f"用户 {user_id} 不存在")
    if target.id == user.id and (body.is_active is False or (body.role and body.role != Role.ADMIN)):
        raise HTTPException(400, "不能停用自己或降低自己的角色")
    try:
        update_user(db, target, by=user, role=body.role, is_active=body.is_active, password=body.password)
    except UserError as exc:
        db.rollback()
        raise HTTPException(400, exc.zh) from None
    db.commit()
    return {"id": target.id, "username": target.username, "role": target.role, "is_active": target.is_active}


@router.get("/cases", summary="案件列表：状态、渠道、SLA 剩余/超期、升级级别（可按状态、渠道、超期筛选）")
def cases(request: Request, state: str = "", channel: str = "", overdue: bool = False,
          offset: int = Query(0, ge=0), limit: int = Query(50, ge=1, le=200), _user: User = Depends(current_user),
          db: Session = Depends(get_db)) -> dict[str, Any]:
    from takedown import clock
    from takedown.web import cases as cq

    page = cq.cases_page(db, state=state, channel=channel, overdue=overdue, offset=offset, limit=limit,
                         now=clock.now(request.app.state.settings))
    return cq.timeline_json({k: page[k] for k in ("items", "more", "offset", "limit", "counts", "total",
                                                   "overdue_count")})


@router.get("/cases/{case_id}", summary="案件详情与时间线：状态变更、投诉、平台答复、复查、取证")
def case(case_id: int, request: Request, _user: User = Depends(current_user),
         db: Session = Depends(get_db)) -> dict[str, Any]:
    from takedown import clock
    from takedown.web import cases as cq

    detail = cq.case_detail(db, case_id, now=clock.now(request.app.state.settings))
    if detail is None:
        raise HTTPException(404, f"案件 {case_id} 不存在")
    return cq.timeline_json(detail)


@router.get("/batches/{batch_id}", summary="投诉批次的提交进度：已提交、失败、总数、每件投诉的状态")
def batch(batch_id: int, request: Request, _user: User = Depends(current_user),
          db: Session = Depends(get_db)) -> dict[str, Any]:
    from takedown.complaints.batches import batch_summary
    from takedown.web import cases as cq

    progress = cq.batch_progress(db, batch_id)
    if progress is None:
        raise HTTPException(404, f"批次 {batch_id} 不存在")
    thread = request.app.state.filing_threads.get(batch_id)
    progress["running"] = progress["running"] or bool(thread and thread.is_alive())
    progress["error"] = request.app.state.filing_errors.get(batch_id, "")
    progress["complaints"] = batch_summary(db, batch_id)["complaints"]
    return cq.timeline_json(progress)
