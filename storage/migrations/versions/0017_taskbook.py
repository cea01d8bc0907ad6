"""The year's task book (issue 13): task books per year and department, their tasks,
milestones (时间节点) and amendments after approval.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "taskbooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=True),
        sa.Column("submitted_by", sa.String(length=64), nullable=True),
        sa.Column("compiled_at", sa.DateTime(), nullable=True),
        sa.Column("compiled_by", sa.String(length=64), nullable=True),
        sa.Column("approved_at", sa.DateTime(), nullable=True),
        sa.Column("approved_by", sa.String(length=64), nullable=True),
        sa.Column("approved_meeting", sa.String(length=200), nullable=True),
        sa.Column("issued_at", sa.DateTime(), nullable=True),
        sa.Column("issued_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("year", "department", name="uq_taskbooks_year_dept"),
    )
    op.create_index("ix_taskbooks_year", "taskbooks", ["year"])
    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("taskbook_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("measures", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("matter_id", sa.Integer(), nullable=True),
        sa.Column("behind_note", sa.Text(), nullable=True),
        sa.Column("behind_by", sa.String(length=64), nullable=True),
        sa.Column("behind_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["matter_id"], ["matters.id"]),
        sa.ForeignKeyConstraint(["taskbook_id"], ["taskbooks.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_tasks_taskbook_id", "tasks", ["taskbook_id"])
    op.create_index("ix_tasks_year", "tasks", ["year"])
    op.create_index("ix_tasks_department", "tasks", ["department"])
    op.create_table(
        "task_milestones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("what", sa.Text(), nullable=False),
        sa.Column("met_at", sa.DateTime(), nullable=True),
        sa.Column("met_by", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("deadline_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("task_id", "seq", name="uq_task_milestones_seq"),
    )
    op.create_index("ix_task_milestones_task_id", "task_milestones", ["task_id"])
    op.create_index("ix_task_milestones_deadline_id", "task_milestones", ["deadline_id"])
    op.create_table(
        "task_amendments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("old", sa.Text(), nullable=False),
        sa.Column("new", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_task_amendments_task_id", "task_amendments", ["task_id"])


def downgrade() -> None:
    op.drop_index("ix_task_amendments_task_id", table_name="task_amendments")
    op.drop_table("task_amendments")
    op.drop_index("ix_task_milestones_deadline_id", table_name="task_milestones")
    op.drop_index("ix_task_milestones_task_id", table_name="task_milestones")
    op.drop_table("task_milestones")
    op.drop_index("ix_tasks_department", table_name="tasks")
    op.drop_index("ix_tasks_year", table_name="tasks")
    op.drop_index("ix_tasks_taskbook_id", table_name="tasks")
    op.drop_table("tasks")
    op.drop_index("ix_taskbooks_year", table_name="taskbooks")
    op.drop_table("taskbooks")
