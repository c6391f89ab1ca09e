"""Detection progress per stream: how far alert events are stored, for exactly-once recovery.

A stream is a scaled-out partition (`p.<n>`, positions are JetStream sequences) or the single
gateway's readings table (`local`, positions are reading row ids). Detection stores each batch's
alert events and the batch's last position in one transaction (an alert record,
`gateway.storage.record`), so after a crash the gateway knows which stored readings have had
their alerts stored and which have not.
"""

from __future__ import annotations

from datetime import datetime

from gateway.storage.database import Database, Transaction
from gateway.storage.record import advance_to
from gateway.storage.tables import StreamProgressRow


class ProgressStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, stream: str) -> int:
        """The last stored position of `stream` (0: nothing yet)."""
        found = await self.find(stream)
        return 0 if found is None else found

    async def find(self, stream: str) -> int | None:
        """The last stored position of `stream`; None when it never had one (a store written
        before progress was kept), unlike 0 (kept from the start, nothing stored then)."""
        async with self.db.session() as s:
            row = await s.get(StreamProgressRow, stream)
        return row.seq if row is not None else None

    async def advance(
        self, stream: str, seq: int, at: datetime, *, tx: Transaction | None = None
    ) -> None:
        """Move `stream` to `seq`; never backwards (a late writer cannot undo progress)."""
        async with self.db.writing(tx) as s:
            await advance_to(s, stream, seq, at)
