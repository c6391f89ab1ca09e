"""serious alerts that cleared before anyone acted are reviewed

Revision ID: c3e8a1f7d2b4
Revises: ba7cfd5b1dea
Create Date: 2026-12-04 05:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.storage.tables

revision: str = "c3e8a1f7d2b4"
down_revision: str | None = "ba7cfd5b1dea"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("reviewed_by", sa.String(length=128), nullable=True))
        batch.add_column(
            sa.Column(
                "reviewed_at", gateway.storage.tables.UTCDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("reviewed_at")
        batch.drop_column("reviewed_by")
