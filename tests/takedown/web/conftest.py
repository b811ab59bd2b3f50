"""Fixtures for the web app: the app on a migrated database (SQLite, or both databases via `engine`), a client,
and logging in as a user of a given role."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from takedown.db import make_engine, upgrade
from takedown.settings import Settings
from tests.takedown.review_seed import PASSWORD, make_user

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

SECRET = "test-secret-" + "s" * 40


def web_settings(tmp_path: Path, **overrides) -> Settings:
    return Settings(web_session_secret=SECRET, var_dir=tmp_path / "var", **overrides)


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def make_client(tmp_path: Path) -> Callable[..., TestClient]:
    """make_client(engine, **settings) → a TestClient on a fresh app."""
    from takedown.web.app import create_app

    def make(engine: Engine, **overrides) -> TestClient:
        return TestClient(create_app(web_settings(tmp_path, **overrides), engine), follow_redirects=False)

    return make


@pytest.fixture
def client(make_client, sqlite_engine) -> TestClient:
    return make_client(sqlite_engine)


def form_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the session's CSRF token."""
    token = form_token(client.get("/login").text)
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert response.status_code == 303, response.text
    return client.get("/api/me").json()["csrf_token"]


def login_as(client: TestClient, engine: Engine, username: str, role: str = "reviewer") -> str:
    make_user(engine, username, role)
    return login(client, username)
