"""Files, file bytes, images and stored responses.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # filled in by the resources work (issue 3)


def downgrade() -> None:
    pass
