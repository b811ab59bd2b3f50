"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_user")),
        sa.UniqueConstraint("username", name=op.f("uq_app_user_username")),
    )
    op.create_table(
        "brand",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("official_accounts", sa.JSON(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_brand")),
        sa.UniqueConstraint("name", name=op.f("uq_brand_name")),
    )
    op.create_table(
        "contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("first_seen", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact")),
        sa.UniqueConstraint("type", "value", name=op.f("uq_contact_type_value")),
    )
    op.create_table(
        "crawl_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("mode", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("posts_seen", sa.Integer(), nullable=False),
        sa.Column("posts_new", sa.Integer(), nullable=False),
        sa.Column("posts_updated", sa.Integer(), nullable=False),
        sa.Column("candidates", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("error_log", sa.JSON(), nullable=False),
        sa.Column("stop_reason", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crawl_run")),
    )
    with op.batch_alter_table("crawl_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crawl_run_platform"), ["platform"], unique=False)

    op.create_table(
        "platform",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("mode", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_platform")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("entity_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("entity_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_audit_log_user_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_entity", ["entity_type", "entity_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)

    op.create_table(
        "author",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("platform_author_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("nickname", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("bio", sa.Text(), nullable=False),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("risk_score", sa.Float(), nullable=True),
        sa.Column("official_brand_id", sa.Integer(), nullable=True),
        sa.Column("first_seen", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("last_seen", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["official_brand_id"], ["brand.id"], name=op.f("fk_author_official_brand_id_brand")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_author")),
        sa.UniqueConstraint(
            "platform", "platform_author_id", name=op.f("uq_author_platform_platform_author_id")
        ),
    )
    op.create_table(
        "keyword",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("brand_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["brand_id"], ["brand.id"], name=op.f("fk_keyword_brand_id_brand")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_keyword")),
        sa.UniqueConstraint("text", "platform", name=op.f("uq_keyword_text_platform")),
    )
    op.create_table(
        "author_contact",
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["author.id"], name=op.f("fk_author_contact_author_id_author")
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contact.id"], name=op.f("fk_author_contact_contact_id_contact")
        ),
        sa.PrimaryKeyConstraint("author_id", "contact_id", name=op.f("pk_author_contact")),
    )
    with op.batch_alter_table("author_contact", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_author_contact_contact_id"), ["contact_id"], unique=False)

    op.create_table(
        "post",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("platform_post_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("hashtags", sa.JSON(), nullable=False),
        sa.Column("published_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("first_seen", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("last_seen", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("raw", sa.JSON(), nullable=True),
        sa.Column("content_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("score_version", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("review_state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("duplicate_of_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["author_id"], ["author.id"], name=op.f("fk_post_author_id_author")),
        sa.ForeignKeyConstraint(["duplicate_of_id"], ["post.id"], name=op.f("fk_post_duplicate_of_id_post")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_post")),
        sa.UniqueConstraint("platform", "platform_post_id", name=op.f("uq_post_platform_platform_post_id")),
    )
    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_post_author_id"), ["author_id"], unique=False)
        batch_op.create_index("ix_post_queue", ["review_state", "score", "id"], unique=False)

    op.create_table(
        "post_contact",
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contact.id"], name=op.f("fk_post_contact_contact_id_contact")
        ),
        sa.ForeignKeyConstraint(["post_id"], ["post.id"], name=op.f("fk_post_contact_post_id_post")),
        sa.PrimaryKeyConstraint("post_id", "contact_id", name=op.f("pk_post_contact")),
    )
    with op.batch_alter_table("post_contact", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_post_contact_contact_id"), ["contact_id"], unique=False)

    op.create_table(
        "review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("decision", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["post.id"], name=op.f("fk_review_post_id_post")),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_review_user_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review")),
    )
    with op.batch_alter_table("review", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_post_id"), ["post_id"], unique=False)

    op.create_table(
        "score",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("model_version", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["post.id"], name=op.f("fk_score_post_id_post")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score")),
    )
    with op.batch_alter_table("score", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_score_post_id"), ["post_id"], unique=False)

    op.create_table(
        "sighting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("crawl_run_id", sa.Integer(), nullable=True),
        sa.Column("keyword", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("page", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("seen_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["crawl_run_id"], ["crawl_run.id"], name=op.f("fk_sighting_crawl_run_id_crawl_run")
        ),
        sa.ForeignKeyConstraint(["post_id"], ["post.id"], name=op.f("fk_sighting_post_id_post")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sighting")),
    )
    with op.batch_alter_table("sighting", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sighting_crawl_run_id"), ["crawl_run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sighting_keyword"), ["keyword"], unique=False)
        batch_op.create_index(batch_op.f("ix_sighting_post_id"), ["post_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("sighting", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sighting_post_id"))
        batch_op.drop_index(batch_op.f("ix_sighting_keyword"))
        batch_op.drop_index(batch_op.f("ix_sighting_crawl_run_id"))

    op.drop_table("sighting")
    with op.batch_alter_table("score", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_score_post_id"))

    op.drop_table("score")
    with op.batch_alter_table("review", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_post_id"))

    op.drop_table("review")
    with op.batch_alter_table("post_contact", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_post_contact_contact_id"))

    op.drop_table("post_contact")
    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.drop_index("ix_post_queue")
        batch_op.drop_index(batch_op.f("ix_post_author_id"))

    op.drop_table("post")
    with op.batch_alter_table("author_contact", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_author_contact_contact_id"))

    op.drop_table("author_contact")
    op.drop_table("keyword")
    op.drop_table("author")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))
        batch_op.drop_index("ix_audit_entity")

    op.drop_table("audit_log")
    op.drop_table("platform")
    with op.batch_alter_table("crawl_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crawl_run_platform"))

    op.drop_table("crawl_run")
    op.drop_table("contact")
    op.drop_table("brand")
    op.drop_table("app_user")
