"""Closure reports and reviews (issue 11): a 攻坚 matter's 销项 report and its files (an
attachment may belong to a matter instead of an item), and the 调查复核 records.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("attachments") as batch:
        batch.alter_column("item_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("matter_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("purpose", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("sent_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("sent_at", sa.DateTime(), nullable=True))
        batch.create_foreign_key("fk_attachments_matter_id", "matters", ["matter_id"], ["id"])
        batch.create_index("ix_attachments_matter_id", ["matter_id"])
    op.create_table(
        "closure_reports",
        sa.Column("matter_id", sa.Integer(), nullable=False),
        sa.Column("asked_at", sa.DateTime(), nullable=True),
        sa.Column("asked_by", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("problem", sa.Text(), nullable=True),
        sa.Column("solution", sa.Text(), nullable=True),
        sa.Column("written_by", sa.String(length=64), nullable=True),
        sa.Column("written_at", sa.DateTime(), nullable=True),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["matter_id"], ["matters.id"]),
        sa.PrimaryKeyConstraint("matter_id"),
    )
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("matter_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("finding", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["matter_id"], ["matters.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_reviews_matter_id", "reviews", ["matter_id"])


def downgrade() -> None:
    op.drop_index("ix_reviews_matter_id", table_name="reviews")
    op.drop_table("reviews")
    op.drop_table("closure_reports")
    op.execute("DELETE FROM attachments WHERE item_id IS NULL")
    with op.batch_alter_table("attachments") as batch:
        batch.drop_index("ix_attachments_matter_id")
        batch.drop_constraint("fk_attachments_matter_id", type_="foreignkey")
        batch.drop_column("sent_at")
        batch.drop_column("sent_by")
        batch.drop_column("purpose")
        batch.drop_column("matter_id")
        batch.alter_column("item_id", existing_type=sa.Integer(), nullable=False)
