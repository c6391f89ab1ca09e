"""What arrives, numbered in storing order, whatever the readings backend.

The jobs that follow new readings (the platform push, the results notices) read "the readings
stored after position N" (`ReadingFeed`). The SQL readings table answers that itself (its row
ids). InfluxDB cannot: its points are keyed by measurement time, and a reading measured long ago
may arrive today. With that backend the store is wrapped in a `JournalledStore`, which writes the
vital-sign readings of each batch to `reading_journal` in the relational database *before* the
backend's own write: a batch is acknowledged only once both have it, a retried batch lands once
in the journal (unique device and sequence number), and a reading journaled but not yet in
InfluxDB is written there when the broker delivers it again. ECG chunks and device status are not
journaled (nobody follows them, and they are most of the volume). Rows that every follower has
passed are pruned (`prune`); with no follower running, rows older than a week.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Final, cast

from sqlalchemy import Table, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from devices.kinds import Kind
from devices.model import PatientKey, Reading
from gateway.storage.database import Database
from gateway.storage.history import Bucket, EcgStrip
from gateway.storage.progress import ProgressStore
from gateway.storage.readings import VITAL_KINDS, ReadingStore, StoreUnavailableError
from gateway.storage.tables import JournalRow

__all__ = ["JOURNAL_KINDS", "JournalledStore", "ReadingJournal"]

# The kinds the followers read: an elder's record and a kiosk visit's results.
JOURNAL_KINDS: Final = frozenset({Kind.BP, Kind.GLUCOSE, Kind.HR, Kind.SPO2, Kind.WEIGHT})
UNFOLLOWED_KEEP: Final = timedelta(days=7)


def _row(r: Reading) -> dict[str, object]:
    return {
        "tenant": r.tenant,
        "patient_id": r.patient_id,
        "device_id": r.device_id,
        "kind": r.kind.value,
        "seq": r.seq,
        "ts": r.ts,
        "received_at": r.received_at,
        "values": dict(r.values),
        "attrs": dict(r.attrs),
        "flags": ",".join(sorted(r.flags)),
    }


def _reading(row: JournalRow) -> Reading:
    return Reading(
        tenant=row.tenant,
        device_id=row.device_id,
        kind=Kind(row.kind),
        seq=row.seq,
        ts=row.ts,
        received_at=row.received_at,
        patient_id=row.patient_id,
        values=row.values,
        attrs=row.attrs,
        flags=frozenset(f for f in row.flags.split(",") if f),
    )


class ReadingJournal:
    """`reading_journal`: a `ReadingFeed` of the vital-sign readings of elders."""

    def __init__(self, db: Database) -> None:
        self.db = db
        table = cast(Table, JournalRow.__table__)
        insert = sqlite.insert if db.is_sqlite else postgresql.insert
        self._stmt = insert(table).on_conflict_do_nothing(index_elements=["device_id", "seq"])

    async def add(self, readings: Iterable[Reading]) -> None:
        """Journal the followed readings of a batch (a reading already there is kept as it is);
        StoreUnavailableError when the database did not take them."""
        rows = [_row(r) for r in readings if r.kind in JOURNAL_KINDS and r.patient_id]
        if not rows:
            return
        try:
            async with self.db.engine.begin() as conn:
                await conn.execute(self._stmt, rows)
        except Exception as exc:
            raise StoreUnavailableError(f"reading journal write failed: {exc}") from exc

    async def stored_after(self, position: int, limit: int) -> list[tuple[int, Reading]]:
        stmt = (
            select(JournalRow)
            .where(JournalRow.position > position)
            .order_by(JournalRow.position)
            .limit(limit)
        )
        async with self.db.session() as s:
            rows = (await s.scalars(stmt)).all()
        return [(r.position, _reading(r)) for r in rows]

    async def top(self) -> int:
        async with self.db.session() as s:
            return int(await s.scalar(select(func.max(JournalRow.position))) or 0)

    async def prune(
        self, progress: ProgressStore, followers: Sequence[str], *, now: datetime
    ) -> int:
        """Drop the rows every follower (a progress stream) has passed; when nobody follows,
        those received more than `UNFOLLOWED_KEEP` ago (a follower switched on later still
        finds the last week). How many were dropped."""
        if followers:
            upto = min([await progress.get(f) for f in followers])
            stmt = delete(JournalRow).where(JournalRow.position <= upto)
        else:
            stmt = delete(JournalRow).where(JournalRow.received_at < now - UNFOLLOWED_KEEP)
        async with self.db.session() as s, s.begin():
            result = await s.execute(stmt)
        return int(getattr(result, "rowcount", 0))


class JournalledStore:
    """A `ReadingStore` whose vital-sign readings are also journaled (see the module doc)."""

    def __init__(self, inner: ReadingStore, journal: ReadingJournal) -> None:
        self.inner = inner
        self.journal = journal

    async def write(self, readings: Sequence[Reading]) -> list[Reading]:
        await self.journal.add(readings)  # first: a batch the backend took is always journaled
        return await self.inner.write(readings)

    async def query(
        self,
        patient: PatientKey,
        kind: Kind | None,
        start: datetime,
        end: datetime,
        limit: int = 10000,
    ) -> list[Reading]:
        return await self.inner.query(patient, kind, start, end, limit)

    async def latest(
        self,
        patient: PatientKey,
        kinds: Iterable[Kind] = VITAL_KINDS,
        since: datetime | None = None,
    ) -> dict[Kind, Reading]:
        return await self.inner.latest(patient, kinds, since)

    async def aggregate(
        self, patient: PatientKey, kind: Kind, start: datetime, end: datetime, every: timedelta
    ) -> list[Bucket]:
        return await self.inner.aggregate(patient, kind, start, end, every)

    async def ecg_strip(
        self, patient: PatientKey, start: datetime, end: datetime, device_id: str | None = None
    ) -> EcgStrip | None:
        return await self.inner.ecg_strip(patient, start, end, device_id)

    async def delete_before(self, kind: Kind, cutoff: datetime) -> int:
        return await self.inner.delete_before(kind, cutoff)

    async def close(self) -> None:
        await self.inner.close()
