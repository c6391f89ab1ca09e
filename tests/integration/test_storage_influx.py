"""InfluxDB readings store (v1 API) against a real InfluxDB 1.x started by the fixtures."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from devices.kinds import Kind
from gateway.runtime.service import Gateway
from gateway.runtime.settings import InfluxSettings, Settings
from gateway.storage import StoreUnavailableError
from gateway.storage.influx import InfluxReadingStore
from tests.gateway.storage.helpers import FS, P1, P2, T0, bp, ecg_chunks, ecg_signal, glucose
from tests.gateway.storage.history_cases import check_history_api
from tests.support.influx import InfluxD

pytestmark = pytest.mark.integration


def make_store(server: InfluxD, **kw: object) -> InfluxReadingStore:
    db = kw.pop("database", None) or f"hmg_{secrets.token_hex(4)}"
    return InfluxReadingStore(InfluxSettings(url=server.url, database=str(db), **kw))


@pytest.fixture
async def store(influxd_shared: InfluxD) -> AsyncIterator[InfluxReadingStore]:
    s = make_store(influxd_shared)
    yield s
    await s.close()


async def test_roundtrip_and_redelivery_overwrites(
    store: InfluxReadingStore, influxd_shared: InfluxD
) -> None:
    first = await store.write([bp(1), bp(2, 130.0, minutes=1), glucose(1, 5.5, minutes=2)])
    assert [r.seq for r in first] == [1, 2, 1]
    assert [r.seq for r in await store.write([bp(2, 130.0, minutes=1), bp(3, minutes=3)])] == [3]
    # A fresh gateway (empty recent-keys memory) gets a redelivery: stored once all the same.
    other = make_store(influxd_shared, database=store.config.database)
    await other.write([bp(1), bp(2, 130.0, minutes=1)])
    await other.close()
    rows = await store.query(P1, None, T0, T0 + timedelta(hours=1))
    assert [(r.kind.value, r.seq) for r in rows] == [
        ("bp", 1),
        ("bp", 2),
        ("glucose", 1),
        ("bp", 3),
    ]
    b2 = rows[1]
    assert b2 == bp(2, 130.0, minutes=1)
    assert rows[2] == glucose(1, 5.5, minutes=2)
    only_bp = await store.query(P1, Kind.BP, T0 + timedelta(minutes=1), T0 + timedelta(minutes=3))
    assert [r.seq for r in only_bp] == [2]
    assert await store.query(P2, None, T0, T0 + timedelta(hours=1)) == []


async def test_same_device_time_different_seq_are_two_points(store: InfluxReadingStore) -> None:
    await store.write([bp(7, 150.0), bp(8, 151.0)])  # same device, same timestamp
    rows = await store.query(P1, Kind.BP, T0, T0 + timedelta(minutes=1))
    assert sorted(r.values["systolic"] for r in rows) == [150.0, 151.0]


async def test_latest_and_aggregates(store: InfluxReadingStore) -> None:
    await store.write([bp(i, 100.0 + i, minutes=i) for i in range(10)])
    await store.write([glucose(1, 4.0, minutes=1), glucose(2, 6.0, minutes=30)])
    latest = await store.latest(P1)
    assert latest[Kind.BP].seq == 9
    assert latest[Kind.GLUCOSE].values == {"glucose": 6.0}
    start = T0 + timedelta(minutes=1)
    buckets = await store.aggregate(
        P1, Kind.BP, start, T0 + timedelta(hours=1), timedelta(minutes=5)
    )
    assert [b.start for b in buckets] == [start, start + timedelta(minutes=5)]
    assert buckets[0].fields["systolic"].mean == pytest.approx(103.0)
    assert buckets[0].fields["systolic"].count == 5
    assert buckets[1].fields["diastolic"].max == 80.0


async def test_ecg_chunks_strip_and_derived_heart_rate(store: InfluxReadingStore) -> None:
    chunks = ecg_chunks(30.0)
    for k in range(0, len(chunks), 5):  # as ingest batches arrive
        await store.write(chunks[k : k + 5])
    back = await store.query(P1, Kind.ECG, T0, T0 + timedelta(minutes=1))
    assert [r.seq for r in back] == [c.seq for c in chunks]
    np.testing.assert_array_equal(back[4].ecg.samples, chunks[4].ecg.samples)  # type: ignore[union-attr]
    strip = await store.ecg_strip(P1, T0 + timedelta(seconds=2.5), T0 + timedelta(seconds=12))
    assert strip is not None
    assert strip.start == T0 + timedelta(seconds=2.5)
    np.testing.assert_allclose(strip.mv, ecg_signal(30.0)[int(2.5 * FS) : int(12 * FS)] / 200.0)
    hr = await store.aggregate(P1, Kind.ECG, T0, T0 + timedelta(minutes=1), timedelta(minutes=1))
    assert hr[0].fields["hr"].mean == pytest.approx(72.0, abs=1.0)
    assert hr[0].fields["hr"].count >= 30


async def test_long_ecg_chunk_is_split_and_joined(store: InfluxReadingStore) -> None:
    (chunk,) = ecg_chunks(100.0, chunk_s=100.0)  # 25,000 samples: more than one point
    await store.write([chunk])
    (back,) = await store.query(P1, Kind.ECG, T0, T0 + timedelta(minutes=5))
    assert back.ecg is not None
    np.testing.assert_array_equal(back.ecg.samples, chunk.ecg.samples)  # type: ignore[union-attr]


async def test_retention_delete(store: InfluxReadingStore) -> None:
    await store.write([bp(i, minutes=i) for i in range(6)] + [glucose(1, 5.0)])
    await store.delete_before(Kind.BP, T0 + timedelta(minutes=3))
    left = await store.query(P1, None, T0, T0 + timedelta(hours=1))
    assert sorted((r.kind.value, r.seq) for r in left) == [
        ("bp", 3),
        ("bp", 4),
        ("bp", 5),
        ("glucose", 1),
    ]


async def test_outage_raises_and_recovers_without_loss(influxd: InfluxD) -> None:
    store = make_store(influxd)
    try:
        await store.write([bp(1)])
        influxd.stop()
        with pytest.raises(StoreUnavailableError):
            await store.write([bp(2, minutes=1)])
        influxd.start()
        assert [r.seq for r in await store.write([bp(2, minutes=1)])] == [2]
        rows = await store.query(P1, Kind.BP, T0, T0 + timedelta(hours=1))
        assert [r.seq for r in rows] == [1, 2]
    finally:
        await store.close()


async def test_history_api_on_influx(influxd_shared: InfluxD, tmp_path: Path) -> None:
    settings = Settings(
        mode="test",
        data_dir=tmp_path,
        readings_backend="influx",
        influx_url=influxd_shared.url,
        influx_database=f"hmg_{secrets.token_hex(4)}",
        retention_interval_s=0,
    )
    gw = Gateway(settings)
    await gw.start(mqtt=False)
    try:
        await check_history_api(gw)
    finally:
        await gw.stop()
