"""local accounts of the embedded issuer

Revision ID: 7c1d5a0e4b21
Revises: 218e2c41a319
Create Date: 2026-11-29 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.storage.tables

revision: str = "7c1d5a0e4b21"
down_revision: str | None = "218e2c41a319"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("secret_hash", sa.String(length=200), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", gateway.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", gateway.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_index(op.f("ix_accounts_tenant"), "accounts", ["tenant"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_accounts_tenant"), table_name="accounts")
    op.drop_table("accounts")
