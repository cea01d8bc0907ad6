"""The sweeper's index on filings: the rows still owed, by their next reminder (the due rows
and the next due moment are read by a range on it, not by scanning every open row).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_filings_due", "filings", ["done_at", "next_at"])


def downgrade() -> None:
    op.drop_index("ix_filings_due", table_name="filings")
