"""The migrations are the schema: upgrading an empty database yields exactly what the models declare."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

import takedown.models  # noqa: F401
from takedown.db import current_revision, make_engine, upgrade
from takedown.defaults import SEED_KEYWORDS, ensure_defaults
from takedown.models import Keyword, Platform


def _diff(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(ctx, SQLModel.metadata)


def test_migrations_produce_exactly_the_models_schema(engine):
    assert current_revision(engine) is not None
    assert _diff(engine) == []


def test_the_check_sees_a_schema_that_drifted(engine):
    # Proves the comparison above can fail: drop an index the models declare and it must be reported.
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_post_queue"))
    assert any("ix_post_queue" in repr(change) for change in _diff(engine))


def test_upgrade_is_idempotent_and_keeps_rows(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    ensure_defaults(engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO keyword (text, platform, enabled, source, created_at) "
                          "VALUES ('自定义词', '*', true, 'user', CURRENT_TIMESTAMP)"))
    upgrade(engine)
    ensure_defaults(engine)
    with engine.connect() as conn:
        texts = [row[0] for row in conn.execute(text("SELECT text FROM keyword"))]
        platforms = {row[0] for row in conn.execute(text("SELECT code FROM platform"))}
    assert sorted(texts) == sorted([*SEED_KEYWORDS, "自定义词"])
    assert {"bilibili", "douyin"} <= platforms
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_url):
    engine = make_engine(sqlite_url)
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_tables_for_this_slice_exist(engine):
    names = set(inspect(engine).get_table_names())
    assert {
        "platform", "keyword", "brand", "author", "post", "sighting", "crawl_run", "score", "review",
        "contact", "post_contact", "author_contact", "app_user", "audit_log",
    } <= names
    assert Keyword.__tablename__ == "keyword" and Platform.__tablename__ == "platform"
