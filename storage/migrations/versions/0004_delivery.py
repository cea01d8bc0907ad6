"""Delivery outcomes and digests on the outbox: the item and purpose a message reports to,
who caused it, its digest lines, and the digest row it was merged into.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("item_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("purpose", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("actor", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("digest", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("merged_into", sa.Integer(), nullable=True))
    op.create_index("ix_outbox_item_id", "outbox", ["item_id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_item_id", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("merged_into")
        batch.drop_column("digest")
        batch.drop_column("actor")
        batch.drop_column("purpose")
        batch.drop_column("item_id")
