"""Cassettes: how long the upstream took to answer, so replay at --replay-speed > 0 can keep the
timing of whole (non-streamed) answers too. NULL for cassettes recorded before (replayed at once).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cassettes", sa.Column("duration_ms", sa.Float, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cassettes") as batch:
        batch.drop_column("duration_ms")
