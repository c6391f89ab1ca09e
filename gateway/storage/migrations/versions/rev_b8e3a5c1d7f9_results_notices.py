"""results notices (plain-language results to the elder and family, tracked until delivered)

Revision ID: b8e3a5c1d7f9
Revises: 4f7b1d9c3e62
Create Date: 2026-12-04 11:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.storage.tables

revision: str = "b8e3a5c1d7f9"
down_revision: str | None = "4f7b1d9c3e62"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    utc = gateway.storage.tables.UTCDateTime(timezone=True)
    op.create_table(
        "results_notices",
        sa.Column("notice_id", sa.String(length=64), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("measured_at", utc, nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("deadline_at", utc, nullable=False),
        sa.Column("texts", sa.JSON(), nullable=False),
        sa.Column("delivered_at", utc, nullable=True),
        sa.Column("delivered_to", sa.String(length=200), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("notice_id"),
    )
    op.create_index("ix_results_notices_tenant", "results_notices", ["tenant", "created_at"])
    op.create_index(op.f("ix_results_notices_patient_id"), "results_notices", ["patient_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_results_notices_patient_id"), table_name="results_notices")
    op.drop_index("ix_results_notices_tenant", table_name="results_notices")
    op.drop_table("results_notices")
