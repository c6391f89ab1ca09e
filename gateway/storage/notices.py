"""Results notices to elders and families: composed, sent, tracked until delivered."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select, update

from gateway.storage.database import Database, Transaction
from gateway.storage.record_tables import ResultsNoticeRow

__all__ = ["NoticeState", "NoticeStore", "ResultsNotice"]


class NoticeState(StrEnum):
    PENDING = "pending"
    OVERDUE = "overdue"  # not delivered by the tenant's deadline
    DELIVERED = "delivered"


@dataclass(frozen=True, slots=True)
class ResultsNotice:
    """`texts`: language -> {"title", "body"} (zh-CN and en)."""

    notice_id: str
    tenant: str
    patient_id: str
    source: str
    measured_at: datetime
    created_at: datetime
    deadline_at: datetime
    texts: Mapping[str, Mapping[str, str]]
    delivered_at: datetime | None = None
    delivered_to: str | None = None
    attempts: int = 0
    last_error: str | None = None

    def state(self, now: datetime) -> NoticeState:
        if self.delivered_at is not None:
            return NoticeState.DELIVERED
        return NoticeState.OVERDUE if now > self.deadline_at else NoticeState.PENDING


def _of(r: ResultsNoticeRow) -> ResultsNotice:
    return ResultsNotice(
        r.notice_id, r.tenant, r.patient_id, r.source, r.measured_at, r.created_at,
        r.deadline_at, r.texts, r.delivered_at, r.delivered_to, r.attempts, r.last_error,
    )  # fmt: skip


class NoticeStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, n: ResultsNotice, *, tx: Transaction | None = None) -> None:
        async with self.db.writing(tx) as s:
            if await s.get(ResultsNoticeRow, n.notice_id) is None:
                s.add(
                    ResultsNoticeRow(
                        notice_id=n.notice_id, tenant=n.tenant, patient_id=n.patient_id,
                        source=n.source, measured_at=n.measured_at, created_at=n.created_at,
                        deadline_at=n.deadline_at, texts=dict(n.texts), delivered_at=None,
                        delivered_to=None, attempts=0, last_error=None,
                    )
                )  # fmt: skip

    async def get(self, notice_id: str) -> ResultsNotice | None:
        async with self.db.session() as s:
            row = await s.get(ResultsNoticeRow, notice_id)
        return _of(row) if row is not None else None

    async def attempted(
        self, notice_id: str, at: datetime, to: str | None, error: str | None
    ) -> None:
        """One delivery attempt: delivered to `to`, or failed with `error`."""
        values: dict[str, object] = {"attempts": ResultsNoticeRow.attempts + 1, "last_error": error}
        if error is None:
            values.update(delivered_at=at, delivered_to=to)
        stmt = update(ResultsNoticeRow).where(ResultsNoticeRow.notice_id == notice_id)
        async with self.db.writing(None) as s:
            await s.execute(stmt.values(**values))

    async def latest(self, tenant: str, patient_id: str, source: str) -> ResultsNotice | None:
        """The elder's newest notice from `source` (`kiosk`, `home`)."""
        stmt = (
            select(ResultsNoticeRow)
            .where(
                ResultsNoticeRow.tenant == tenant,
                ResultsNoticeRow.patient_id == patient_id,
                ResultsNoticeRow.source == source,
            )
            .order_by(ResultsNoticeRow.created_at.desc())
            .limit(1)
        )
        async with self.db.session() as s:
            row = (await s.scalars(stmt)).first()
        return _of(row) if row is not None else None

    async def query(
        self, tenant: str, *, patient_id: str | None = None, limit: int = 500
    ) -> list[ResultsNotice]:
        """The tenant's notices, newest first."""
        stmt = select(ResultsNoticeRow).where(ResultsNoticeRow.tenant == tenant)
        if patient_id is not None:
            stmt = stmt.where(ResultsNoticeRow.patient_id == patient_id)
        stmt = stmt.order_by(ResultsNoticeRow.created_at.desc()).limit(limit)
        async with self.db.session() as s:
            return [_of(r) for r in (await s.scalars(stmt)).all()]
