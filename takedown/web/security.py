"""Sessions, login checks, roles, CSRF and security headers for the web app.

The session is a signed cookie (Starlette's SessionMiddleware: itsdangerous, HttpOnly, SameSite=Lax) holding the
user id, the login time, a fingerprint of the password hash (a password reset ends older sessions) and the CSRF
token. It ends after `web_session_idle_minutes` without a request (the cookie's signed age) and in any case
`web_session_max_hours` after login.

Every state-changing request (POST, PUT, PATCH, DELETE) must carry the session's CSRF token, in the form field
`csrf_token` or the `X-CSRF-Token` header; otherwise 403.
"""

from __future__ import annotations

import hmac
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from fastapi import Depends, Request
from sqlmodel import Session

from takedown.auth import has_role, session_version
from takedown.models import User
from takedown.settings import Settings

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


class LoginRequired(Exception):
    """No valid session: pages redirect to /login, the API answers 401."""


class Forbidden(Exception):
    """Logged in, but the role does not allow this."""


class CSRFError(Exception):
    """A state-changing request without the session's CSRF token."""


def session_secret(settings: Settings) -> str:
    """The configured secret, or one made once and kept in var_dir/web_secret (mode 0600)."""
    if settings.web_session_secret:
        return settings.web_session_secret
    path = Path(settings.var_dir) / "web_secret"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secret)
    return secret


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def check_csrf(request: Request) -> None:
    if request.method not in UNSAFE_METHODS:
        return
    expected = request.session.get("csrf")
    sent = request.headers.get(CSRF_HEADER)
    if not sent and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()  # cached on the request: the route reads the same form
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(expected.encode(), sent.encode()):
        raise CSRFError()


def get_db(request: Request) -> Iterator[Session]:
    """A session per request. Routes that write commit themselves, so errors show before the response."""
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session


def start_session(request: Request, user: User) -> None:
    """After a successful login: a fresh session (new CSRF token, no fixation)."""
    request.session.clear()
    request.session.update({"uid": user.id, "sv": session_version(user), "iat": int(time.time()),
                            "csrf": secrets.token_urlsafe(32)})


def current_user(request: Request, db: Session = Depends(get_db)) -> User:
    uid = request.session.get("uid")
    if not uid:
        raise LoginRequired()
    settings: Settings = request.app.state.settings
    now = time.time()
    if now - float(request.session.get("iat", 0)) > settings.web_session_max_hours * 3600:
        request.session.clear()
        raise LoginRequired()
    user = db.get(User, uid)
    if user is None or not user.is_active or request.session.get("sv") != session_version(user):
        request.session.clear()
        raise LoginRequired()
    if now - float(request.session.get("seen", 0)) >= 60:
        # A changed session is signed again with a new timestamp: the idle limit counts from the last request.
        request.session["seen"] = int(now)
    return user


async def login_and_csrf(request: Request, user: User = Depends(current_user)) -> None:
    """Every protected route: first a valid session, then (for changes) the CSRF token."""
    await check_csrf(request)


def require_role(role: str):
    def check(user: User = Depends(current_user)) -> User:
        if not has_role(user, role):
            raise Forbidden()
        return user

    return check


def login_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/login?next={quote(target, safe='')}"


def safe_next(value: str | None) -> str:
    """Only a path on this site: no scheme, no host, no protocol-relative //."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/queue"
    return value


class SecurityHeadersMiddleware:
    """CSP without inline script, no framing, no sniffing; pages with data are not cached."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(SECURITY_HEADERS)
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
