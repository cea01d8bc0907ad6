"""Approvals of filings (issue 11, item 3): a 批示件's feedback and tracking report (and, by
roster setting, other categories' monthly filings) count once the 分管局领导 approved them.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ("submitted_at", sa.DateTime()),
    ("submitted_by", sa.String(length=64)),
    ("approved_at", sa.DateTime()),
    ("approved_by", sa.String(length=64)),
    ("returned_at", sa.DateTime()),
    ("returned_by", sa.String(length=64)),
    ("return_note", sa.Text()),
)


def upgrade() -> None:
    with op.batch_alter_table("filings") as batch:
        for name, kind in COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("filings") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
