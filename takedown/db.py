"""Engine, sessions and schema upgrades for SQLite (default) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import JSON, Connection, Engine, Table, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session
from sqlmodel.sql.sqltypes import UTCDateTime

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web app read while a crawl writes; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _dumps(value) -> str:
    # orjson: several times faster than the json module on the reasons, raw items and metrics every crawled post
    # carries, and stores Chinese as UTF-8 rather than \\u escapes (smaller rows, readable in psql/sqlite3).
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def make_engine(url: str, **kwargs) -> Engine:
    kwargs.setdefault("json_serializer", _dumps)
    kwargs.setdefault("json_deserializer", orjson.loads)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.drivername == "postgresql":
        # Plain postgresql:// means psycopg 3 here (the only PostgreSQL driver we install).
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, pool_pre_ping=True, **kwargs)


@lru_cache(maxsize=4096)  # a batch's rows share their times (one `now`, repeated publication times)
def _sqlite_time(value: datetime | None) -> str | None:
    # exactly what SQLAlchemy's SQLite DATETIME stores for an aware value (naive UTC, always microseconds), so
    # rows written here and rows written through the ORM compare and sort alike
    return None if value is None else f"{value.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f}"


def _converter(column_type: Any, dialect: str) -> Callable[[Any], Any] | None:
    if isinstance(column_type, JSON):
        return _dumps
    if isinstance(column_type, UTCDateTime) and dialect == "sqlite":
        return _sqlite_time
    return None


def _placeholder(dialect: Any) -> str:
    placeholder = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(dialect.paramstyle)
    if placeholder is None:
        raise NotImplementedError(f"driver SQL: parameter style {dialect.paramstyle!r}")
    return placeholder


@lru_cache(maxsize=64)
def _insert_sql(table: Table, columns: tuple[str, ...], dialect: Any, on_conflict: str
                ) -> tuple[str, tuple[Any, ...]]:
    """The INSERT for exactly `columns` (no defaults added), positional placeholders, and each column's converter."""
    quote = dialect.identifier_preparer.quote
    placeholder = _placeholder(dialect)
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
           f"VALUES ({', '.join([placeholder] * len(columns))})")
    if on_conflict:
        sql += " " + on_conflict
    return sql, tuple(_converter(table.c[c].type, dialect.name) for c in columns)


def bulk_insert(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], on_conflict: str = "") -> None:
    """INSERT many rows with the driver's executemany, skipping SQLAlchemy's per-row parameter processing
    (most of the cost of a large insert from Python). Values are converted as the column types would:
    JSON serialised, times as SQLite stores them. For plain inserts that need no RETURNING; every row has the
    keys of the first, and columns left out get the database's default (not the models' Python defaults).
    `on_conflict`: an `ON CONFLICT ...` clause (the same syntax on SQLite and PostgreSQL), appended as is."""
    if not rows:
        return
    columns = tuple(rows[0])
    sql, converters = _insert_sql(table, columns, conn.dialect, on_conflict)
    conn.exec_driver_sql(sql, _params(rows, columns, converters))


@lru_cache(maxsize=64)
def _update_sql(table: Table, columns: tuple[str, ...], key: str, dialect: Any) -> tuple[str, tuple[Any, ...]]:
    """`UPDATE table SET c = ?, ... WHERE id = ?` for `columns` (the last one, `key`, holds the row's id)."""
    quote = dialect.identifier_preparer.quote
    placeholder = _placeholder(dialect)
    assignments = ", ".join(f"{quote(c)} = {placeholder}" for c in columns if c != key)
    sql = f"UPDATE {quote(table.name)} SET {assignments} WHERE {quote('id')} = {placeholder}"
    return sql, tuple(None if c == key else _converter(table.c[c].type, dialect.name) for c in columns)


def bulk_update(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], key: str = "pid") -> None:
    """UPDATE many rows by id with the driver's executemany, as `bulk_insert` does for inserts: each row holds
    the new values by column name and its id under `key`; every row has the keys of the first."""
    if not rows:
        return
    columns = tuple(c for c in rows[0] if c != key) + (key,)
    sql, converters = _update_sql(table, columns, key, conn.dialect)
    conn.exec_driver_sql(sql, _params(rows, columns, converters))


def _params(rows: Sequence[Mapping[str, Any]], columns: tuple[str, ...], converters: tuple[Any, ...]
            ) -> list[tuple[Any, ...]]:
    """Each row's values in `columns`' order, converted where the column needs it."""
    get = itemgetter(*columns) if len(columns) > 1 else lambda row: (row[columns[0]],)
    converted = [(i, f) for i, f in enumerate(converters) if f is not None]
    if not converted:
        return list(map(get, rows))
    params = []  # (one C call picks each row's values; only the columns that need it are converted)
    for row in rows:
        values = list(get(row))
        for i, f in converted:
            values[i] = f(values[i])
        params.append(tuple(values))
    return params


def select_in(conn: Connection, sql: str, params: Sequence[Any], values: Sequence[Any], chunk: int = 500
              ) -> Iterator[tuple[Any, ...]]:
    """Rows of `sql` (written with `?` placeholders and one `IN ({})` for `values`), run through the driver
    `chunk` values at a time. Rows come as the driver returns them: no type processing, so JSON is text on
    SQLite (see `json_value`) and times are as the driver gives them; keep to plain columns where that matters."""
    placeholder = _placeholder(conn.dialect)
    prefix = tuple(params)
    for start in range(0, len(values), chunk):
        part = tuple(values[start:start + chunk])
        query = sql.replace("?", placeholder).format(", ".join([placeholder] * len(part)))
        yield from conn.exec_driver_sql(query, prefix + part).fetchall()  # (one driver call, not one a row)


def json_value(value: Any) -> Any:
    """A JSON column's value as `select_in` returned it: text on SQLite, already decoded by psycopg."""
    return orjson.loads(value) if isinstance(value, str | bytes) else value


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # The engine travels in attributes, not as a URL string: configparser would choke on '%' in passwords.
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def upgraded_engine(url: str, **kwargs) -> Engine:
    """An engine on the database at `url`, brought up to the latest migration: every command, the web app and
    the scheduler may be the first to run on a new database."""
    engine = make_engine(url, **kwargs)
    upgrade(engine)
    return engine


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
