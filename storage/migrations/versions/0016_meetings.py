"""The 双月例会 (issue 12): meetings with their agenda and minutes, and the decisions that
became 督办事项.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "meetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("set_by", sa.String(length=64), nullable=True),
        sa.Column("agenda_deadline_id", sa.Integer(), nullable=True),
        sa.Column("agenda_sent_at", sa.DateTime(), nullable=True),
        sa.Column("agenda_document_id", sa.Integer(), nullable=True),
        sa.Column("minutes", sa.Text(), nullable=True),
        sa.Column("minutes_by", sa.String(length=64), nullable=True),
        sa.Column("minutes_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("period"),
    )
    op.create_table(
        "meeting_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("matter_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["matter_id"], ["matters.id"]),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("matter_id"),
    )
    op.create_index("ix_meeting_decisions_meeting_id", "meeting_decisions", ["meeting_id"])


def downgrade() -> None:
    op.drop_index("ix_meeting_decisions_meeting_id", table_name="meeting_decisions")
    op.drop_table("meeting_decisions")
    op.drop_table("meetings")
