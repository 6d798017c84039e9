"""Rate-limit budgets in the database: one set of limits (and one fault sequence) for every replica
sharing a PostgreSQL database. A single server keeps using its run directory's shared table.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_budgets",
        sa.Column("key_hash", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("requests", sa.Float, nullable=False),
        sa.Column("requests_at", sa.Float, nullable=False),
        sa.Column("tokens", sa.Float, nullable=False),
        sa.Column("tokens_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("key_hash", name="pk_rate_budgets"),
    )


def downgrade() -> None:
    op.drop_table("rate_budgets")
