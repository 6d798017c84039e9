"""Episode cursors in the database: replay's position in each key's episodes, shared by every worker
and replica (it was per worker process before).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "episode_cursors",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_episode_cursors"),
    )


def downgrade() -> None:
    op.drop_table("episode_cursors")
