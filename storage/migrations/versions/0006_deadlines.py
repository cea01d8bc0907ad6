"""One deadline engine: the @件 timers and the 督办事项 rows' schedule become rows of one
table, ``deadlines``. Every timer is copied (its clock, kind, step, moments and state); every
open filing row with a next reminder or escalation gets one pending deadline row at that
moment and step (its clock: the row's kind, a 批示件's monthly row ``report``). The filings
keep their record (due, done, 超限, report); their ``step`` and ``next_at`` go.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deadlines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clock", sa.String(length=16), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("filing_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("fire_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("fired_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["filing_id"], ["filings.id"]),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_deadlines_due", "deadlines", ["state", "fire_at"])
    op.create_index("ix_deadlines_filing_id", "deadlines", ["filing_id"])
    op.create_index("ix_deadlines_item_id", "deadlines", ["item_id"])
    op.execute(
        "INSERT INTO deadlines (clock, item_id, filing_id, kind, step, due_at, fire_at, state, "
        "fired_at) SELECT clock, item_id, NULL, kind, step, due_at, fire_at, state, fired_at "
        "FROM timers ORDER BY id"
    )
    op.execute(
        "INSERT INTO deadlines (clock, item_id, filing_id, kind, step, due_at, fire_at, state, "
        "fired_at) SELECT CASE WHEN f.kind = 'monthly' AND m.category = '领导批示件' "
        "THEN 'report' ELSE f.kind END, NULL, f.id, 'step', f.step, f.due_at, f.next_at, "
        "'pending', NULL FROM filings f JOIN matters m ON m.id = f.matter_id "
        "WHERE f.done_at IS NULL AND f.next_at IS NOT NULL ORDER BY f.next_at, f.id"
    )
    op.drop_index("ix_timers_due", table_name="timers")
    op.drop_index("ix_timers_item_id", table_name="timers")
    op.drop_table("timers")
    op.drop_index("ix_filings_due", table_name="filings")
    op.drop_index("ix_filings_next_at", table_name="filings")
    with op.batch_alter_table("filings") as batch:
        batch.drop_column("next_at")
        batch.drop_column("step")


def downgrade() -> None:
    with op.batch_alter_table("filings") as batch:
        batch.add_column(sa.Column("step", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("next_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("filings") as batch:
        batch.alter_column("step", server_default=None, existing_type=sa.Integer())
    op.execute(
        "UPDATE filings SET step = (SELECT d.step FROM deadlines d WHERE d.filing_id = filings.id "
        "AND d.state = 'pending'), next_at = (SELECT d.fire_at FROM deadlines d "
        "WHERE d.filing_id = filings.id AND d.state = 'pending') WHERE EXISTS (SELECT 1 FROM "
        "deadlines d WHERE d.filing_id = filings.id AND d.state = 'pending')"
    )
    op.create_index("ix_filings_next_at", "filings", ["next_at"])
    op.create_index("ix_filings_due", "filings", ["done_at", "next_at"])
    op.create_table(
        "timers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("clock", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("fire_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("fired_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_timers_due", "timers", ["state", "fire_at"])
    op.create_index("ix_timers_item_id", "timers", ["item_id"])
    op.execute(
        "INSERT INTO timers (item_id, clock, kind, step, due_at, fire_at, state, fired_at) "
        "SELECT item_id, clock, kind, step, due_at, fire_at, state, fired_at FROM deadlines "
        "WHERE item_id IS NOT NULL ORDER BY id"
    )
    op.drop_index("ix_deadlines_item_id", table_name="deadlines")
    op.drop_index("ix_deadlines_filing_id", table_name="deadlines")
    op.drop_index("ix_deadlines_due", table_name="deadlines")
    op.drop_table("deadlines")
