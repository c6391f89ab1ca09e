"""follow-up tasks (chronic-disease follow-up by the family-doctor team)

Revision ID: 4f7b1d9c3e62
Revises: 9a4c2e7f1b30
Create Date: 2026-12-04 11:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.storage.tables

revision: str = "4f7b1d9c3e62"
down_revision: str | None = "9a4c2e7f1b30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    utc = gateway.storage.tables.UTCDateTime(timezone=True)
    op.create_table(
        "followup_tasks",
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("due_at", utc, nullable=False),
        sa.Column("done_at", utc, nullable=True),
        sa.Column("done_by", sa.String(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("escalated_at", utc, nullable=True),
        sa.Column("escalated_to", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("task_id"),
    )
    op.create_index("ix_followup_open", "followup_tasks", ["tenant", "done_at", "due_at"])
    op.create_index(op.f("ix_followup_tasks_patient_id"), "followup_tasks", ["patient_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_followup_tasks_patient_id"), table_name="followup_tasks")
    op.drop_index("ix_followup_open", table_name="followup_tasks")
    op.drop_table("followup_tasks")
