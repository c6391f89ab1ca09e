"""audit trail: role, tenant, before/after, hash chain and its head; existing rows hashed

Revision ID: ba7cfd5b1dea
Revises: 8d4f1b6e2c93
Create Date: 2026-12-04 05:00:00

Rows already in `audit_log` are chained in id order by this migration (role, tenant, before and
after unknown, so NULL), and the head is set after the last of them: `hmg audit verify` checks
them like any later row.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import gateway.storage.tables
from gateway.storage.auditchain import CONTENT_FIELDS, GENESIS, HEAD_ID, row_hash

revision: str = "ba7cfd5b1dea"
down_revision: str | None = "8d4f1b6e2c93"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
BLOCK = 1000


def _hash_existing(conn: sa.Connection) -> tuple[int, int, str]:
    """Chain the rows present, in id order; (rows, last id, last hash)."""
    log = sa.table(
        "audit_log",
        sa.column("id", _ID),
        sa.column("at", gateway.storage.tables.UTCDateTime(timezone=True)),
        *(sa.column(f, sa.JSON()) for f in ("before", "after", "detail")),
        *(
            sa.column(f, sa.String())
            for f in CONTENT_FIELDS
            if f not in ("at", "before", "after", "detail")
        ),
        sa.column("prev_hash", sa.String()),
        sa.column("hash", sa.String()),
    )
    columns = [log.c.id, *(log.c[f] for f in CONTENT_FIELDS)]
    update = (
        log.update()
        .where(log.c.id == sa.bindparam("row_id"))
        .values(prev_hash=sa.bindparam("p"), hash=sa.bindparam("h"))
    )
    prev, last_id, count = GENESIS, 0, 0
    while True:
        rows = conn.execute(
            sa.select(*columns).where(log.c.id > last_id).order_by(log.c.id).limit(BLOCK)
        ).all()
        if not rows:
            return count, last_id, prev
        params: list[dict[str, Any]] = []
        for r in rows:
            content = dict(zip(CONTENT_FIELDS, r[1:], strict=True))
            digest = row_hash(prev, content)
            params.append({"row_id": r[0], "p": prev, "h": digest})
            prev, last_id, count = digest, r[0], count + 1
        conn.execute(update, params)


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("role", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("tenant", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("before", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("after", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    op.create_table(
        "audit_chain",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("rows", _ID, nullable=False),
        sa.Column("last_id", _ID, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    rows, last_id, digest = _hash_existing(op.get_bind())
    chain = sa.table(
        "audit_chain",
        sa.column("id", sa.Integer()),
        sa.column("rows", _ID),
        sa.column("last_id", _ID),
        sa.column("hash", sa.String()),
    )
    op.bulk_insert(chain, [{"id": HEAD_ID, "rows": rows, "last_id": last_id, "hash": digest}])
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch.create_index("ix_audit_log_tenant_id", ["tenant", "id"], unique=False)


def downgrade() -> None:
    op.drop_table("audit_chain")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_index("ix_audit_log_tenant_id")
        for name in ("hash", "prev_hash", "after", "before", "tenant", "role"):
            batch.drop_column(name)
