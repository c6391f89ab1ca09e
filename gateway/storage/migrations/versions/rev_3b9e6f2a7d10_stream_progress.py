"""detection progress per stream (exactly-once recovery of alert detection)

Revision ID: 3b9e6f2a7d10
Revises: 7c1d5a0e4b21
Create Date: 2026-11-29 21:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.storage.tables

revision: str = "3b9e6f2a7d10"
down_revision: str | None = "7c1d5a0e4b21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stream_progress",
        sa.Column("stream", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("updated_at", gateway.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("stream"),
    )


def downgrade() -> None:
    op.drop_table("stream_progress")
