"""Tables of who may act and what they did: the hash-chained audit log and its head, the
embedded issuer's accounts and the tokens signed out before their expiry.

Declared on the one `Base.metadata` of `gateway.storage.tables` (imported by
`gateway.storage.database.all_metadata`, so `create_schema` and Alembic see them).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.storage.tables import Base

_ID = BigInteger().with_variant(Integer, "sqlite")


class AuditRow(Base):
    """Every audited action and read (alert actions, edits, sign-ins, reads of health data).

    Append-only and hash-chained: `hash` is the SHA-256 over `prev_hash` and the row's content
    (see `gateway.storage.auditchain`), so an edited, inserted or deleted row breaks the chain.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_tenant_id", "tenant", "id"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str | None] = mapped_column(String(128))
    role: Mapped[str | None] = mapped_column(String(16))
    tenant: Mapped[str | None] = mapped_column(String(64))
    client: Mapped[str | None] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(128), index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditChainRow(Base):
    """The head of the audit chain: one row (`id` 1) with the number of chained rows, the last
    row's id and hash. Every append locks and moves it in the append's transaction, so concurrent
    writers queue instead of forking the chain, and a row cut off the end is noticed."""

    __tablename__ = "audit_chain"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    rows: Mapped[int] = mapped_column(_ID)
    last_id: Mapped[int] = mapped_column(_ID)
    hash: Mapped[str] = mapped_column(String(64))


class AccountRow(Base):
    """Local accounts of the embedded issuer: people and integrations, Argon2id hashes only."""

    __tablename__ = "accounts"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    role: Mapped[str] = mapped_column(String(16))
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    display_name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str] = mapped_column(String(200))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class RevokedTokenRow(Base):
    """Token ids signed out before their expiry (kept until then, then purged)."""

    __tablename__ = "revoked_tokens"

    token_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime]
