"""The only routes without a session: the login form and the health check."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import text
from sqlmodel import Session

from takedown import audit
from takedown.auth import authenticate
from takedown.web.app import render
from takedown.web.security import check_csrf, get_db, safe_next, start_session

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/healthz")
def healthz(db: Session = Depends(get_db)) -> JSONResponse:
    db.execute(text("SELECT 1"))
    return JSONResponse({"status": "ok"})


@router.get("/login")
def login_form(request: Request, next: str = "") -> Response:
    if request.session.get("uid"):
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", {"next": safe_next(next), "username": ""})


@router.post("/login")
def login(request: Request, username: str = Form(""), password: str = Form(""), next: str = Form(""),
          db: Session = Depends(get_db)) -> Response:
    limiter = request.app.state.login_limiter
    address = _client(request)
    context = {"next": safe_next(next), "username": username}
    wait = limiter.retry_after(username, address)
    if wait:
        minutes = max(1, round(wait / 60))
        return render(request, "login.html", {**context, "error": f"登录失败次数过多，请约 {minutes} 分钟后再试。"},
                      status_code=429, headers={"Retry-After": str(wait)})
    user = authenticate(db, username, password) if username and password else None
    if user is None:
        limiter.failed(username, address)
        return render(request, "login.html", {**context, "error": "用户名或密码错误。"}, status_code=401)
    limiter.succeeded(username, address)
    audit.write(db, action="auth.login", entity_type="user", user=user, changes=[(user.id, None, {"ip": address})])
    db.commit()
    start_session(request, user)
    return RedirectResponse(safe_next(next), status_code=303)
