"""The JSON API: the queue, post details, decisions with conflicts, bulk (selection and whole filter), undo,
users; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlmodel import Session

from takedown.models import AuditLog, Post
from tests.takedown.review_seed import make_user, seed_posts
from tests.takedown.web.conftest import login, login_as


@pytest.fixture
def api(make_client, engine):
    return make_client(engine)


def test_queue_pages_with_a_cursor_and_filters(api, engine):
    douyin = seed_posts(engine, 7, platform="douyin")
    seed_posts(engine, 3, platform="bilibili", start_index=50, keyword="征信修复")
    login_as(api, engine, "rita")
    first = api.get("/api/queue", params={"platform": "douyin", "limit": 4}).json()
    assert [i["id"] for i in first["items"]] == douyin.post_ids[:4] and first["next_cursor"]
    rest = api.get("/api/queue", params={"platform": "douyin", "limit": 4, "after": first["next_cursor"]}).json()
    assert [i["id"] for i in rest["items"]] == douyin.post_ids[4:] and rest["next_cursor"] is None
    assert first["items"][0]["reasons"][0]["explanation"]
    assert api.get("/api/queue", params={"keyword": "征信修复"}).json()["items"][0]["platform"] == "bilibili"
    assert api.get("/api/queue/count", params={"platform": "douyin"}).json()["count"] == 7
    bad = api.get("/api/queue", params={"min_score": "abc"})
    assert bad.status_code == 400 and "最低分" in bad.json()["detail"]
    assert api.get("/api/queue", params={"after": "nonsense"}).status_code == 400


def test_post_detail_has_everything_the_post_page_shows(api, engine):
    seeded = seed_posts(engine, 2, authors=1)
    login_as(api, engine, "rita")
    detail = api.get(f"/api/posts/{seeded.post_ids[0]}").json()
    assert detail["post"]["title"].startswith("负债突围")
    assert detail["reasons"][0]["rule"] == "promise.stop_interest"
    assert detail["contacts"][0]["value"] == "cz573982a"
    assert detail["author"]["nickname"] and detail["author_posts"]
    assert detail["sightings"][0]["keyword"] == "停息挂账"
    assert detail["history"] == []
    assert api.get("/api/posts/999999").status_code == 404


def test_two_reviewers_on_one_post_the_second_gets_409_naming_the_first(make_client, engine):
    seeded = seed_posts(engine, 1)
    pid = seeded.post_ids[0]
    alice, bob = make_client(engine), make_client(engine)
    alice_token = login_as(alice, engine, "alice")
    bob_token = login_as(bob, engine, "bob")
    # Both see the post queued; alice decides first.
    ok = alice.post(f"/api/posts/{pid}/decision", headers={"X-CSRF-Token": alice_token},
                    json={"decision": "confirm", "expected_state": "queued"})
    assert ok.status_code == 200 and ok.json()["applied"] == [pid]
    late = bob.post(f"/api/posts/{pid}/decision", headers={"X-CSRF-Token": bob_token},
                    json={"decision": "reject", "expected_state": "queued"})
    assert late.status_code == 409
    [conflict] = late.json()["conflicts"]
    assert conflict["by"] == "alice" and conflict["state"] == "confirmed"
    assert conflict["message"].startswith("已被 alice 于 ") and "处理" in conflict["message"]
    with Session(engine) as session:
        assert session.get(Post, pid).review_state == "confirmed"


def test_bulk_decision_then_undo(api, engine):
    seeded = seed_posts(engine, 12)
    token = login_as(api, engine, "rita")
    headers = {"X-CSRF-Token": token}
    items = [{"id": p, "expected_state": "queued"} for p in seeded.post_ids[:10]]
    done = api.post("/api/decisions", headers=headers, json={"decision": "reject", "items": items})
    assert done.status_code == 200 and len(done.json()["applied"]) == 10
    assert done.json()["message"].startswith("已驳回：10 条")
    assert api.get("/api/queue/count").json()["count"] == 2
    undone = api.post("/api/undo", headers=headers)
    assert undone.status_code == 200 and len(undone.json()["restored"]) == 10
    assert api.get("/api/queue/count").json()["count"] == 12
    assert api.post("/api/undo", headers=headers).status_code == 404
    bad = api.post("/api/decisions", headers=headers, json={"decision": "delete", "items": items})
    assert bad.status_code == 422


def test_bulk_on_a_whole_filter_result_is_for_leads_and_checks_the_count(api, engine):
    seed_posts(engine, 9, platform="douyin")
    seed_posts(engine, 2, platform="bilibili", start_index=50)
    token = login_as(api, engine, "lena", "lead")
    headers = {"X-CSRF-Token": token}
    f = {"state": "queued", "platform": "douyin"}
    count = api.get("/api/queue/count", params=f).json()
    assert count["count"] == 9 and count["state_label"] == "待审核"
    stale = api.post("/api/decisions/filter", headers=headers,
                     json={"decision": "confirm", "filter": f, "expected_count": 8})
    assert stale.status_code == 409 and stale.json()["count"] == 9 and "现在为 9 条" in stale.json()["detail"]
    done = api.post("/api/decisions/filter", headers=headers,
                    json={"decision": "confirm", "filter": f, "expected_count": 9})
    assert done.status_code == 200 and len(done.json()["applied"]) == 9
    assert api.get("/api/queue/count").json()["count"] == 2
    assert len(api.post("/api/undo", headers=headers).json()["restored"]) == 9


def test_admin_manages_users_through_the_api_and_it_is_audited(api, make_client, engine):
    token = login_as(api, engine, "adam", "admin")
    headers = {"X-CSRF-Token": token}
    created = api.post("/api/users", headers=headers,
                       json={"username": "新人", "password": "correct-horse-42", "role": "reviewer"})
    assert created.status_code == 201
    uid = created.json()["id"]
    dup = api.post("/api/users", headers=headers,
                   json={"username": "新人", "password": "correct-horse-42", "role": "reviewer"})
    assert dup.status_code == 400 and "已存在" in dup.json()["detail"]
    assert api.patch(f"/api/users/{uid}", headers=headers, json={"role": "lead"}).json()["role"] == "lead"
    me = api.get("/api/me").json()["id"]
    assert api.patch(f"/api/users/{me}", headers=headers, json={"is_active": False}).status_code == 400
    assert {u["username"] for u in api.get("/api/users").json()["items"]} == {"adam", "新人"}
    with Session(engine) as session:
        actions = session.execute(select(AuditLog.action, AuditLog.actor).where(
            AuditLog.entity_type == "user", AuditLog.entity_id == str(uid))).all()
    assert sorted(actions) == [("user.create", "adam"), ("user.update", "adam")]
    assert login(make_client(engine), "新人", "correct-horse-42")


def test_authors_dashboard_audit_and_openapi(api, engine):
    seeded = seed_posts(engine, 4, authors=2)
    make_user(engine, "lena", "lead")
    token = login(api, "lena")
    api.post(f"/api/posts/{seeded.post_ids[0]}/decision", headers={"X-CSRF-Token": token},
             json={"decision": "confirm", "expected_state": "queued"})
    authors = api.get("/api/authors").json()["items"]
    assert [a["risk"] for a in authors] == sorted((a["risk"] for a in authors), reverse=True)
    author = api.get(f"/api/authors/{seeded.author_ids[0]}").json()
    assert len(author["posts"]) == 2 and author["contacts"]
    board = api.get("/api/dashboard").json()
    assert board["by_state"] == {"confirmed": 1, "queued": 3}
    assert board["crawl_runs"][0]["stop_reason"] == "risk control: captcha"
    entries = api.get("/api/audit", params={"entity_type": "post"}).json()["items"]
    assert entries[0]["username"] == "lena" and entries[0]["after"]["review_state"] == "confirmed"
    spec = api.get("/openapi.json").json()
    assert {"/api/queue", "/api/posts/{post_id}/decision", "/api/undo", "/api/users"} <= set(spec["paths"])
    assert not any(p.startswith("/admin") or p == "/queue" for p in spec["paths"])
