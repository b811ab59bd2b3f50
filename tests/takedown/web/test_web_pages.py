"""The pages: queue (full and htmx partial), post page, authors, dashboard, audit log, user management, API docs,
and the demo login."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select
from sqlmodel import Session

from takedown.auth import authenticate, get_user
from takedown.db import session_scope
from takedown.models import AuditLog, User
from takedown.web.serve import ensure_demo_user
from tests.takedown.review_seed import seed_posts
from tests.takedown.web.conftest import form_token, login, login_as


def _row_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr class="qrow" data-id="(\d+)"', html)]


def test_queue_page_lists_the_queue_and_filters_with_an_htmx_partial(client, sqlite_engine):
    douyin = seed_posts(sqlite_engine, 5, platform="douyin")
    bili = seed_posts(sqlite_engine, 3, platform="bilibili", start_index=50, top_score=0.9895)
    login_as(client, sqlite_engine, "rita")
    page = client.get("/queue")
    assert page.status_code == 200 and "审核队列" in page.text and 'id="help"' in page.text
    assert _row_ids(page.text) == [douyin.post_ids[0], bili.post_ids[0], douyin.post_ids[1], bili.post_ids[1],
                                   douyin.post_ids[2], bili.post_ids[2], douyin.post_ids[3], douyin.post_ids[4]]
    assert "停息挂账" in page.text and "宣称可停息挂账" in page.text  # reasons with explanations
    partial = client.get("/queue?platform=bilibili", headers={"HX-Request": "true", "HX-Target": "queue-results"})
    assert "<html" not in partial.text and _row_ids(partial.text) == bili.post_ids
    paged = client.get("/queue?limit=3")
    next_url = re.search(r'href="(/queue\?[^"]*after=[^"]+)"', paged.text).group(1).replace("&amp;", "&")
    assert _row_ids(client.get(next_url).text) == _row_ids(page.text)[3:6]
    bad = client.get("/queue?min_score=x")
    assert bad.status_code == 200 and "最低分不是数字" in bad.text


def test_post_page_shows_matches_score_contacts_author_sightings_and_history(client, sqlite_engine, tmp_path):
    seeded = seed_posts(sqlite_engine, 3, authors=1)
    pid = seeded.post_ids[0]
    token = login_as(client, sqlite_engine, "rita")
    client.post(f"/api/posts/{pid}/decision", headers={"X-CSRF-Token": token},
                json={"decision": "confirm", "expected_state": "queued", "note": "典型"})
    html = client.get(f"/posts/{pid}").text
    # The text "停息挂账" in the post is marked and numbered, with the rule's explanation.
    assert re.search(r'<mark class="hit" title="宣称可停息挂账[^"]*" data-reason="1">停息挂账<sup>1</sup></mark>', html)
    assert "加薇 cz573982a" in html and "promise.stop_interest" in html
    assert "承诺话术" in html and "1.80" in html  # score breakdown by category
    assert "cz573982a" in html and "债务规划师小王0" in html and "专注债务优化十年" in html
    assert "该作者的其他帖子" in html
    assert "发现记录" in html and "停息挂账" in html
    assert re.search(r"rita</td><td>审核决定</td>\s*<td>待审核</td>\s*<td>已确认违规（典型）", html)
    assert 'href="https://www.douyin.com/video/7300000000000000000"' in html and 'rel="noopener noreferrer"' in html
    assert "暂无证据截图" in html
    shot = tmp_path / "var" / "evidence" / str(pid) / "screenshot.png"
    shot.parent.mkdir(parents=True)
    shot.write_bytes(b"\x89PNG\r\n\x1a\n")
    assert f'src="/posts/{pid}/screenshot"' in client.get(f"/posts/{pid}").text
    assert client.get(f"/posts/{pid}/screenshot").content.startswith(b"\x89PNG")
    assert client.get("/posts/99999").status_code == 404


def test_post_page_decision_panel_reports_a_conflict(client, make_client, sqlite_engine):
    seeded = seed_posts(sqlite_engine, 1)
    pid = seeded.post_ids[0]
    token = login_as(client, sqlite_engine, "rita")
    other = make_client(sqlite_engine)
    other_token = login_as(other, sqlite_engine, "bob")
    other.post(f"/api/posts/{pid}/decision", headers={"X-CSRF-Token": other_token},
               json={"decision": "reject", "expected_state": "queued"})
    answer = client.post(f"/posts/{pid}/decide", headers={"HX-Request": "true"},
                         data={"decision": "confirm", "expected_state": "queued", "csrf_token": token})
    assert answer.status_code == 409
    assert "已被 bob 于" in answer.text and "已驳回" in answer.text and 'id="decision-panel"' in answer.text
    again = client.post(f"/posts/{pid}/decide", headers={"HX-Request": "true"},
                        data={"decision": "confirm", "expected_state": "rejected", "csrf_token": token})
    assert again.status_code == 200 and "已标记为「已确认违规」" in again.text


def test_authors_dashboard_and_audit_pages(client, sqlite_engine):
    seeded = seed_posts(sqlite_engine, 4, authors=2)
    token = login_as(client, sqlite_engine, "lena", "lead")
    client.post(f"/api/posts/{seeded.post_ids[0]}/decision", headers={"X-CSRF-Token": token},
                json={"decision": "confirm", "expected_state": "queued"})
    authors = client.get("/authors").text
    assert authors.index("债务规划师小王0") < authors.index("债务规划师小李1")  # risk 0.9 before 0.8
    assert f'href="/posts/{seeded.post_ids[0]}"' in authors  # with their top posts
    author = client.get(f"/authors/{seeded.author_ids[0]}").text
    assert author.count('href="/posts/') == 2 and "cz573982a" in author
    board = client.get("/dashboard").text
    assert "risk control: captcha" in board and "验证码拦截" in board and "抖音" in board
    runs = client.get("/dashboard", headers={"HX-Request": "true", "HX-Target": "crawl-runs"}).text
    assert "<html" not in runs and "risk control: captcha" in runs
    audit = client.get("/audit?entity_type=post").text
    assert "审核决定" in audit and f"帖子 {seeded.post_ids[0]}" in audit and "lena" in audit


def test_admin_creates_and_changes_users_in_the_page(client, sqlite_engine):
    token = login_as(client, sqlite_engine, "adam", "admin")
    made = client.post("/admin/users", data={"username": "审核员甲", "password": "correct-horse-42",
                                             "role": "reviewer", "csrf_token": token})
    assert made.status_code == 303
    page = client.get("/admin/users").text
    assert "已创建用户 审核员甲" in page and "审核员甲" in page
    dup = client.post("/admin/users", data={"username": "审核员甲", "password": "correct-horse-42",
                                            "role": "reviewer", "csrf_token": token})
    assert dup.status_code == 400 and "已存在" in dup.text
    with Session(sqlite_engine) as session:
        uid = get_user(session, "审核员甲").id
    client.post(f"/admin/users/{uid}", data={"role": "lead", "is_active": "1", "password": "", "csrf_token": token})
    with Session(sqlite_engine) as session:
        assert session.get(User, uid).role == "lead"
        entries = session.execute(select(AuditLog).where(AuditLog.entity_type == "user",
                                                         AuditLog.entity_id == str(uid))
                                  .order_by(AuditLog.id)).scalars().all()
    assert [(e.action, e.actor) for e in entries] == [("user.create", "adam"), ("user.update", "adam")]
    assert entries[1].before["role"] == "reviewer" and entries[1].after["role"] == "lead"


def test_docs_page_lists_the_api(client, sqlite_engine):
    login_as(client, sqlite_engine, "rita")
    docs = client.get("/docs").text
    assert "/api/queue" in docs and "/api/undo" in docs and "撤销自己的上一次操作" in docs


def test_demo_user_is_a_lead_marked_demo_with_a_fresh_password(client, sqlite_engine, tmp_path: Path):
    name, password = ensure_demo_user(sqlite_engine)
    name2, password2 = ensure_demo_user(sqlite_engine)
    assert name == name2 and password != password2
    with session_scope(sqlite_engine) as session:
        user = get_user(session, name)
        assert user.role == "lead" and user.is_demo
        assert authenticate(session, name, password) is None and authenticate(session, name, password2)
    login(client, name, password2)
    seeded = seed_posts(sqlite_engine, 1)
    token = form_token(client.get("/queue").text)
    client.post(f"/api/posts/{seeded.post_ids[0]}/decision", headers={"X-CSRF-Token": token},
                json={"decision": "confirm", "expected_state": "queued"})
    with Session(sqlite_engine) as session:
        entry = session.execute(select(AuditLog).where(AuditLog.entity_type == "post")).scalars().one()
    assert entry.actor == "demo"  # the demo's reviewer is marked so in the audit log
