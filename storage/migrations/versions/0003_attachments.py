"""Attachments: pictures and files towns send with an @件, and outbox rows that send them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("download_code", sa.Text(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("path", sa.String(length=255), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("stored_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_attachments_due", "attachments", ["state", "next_attempt_at"])
    op.create_index("ix_attachments_item_id", "attachments", ["item_id"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(length=8), server_default="text", nullable=False)
        )
        batch.add_column(sa.Column("media_path", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("media_path")
        batch.drop_column("kind")
    op.drop_index("ix_attachments_item_id", table_name="attachments")
    op.drop_index("ix_attachments_due", table_name="attachments")
    op.drop_table("attachments")
