"""notification outbox (at-least-once delivery of alert notifications)

Revision ID: 5d2a8c7e1f40
Revises: c3e8a1f7d2b4
Create Date: 2026-12-04 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gateway.storage.tables

revision: str = "5d2a8c7e1f40"
down_revision: str | None = "c3e8a1f7d2b4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    utc = gateway.storage.tables.UTCDateTime(timezone=True)
    op.create_table(
        "notification_outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("delivery_id", sa.String(length=160), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("alert_id", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("due_at", utc, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("delivered_at", utc, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("delivery_id", "channel", name="uq_outbox_delivery_channel"),
    )
    op.create_index("ix_outbox_pending", "notification_outbox", ["delivered_at", "due_at"])
    op.create_index(op.f("ix_notification_outbox_alert_id"), "notification_outbox", ["alert_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_notification_outbox_alert_id"), table_name="notification_outbox")
    op.drop_index("ix_outbox_pending", table_name="notification_outbox")
    op.drop_table("notification_outbox")
