"""The retention job: per-kind lifecycle applied on a schedule, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from devices.kinds import Kind
from gateway.storage import Database, DeadLetter, DeadLetterStore, SqlReadingStore
from gateway.storage.retention import RetentionPolicy, apply_retention, run_retention
from tests.gateway.storage.helpers import P1, T0, bp, ecg_chunks, glucose

POLICY = RetentionPolicy.of(ecg_days=30, vitals_days=3650, status_days=90, deadletter_days=30)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    await database.create_schema()
    yield database
    await database.dispose()


async def test_old_ecg_goes_vitals_stay(db: Database) -> None:
    store = SqlReadingStore(db)
    await store.write([*ecg_chunks(3.0), bp(1), glucose(1, 5.0)])
    await DeadLetterStore(db).save([DeadLetter("t1", "x", "json", "", b"", T0)])
    now = T0 + timedelta(days=31)
    removed = await apply_retention(store, DeadLetterStore(db), POLICY, now)
    assert removed["ecg"] == 3
    assert removed["bp"] == 0
    assert removed["deadletters"] == 1
    left = await store.query(P1, None, T0 - timedelta(days=1), now)
    assert sorted(r.kind.value for r in left) == ["bp", "glucose"]
    removed = await apply_retention(store, DeadLetterStore(db), POLICY, T0 + timedelta(days=3651))
    assert removed["bp"] == 1
    assert await store.query(P1, None, T0 - timedelta(days=1), now) == []


def test_zero_keeps_forever_and_negative_is_rejected() -> None:
    p = RetentionPolicy.of(ecg_days=0, vitals_days=0, status_days=0, deadletter_days=0)
    assert all(d == 0 for d in p.days.values())
    assert p.days[Kind.GLUCOSE] == 0
    with pytest.raises(ValueError, match=">= 0"):
        RetentionPolicy.of(ecg_days=-1, vitals_days=1, status_days=1, deadletter_days=1)


async def test_scheduled_job_runs_until_stopped(db: Database) -> None:
    store = SqlReadingStore(db)
    await store.write(ecg_chunks(2.0))
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_retention(
            store,
            DeadLetterStore(db),
            POLICY,
            interval_s=0.05,
            clock=lambda: T0 + timedelta(days=40),
            stop=stop,
            first_delay_s=0.0,
        )
    )
    for _ in range(100):
        if not await store.query(P1, Kind.ECG, T0, T0 + timedelta(minutes=1)):
            break
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(task, 2)
    assert await store.query(P1, Kind.ECG, T0, T0 + timedelta(minutes=1)) == []
