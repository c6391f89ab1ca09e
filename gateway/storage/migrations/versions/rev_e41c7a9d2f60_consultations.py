"""remote ECG consultation: reading centres and the requests sent to them

Revision ID: e41c7a9d2f60
Revises: 5d2a8c7e1f40
Create Date: 2026-12-04 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.storage.tables

revision: str = "e41c7a9d2f60"
down_revision: str | None = "5d2a8c7e1f40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time(name: str, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, gateway.storage.tables.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "consult_centres",
        sa.Column("centre_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("lead", sa.String(length=128), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        _time("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("centre_id"),
    )
    op.create_table(
        "consult_requests",
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("centre_id", sa.String(length=64), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("alert_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("proposed", sa.String(length=16), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=128), nullable=False),
        _time("requested_at", nullable=False),
        _time("due_at", nullable=False),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        _time("claimed_at"),
        _time("lease_until"),
        _time("first_claimed_at"),
        _time("final_at"),
        sa.Column("receipt_by", sa.String(length=128), nullable=True),
        _time("receipt_at"),
        sa.Column("escalation_id", sa.String(length=64), nullable=True),
        sa.Column("report_alert_id", sa.String(length=64), nullable=True),
        _time("updated_at"),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("ecg", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("request_id"),
    )
    op.create_index("ix_consult_requests_centre_due", "consult_requests", ["centre_id", "due_at"])
    op.create_index(
        "ix_consult_requests_tenant_patient", "consult_requests", ["tenant", "patient_id"]
    )
    op.create_index(
        op.f("ix_consult_requests_alert_id"), "consult_requests", ["alert_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("consult_requests")
    op.drop_table("consult_centres")
