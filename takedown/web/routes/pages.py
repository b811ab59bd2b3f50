"""The pages the team works in: queue, post, authors, dashboard, audit log, API docs. Behind login."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from sqlmodel import Session

from takedown import audit, review
from takedown.auth import ROLE_RANK
from takedown.models import Role, User
from takedown.web import present, queries
from takedown.web.app import render
from takedown.web.security import current_user, get_db, login_and_csrf, require_role

router = APIRouter(include_in_schema=False, dependencies=[Depends(login_and_csrf)])


@router.get("/")
def home() -> Response:
    return RedirectResponse("/queue", status_code=303)


@router.post("/logout")
def logout(request: Request, user: User = Depends(current_user), db: Session = Depends(get_db)) -> Response:
    audit.write(db, action="auth.logout", entity_type="user", user=user, changes=[(user.id, None, None)])
    db.commit()
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/queue")
def queue(request: Request, user: User = Depends(current_user), db: Session = Depends(get_db)) -> Response:
    settings = request.app.state.settings
    params = dict(request.query_params)
    limit = present.page_size(params.get("limit"), settings.web_page_size)
    error, page, qfilter = "", None, None
    try:
        qfilter = present.parse_filter(params, request.app.state.tz)
        page = review.queue_page(db, qfilter, threshold=settings.queue_threshold,
                                 after=review.Cursor.decode(params.get("after")), limit=limit)
    except review.ReviewError as exc:
        error = str(exc)
    context = {
        "user": user, "params": params, "filter": qfilter, "page": page, "error": error, "limit": limit,
        "threshold": settings.queue_threshold, "is_first_page": not params.get("after"),
        "first_url": present.page_url(params, None, limit),
        "next_url": present.page_url(params, page.next_cursor, limit) if page and page.next_cursor else None,
        "filter_query": present.filter_params(params),
    }
    if request.headers.get("hx-request") and request.headers.get("hx-target") == "queue-results":
        # The address bar gets the filter without its empty fields.
        clean = present.page_url(params, None, limit)
        if params.get("after"):
            clean += "&after=" + quote(params["after"], safe="")
        return render(request, "_queue_results.html", context, headers={"HX-Push-Url": clean})
    context["options"] = queries.filter_options(db)
    return render(request, "queue.html", context)


def _post_or_404(db: Session, post_id: int) -> dict:
    detail = queries.post_detail(db, post_id)
    if detail is None:
        raise HTTPException(404, f"帖子 {post_id} 不存在")
    return detail


def _post_context(request: Request, detail: dict) -> dict:
    reasons = list(enumerate(detail["reasons"], start=1))
    post, author = detail["post"], detail["author"]
    fields = {"title": post["title"], "desc": post["text"], "hashtags": " ".join(f"#{t}" for t in post["hashtags"] or [])}
    if author:
        fields["author_name"], fields["author_bio"] = author["nickname"], author["bio"]
    highlighted, found = {}, set()
    # Every match is marked wherever its text shows (the scorer's field says where it fired first).
    for name, text in fields.items():
        highlighted[name], hits = present.highlight(text or "", reasons)
        found |= hits
    settings = request.app.state.settings
    return {
        **detail, "numbered_reasons": reasons, "highlighted": highlighted, "found": found,
        "by_category": _by_category(detail["reasons"]),
        "platform_link": present.safe_link(post["url"]),
        "has_screenshot": queries.screenshot_path(settings.var_dir, post["id"]) is not None,
        "threshold": settings.queue_threshold,
    }


def _by_category(reasons: list[dict]) -> list[dict]:
    groups: dict[str, dict] = {}
    for r in reasons:
        group = groups.setdefault(r.get("category") or "", {"category": r.get("category") or "", "weight": 0.0,
                                                            "rules": 0})
        group["weight"] += float(r.get("weight") or 0)
        group["rules"] += 1
    return sorted(groups.values(), key=lambda g: -g["weight"])


@router.get("/posts/{post_id}")
def post_page(post_id: int, request: Request, user: User = Depends(current_user),
              db: Session = Depends(get_db)) -> Response:
    detail = _post_or_404(db, post_id)
    return render(request, "post.html", {"user": user, **_post_context(request, detail)})


@router.post("/posts/{post_id}/decide")
def post_decide(post_id: int, request: Request, decision: str = Form(...), expected_state: str = Form(...),
                note: str = Form(""), user: User = Depends(current_user), db: Session = Depends(get_db)) -> Response:
    """The post page's decision buttons (htmx): answers the decision panel with the outcome."""
    tz = request.app.state.tz
    result = review.decide(db, user, [(post_id, expected_state)], decision, note=note.strip()[:2000])
    db.commit()
    if not request.headers.get("hx-request"):  # a plain form post (no JavaScript): back to the page
        return RedirectResponse(f"/posts/{post_id}", status_code=303)
    detail = _post_or_404(db, post_id)
    message, conflict = "", ""
    if result.conflicts:
        conflict = present.conflict_message(result.conflicts[0], tz)
    elif result.applied:
        message = f"已标记为「{present.STATE_LABELS[result.state]}」。按 u 或点「撤销」可撤回。"
    else:
        message = "状态未变。"
    return render(request, "_decision_panel.html", {"user": user, "post": detail["post"], "message": message,
                                                    "conflict": conflict},
                  status_code=409 if conflict else 200)


@router.get("/posts/{post_id}/screenshot")
def post_screenshot(post_id: int, request: Request) -> Response:
    path = queries.screenshot_path(request.app.state.settings.var_dir, post_id)
    if path is None:
        raise HTTPException(404, "没有证据截图")
    return FileResponse(path, media_type="image/png")


@router.get("/authors")
def authors(request: Request, offset: int = 0, platform: str = "", user: User = Depends(current_user),
            db: Session = Depends(get_db)) -> Response:
    offset = max(0, offset)
    rows = queries.authors_by_risk(db, offset=offset, limit=51, platform=platform)
    return render(request, "authors.html", {"user": user, "authors": rows[:50], "offset": offset,
                                            "more": len(rows) > 50, "platform": platform})


@router.get("/authors/{author_id}")
def author_page(author_id: int, request: Request, user: User = Depends(current_user),
                db: Session = Depends(get_db)) -> Response:
    detail = queries.author_detail(db, author_id)
    if detail is None:
        raise HTTPException(404, f"作者 {author_id} 不存在")
    return render(request, "author.html", {"user": user, **detail})


def _dashboard_week(request: Request, week: str) -> str:
    """The ISO week asked for, or the current one (Asia/Shanghai); 400 for anything that is not a week."""
    from reports.metrics import parse_week, week_of
    from takedown import clock

    if not week:
        return week_of(clock.now(request.app.state.settings))
    try:
        parse_week(week)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    return week.strip()


@router.get("/dashboard")
def dashboard(request: Request, week: str = "", user: User = Depends(current_user),
              db: Session = Depends(get_db)) -> Response:
    data = queries.dashboard(db)
    if request.headers.get("hx-request") and request.headers.get("hx-target") == "crawl-runs":
        return render(request, "_crawl_runs.html", {"user": user, **data})
    from reports.metrics import weekly_metrics
    from reports.weekly import headline_figures

    week = _dashboard_week(request, week)
    weekly = weekly_metrics(db, week, trailing=request.app.state.settings.report_trailing_weeks)
    return render(request, "dashboard.html", {"user": user, **data, "weekly": weekly,
                                              "weekly_figures": headline_figures(weekly)})


@router.get("/dashboard/charts/{name}.png")
def dashboard_chart(request: Request, name: str, week: str = "", user: User = Depends(current_user),
                    db: Session = Depends(get_db)) -> Response:
    """The weekly report's charts, live from the database (the same functions as the e-mail's)."""
    from reports.charts import removal_time_chart, trend_chart
    from reports.metrics import weekly_metrics

    charts = {"trend": trend_chart, "removal_time": removal_time_chart}
    if name not in charts:
        raise HTTPException(404, f"没有图表 {name}")
    week = _dashboard_week(request, week)
    metrics = weekly_metrics(db, week, trailing=request.app.state.settings.report_trailing_weeks)
    return Response(charts[name](metrics), media_type="image/png", headers={"Cache-Control": "no-store"})


@router.get("/audit")
def audit_page(request: Request, entity_type: str = "", entity_id: str = "", actor: str = "",
               before: int | None = None, user: User = Depends(require_role(Role.LEAD)),
               db: Session = Depends(get_db)) -> Response:
    entries = queries.audit_entries(db, entity_type=entity_type, entity_id=entity_id, actor=actor,
                                    before_id=before, limit=101)
    return render(request, "audit.html", {
        "user": user, "entries": entries[:100], "more": len(entries) > 100,
        "next_before": entries[99]["id"] if len(entries) > 100 else None,
        "entity_type": entity_type, "entity_id": entity_id, "actor": actor,
    })


@router.get("/docs")
def docs(request: Request, user: User = Depends(current_user)) -> Response:
    """The API reference, rendered from the OpenAPI document (no third-party script, so the CSP holds)."""
    spec = request.app.openapi()
    operations = []
    for path, methods in spec.get("paths", {}).items():
        for method, op in methods.items():
            operations.append({"path": path, "method": method.upper(), "summary": op.get("summary", ""),
                               "description": op.get("description", ""), "parameters": op.get("parameters", []),
                               "body": op.get("requestBody"), "responses": sorted(op.get("responses", {})),
                               "tags": op.get("tags", [])})
    return render(request, "docs.html", {"user": user, "spec": spec, "operations": operations,
                                         "roles": sorted(ROLE_RANK, key=ROLE_RANK.get)})


@router.get("/openapi.json")
def openapi(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())
