"""record consents (sharing the elder's record with the regional platform)

Revision ID: 9a4c2e7f1b30
Revises: e41c7a9d2f60
Create Date: 2026-12-04 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.storage.tables

revision: str = "9a4c2e7f1b30"
down_revision: str | None = "e41c7a9d2f60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    utc = gateway.storage.tables.UTCDateTime(timezone=True)
    op.create_table(
        "record_consents",
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", utc, nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("tenant", "patient_id"),
    )


def downgrade() -> None:
    op.drop_table("record_consents")
