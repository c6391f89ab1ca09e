"""The reading journal on SQLite and PostgreSQL: a backend that cannot number what it stores is
followed through it; a batch retried after the backend failed is journaled once and still new to
the backend; rows every follower has read are pruned, and only those."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import timedelta

import pytest

from devices.model import Reading
from gateway.storage import Database, SqlReadingStore, StoreUnavailableError
from gateway.storage.journal import JournalledStore, ReadingJournal
from gateway.storage.progress import ProgressStore
from tests.gateway.storage.helpers import T0, bp, ecg_chunks, glucose


class Backend(SqlReadingStore):
    """A backend standing in for InfluxDB: it can be down, like a server that went away."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.down = False

    async def write(self, readings: Sequence[Reading]) -> list[Reading]:
        if self.down:
            raise StoreUnavailableError("backend unreachable")
        return await super().write(readings)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    d = Database(db_url)
    await d.create_schema()
    yield d
    await d.dispose()


async def test_vitals_are_journaled_in_storing_order_once(db: Database) -> None:
    backend = Backend(db)
    store = JournalledStore(backend, ReadingJournal(db))
    chunks = ecg_chunks(2.0)
    await store.write([bp(1), glucose(1, 5.5, minutes=1), *chunks])
    backend.down = True
    with pytest.raises(StoreUnavailableError):
        await store.write([bp(2, minutes=2), bp(1)])
    backend.down = False
    new = await store.write([bp(2, minutes=2), bp(1)])  # the broker delivers the batch again
    assert [r.seq for r in new] == [2]  # still new to the backend: its detection runs
    found = await store.journal.stored_after(0, 100)
    assert [(r.kind.value, r.seq) for _, r in found] == [("bp", 1), ("glucose", 1), ("bp", 2)]
    positions = [p for p, _ in found]
    assert positions == sorted(positions)
    assert found[1][1].values == {"glucose": 5.5}
    assert found[0][1].ts == T0
    assert await store.journal.stored_after(positions[1], 100) == [found[2]]


async def test_prune_keeps_what_a_follower_has_not_read(db: Database) -> None:
    journal = ReadingJournal(db)
    progress = ProgressStore(db)
    await journal.add([bp(i, minutes=i) for i in range(1, 6)])
    found = await journal.stored_after(0, 100)
    await progress.advance("platform.push", found[3][0], T0)
    await progress.advance("results.notice", found[1][0], T0)
    followers = ["platform.push", "results.notice"]
    assert await journal.prune(progress, followers, now=T0) == 2
    assert [r.seq for _, r in await journal.stored_after(0, 100)] == [3, 4, 5]
    # Nobody follows: a week is kept for a follower switched on later, no more.
    assert await journal.prune(progress, [], now=T0 + timedelta(days=6)) == 0
    assert await journal.prune(progress, [], now=T0 + timedelta(days=8)) == 3
    assert await journal.top() == 0
