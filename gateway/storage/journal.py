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
from typing import Final

from sqlalchemy import delete

from devices.kinds import Kind
from devices.model import Reading
from gateway.storage.database import Database
from gateway.storage.progress import ProgressStore
from gateway.storage.readings import (
    ReadingStore,
    StoreUnavailableError,
    feed_after,
    feed_top,
    insert_once,
    reading_columns,
)
from gateway.storage.tables import JournalRow

__all__ = ["JOURNAL_KINDS", "JournalledStore", "ReadingJournal"]

# The kinds the followers read: an elder's record and a kiosk visit's results.
JOURNAL_KINDS: Final = frozenset({Kind.BP, Kind.GLUCOSE, Kind.HR, Kind.SPO2, Kind.WEIGHT})
UNFOLLOWED_KEEP: Final = timedelta(days=7)


class ReadingJournal:
    """`reading_journal`: a `ReadingFeed` of the vital-sign readings of elders."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._stmt = insert_once(db, JournalRow)

    async def add(self, readings: Iterable[Reading]) -> None:
        """Journal the followed readings of a batch (a reading already there is kept as it is);
        StoreUnavailableError when the database did not take them."""
        rows = [reading_columns(r) for r in readings if r.kind in JOURNAL_KINDS and r.patient_id]
        if not rows:
            return
        try:
            async with self.db.engine.begin() as conn:
                await conn.execute(self._stmt, rows)
        except Exception as exc:
            raise StoreUnavailableError(f"reading journal write failed: {exc}") from exc

    async def stored_after(self, position: int, limit: int) -> list[tuple[int, Reading]]:
        return await feed_after(self.db, JournalRow.position, position, limit)

    async def top(self) -> int:
        return await feed_top(self.db, JournalRow.position)

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
        # Reads are the backend's own.
        self.query = inner.query
        self.latest = inner.latest
        self.aggregate = inner.aggregate
        self.ecg_strip = inner.ecg_strip

    async def write(self, readings: Sequence[Reading]) -> list[Reading]:
        await self.journal.add(readings)  # first: a batch the backend took is always journaled
        return await self.inner.write(readings)

    async def delete_before(self, kind: Kind, cutoff: datetime) -> int:
        return await self.inner.delete_before(kind, cutoff)

    async def close(self) -> None:
        await self.inner.close()
