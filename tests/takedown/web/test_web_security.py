"""Security of the review app: every route behind login, roles, CSRF, escaping of scraped text, session expiry,
login rate limit, headers."""

from __future__ import annotations

import re
import time

import pytest
from fastapi.routing import APIRoute

from takedown.auth import get_user, update_user
from takedown.db import session_scope
from tests.takedown.review_seed import PASSWORD, XSS_TITLE, make_user, seed_posts
from tests.takedown.web.conftest import form_token, login, login_as

PUBLIC = {"/login", "/healthz"}


def _routes(app) -> list[tuple[str, str]]:
    """Every route of the app's routers (pages, admin, API, public) but the two public ones."""
    from takedown.web.routes import admin, api, cases, pages, public

    found = []
    for route in [*public.router.routes, *pages.router.routes, *cases.router.routes, *admin.router.routes,
                  *api.router.routes]:
        if isinstance(route, APIRoute) and route.path not in PUBLIC:
            path = re.sub(r"\{[^}]+\}", "1", route.path)
            found += [(method, path) for method in sorted(route.methods)]
    return found


def test_every_route_without_a_session_redirects_to_login_or_answers_401(client, sqlite_engine):
    seed_posts(sqlite_engine, 2)
    routes = _routes(client.app)
    assert len(routes) > 25 and ("GET", "/queue") in routes and ("POST", "/api/undo") in routes
    for method, path in routes:
        response = client.request(method, path)
        if path.startswith("/api/"):
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.json()["detail"]
        else:
            assert response.status_code == 303, (method, path, response.status_code)
            assert response.headers["location"].startswith("/login?next="), (method, path)


def test_only_login_health_and_static_files_are_public(client):
    assert client.get("/login").status_code == 200
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/static/app.css").status_code == 200
    assert client.get("/docs").status_code == 303 and client.get("/openapi.json").status_code == 303
    assert client.get("/redoc").status_code == 404


def test_a_reviewer_cannot_reach_admin_pages_or_the_user_api(client, sqlite_engine):
    token = login_as(client, sqlite_engine, "rita", "reviewer")
    headers = {"X-CSRF-Token": token}
    assert client.get("/admin/users").status_code == 403
    assert client.post("/admin/users", data={"username": "x1", "password": "correct-horse-42", "role": "admin",
                                             "csrf_token": token}).status_code == 403
    assert client.post("/admin/users/1", data={"role": "admin", "csrf_token": token}).status_code == 403
    assert client.get("/api/users").status_code == 403
    assert client.post("/api/users", json={"username": "x2", "password": "correct-horse-42", "role": "admin"},
                       headers=headers).status_code == 403
    assert client.patch("/api/users/1", json={"role": "admin"}, headers=headers).status_code == 403
    assert client.get("/audit").status_code == 403 and client.get("/api/audit").status_code == 403
    assert client.post("/api/decisions/filter", headers=headers, json={
        "decision": "confirm", "filter": {"state": "queued"}, "expected_count": 0}).status_code == 403
    with session_scope(sqlite_engine) as session:
        assert get_user(session, "rita").role == "reviewer"
        assert get_user(session, "x1") is None and get_user(session, "x2") is None
    # The pages a reviewer works in are open, and the menu hides what is not.
    page = client.get("/queue")
    assert page.status_code == 200 and "/admin/users" not in page.text and "/audit" not in page.text


def test_a_lead_cannot_manage_users_but_an_admin_can(client, sqlite_engine):
    login_as(client, sqlite_engine, "lena", "lead")
    assert client.get("/admin/users").status_code == 403
    assert client.get("/audit").status_code == 200
    client.cookies.clear()
    login_as(client, sqlite_engine, "adam", "admin")
    assert client.get("/admin/users").status_code == 200 and client.get("/api/users").status_code == 200


def test_state_changing_requests_without_the_csrf_token_are_403(client, sqlite_engine):
    seeded = seed_posts(sqlite_engine, 1)
    pid = seeded.post_ids[0]
    # The login form itself needs the token.
    client.get("/login")
    assert client.post("/login", data={"username": "x", "password": "y"}).status_code == 403
    token = login_as(client, sqlite_engine, "adam", "admin")
    unsafe = [(m, p) for m, p in _routes(client.app) if m in {"POST", "PATCH", "PUT", "DELETE"}]
    assert len(unsafe) >= 8
    for method, path in unsafe:
        for headers in ({}, {"X-CSRF-Token": "forged"}):
            response = client.request(method, path, headers=headers, json={})
            assert response.status_code == 403, (method, path, headers, response.status_code)
    assert client.post(f"/posts/{pid}/decide", data={"decision": "confirm", "expected_state": "queued",
                                                     "csrf_token": "forged"}).status_code == 403
    with session_scope(sqlite_engine) as session:
        from takedown.models import Post

        assert session.get(Post, pid).review_state == "queued"
    # With the token, the same request goes through.
    ok = client.post(f"/api/posts/{pid}/decision", headers={"X-CSRF-Token": token},
                     json={"decision": "confirm", "expected_state": "queued"})
    assert ok.status_code == 200


def _assert_escaped(html: str) -> None:
    assert "<script>alert(1)</script>" not in html
    assert "<img src=x onerror" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in html


def test_a_script_title_renders_as_text_everywhere(client, sqlite_engine):
    seeded = seed_posts(sqlite_engine, 1, titles=[XSS_TITLE])
    with session_scope(sqlite_engine) as session:
        from takedown.models import Author

        author = session.get(Author, seeded.author_ids[0])
        author.nickname = XSS_TITLE
        author.bio = XSS_TITLE
    pid = seeded.post_ids[0]
    token = login_as(client, sqlite_engine, "adam", "admin")
    client.post(f"/api/posts/{pid}/decision", headers={"X-CSRF-Token": token},
                json={"decision": "confirm", "expected_state": "confirmed", "note": XSS_TITLE})
    client.post(f"/api/posts/{pid}/decision", headers={"X-CSRF-Token": token},
                json={"decision": "reject", "expected_state": "queued", "note": XSS_TITLE})
    for url in ["/queue?state=all", "/queue?q=script&state=all", f"/posts/{pid}", "/authors",
                f"/authors/{seeded.author_ids[0]}", "/audit"]:
        response = client.get(url)
        assert response.status_code == 200, url
        _assert_escaped(response.text)
    partial = client.get("/queue?state=all", headers={"HX-Request": "true", "HX-Target": "queue-results"})
    _assert_escaped(partial.text)
    api = client.get(f"/api/posts/{pid}")
    assert api.headers["content-type"].startswith("application/json")
    assert api.headers["x-content-type-options"] == "nosniff"
    assert api.json()["post"]["title"] == XSS_TITLE  # data stays data


def test_only_http_links_to_the_platform(client, sqlite_engine):
    seeded = seed_posts(sqlite_engine, 1)
    pid = seeded.post_ids[0]
    with session_scope(sqlite_engine) as session:
        from takedown.models import Post

        session.get(Post, pid).url = "javascript:alert(document.cookie)"
    login_as(client, sqlite_engine, "rita")
    html = client.get(f"/posts/{pid}").text
    assert "javascript:" not in html and 'id="platform-link"' not in html


def test_security_headers_and_session_cookie_flags(client, sqlite_engine):
    response = client.get("/login")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "max-age=7200" in cookie
    assert "<script>" not in response.text.replace('<script src="/static/', "")  # no inline script


def test_login_rotates_the_session_and_logout_ends_it(client, sqlite_engine):
    make_user(sqlite_engine, "rita")
    anonymous_token = form_token(client.get("/login").text)
    token = login(client, "rita")
    assert token != anonymous_token
    assert client.get("/queue").status_code == 200
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/queue").status_code == 303
    assert client.get("/api/me").status_code == 401


def test_session_expires(make_client, sqlite_engine, monkeypatch):
    client = make_client(sqlite_engine, web_session_idle_minutes=30, web_session_max_hours=1)
    login_as(client, sqlite_engine, "rita")
    assert client.get("/api/me").status_code == 200
    real = time.time
    # Idle for longer than the idle limit: the signed cookie is too old.
    monkeypatch.setattr(time, "time", lambda: real() + 31 * 60)
    assert client.get("/api/me").status_code == 401
    monkeypatch.setattr(time, "time", real)
    client.cookies.clear()
    login(client, "rita")
    # Active all along, but past the absolute lifetime.
    for minutes in (20, 40, 59):
        monkeypatch.setattr(time, "time", lambda m=minutes: real() + m * 60)
        assert client.get("/api/me").status_code == 200
    monkeypatch.setattr(time, "time", lambda: real() + 61 * 60)
    assert client.get("/api/me").status_code == 401


def test_a_password_reset_or_deactivation_ends_existing_sessions(client, make_client, sqlite_engine):
    login_as(client, sqlite_engine, "rita")
    with session_scope(sqlite_engine) as session:
        update_user(session, get_user(session, "rita"), by=None, password="a-new-password-1")
    assert client.get("/api/me").status_code == 401
    login(client, "rita", "a-new-password-1")
    with session_scope(sqlite_engine) as session:
        update_user(session, get_user(session, "rita"), by=None, is_active=False)
    assert client.get("/queue").status_code == 303


def test_login_is_rate_limited_per_username_and_address(client, sqlite_engine):
    make_user(sqlite_engine, "rita")
    token = form_token(client.get("/login").text)
    for _ in range(5):
        bad = client.post("/login", data={"username": "rita", "password": "wrong-guess", "csrf_token": token})
        assert bad.status_code == 401 and "用户名或密码错误" in bad.text
    blocked = client.post("/login", data={"username": "rita", "password": PASSWORD, "csrf_token": token})
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    assert "登录失败次数过多" in blocked.text
    # Another account from the same address is not locked out.
    make_user(sqlite_engine, "bob")
    assert login(client, "bob")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example"])
def test_login_never_redirects_off_site(client, sqlite_engine, target):
    make_user(sqlite_engine, "rita")
    token = form_token(client.get("/login").text)
    done = client.post("/login", data={"username": "rita", "password": PASSWORD, "csrf_token": token,
                                       "next": target})
    assert done.status_code == 303 and done.headers["location"] == "/queue"


def test_login_returns_to_the_page_asked_for(client, sqlite_engine):
    make_user(sqlite_engine, "rita")
    first = client.get("/queue?platform=douyin")
    assert first.headers["location"] == "/login?next=%2Fqueue%3Fplatform%3Ddouyin"
    page = client.get(first.headers["location"])
    done = client.post("/login", data={"username": "rita", "password": PASSWORD, "csrf_token": form_token(page.text),
                                       "next": "/queue?platform=douyin"})
    assert done.headers["location"] == "/queue?platform=douyin"
