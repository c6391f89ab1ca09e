"""Dead letters: messages the gateway could not accept, kept with the reason for inspection."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select

from gateway.storage.database import Database
from gateway.storage.tables import DeadLetterRow


@dataclass(frozen=True, slots=True)
class DeadLetter:
    tenant: str
    topic: str
    reason: str
    detail: str
    payload: bytes
    received_at: datetime
    id: int | None = None  # assigned when stored


class DeadLetterStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def save(self, letters: Sequence[DeadLetter]) -> None:
        if not letters:
            return
        async with self.db.writing(None) as s:
            s.add_all(
                DeadLetterRow(
                    tenant=d.tenant,
                    topic=d.topic,
                    reason=d.reason,
                    detail=d.detail,
                    payload=d.payload,
                    received_at=d.received_at,
                )
                for d in letters
            )

    async def query(
        self,
        *,
        tenant: str | None = None,
        reason: str | None = None,
        limit: int = 200,
        before_id: int | None = None,
    ) -> list[DeadLetter]:
        """Newest first; `before_id` continues a list past the id it ended with."""
        stmt = select(DeadLetterRow).order_by(DeadLetterRow.id.desc()).limit(limit)
        if before_id is not None:
            stmt = stmt.where(DeadLetterRow.id < before_id)
        if tenant is not None:
            stmt = stmt.where(DeadLetterRow.tenant == tenant)
        if reason is not None:
            stmt = stmt.where(DeadLetterRow.reason == reason)
        async with self.db.session() as s:
            rows = (await s.scalars(stmt)).all()
        return [
            DeadLetter(r.tenant, r.topic, r.reason, r.detail, r.payload, r.received_at, r.id)
            for r in rows
        ]

    async def count(self) -> int:
        async with self.db.session() as s:
            return int((await s.scalar(select(func.count(DeadLetterRow.id)))) or 0)

    async def delete_before(self, cutoff: datetime) -> int:
        """Retention: drop dead letters received before `cutoff`; return how many."""
        stmt = delete(DeadLetterRow).where(DeadLetterRow.received_at < cutoff)
        async with self.db.writing(None) as s:
            result = await s.execute(stmt)
        return int(getattr(result, "rowcount", -1))
