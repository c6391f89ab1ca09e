"""The SQL readings store on SQLite and PostgreSQL: dedup, ranges, history, ECG, retention."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from devices.kinds import Kind
from gateway.storage import Database, SqlReadingStore
from gateway.storage.readings import ValueSummary
from tests.gateway.storage.helpers import FS, P1, P2, T0, bp, ecg_chunks, ecg_signal, glucose


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[SqlReadingStore]:
    db = Database(db_url)
    await db.create_schema()
    yield SqlReadingStore(db)
    await db.dispose()


async def test_duplicates_are_stored_once_and_not_new(store: SqlReadingStore) -> None:
    first = await store.write([bp(1), bp(2, minutes=1), bp(2, minutes=1)])
    assert [r.seq for r in first] == [1, 2]
    again = await store.write([bp(2, minutes=1), bp(3, minutes=2)])
    assert [r.seq for r in again] == [3]
    rows = await store.query(P1, Kind.BP, T0, T0 + timedelta(hours=1))
    assert [r.seq for r in rows] == [1, 2, 3]


async def test_range_query_is_half_open_and_filters_kind(store: SqlReadingStore) -> None:
    await store.write([bp(i, minutes=i) for i in range(10)] + [glucose(1, 5.5, minutes=3)])
    rows = await store.query(P1, Kind.BP, T0 + timedelta(minutes=2), T0 + timedelta(minutes=5))
    assert [r.seq for r in rows] == [2, 3, 4]
    both = await store.query(P1, None, T0 + timedelta(minutes=3), T0 + timedelta(minutes=4))
    assert {r.kind for r in both} == {Kind.BP, Kind.GLUCOSE}
    g = next(r for r in both if r.kind is Kind.GLUCOSE)
    assert g.values == {"glucose": 5.5}
    assert g.attrs == {"source": "cgm"}
    assert g.flags == {"late"}
    assert g.ts == T0 + timedelta(minutes=3)
    assert g.ts.tzinfo is not None
    assert await store.query(P2, None, T0, T0 + timedelta(hours=1)) == []


async def test_latest_and_aggregate(store: SqlReadingStore) -> None:
    await store.write([bp(i, 100.0 + i, minutes=i) for i in range(10)])
    await store.write([glucose(1, 4.0, minutes=1), glucose(2, 6.0, minutes=30)])
    latest = await store.latest(P1)
    assert latest[Kind.BP].seq == 9
    assert latest[Kind.GLUCOSE].values["glucose"] == 6.0
    assert Kind.ECG not in latest
    buckets = await store.aggregate(
        P1, Kind.BP, T0, T0 + timedelta(minutes=10), timedelta(minutes=5)
    )
    assert [b.start for b in buckets] == [T0, T0 + timedelta(minutes=5)]
    assert buckets[0].fields["systolic"].mean == pytest.approx(102.0)
    assert buckets[0].fields["systolic"].max == 104.0
    assert buckets[1].fields["systolic"].count == 5


async def test_ecg_roundtrip_and_strip(store: SqlReadingStore) -> None:
    chunks = ecg_chunks(10.0)
    assert len(await store.write(chunks)) == 10
    back = await store.query(P1, Kind.ECG, T0, T0 + timedelta(minutes=1))
    assert len(back) == 10
    assert back[3].ecg is not None
    np.testing.assert_array_equal(back[3].ecg.samples, chunks[3].ecg.samples)  # type: ignore[union-attr]
    strip = await store.ecg_strip(P1, T0 + timedelta(seconds=2.5), T0 + timedelta(seconds=6))
    assert strip is not None
    assert strip.start == T0 + timedelta(seconds=2.5)
    assert strip.mv.size == int(3.5 * FS)
    expected = ecg_signal(10.0)[int(2.5 * FS) : int(6 * FS)] / 200.0
    np.testing.assert_allclose(strip.mv, expected)
    assert strip.gaps == ()


async def test_retention_deletes_old_readings_of_one_kind(store: SqlReadingStore) -> None:
    await store.write([bp(i, minutes=i) for i in range(6)] + [glucose(1, 5.0, minutes=0)])
    removed = await store.delete_before(Kind.BP, T0 + timedelta(minutes=3))
    assert removed == 3
    left = await store.query(P1, None, T0, T0 + timedelta(hours=1))
    assert sorted((r.kind.value, r.seq) for r in left) == [
        ("bp", 3),
        ("bp", 4),
        ("bp", 5),
        ("glucose", 1),
    ]


async def test_summaries_match_each_patients_own_readings(store: SqlReadingStore) -> None:
    """The follow-up sweep summarises every elder's BP in one grouped query: per patient the
    same count, first time and means as that patient's own range query gives, only the tenant's
    patients, and one patient alone when asked."""
    await store.write(
        [bp(i, 120.0 + i, minutes=i, patient="p-1" if i % 3 else "p-2") for i in range(12)]
        + [glucose(100, 5.5, minutes=4)]
        + [replace(bp(200, 190.0, minutes=5), tenant="t2", device_id="cuff-9")]
    )
    start, end = T0 + timedelta(minutes=1), T0 + timedelta(minutes=10)
    fields = ("systolic", "diastolic")
    every = await store.summaries("t1", Kind.BP, fields, start, end)
    assert set(every) == {P1.patient_id, P2.patient_id}
    for key in (P1, P2):
        own = ValueSummary.of(await store.query(key, Kind.BP, start, end), fields)
        got = every[key.patient_id]
        assert (got.count, got.first) == (own.count, own.first)
        assert got.means == pytest.approx(own.means)
    assert every[P1.patient_id].count == 6  # minutes 1, 2, 4, 5, 7, 8
    alone = await store.summaries("t1", Kind.BP, fields, start, end, P2.patient_id)
    assert set(alone) == {P2.patient_id}
    assert alone[P2.patient_id] == every[P2.patient_id]
    other = await store.summaries("t2", Kind.BP, fields, start, end)
    assert set(other) == {"p-1"}
    assert other["p-1"].means["systolic"] == pytest.approx(190.0)
