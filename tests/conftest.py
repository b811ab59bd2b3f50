"""Shared fixtures: a migrated database on SQLite and, when TAKEDOWN_TEST_DATABASE_URL is set, on PostgreSQL."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from takedown.db import make_engine, upgrade

REPO = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("TAKEDOWN_TEST_DATABASE_URL", "")
CHROMIUM = "/usr/bin/chromium"

needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not shutil.which("chromium"),
    reason="the system Chromium is not installed (apt-get install -y chromium)",
)


def _postgres_schema_url(schema: str) -> str:
    """The test database, with every connection confined to one throw-away schema."""
    url = make_url(PG_URL)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    if not PG_URL:
        pytest.skip("TAKEDOWN_TEST_DATABASE_URL is not set: no PostgreSQL server to test against")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(make_url(PG_URL).set(drivername="postgresql+psycopg"))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _postgres_schema_url(schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'takedown.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """The same storage test on both databases."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()
