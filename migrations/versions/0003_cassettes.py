"""Cassettes: recorded exchanges keyed by the canonical request hash.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cassettes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("episode", sa.Integer, nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("request", sa.LargeBinary, nullable=False),
        sa.Column("model", sa.Text, nullable=True),
        sa.Column("upstream", sa.Text, nullable=True),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("headers", sa.LargeBinary, nullable=False),
        sa.Column("stream", sa.Boolean, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=True),
        sa.Column("events", sa.LargeBinary, nullable=True),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.Column("last_used_at", sa.DateTime, nullable=True),
        sa.Column("hits", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cassettes"),
        sa.UniqueConstraint("key", "episode", name="uq_cassettes_key_episode"),
    )
    op.create_index("ix_cassettes_path_recorded_at", "cassettes", ["path", "recorded_at"])


def downgrade() -> None:
    op.drop_index("ix_cassettes_path_recorded_at", table_name="cassettes")
    op.drop_table("cassettes")
