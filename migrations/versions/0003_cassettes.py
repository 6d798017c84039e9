"""Cassettes: recorded exchanges keyed by the canonical request hash.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # filled in by the record/replay work (issue 4)


def downgrade() -> None:
    pass
