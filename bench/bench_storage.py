"""`make bench-storage`: readings/s written and p95 history-query latency per readings backend.

Backends: SQL on SQLite (file, WAL, synchronous=FULL), SQL on PostgreSQL (throwaway database on
the machine's server), InfluxDB 1.x (v1 API, Debian `influxd` on a free port) and the InfluxDB v2
write API (influxdb-client) against VictoriaMetrics; InfluxDB 1.x once more with the reading
journal the gateway keeps beside it (SQLite, `gateway.storage.journal`). The same workload for
each: `BENCH_N` vitals (default 20000; BP, glucose, HR for 50 patients, batches of 500 as the
ingest writes them) plus `BENCH_N / 20` one-second ECG chunks; then 200 history queries (one
patient, one kind, a 6-hour range) and 200 aggregate queries (5-minute windows over a day).
VictoriaMetrics has no InfluxQL endpoint, so its query latency is that of its own export API for
the same selection.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np

from devices.kinds import Kind
from devices.model import EcgChunk, PatientKey, Reading
from gateway.runtime.settings import InfluxSettings
from gateway.storage import Database, ReadingStore, SqlReadingStore
from gateway.storage.influx import InfluxReadingStore
from gateway.storage.journal import JournalledStore, ReadingJournal
from tests.support.influx import influxd_server, victoria_server
from tests.support.postgres import throwaway_database

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PATIENTS = 50
BATCH = 500
QUERIES = 200


def workload(n: int) -> list[Reading]:
    rnd = random.Random(7)
    out: list[Reading] = []
    for i in range(n):
        p = i % PATIENTS
        kind = (Kind.BP, Kind.GLUCOSE, Kind.HR)[i % 3]
        ts = T0 + timedelta(seconds=30 * (i // PATIENTS))
        values = {
            Kind.BP: {"systolic": rnd.uniform(100, 190), "diastolic": rnd.uniform(60, 120)},
            Kind.GLUCOSE: {"glucose": rnd.uniform(3, 15)},
            Kind.HR: {"hr": rnd.uniform(50, 120)},
        }[kind]
        out.append(Reading("t1", f"{kind.value}-{p}", kind, i, ts, ts, f"p-{p}", values=values))
    signal = (np.sin(np.arange(250) / 10) * 300).astype(np.int32)
    for j in range(n // 20):
        p = j % PATIENTS
        ts = T0 + timedelta(seconds=j // PATIENTS)
        chunk = EcgChunk(250.0, "II", 200.0, 0, signal)
        out.append(Reading("t1", f"ecg-{p}", Kind.ECG, j, ts, ts, f"p-{p}", ecg=chunk))
    return out


async def timed(fn: Callable[[], Awaitable[object]], n: int) -> list[float]:
    lat = []
    for _ in range(n):
        t = time.perf_counter()
        await fn()
        lat.append(time.perf_counter() - t)
    return lat


def p95(lat: list[float]) -> float:
    return statistics.quantiles(lat, n=20)[-1] * 1000


async def write_all(store: ReadingStore, readings: list[Reading]) -> float:
    t = time.perf_counter()
    for k in range(0, len(readings), BATCH):
        await store.write(readings[k : k + BATCH])
    return len(readings) / (time.perf_counter() - t)


async def bench_store(store: ReadingStore, readings: list[Reading]) -> tuple[float, float, float]:
    rate = await write_all(store, readings)
    rnd = random.Random(1)

    async def one_query() -> object:
        start = T0 + timedelta(hours=rnd.uniform(0, 2))
        who = PatientKey("t1", f"p-{rnd.randrange(PATIENTS)}")
        return await store.query(who, Kind.BP, start, start + timedelta(hours=6))

    async def one_aggregate() -> object:
        return await store.aggregate(
            PatientKey("t1", f"p-{rnd.randrange(PATIENTS)}"),
            Kind.GLUCOSE,
            T0,
            T0 + timedelta(days=1),
            timedelta(minutes=5),
        )

    return rate, p95(await timed(one_query, QUERIES)), p95(await timed(one_aggregate, QUERIES))


async def sql(url: str, readings: list[Reading]) -> tuple[float, float, float]:
    db = Database(url)
    await db.create_schema()
    try:
        return await bench_store(SqlReadingStore(db), readings)
    finally:
        await db.dispose()


async def influx_v1(
    url: str, readings: list[Reading], *, derive_beats: bool = True, journal: str | None = None
) -> tuple[float, float, float]:
    """`journal`: a SQLite URL for the reading journal the gateway keeps beside InfluxDB."""
    name = f"bench{int(derive_beats)}{'j' if journal else ''}"
    influx = InfluxReadingStore(InfluxSettings(url=url, database=name), derive_beats=derive_beats)
    db = Database(journal) if journal else None
    store: ReadingStore = influx
    if db is not None:
        await db.create_schema()
        store = JournalledStore(influx, ReadingJournal(db))
    try:
        return await bench_store(store, readings)
    finally:
        await store.close()
        if db is not None:
            await db.dispose()


async def influx_v2(url: str, readings: list[Reading]) -> tuple[float, float, float]:
    store = InfluxReadingStore(InfluxSettings(url=url, mode="v2", token="bench", bucket="bench"))
    try:
        rate = await write_all(store, readings)
    finally:
        await store.close()
    rnd = random.Random(1)
    async with httpx.AsyncClient(base_url=url, trust_env=False) as http:
        await http.get("/internal/force_flush")

        async def one_query() -> object:
            start = T0 + timedelta(hours=rnd.uniform(0, 2))
            params = {
                "match[]": f'{{__name__=~"bp_.*",patient="p-{rnd.randrange(PATIENTS)}"}}',
                "start": start.isoformat(),
                "end": (start + timedelta(hours=6)).isoformat(),
            }
            return (await http.get("/api/v1/export", params=params)).raise_for_status()

        async def one_aggregate() -> object:
            p = rnd.randrange(PATIENTS)
            params = {
                "query": f'avg_over_time(glucose_glucose{{patient="p-{p}"}}[5m])',
                "start": T0.isoformat(),
                "end": (T0 + timedelta(days=1)).isoformat(),
                "step": "5m",
            }
            return (await http.get("/api/v1/query_range", params=params)).raise_for_status()

        return rate, p95(await timed(one_query, QUERIES)), p95(await timed(one_aggregate, QUERIES))


async def main_async(n: int) -> None:
    readings = workload(n)
    results: dict[str, tuple[float, float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        results["sqlite"] = await sql(f"sqlite+aiosqlite:///{d / 'bench.db'}", readings)
        with throwaway_database("hmg_bench") as url:
            results["postgresql"] = await sql(url, readings)
        with influxd_server(d / "influxd") as server:
            results["influxdb-v1 (1.6)"] = await influx_v1(server.url, readings)
            results["influxdb-v1, no ecg_beat derivation"] = await influx_v1(
                server.url, readings, derive_beats=False
            )
            results["influxdb-v1 + reading journal (SQLite)"] = await influx_v1(
                server.url, readings, journal=f"sqlite+aiosqlite:///{d / 'journal.db'}"
            )
        with victoria_server(d / "vm") as vm:
            results["influx-v2-write (VictoriaMetrics)"] = await influx_v2(vm.url, readings)
    print(
        f"bench-storage: {len(readings)} readings ({n} vitals + {n // 20} ECG chunks), "
        f"batches of {BATCH}, {QUERIES} queries each"
    )
    print(f"{'backend':<40} {'readings/s':>11} {'p95 range query ms':>19} {'p95 aggregate ms':>17}")
    for name, (rate, q, a) in results.items():
        print(f"{name:<40} {rate:>11.0f} {q:>19.1f} {a:>17.1f}")


def main() -> int:
    asyncio.run(main_async(int(os.environ.get("BENCH_N", "20000"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
