"""实事项目's year (issue 11, item 6): a matter's plan year (年度), and plan changes with their
three steps (request, the district leader's consent, the filing with 重大办).

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("matters") as batch:
        batch.add_column(sa.Column("plan_year", sa.Integer(), nullable=True))
    op.create_table(
        "plan_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("matter_id", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("consent_leader", sa.String(length=64), nullable=True),
        sa.Column("consent_on", sa.Date(), nullable=True),
        sa.Column("consent_at", sa.DateTime(), nullable=True),
        sa.Column("consent_by", sa.String(length=64), nullable=True),
        sa.Column("filed_at", sa.DateTime(), nullable=True),
        sa.Column("filed_by", sa.String(length=64), nullable=True),
        sa.Column("filed_note", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(["matter_id"], ["matters.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_plan_changes_matter_id", "plan_changes", ["matter_id"])


def downgrade() -> None:
    op.drop_index("ix_plan_changes_matter_id", table_name="plan_changes")
    op.drop_table("plan_changes")
    with op.batch_alter_table("matters") as batch:
        batch.drop_column("plan_year")
