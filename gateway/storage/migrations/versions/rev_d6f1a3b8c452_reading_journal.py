"""reading journal (vital-sign readings numbered in storing order, for an InfluxDB backend)

Revision ID: d6f1a3b8c452
Revises: 7a84faf922c7
Create Date: 2026-12-04 13:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.storage.tables

revision: str = "d6f1a3b8c452"
down_revision: str | None = "7a84faf922c7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    utc = gateway.storage.tables.UTCDateTime(timezone=True)
    op.create_table(
        "reading_journal",
        sa.Column(
            "position",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("ts", utc, nullable=False),
        sa.Column("received_at", utc, nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("attrs", sa.JSON(), nullable=False),
        sa.Column("flags", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("position"),
        sa.UniqueConstraint("device_id", "seq", name="uq_reading_journal_device_seq"),
    )


def downgrade() -> None:
    op.drop_table("reading_journal")
