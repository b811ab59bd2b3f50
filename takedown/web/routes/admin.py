"""User management: admins only. Every change is audited by takedown.auth."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from takedown.auth import UserError, create_user, update_user
from takedown.models import Role, User
from takedown.web import queries
from takedown.web.app import render
from takedown.web.security import get_db, login_and_csrf, require_role

router = APIRouter(prefix="/admin", include_in_schema=False,
                   dependencies=[Depends(login_and_csrf), Depends(require_role(Role.ADMIN))])


def _page(request: Request, db: Session, user: User, *, error: str = "", status: int = 200) -> Response:
    flash = request.session.pop("flash", "")
    return render(request, "admin_users.html", {"user": user, "users": queries.users(db), "error": error,
                                                "flash": flash}, status_code=status)


@router.get("/users")
def users_page(request: Request, user: User = Depends(require_role(Role.ADMIN)),
               db: Session = Depends(get_db)) -> Response:
    return _page(request, db, user)


@router.post("/users")
def add_user(request: Request, username: str = Form(...), password: str = Form(...), role: str = Form(...),
             user: User = Depends(require_role(Role.ADMIN)), db: Session = Depends(get_db)) -> Response:
    try:
        created = create_user(db, username, password, role, by=user)
    except UserError as exc:
        db.rollback()
        return _page(request, db, user, error=exc.zh, status=400)
    db.commit()
    request.session["flash"] = f"已创建用户 {created.username}"
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/users/{user_id}")
def change_user(user_id: int, request: Request, role: str = Form(""), is_active: str = Form(""),
                password: str = Form(""), user: User = Depends(require_role(Role.ADMIN)),
                db: Session = Depends(get_db)) -> Response:
    target = db.get(User, user_id)
    if target is None:
        raise HTTPException(404, f"用户 {user_id} 不存在")
    if target.id == user.id and (is_active == "0" or (role and role != Role.ADMIN)):
        return _page(request, db, user, error="不能停用自己或降低自己的角色", status=400)
    try:
        update_user(db, target, by=user, role=role or None,
                    is_active={"1": True, "0": False}.get(is_active), password=password or None)
    except UserError as exc:
        db.rollback()
        return _page(request, db, user, error=exc.zh, status=400)
    db.commit()
    request.session["flash"] = f"已更新用户 {target.username}"
    return RedirectResponse("/admin/users", status_code=303)
