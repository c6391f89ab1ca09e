"""Consent to share an elder's record with the regional platform, per (tenant, patient)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select

from gateway.storage.database import Database, Transaction
from gateway.storage.record_tables import ConsentRow

__all__ = ["Consent", "ConsentStatus", "ConsentStore"]


class ConsentStatus(StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True, slots=True)
class Consent:
    tenant: str
    patient_id: str
    status: ConsentStatus
    recorded_at: datetime
    recorded_by: str
    note: str | None = None

    @property
    def shares(self) -> bool:
        return self.status is ConsentStatus.ACTIVE


def _of(r: ConsentRow) -> Consent:
    return Consent(
        r.tenant, r.patient_id, ConsentStatus(r.status), r.recorded_at, r.recorded_by, r.note
    )


class ConsentStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, tenant: str, patient_id: str) -> Consent | None:
        async with self.db.session() as s:
            row = await s.get(ConsentRow, (tenant, patient_id))
        return _of(row) if row is not None else None

    async def put(self, c: Consent, *, tx: Transaction | None = None) -> None:
        async with self.db.writing(tx) as s:
            row = await s.get(ConsentRow, (c.tenant, c.patient_id))
            if row is None:
                row = ConsentRow(tenant=c.tenant, patient_id=c.patient_id)
                s.add(row)
            row.status, row.recorded_at = c.status.value, c.recorded_at
            row.recorded_by, row.note = c.recorded_by, c.note

    async def sharing(self, tenant: str | None = None) -> set[tuple[str, str]]:
        """(tenant, patient) of every elder whose record may be shared now."""
        stmt = select(ConsentRow.tenant, ConsentRow.patient_id).where(
            ConsentRow.status == ConsentStatus.ACTIVE.value
        )
        if tenant is not None:
            stmt = stmt.where(ConsentRow.tenant == tenant)
        async with self.db.session() as s:
            return {(t, p) for t, p in (await s.execute(stmt)).all()}
