"""The audit trail of actions: who did what to which subject, when, from which client.

Alert transitions are also kept as each alert's events (`gateway.storage.alerts`); this trail
records every action a person (or a system job) takes, whatever its subject.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from gateway.actor import Actor
from gateway.storage.database import Database, Transaction
from gateway.storage.tables import AuditRow


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audited action. `subject_type`/`subject_id` name what it acted on (an alert, a
    referral, a roster member, ...); `detail` says what changed."""

    at: datetime
    actor: str | None
    client: str | None
    action: str
    subject_type: str
    subject_id: str
    detail: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("audit time must be timezone-aware")
        if not self.action or not self.subject_type:
            raise ValueError("an audit entry needs an action and a subject type")

    @classmethod
    def by(
        cls,
        actor: Actor,
        at: datetime,
        action: str,
        subject_type: str,
        subject_id: str,
        detail: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """What `actor` did (its user and client are recorded)."""
        return cls(at, actor.user, actor.client or None, action, subject_type, subject_id,
                   detail or {})  # fmt: skip


class AuditStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def append(self, entry: AuditEntry, *, tx: Transaction | None = None) -> None:
        """Add one entry; pass the change's transaction so both commit (or fail) together."""
        async with self.db.writing(tx) as s:
            s.add(
                AuditRow(
                    at=entry.at,
                    actor=entry.actor,
                    client=entry.client,
                    action=entry.action,
                    subject_type=entry.subject_type,
                    subject_id=entry.subject_id,
                    detail=dict(entry.detail),
                )
            )

    async def entries(
        self,
        *,
        subject_id: str | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        limit: int = 500,
    ) -> list[AuditEntry]:
        """Oldest first."""
        stmt = select(AuditRow).order_by(AuditRow.id).limit(limit)
        if subject_id is not None:
            stmt = stmt.where(AuditRow.subject_id == subject_id)
        if actor is not None:
            stmt = stmt.where(AuditRow.actor == actor)
        if since is not None:
            stmt = stmt.where(AuditRow.at >= since)
        async with self.db.session() as s:
            rows = (await s.scalars(stmt)).all()
        return [
            AuditEntry(r.at, r.actor, r.client, r.action, r.subject_type, r.subject_id, r.detail)
            for r in rows
        ]
