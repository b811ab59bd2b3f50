"""Alembic environment: runs against the engine handed over in config.attributes (see takedown.db)."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import takedown.models  # noqa: F401  (registers the tables on SQLModel.metadata)

target_metadata = SQLModel.metadata


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    # Tables that other components own (e.g. APScheduler's job store) are not ours to migrate.
    return not (type_ == "table" and name in {"apscheduler_jobs"})


def run_migrations_online() -> None:
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            include_object=include_object,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `takedown db upgrade`")
run_migrations_online()
