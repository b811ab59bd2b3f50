"""evidence cases complaints

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("filed", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("export_path", sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["app_user.id"], name=op.f("fk_batch_created_by_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch")),
    )
    op.create_table(
        "evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("captured_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("screenshot_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("html_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("metadata_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["post.id"], name=op.f("fk_evidence_post_id_post")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence")),
    )
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evidence_post_id"), ["post_id"], unique=False)

    op.create_table(
        "takedown_case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("opened_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("evidence_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("drafted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("filed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("acknowledged_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("removed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("rejected_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("escalated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("closed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("sla_due_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("hours_to_removal", sa.Float(), nullable=True),
        sa.Column("last_checked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("reopened_count", sa.Integer(), nullable=False),
        sa.Column("linked_case_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["linked_case_id"],
            ["takedown_case.id"],
            name=op.f("fk_takedown_case_linked_case_id_takedown_case"),
        ),
        sa.ForeignKeyConstraint(["post_id"], ["post.id"], name=op.f("fk_takedown_case_post_id_post")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_takedown_case")),
        sa.UniqueConstraint("post_id", name=op.f("uq_takedown_case_post_id")),
    )
    with op.batch_alter_table("takedown_case", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_takedown_case_sla_due_at"), ["sla_due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_takedown_case_state"), ["state"], unique=False)

    op.create_table(
        "complaint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("edited", sa.Boolean(), nullable=False),
        sa.Column("client_ref", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("submitted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("external_ref", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("responded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["batch_id"], ["batch.id"], name=op.f("fk_complaint_batch_id_batch")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["takedown_case.id"], name=op.f("fk_complaint_case_id_takedown_case")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint")),
        sa.UniqueConstraint(
            "case_id", "channel", "attempt", name=op.f("uq_complaint_case_id_channel_attempt")
        ),
    )
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_complaint_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_complaint_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_complaint_client_ref"), ["client_ref"], unique=False)
        batch_op.create_index(batch_op.f("ix_complaint_state"), ["state"], unique=False)

    op.create_table(
        "status_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("checked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("observed", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["takedown_case.id"], name=op.f("fk_status_check_case_id_takedown_case")
        ),
        sa.ForeignKeyConstraint(["post_id"], ["post.id"], name=op.f("fk_status_check_post_id_post")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_check")),
    )
    with op.batch_alter_table("status_check", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_status_check_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_status_check_post_id"), ["post_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("status_check", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_status_check_post_id"))
        batch_op.drop_index(batch_op.f("ix_status_check_case_id"))

    op.drop_table("status_check")
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_state"))
        batch_op.drop_index(batch_op.f("ix_complaint_client_ref"))
        batch_op.drop_index(batch_op.f("ix_complaint_case_id"))
        batch_op.drop_index(batch_op.f("ix_complaint_batch_id"))

    op.drop_table("complaint")
    with op.batch_alter_table("takedown_case", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_takedown_case_state"))
        batch_op.drop_index(batch_op.f("ix_takedown_case_sla_due_at"))

    op.drop_table("takedown_case")
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_post_id"))

    op.drop_table("evidence")
    op.drop_table("batch")
