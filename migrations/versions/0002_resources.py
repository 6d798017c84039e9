"""Files, file bytes and stored responses (images come in 0004).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "files",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("bytes", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Integer, nullable=False),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_details", sa.Text, nullable=True),
        sa.Column("expires_at", sa.Integer, nullable=True),
        sa.Column("content_type", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_files"),
    )
    op.create_index("ix_files_purpose_id", "files", ["purpose", "id"])
    op.create_table(
        "file_bytes",
        sa.Column("file_id", sa.String(64), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("file_id", name="pk_file_bytes"),
        sa.ForeignKeyConstraint(
            ["file_id"], ["files.id"], name="fk_file_bytes_file_id_files", ondelete="CASCADE"
        ),
    )
    op.create_table(
        "responses",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("previous_response_id", sa.String(64), nullable=True),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("input_items", sa.LargeBinary, nullable=False),
        sa.Column("history_text", sa.Text, nullable=False),
        sa.Column("history_tokens", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_responses"),
    )


def downgrade() -> None:
    op.drop_table("responses")
    op.drop_table("file_bytes")
    op.drop_index("ix_files_purpose_id", table_name="files")
    op.drop_table("files")
