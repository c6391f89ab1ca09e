"""what responders and care teams need to know about an elder

Revision ID: 8d4f1b6e2c93
Revises: 5e2a9c7b3f40
Create Date: 2026-12-04 05:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8d4f1b6e2c93"
down_revision: str | None = "5e2a9c7b3f40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEXTS = ("conditions", "medications", "allergies", "address", "access_notes")


def upgrade() -> None:
    with op.batch_alter_table("patients") as batch:
        batch.add_column(sa.Column("sex", sa.String(length=16), nullable=True))
        for name in TEXTS:
            batch.add_column(sa.Column(name, sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("patients") as batch:
        for name in reversed(TEXTS):
            batch.drop_column(name)
        batch.drop_column("sex")
