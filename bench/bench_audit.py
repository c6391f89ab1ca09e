"""`make bench-audit`: what the hash-chained audit trail costs, on SQLite and PostgreSQL.

- actions: `BENCH_AUDIT_ACTIONS` (default 500) appends one after another, one transaction each
  (an action's audit row alone; the action's own writes come on top): rows/s and p95 latency.
- reads of health data: `BENCH_AUDIT_CALLERS` (32) concurrent callers record `BENCH_AUDIT_READS`
  (2000) reads in all, once through `record_read` (group commit) and once through one `append`
  per read (one transaction each): reads/s and p95 latency of each.
- verify: `hmg audit verify`'s walk over `BENCH_AUDIT_ROWS` (50000) rows: rows/s.

SQLite is a file (WAL, synchronous=FULL); PostgreSQL a throwaway database on the machine's server.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.actor import Actor, Role
from gateway.storage import AuditEntry, Database
from gateway.storage.audit import AuditStore
from gateway.storage.auditchain import verify_chain
from tests.support.postgres import throwaway_database

T0 = datetime(2026, 1, 1, tzinfo=UTC)
LI = Actor("dr-li", Role.CLINICIAN, "t1", "dashboard@10.0.0.7")


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def p95(lat: list[float]) -> float:
    return statistics.quantiles(lat, n=20)[-1] * 1000


def note(i: int) -> AuditEntry:
    at = T0 + timedelta(seconds=i)
    return AuditEntry.by(LI, at, "comment", "alert", f"a-{i % 97}", {"text": f"note {i}"})


def read(i: int) -> AuditEntry:
    return AuditEntry.read(LI, T0, f"p-{i % 50}", f"GET /patients/p-{i % 50}/readings?kind=bp")


async def actions(store: AuditStore, n: int) -> str:
    lat = []
    t0 = time.perf_counter()
    for i in range(n):
        t = time.perf_counter()
        await store.append(note(i))
        lat.append(time.perf_counter() - t)
    rate = n / (time.perf_counter() - t0)
    return f"actions {rate:7.0f} rows/s  p95 {p95(lat):6.1f} ms"


async def reads(record: Callable[[AuditEntry], Awaitable[None]], n: int, callers: int) -> str:
    lat: list[float] = []

    async def caller(k: int) -> None:
        for i in range(k, n, callers):
            t = time.perf_counter()
            await record(read(i))
            lat.append(time.perf_counter() - t)

    t0 = time.perf_counter()
    await asyncio.gather(*(caller(k) for k in range(callers)))
    rate = n / (time.perf_counter() - t0)
    return f"{rate:7.0f} reads/s  p95 {p95(lat):6.1f} ms"


async def verify(db: Database, store: AuditStore, rows: int) -> str:
    have = (await verify_chain(db)).rows
    for k in range(have, rows, 1000):
        await store.append_many([note(i) for i in range(k, min(rows, k + 1000))])
    t = time.perf_counter()
    report = await verify_chain(db)
    took = time.perf_counter() - t
    assert report.ok, report
    return f"verify  {report.rows / took:7.0f} rows/s  ({report.rows} rows in {took:.2f} s)"


async def run(name: str, url: str) -> None:
    db = Database(url)
    await db.create_schema()
    store = AuditStore(db)
    callers, n_reads = _int("BENCH_AUDIT_CALLERS", 32), _int("BENCH_AUDIT_READS", 2000)
    try:
        print(f"{name:10s} {await actions(store, _int('BENCH_AUDIT_ACTIONS', 500))}", flush=True)
        grouped = await reads(store.record_read, n_reads, callers)
        print(f"{name:10s} reads, group commit   {grouped}", flush=True)
        single = await reads(store.append, n_reads, callers)
        print(f"{name:10s} reads, one tx each    {single}", flush=True)
        print(f"{name:10s} {await verify(db, store, _int('BENCH_AUDIT_ROWS', 50000))}", flush=True)
    finally:
        await db.dispose()


async def main() -> None:
    print(f"load average {os.getloadavg()[0]:.2f}", file=sys.stderr)
    with tempfile.TemporaryDirectory() as d:
        await run("sqlite", f"sqlite+aiosqlite:///{Path(d) / 'hmg.db'}")
    with throwaway_database("hmg_bench_audit") as url:
        await run("postgresql", url)
    print(f"load average {os.getloadavg()[0]:.2f}", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
