"""post comments and enrichment time

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("post", schema=None) as batch_op:
        # existing rows get an empty list; the model supplies the value for new ones
        batch_op.add_column(sa.Column("comments", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("enriched_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.alter_column("comments", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.drop_column("enriched_at")
        batch_op.drop_column("comments")
