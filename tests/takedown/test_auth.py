"""Accounts: argon2 hashes, user creation and changes (audited), authentication, the login rate limit, and the
`takedown user add` command."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlmodel import Session

from takedown import auth
from takedown.db import session_scope
from takedown.models import AuditLog, User


def test_passwords_are_argon2_hashed_and_verified():
    hashed = auth.hash_password("correct-horse-42")
    assert hashed.startswith("$argon2id$") and "correct-horse-42" not in hashed
    assert auth.verify_password(hashed, "correct-horse-42")
    assert not auth.verify_password(hashed, "wrong-password")
    assert not auth.verify_password("not-a-hash", "correct-horse-42")


def test_create_user_is_audited_and_refuses_bad_input(engine):
    with session_scope(engine) as session:
        user = auth.create_user(session, "张三", "correct-horse-42", "lead")
    with Session(engine) as session:
        stored = session.get(User, user.id)
        assert stored.role == "lead" and stored.password_hash.startswith("$argon2")
        [entry] = session.execute(select(AuditLog).where(AuditLog.action == "user.create")).scalars()
        assert entry.entity_id == str(user.id) and entry.after["role"] == "lead" and entry.before is None
        assert "password" not in str(entry.after)
    cases = [("张三", "correct-horse-42", "reviewer", "already exists"),
             ("ZHANGSAN2", "short", "reviewer", "too short"),
             ("bob", "correct-horse-42", "boss", "unknown role"),
             ("a b", "correct-horse-42", "reviewer", "bad username")]
    for name, password, role, message in cases:
        with session_scope(engine) as session, pytest.raises(auth.UserError, match=message) as err:
            auth.create_user(session, name, password, role)
        assert err.value.zh  # the web UI shows the Chinese message


def test_authenticate(engine):
    with session_scope(engine) as session:
        auth.create_user(session, "alice", "correct-horse-42", "reviewer")
    with session_scope(engine) as session:
        assert auth.authenticate(session, "alice", "correct-horse-42").username == "alice"
        assert auth.authenticate(session, "ALICE", "correct-horse-42") is not None  # names are case-insensitive
        assert auth.authenticate(session, "alice", "wrong") is None
        assert auth.authenticate(session, "nobody", "correct-horse-42") is None
        alice = auth.get_user(session, "alice")
        auth.update_user(session, alice, by=None, is_active=False)
    with session_scope(engine) as session:
        assert auth.authenticate(session, "alice", "correct-horse-42") is None


def test_update_user_audits_before_and_after_without_the_password(engine):
    with session_scope(engine) as session:
        admin = auth.create_user(session, "root", "correct-horse-42", "admin")
        alice = auth.create_user(session, "alice", "correct-horse-42", "reviewer")
        old_version = auth.session_version(alice)
        auth.update_user(session, alice, by=admin, role="lead", password="another-pass-99")
        assert auth.session_version(alice) != old_version  # older sessions end
    with Session(engine) as session:
        [entry] = session.execute(select(AuditLog).where(AuditLog.action == "user.update")).scalars()
        assert entry.actor == "root" and entry.user_id == admin.id
        assert entry.before["role"] == "reviewer" and entry.after["role"] == "lead"
        assert entry.after["password_changed"] is True and "another-pass-99" not in str(entry.after)


def test_roles_include_the_lower_ones():
    lead = User(username="l", role="lead")
    assert auth.has_role(lead, "reviewer") and auth.has_role(lead, "lead") and not auth.has_role(lead, "admin")


def test_rate_limit_per_username_and_address():
    now = [1000.0]
    limiter = auth.LoginRateLimiter(max_failures=5, window=300, clock=lambda: now[0])
    for _ in range(5):
        assert limiter.retry_after("alice", "10.0.0.1") == 0
        limiter.failed("alice", "10.0.0.1")
    assert 0 < limiter.retry_after("alice", "10.0.0.1") <= 301
    assert limiter.retry_after("ALICE", "10.0.0.1") > 0
    assert limiter.retry_after("alice", "10.0.0.2") == 0  # another address
    assert limiter.retry_after("bob", "10.0.0.1") == 0  # another user
    now[0] += 301
    assert limiter.retry_after("alice", "10.0.0.1") == 0
    limiter.failed("alice", "10.0.0.1")
    limiter.succeeded("alice", "10.0.0.1")
    assert limiter._failures == {}


def test_cli_user_add_reads_the_password_from_stdin(cli, engine):
    done = cli("user", "add", "lead1", "--role", "lead", input="correct-horse-42\n")
    assert done.exit_code == 0, done.output
    with Session(engine) as session:
        user = auth.get_user(session, "lead1")
        assert user.role == "lead" and auth.verify_password(user.password_hash, "correct-horse-42")
    again = cli("user", "add", "lead1", input="correct-horse-42\n")
    assert again.exit_code == 2 and "already exists" in again.output
    bad_role = cli("user", "add", "bob", "--role", "boss", input="correct-horse-42\n")
    assert bad_role.exit_code == 2 and "unknown role" in bad_role.output
    short = cli("user", "add", "bob", input="short\n")
    assert short.exit_code == 2 and "too short" in short.output
