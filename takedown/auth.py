"""Accounts: argon2 password hashes, user creation and changes (audited), authentication, login rate limiting."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlmodel import Session

from takedown import audit
from takedown.models import Role, User

MIN_PASSWORD_LENGTH = 8
USERNAME_RE = re.compile(r"^[\w.@-]{2,64}$")
ROLES = tuple(r.value for r in Role)
# Higher roles include the lower ones.
ROLE_RANK = {Role.REVIEWER.value: 1, Role.LEAD.value: 2, Role.ADMIN.value: 3}

_hasher = PasswordHasher()
# Verified against when the username is unknown, so a wrong username costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class UserError(ValueError):
    """A user could not be created or changed. str() says why in English (CLI), `.zh` in Chinese (web UI)."""

    def __init__(self, message: str, zh: str):
        super().__init__(message)
        self.zh = zh


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def has_role(user: User, role: str) -> bool:
    return ROLE_RANK.get(user.role, 0) >= ROLE_RANK[role]


def session_version(user: User) -> str:
    """Changes whenever the password changes: sessions made before a password reset stop working."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def check_role(role: str) -> str:
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; choose one of: {', '.join(ROLES)}",
                        f"未知角色 {role}，可选：{'、'.join(ROLES)}")
    return role


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password is too short: at least {MIN_PASSWORD_LENGTH} characters",
                        f"密码太短：至少 {MIN_PASSWORD_LENGTH} 个字符")
    return password


def get_user(session: Session, username: str) -> User | None:
    return session.execute(
        select(User).where(func.lower(User.username) == username.strip().lower())
    ).scalar_one_or_none()


def _snapshot(user: User) -> dict:
    return {"username": user.username, "role": user.role, "is_active": user.is_active, "is_demo": user.is_demo}


def create_user(session: Session, username: str, password: str, role: str, *, is_demo: bool = False,
                by: User | None = None, actor: str = "cli") -> User:
    """A new account. Raises UserError for a bad name, role or password, or a name already taken."""
    username = username.strip()
    if not USERNAME_RE.match(username):
        raise UserError(f"bad username {username!r}: 2 to 64 letters, digits, '_', '.', '@' or '-'",
                        "用户名须为 2–64 个字母、数字或 _ . @ -")
    check_role(role)
    check_password(password)
    if get_user(session, username) is not None:
        raise UserError(f"the user {username!r} already exists", f"用户 {username} 已存在")
    user = User(username=username, password_hash=hash_password(password), role=role, is_demo=is_demo)
    session.add(user)
    session.flush()
    audit.write(session, action="user.create", entity_type="user", user=by,
                actor=None if by else actor, changes=[(user.id, None, _snapshot(user))])
    return user


def update_user(session: Session, user: User, *, by: User | None, role: str | None = None,
                is_active: bool | None = None, password: str | None = None, is_demo: bool | None = None,
                actor: str = "cli") -> User:
    """Change a user's role, active flag or password; the change is audited (never the password itself)."""
    before = _snapshot(user)
    if role is not None:
        user.role = check_role(role)
    if is_active is not None:
        user.is_active = is_active
    if password is not None:
        user.password_hash = hash_password(check_password(password))
    if is_demo is not None:
        user.is_demo = is_demo
    after = _snapshot(user)
    if password is not None:
        after["password_changed"] = True
    if after != before:
        session.add(user)
        session.flush()
        audit.write(session, action="user.update", entity_type="user", user=by,
                    actor=None if by else actor, changes=[(user.id, before, after)])
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this name and password, else None. Upgrades an outdated hash on success."""
    user = get_user(session, username)
    if user is None or not user.is_active or not user.password_hash:
        verify_password(_DUMMY_HASH, password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.add(user)
    return user


@dataclass
class LoginRateLimiter:
    """At most `max_failures` failed logins per (username, client address) within `window` seconds.

    In memory, per process: `takedown serve` runs one process. Successful logins clear the key's failures.
    """

    max_failures: int = 5
    window: float = 300.0
    clock: object = time.monotonic
    _failures: dict[tuple[str, str], deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _key(self, username: str, address: str) -> tuple[str, str]:
        return (username.strip().lower(), address)

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        now = self.clock()
        times = self._failures.get(key, deque())
        while times and now - times[0] >= self.window:
            times.popleft()
        return times

    def retry_after(self, username: str, address: str) -> int:
        """Seconds until this username may try again from this address; 0 when it may now."""
        key = self._key(username, address)
        with self._lock:
            times = self._recent(key)
            if len(times) < self.max_failures:
                return 0
            return max(1, int(self.window - (self.clock() - times[0])) + 1)

    def failed(self, username: str, address: str) -> None:
        key = self._key(username, address)
        with self._lock:
            times = self._recent(key)
            times.append(self.clock())
            self._failures[key] = times
            if len(self._failures) > 10_000:  # forget the oldest keys rather than grow without bound
                for stale in list(self._failures)[:1000]:
                    del self._failures[stale]

    def succeeded(self, username: str, address: str) -> None:
        with self._lock:
            self._failures.pop(self._key(username, address), None)
