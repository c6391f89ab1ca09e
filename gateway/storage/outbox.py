"""The notification outbox: what is still to be sent, stored with the alert events it belongs to.

An alert change writes one entry per alert event and channel in the transaction that stores the
event (`gateway.storage.record`; other writers `add(..., tx=)`), so an event is never stored
without its notifications, nor a notification sent for an event that was not stored. The sender
marks an entry delivered once its channel confirmed it, or moves its next attempt on (`retry`);
whatever is not delivered after a crash is found again by `pending`.

Several processes may send from one store (the scaled-out workers, routers and API processes on
PostgreSQL). `due_at` is then also a lease: a sender takes undelivered entries with `claim`, which
moves their `due_at` past the lease in the same statement that checks they are due, so two
senders never take the same entry at once; the holder moves it on (`lease`) while it keeps it,
and an entry whose holder died is due again once its lease ran out.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.storage.database import Database, Transaction
from gateway.storage.deliveries import Delivery, delivery_row
from gateway.storage.tables import OutboxRow


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One notification to send: `delivery_id` is the same for every attempt (and every restart)
    of one alert event; `channel` is the channel's key (`mqtt`, `sse`, `webhook`, `webhook.2`)."""

    delivery_id: str
    channel: str
    alert_id: str
    event: str
    payload: Mapping[str, Any]
    due_at: datetime
    id: int = 0  # set once stored
    attempts: int = 0
    created_at: datetime | None = None
    error: str | None = None


def _entry_of(r: OutboxRow) -> OutboxEntry:
    return OutboxEntry(
        r.delivery_id, r.channel, r.alert_id, r.event, r.payload, r.due_at, r.id, r.attempts,
        r.created_at, r.last_error,
    )  # fmt: skip


async def insert_entries(
    s: AsyncSession, entries: Sequence[OutboxEntry], now: datetime
) -> list[OutboxEntry]:
    """Insert the entries, created `now`, in `s`'s transaction; returned with their ids (the one
    statement of every writer: alert records, `OutboxStore.add`)."""
    if not entries:
        return []
    rows = [
        {"delivery_id": e.delivery_id, "channel": e.channel, "alert_id": e.alert_id,
         "event": e.event, "payload": dict(e.payload), "created_at": now, "due_at": e.due_at,
         "attempts": 0, "delivered_at": None, "last_error": None}
        for e in entries
    ]  # fmt: skip
    t = cast(Table, OutboxRow.__table__)
    result = await s.execute(insert(t).returning(t.c.id, sort_by_parameter_order=True), rows)
    ids = [int(i) for i in result.scalars().all()]
    return [
        OutboxEntry(e.delivery_id, e.channel, e.alert_id, e.event, e.payload, e.due_at, i, 0, now)
        for e, i in zip(entries, ids, strict=True)
    ]


class OutboxStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._table = cast(Table, OutboxRow.__table__)

    async def add(
        self, entries: Sequence[OutboxEntry], now: datetime, *, tx: Transaction | None = None
    ) -> list[OutboxEntry]:
        """Store the entries (inside the caller's transaction if given); returned with ids."""
        if not entries:
            return []
        async with self.db.writing(tx) as s:
            return await insert_entries(s, entries, now)

    async def pending(
        self,
        now: datetime,
        limit: int = 500,
        *,
        before: int | None = None,
        channels: Collection[str] | None = None,
    ) -> list[OutboxEntry]:
        """Entries not delivered whose next attempt is due, oldest first (only ids below
        `before`, if given: those written since are in the sender's hands already; only those of
        `channels`, if given: each sender sweeps its own, so one's backlog never hides
        another's)."""
        stmt = select(OutboxRow).where(OutboxRow.delivered_at.is_(None), OutboxRow.due_at <= now)
        if before is not None:
            stmt = stmt.where(OutboxRow.id < before)
        if channels is not None:
            stmt = stmt.where(OutboxRow.channel.in_(list(channels)))
        stmt = stmt.order_by(OutboxRow.id).limit(limit)
        async with self.db.session() as s:
            return [_entry_of(r) for r in (await s.scalars(stmt)).all()]

    async def claim(
        self,
        cutoff: datetime,
        until: datetime,
        limit: int = 500,
        *,
        channels: Collection[str] | None = None,
    ) -> list[OutboxEntry]:
        """Take undelivered entries due by `cutoff`, oldest first: each is leased to the caller
        until `until` (its `due_at`), and only the entries this call moved are returned, so a
        sender racing another gets none of the other's."""
        due = [OutboxRow.delivered_at.is_(None), OutboxRow.due_at <= cutoff]
        if channels is not None:
            due.append(OutboxRow.channel.in_(list(channels)))
        async with self.db.writing(None) as s:
            rows = (
                await s.scalars(select(OutboxRow).where(*due).order_by(OutboxRow.id).limit(limit))
            ).all()
            if not rows:
                return []
            # The conditions again on the update: a row another sender took in between (its
            # due_at moved) is not matched, on PostgreSQL (re-checked after the other's commit)
            # as on SQLite (one writer at a time).
            t = self._table
            taken = await s.execute(
                update(t)
                .where(t.c.id.in_([r.id for r in rows]), t.c.delivered_at.is_(None))
                .where(t.c.due_at <= cutoff)
                .values(due_at=until)
                .returning(t.c.id)
            )
            ids = {int(i) for i in taken.scalars().all()}
            return [replace(_entry_of(r), due_at=until) for r in rows if r.id in ids]

    async def lease(self, ids: Collection[int], until: datetime) -> None:
        """Keep (or, with `until` now, give up) the lease on undelivered entries this sender
        holds: another sender takes them only once `until` has passed."""
        if not ids:
            return
        t = self._table
        async with self.db.writing(None) as s:
            await s.execute(
                update(t)
                .where(t.c.id.in_(list(ids)), t.c.delivered_at.is_(None))
                .values(due_at=until)
            )

    async def settle(self, ids: Sequence[int], at: datetime, log: Sequence[Delivery] = ()) -> None:
        """Mark entries sent (their channel confirmed them) and write the delivery log of the
        attempts (`gateway.storage.deliveries`), in one transaction."""
        async with self.db.writing(None) as s:
            if ids:
                stmt = update(OutboxRow).where(OutboxRow.id.in_(list(ids))).values(delivered_at=at)
                await s.execute(stmt)
            s.add_all([delivery_row(d) for d in log])

    async def retry(
        self,
        entry_id: int,
        attempts: int,
        due_at: datetime,
        error: str,
        log: Sequence[Delivery] = (),
    ) -> None:
        """A failed attempt: the next one is due at `due_at`; the delivery log of the attempt
        in the same transaction."""
        stmt = (
            update(OutboxRow)
            .where(OutboxRow.id == entry_id)
            .values(attempts=attempts, due_at=due_at, last_error=error[:2000])
        )
        async with self.db.writing(None) as s:
            await s.execute(stmt)
            s.add_all([delivery_row(d) for d in log])

    async def of_alert(self, alert_id: str) -> list[tuple[OutboxEntry, datetime | None]]:
        """Every entry of the alert's events with its delivery time (None: not yet), oldest
        first."""
        stmt = select(OutboxRow).where(OutboxRow.alert_id == alert_id).order_by(OutboxRow.id)
        async with self.db.session() as s:
            rows = (await s.scalars(stmt)).all()
        return [(_entry_of(r), r.delivered_at) for r in rows]
