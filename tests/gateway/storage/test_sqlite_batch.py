"""The SQLite fast write path stores what the ORM reads back, and de-duplicates."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from devices.kinds import Kind
from devices.model import PatientKey, Reading
from gateway.storage import Database, SqlReadingStore, StoreUnavailableError
from gateway.storage.sqlite_batch import ROWS_PER_INSERT, key_query, sqlite_datetime
from gateway.storage.tables import ReadingRow

CST = timezone(timedelta(hours=8))


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlReadingStore]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'b.db'}")
    await db.create_schema()
    yield SqlReadingStore(db)
    await db.dispose()


def test_datetime_text_matches_sqlalchemy_storage_format() -> None:
    assert (
        sqlite_datetime(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02 03:04:05.000000"
    )
    assert sqlite_datetime(datetime(2026, 1, 2, 3, 4, 5, 7, tzinfo=CST)) == (
        "2026-01-01 19:04:05.000007"
    )


async def test_rows_round_trip_through_the_orm(store: SqlReadingStore) -> None:
    t = datetime(2026, 11, 22, 16, 0, tzinfo=CST)  # local time with an offset, whole seconds
    r = Reading("t", "cuff-1", Kind.GLUCOSE, 7, t, t + timedelta(seconds=2), "p-1",
                {"glucose": 3.2}, {"source": "cgm"}, flags=frozenset({"late"}))  # fmt: skip
    assert await store.write([r, r]) == [r]
    assert await store.write([r]) == []
    async with store.db.session() as s:
        row = (await s.scalars(select(ReadingRow))).one()
    assert row.ts == t.astimezone(UTC)
    assert (row.values, row.attrs, row.flags) == ({"glucose": 3.2}, {"source": "cgm"}, "late")
    back = await store.query(PatientKey("t", "p-1"), Kind.GLUCOSE, t, t + timedelta(microseconds=1))
    assert [b.key for b in back] == [r.key]  # the half-open range compares as the ORM writes


async def test_key_lookup_uses_the_unique_index_not_a_table_scan(store: SqlReadingStore) -> None:
    """The de-duplication query runs once per batch: a scan would grow with the table."""
    async with store.db.engine.connect() as conn:
        plan = (
            await conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + key_query(3), ("a", 1, "b", 2, "c", 3)
            )
        ).all()
        details = [str(row[-1]) for row in plan]
        assert any("SEARCH r USING" in d and "device_id=? AND seq=?" in d for d in details)
        assert not any(d.startswith("SCAN r") or d == "SCAN readings" for d in details)


async def test_a_batch_larger_than_one_insert_is_stored_whole_in_order(
    store: SqlReadingStore,
) -> None:
    """Rows go in as multi-row inserts of at most `ROWS_PER_INSERT`; a batch spanning several
    keeps its order (row ids), skips the stored ones and leaves the position at its last row."""
    t = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    n = ROWS_PER_INSERT * 2 + 3

    def r(seq: int) -> Reading:
        ts = t + timedelta(seconds=seq)
        return Reading("t", "cgm-1", Kind.GLUCOSE, seq, ts, ts, "p-1", {"glucose": 5.0 + seq / n})

    assert await store.write([r(s) for s in range(0, n, 2)]) == [r(s) for s in range(0, n, 2)]
    everything = [r(s) for s in range(n)]
    new = await store.write(everything)
    assert new == [x for x in everything if x.seq % 2]
    async with store.db.session() as s:
        rows = (await s.scalars(select(ReadingRow).order_by(ReadingRow.id))).all()
    assert len(rows) == n
    assert [row.seq for row in rows[-len(new) :]] == [x.seq for x in new]
    assert store.position == rows[-1].id
    assert rows[-1].values == {"glucose": 5.0 + (n - 2) / n}


async def test_the_writer_commits_durably_and_reopens_after_close(store: SqlReadingStore) -> None:
    """Batches go through the store's own writer connection, with the database's pragmas (WAL,
    `synchronous=FULL`: a commit survives power loss before the PUBACK); closing the store
    closes it, and a later batch opens it again."""
    t = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    first = Reading("t", "cuff-1", Kind.BP, 1, t, t, "p-1", {"systolic": 120.0, "diastolic": 80.0})
    assert await store.write([first]) == [first]
    writer = store._writer
    assert writer is not None
    pragmas = writer._thread.submit(
        lambda: [writer._connection().execute(f"PRAGMA {p}").fetchone()[0]
                 for p in ("journal_mode", "synchronous")]
    ).result()  # fmt: skip
    assert pragmas == ["wal", 2]  # 2: FULL
    await store.close()
    second = replace(first, seq=2)
    assert await store.write([second]) == [second]
    async with store.db.session() as s:
        assert [r.seq for r in (await s.scalars(select(ReadingRow))).all()] == [1, 2]


async def test_a_failed_batch_leaves_nothing_and_raises_store_unavailable(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")  # no schema: the write fails
    store = SqlReadingStore(db)
    t = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    r = Reading("t", "cgm-1", Kind.GLUCOSE, 1, t, t, "p-1", {"glucose": 5.0})
    with pytest.raises(StoreUnavailableError):
        await store.write([r])
    await db.create_schema()
    assert await store.write([r]) == [r]  # the writer's connection is usable again
    assert store.position == 1
    await store.close()
    await db.dispose()
