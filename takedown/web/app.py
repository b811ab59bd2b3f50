"""The review web app: FastAPI, server-rendered Jinja2 pages (autoescaped, Chinese UI), htmx, a JSON API."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from takedown.auth import LoginRateLimiter, has_role
from takedown.db import make_engine
from takedown.review import ReviewError
from takedown.settings import Settings, get_settings
from takedown.web import cases, present
from takedown.web.security import (
    CSRFError,
    Forbidden,
    LoginRequired,
    SecurityHeadersMiddleware,
    csrf_token,
    login_url,
    session_secret,
)

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "takedown_session"


def make_templates(settings: Settings) -> Jinja2Templates:
    tz = present.zone(settings.web_timezone)
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True, trim_blocks=True,
                      lstrip_blocks=True)
    env.filters["localtime"] = lambda value, seconds=False: present.fmt_time(value, tz, seconds)
    env.filters["state_label"] = lambda s: present.STATE_LABELS.get(s or "", s or "")
    env.filters["platform_label"] = lambda p: present.PLATFORM_LABELS.get(p or "", p or "")
    env.filters["role_label"] = lambda r: present.ROLE_LABELS.get(r or "", r or "")
    env.filters["category_label"] = lambda c: present.CATEGORY_LABELS.get(c or "", c or "")
    env.filters["field_label"] = lambda f: present.FIELD_LABELS.get(f or "", f or "")
    env.filters["action_label"] = lambda a: present.ACTION_LABELS.get(a or "", a or "")
    env.filters["crawl_status_label"] = lambda s: present.CRAWL_STATUS_LABELS.get(s or "", s or "")
    env.filters["case_state_label"] = lambda s: cases.CASE_STATE_LABELS.get(s or "", s or "")
    env.filters["complaint_state_label"] = lambda s: cases.COMPLAINT_STATE_LABELS.get(s or "", s or "")
    env.filters["batch_state_label"] = lambda s: cases.BATCH_STATE_LABELS.get(s or "", s or "")
    env.filters["method_label"] = lambda m: cases.METHOD_LABELS.get(m or "", m or "")
    env.filters["channel_label"] = lambda c: cases.CHANNEL_LABELS.get(c or "", c or "")
    env.filters["observed_label"] = lambda o: cases.OBSERVED_LABELS.get(o or "", o or "")
    env.filters["hours"] = lambda v: "—" if v is None else f"{v:.1f} 小时"
    env.filters["score"] = lambda v: "—" if v is None else f"{v:.3f}"
    env.filters["safe_link"] = present.safe_link
    env.filters["as_json"] = lambda v: json.dumps(v, ensure_ascii=False, default=str)  # plain text: autoescaped
    env.globals.update(has_role=has_role, STATE_LABELS=present.STATE_LABELS,
                       PLATFORM_LABELS=present.PLATFORM_LABELS, DECISION_LABELS=present.DECISION_LABELS,
                       ROLE_LABELS=present.ROLE_LABELS, PAGE_SIZES=present.PAGE_SIZES,
                       CASE_STATE_LABELS=cases.CASE_STATE_LABELS, METHOD_LABELS=cases.METHOD_LABELS)
    return Jinja2Templates(env=env)


def render(request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200,
           headers: dict[str, str] | None = None) -> Response:
    context = {"csrf_token": csrf_token(request), "user": None, **(context or {})}
    return request.app.state.templates.TemplateResponse(request, name, context, status_code=status_code,
                                                        headers=headers)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, _exc: LoginRequired) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": "未登录或会话已过期"}, status_code=401)
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": login_url(request)})
        return RedirectResponse(login_url(request), status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, _exc: Forbidden) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": "无权访问：需要更高的角色"}, status_code=403)
        return render(request, "error.html", {"title": "无权访问", "message": "你的角色不能访问此页面。"}, 403)

    @app.exception_handler(CSRFError)
    async def csrf_failed(request: Request, _exc: CSRFError) -> Response:
        message = "请求缺少有效的 CSRF 令牌，请刷新页面后重试。"
        if _wants_json(request) or request.headers.get("hx-request"):
            return JSONResponse({"detail": message}, status_code=403)
        return render(request, "error.html", {"title": "请求被拒绝", "message": message}, 403)

    @app.exception_handler(ReviewError)
    async def bad_review_request(request: Request, exc: ReviewError) -> Response:
        if _wants_json(request) or request.headers.get("hx-request"):
            return JSONResponse({"detail": str(exc)}, status_code=400)
        return render(request, "error.html", {"title": "请求无效", "message": str(exc)}, 400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        title = {404: "页面不存在", 405: "不支持的请求"}.get(exc.status_code, "出错了")
        return render(request, "error.html", {"title": title, "message": str(exc.detail)}, exc.status_code)


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    from takedown.web.routes import admin, api, pages, public
    from takedown.web.routes import cases as case_routes

    settings = settings or get_settings()
    engine = engine or make_engine(settings.resolved_database_url)
    app = FastAPI(
        title="takedown 审核 API",
        description="审核队列、帖子、作者、仪表盘与用户管理。与网页使用同一登录会话；修改类请求须带 X-CSRF-Token 头"
                    "（令牌见 GET /api/me）。",
        version="1",
        docs_url=None, redoc_url=None, openapi_url=None,  # served behind login by routes/pages.py
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.tz = present.zone(settings.web_timezone)
    app.state.templates = make_templates(settings)
    app.state.login_limiter = LoginRateLimiter(max_failures=settings.web_login_max_failures,
                                               window=float(settings.web_login_window_seconds))
    app.add_middleware(SessionMiddleware, secret_key=session_secret(settings), session_cookie=SESSION_COOKIE,
                       max_age=settings.web_session_idle_minutes * 60, same_site="lax",
                       https_only=settings.web_cookie_secure)
    app.add_middleware(SecurityHeadersMiddleware)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.state.filing_threads = {}  # batch id -> the thread filing it (web-started runs)
    app.state.filing_errors = {}  # batch id -> why its last web-started run stopped
    app.state.filing_lock = threading.Lock()
    app.state.export_pdf = True
    for module in (public, pages, case_routes, admin, api):
        app.include_router(module.router)
    _install_error_handlers(app)
    return app
