"""Readings store: the contract every backend meets, and the SQL (SQLite/PostgreSQL) backend."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, cast, runtime_checkable

import numpy as np
from sqlalchemy import ColumnElement, Table, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.dml import Insert

from devices.kinds import Kind
from devices.model import EcgChunk, PatientKey, Reading
from gateway.storage import sqlite_batch
from gateway.storage.database import Database, sqlite_pragmas
from gateway.storage.history import (
    ECG_CHUNK_MARGIN,
    Bucket,
    EcgStrip,
    bucketize,
    cut_strip,
    metric_names,
)
from gateway.storage.tables import JournalRow, ReadingRow

VITAL_KINDS = (Kind.BP, Kind.GLUCOSE, Kind.HR, Kind.SPO2, Kind.WEIGHT, Kind.STATUS)


@dataclass(frozen=True, slots=True)
class ValueSummary:
    """A patient's readings of one kind over a period: how many, the first one's time and the
    mean of each value field (a missing field counts as 0)."""

    count: int
    first: datetime | None
    means: Mapping[str, float]

    @classmethod
    def of(cls, readings: Sequence[Reading], fields: Sequence[str]) -> ValueSummary:
        n = len(readings)
        return cls(
            n,
            min((r.ts for r in readings), default=None),
            {f: sum(r.values.get(f, 0.0) for r in readings) / n if n else 0.0 for f in fields},
        )


class StoreUnavailableError(RuntimeError):
    """The backend could not durably write; nothing of the batch may be acknowledged."""


class ReadingStore(Protocol):
    async def write(self, readings: Sequence[Reading]) -> list[Reading]:
        """Durably store a batch; return the readings that were new (duplicates stored once).

        Raises StoreUnavailableError when the write did not happen.
        """
        ...

    async def query(
        self,
        patient: PatientKey,
        kind: Kind | None,
        start: datetime,
        end: datetime,
        limit: int = 10000,
    ) -> list[Reading]: ...

    async def latest(
        self,
        patient: PatientKey,
        kinds: Iterable[Kind] = VITAL_KINDS,
        since: datetime | None = None,
    ) -> dict[Kind, Reading]:
        """The most recent reading of each kind (measured at or after `since`, if given)."""
        ...

    async def aggregate(
        self, patient: PatientKey, kind: Kind, start: datetime, end: datetime, every: timedelta
    ) -> list[Bucket]:
        """Mean/min/max/count per field in windows of `every` aligned on `start`."""
        ...

    async def ecg_strip(
        self, patient: PatientKey, start: datetime, end: datetime, device_id: str | None = None
    ) -> EcgStrip | None:
        """The ECG of one device for `[start, end)`, joined from its chunks."""
        ...

    async def delete_before(self, kind: Kind, cutoff: datetime) -> int:
        """Retention: drop readings of `kind` measured before `cutoff`; return how many
        (-1 when the backend cannot count)."""
        ...

    async def close(self) -> None: ...


def _of(patient: PatientKey) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """The conditions for one patient's rows: both parts of its key."""
    return ReadingRow.tenant == patient.tenant, ReadingRow.patient_id == patient.patient_id


def reading_to_row(r: Reading) -> dict[str, Any]:
    e = r.ecg
    return {
        **reading_columns(r),
        "ecg_fs": e.fs if e else None,
        "ecg_gain": e.gain if e else None,
        "ecg_baseline": e.baseline if e else None,
        "ecg_lead": e.lead if e else None,
        "ecg_samples": e.samples.astype("<i4").tobytes() if e else None,
    }


def reading_columns(r: Reading) -> dict[str, Any]:
    """A reading's columns but the ECG ones: what `readings` and `reading_journal` share."""
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


def row_to_reading(row: ReadingRow | JournalRow) -> Reading:
    """The reading of a `readings` row, or of a `reading_journal` row (which has no ECG)."""
    ecg = None
    if (
        isinstance(row, ReadingRow)
        and row.ecg_samples is not None
        and row.ecg_fs is not None
        and row.ecg_gain is not None
    ):
        samples = np.frombuffer(row.ecg_samples, dtype="<i4").astype(np.int32)
        ecg = EcgChunk(row.ecg_fs, row.ecg_lead or "", row.ecg_gain, row.ecg_baseline or 0, samples)
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
        ecg=ecg,
        flags=frozenset(f for f in row.flags.split(",") if f),
    )


class ReadingFeed(Protocol):
    """Stored readings numbered in the order they were stored: what the jobs that follow new
    readings read (the SQL store itself, or `gateway.storage.journal` for InfluxDB)."""

    async def stored_after(self, position: int, limit: int) -> list[tuple[int, Reading]]: ...


@runtime_checkable
class PositionedStore(Protocol):
    """A readings store that numbers what it stores in order (row ids), so detection can be
    resumed after a crash from the last position whose alerts are stored."""

    position: int  # the highest position after the last `write`

    async def stored_after(self, position: int, limit: int) -> list[tuple[int, Reading]]: ...

    async def top(self) -> int: ...


def insert_once(db: Database, entity: type[ReadingRow] | type[JournalRow]) -> Insert:
    """An insert of readings into `entity`'s table that keeps a (device_id, seq) already there.

    A Core insert on the table (not the ORM entity) skips the ORM bulk-persistence layer, which
    would otherwise cost more than the database work on this hot path."""
    insert = sqlite.insert if db.is_sqlite else postgresql.insert
    return insert(cast(Table, entity.__table__)).on_conflict_do_nothing(
        index_elements=["device_id", "seq"]
    )


async def feed_after(
    db: Database, position: InstrumentedAttribute[int], after: int, limit: int
) -> list[tuple[int, Reading]]:
    """The readings of a table numbered by `position` (its column) stored after `after`, in
    the order they were stored (a `ReadingFeed`)."""
    stmt = select(position, position.class_).where(position > after).order_by(position)
    async with db.session() as s:
        rows = (await s.execute(stmt.limit(limit))).all()
    return [(int(p), row_to_reading(r)) for p, r in rows]


async def feed_top(db: Database, position: InstrumentedAttribute[int]) -> int:
    """The highest `position` stored so far (0: empty)."""
    async with db.session() as s:
        return int(await s.scalar(select(func.max(position))) or 0)


class SqlReadingStore:
    """Readings in the relational database, de-duplicated on (device_id, seq).

    Row ids number the stored readings in the order they were written (one writer: the
    gateway), which makes the table its own journal for resuming detection (`stored_after`).
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self.position = 0
        # An SQLite file takes batches through a writer thread of its own (one hand-off each).
        self._writer = (
            sqlite_batch.SqliteWriter(db.sqlite_file, sqlite_pragmas) if db.sqlite_file else None
        )
        table = cast(Table, ReadingRow.__table__)
        self._stmt = insert_once(db, ReadingRow).returning(
            table.c.id, table.c.device_id, table.c.seq
        )

    async def write(self, readings: Sequence[Reading]) -> list[Reading]:
        unique: dict[tuple[str, int], Reading] = {}
        for r in readings:
            unique.setdefault(r.key, r)
        if not unique:
            return []
        try:
            if self._writer is not None:
                new, last = await self._writer.write(list(unique.values()))
            else:
                new, last = await self._write_pooled(unique)
        except Exception as exc:
            raise StoreUnavailableError(f"readings write failed: {exc}") from exc
        if last is not None:  # a batch of duplicates only leaves the position where it was
            self.position = max(self.position, last)
        return new

    async def _write_pooled(
        self, unique: dict[tuple[str, int], Reading]
    ) -> tuple[list[Reading], int | None]:
        """A batch through the engine's own connections (PostgreSQL; SQLite in memory)."""
        async with self.db.engine.begin() as conn:
            if self.db.is_sqlite:

                def write(sync: Any) -> tuple[list[Reading], int | None]:
                    return sqlite_batch.write_batch(sync.connection.cursor(), list(unique.values()))

                return await conn.run_sync(write)
            rows = [reading_to_row(r) for r in unique.values()]
            result = await conn.execute(self._stmt, rows)
            ids = {(row[1], row[2]): int(row[0]) for row in result.all()}
            new = [r for k, r in unique.items() if k in ids]
            return new, max(ids.values(), default=None)

    async def stored_after(self, position: int, limit: int) -> list[tuple[int, Reading]]:
        """Readings stored after `position`, in the order they were stored."""
        return await feed_after(self.db, ReadingRow.id, position, limit)

    async def top(self) -> int:
        """The highest position stored so far (0: empty)."""
        return await feed_top(self.db, ReadingRow.id)

    async def query(
        self,
        patient: PatientKey,
        kind: Kind | None,
        start: datetime,
        end: datetime,
        limit: int = 10000,
    ) -> list[Reading]:
        stmt = select(ReadingRow).where(*_of(patient), ReadingRow.ts >= start, ReadingRow.ts < end)
        if kind is not None:
            stmt = stmt.where(ReadingRow.kind == kind.value)
        stmt = stmt.order_by(ReadingRow.ts, ReadingRow.seq).limit(limit)
        async with self.db.session() as s:
            rows = (await s.scalars(stmt)).all()
        return [row_to_reading(r) for r in rows]

    async def summaries(
        self,
        tenant: str,
        kind: Kind,
        fields: Sequence[str],
        start: datetime,
        end: datetime,
        patient_id: str | None = None,
    ) -> dict[str, ValueSummary]:
        """Per patient of `tenant` (or only `patient_id`): the count, first time and mean of each
        of `fields` of its `kind` readings in `[start, end)`, computed by the database in one
        grouped query (a missing field counts as 0). A sweep over every elder needs no more, and
        never brings their readings into the process."""
        means = [func.avg(func.coalesce(ReadingRow.values[f].as_float(), 0.0)) for f in fields]
        stmt = (
            select(ReadingRow.patient_id, func.count(), func.min(ReadingRow.ts), *means)
            .where(
                ReadingRow.tenant == tenant,
                ReadingRow.kind == kind.value,
                ReadingRow.ts >= start,
                ReadingRow.ts < end,
                ReadingRow.patient_id != "",
            )
            .group_by(ReadingRow.patient_id)
        )
        if patient_id is not None:
            stmt = stmt.where(ReadingRow.patient_id == patient_id)
        async with self.db.session() as s:
            rows = (await s.execute(stmt)).all()
        return {
            pid: ValueSummary(int(n), first, {f: float(m) for f, m in zip(fields, ms, strict=True)})
            for pid, n, first, *ms in rows
        }

    async def latest(
        self,
        patient: PatientKey,
        kinds: Iterable[Kind] = VITAL_KINDS,
        since: datetime | None = None,
    ) -> dict[Kind, Reading]:
        out: dict[Kind, Reading] = {}
        async with self.db.session() as s:
            for kind in kinds:
                stmt = select(ReadingRow).where(*_of(patient), ReadingRow.kind == kind.value)
                if since is not None:
                    stmt = stmt.where(ReadingRow.ts >= since)
                stmt = stmt.order_by(ReadingRow.ts.desc(), ReadingRow.seq.desc()).limit(1)
                row = (await s.scalars(stmt)).first()
                if row is not None:
                    out[kind] = row_to_reading(row)
        return out

    async def aggregate(
        self, patient: PatientKey, kind: Kind, start: datetime, end: datetime, every: timedelta
    ) -> list[Bucket]:
        # Values live in a JSON column (portable across SQLite and PostgreSQL), so windows are
        # computed here; the range is bounded by the caller.
        rows = await self.query(patient, kind, start, end, limit=1_000_000)
        return bucketize(rows, start, every, metric_names(kind))

    async def ecg_strip(
        self, patient: PatientKey, start: datetime, end: datetime, device_id: str | None = None
    ) -> EcgStrip | None:
        stmt = select(ReadingRow).where(
            *_of(patient),
            ReadingRow.kind == Kind.ECG.value,
            ReadingRow.ts >= start - ECG_CHUNK_MARGIN,
            ReadingRow.ts < end,
        )
        if device_id is not None:
            stmt = stmt.where(ReadingRow.device_id == device_id)
        async with self.db.session() as s:
            rows = (await s.scalars(stmt.order_by(ReadingRow.ts, ReadingRow.seq))).all()
        return cut_strip((row_to_reading(r) for r in rows), start, end, device_id)

    async def delete_before(self, kind: Kind, cutoff: datetime) -> int:
        stmt = delete(ReadingRow).where(ReadingRow.kind == kind.value, ReadingRow.ts < cutoff)
        async with self.db.session() as s, s.begin():
            result = await s.execute(stmt)
        return int(getattr(result, "rowcount", -1))

    async def close(self) -> None:
        if self._writer is not None:
            await asyncio.to_thread(self._writer.close)
