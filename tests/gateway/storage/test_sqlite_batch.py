"""The SQLite fast write path stores what the ORM reads back, and de-duplicates."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from devices.kinds import Kind
from devices.model import PatientKey, Reading
from gateway.storage import Database, SqlReadingStore
from gateway.storage.sqlite_batch import key_query, sqlite_datetime
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
