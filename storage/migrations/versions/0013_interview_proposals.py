"""约谈问询 at discretion (issue 11, item 7): an interview's proposal is decided by the office
(when, who, the reason of a decline); 推进进度严重滞后 is recorded beside 点名批评.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("interviews") as batch:
        batch.add_column(sa.Column("decided_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("decided_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("reason", sa.Text(), nullable=True))
    with op.batch_alter_table("criticisms") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(length=12), server_default="named", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("criticisms") as batch:
        batch.drop_column("kind")
    with op.batch_alter_table("interviews") as batch:
        batch.drop_column("reason")
        batch.drop_column("decided_by")
        batch.drop_column("decided_at")
