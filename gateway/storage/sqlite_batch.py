"""The SQLite fast path for writing a batch of readings (the ingest hot path).

SQLAlchemy's per-row parameter processing costs more than SQLite's own work for small rows, so
on SQLite a batch goes to the driver directly: one query finds which (device_id, seq) keys are
already stored, and one multi-row `INSERT` per thousand rows inserts the rest. Values are
encoded exactly as the SQLAlchemy column types store them (naive-UTC `DATETIME` text, JSON
text), so the ORM reads these rows like any other. De-duplication stays in the database too
(`INSERT OR IGNORE` on the unique key), for redeliveries that arrive within one batch.

`SqliteWriter` runs a batch's whole write (lookup, insert, commit) in one call on a thread and
connection of its own. Through the async driver every statement is several hand-offs between
the event loop and the driver's thread, and each hand-off back waits until the event loop is
free again: while detection works through a batch in slices (`gateway.flow.pipeline.SLICE_S`), the
next batch's durable write (and so its acknowledgement) took a dozen slices instead of one.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, Protocol

from devices.model import Reading

COLUMNS = (
    "tenant", "patient_id", "device_id", "kind", "seq", "ts", "received_at", "values", "attrs",
    "flags", "ecg_fs", "ecg_gain", "ecg_baseline", "ecg_lead", "ecg_samples",
)  # fmt: skip
_QUOTED = ", ".join(f'"{c}"' for c in COLUMNS)  # "values" is an SQL keyword
_ROW = f"({', '.join('?' for _ in COLUMNS)})"
# SQLite's limit on bound parameters per statement is 32766 since 3.32; stay well below.
_KEYS_PER_QUERY = 4000
ROWS_PER_INSERT = 1000


def insert(n: int) -> str:
    """One statement inserting `n` rows. The driver releases the interpreter lock around every
    statement step, and `executemany` steps once per row: while detection keeps the event loop
    busy, each of those steps waits for the lock again. A multi-row insert is one step per
    `ROWS_PER_INSERT` rows."""
    return f"INSERT OR IGNORE INTO readings ({_QUOTED}) VALUES {', '.join([_ROW] * n)}"


def sqlite_datetime(dt: datetime) -> str:
    """The text SQLAlchemy's SQLite `DATETIME` type stores for a naive-UTC datetime."""
    text = dt.isoformat(" ", "microseconds")
    if text.endswith("+00:00"):  # every decoded reading is already in UTC
        return text[:-6]
    return dt.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


_dumps = json.JSONEncoder().encode


def _json(m: Mapping[str, object]) -> str:
    if not m:
        return "{}"
    return _dumps(m if type(m) is dict else dict(m))


def rows(readings: Sequence[Reading]) -> list[tuple[Any, ...]]:
    """Insert parameters for each reading (a batch shares one receive time: formatted once)."""
    out = []
    last_rx: datetime | None = None
    rx = ""
    for r in readings:
        if r.received_at is not last_rx:
            last_rx, rx = r.received_at, sqlite_datetime(r.received_at)
        e = r.ecg
        row = (
            r.tenant, r.patient_id, r.device_id, r.kind.value, r.seq, sqlite_datetime(r.ts),
            rx, _json(r.values), _json(r.attrs), ",".join(sorted(r.flags)) if r.flags else "",
            e.fs if e else None, e.gain if e else None, e.baseline if e else None,
            e.lead if e else None, e.samples.astype("<i4").tobytes() if e else None,
        )  # fmt: skip
        out.append(row)
    return out


def key_query(n: int) -> str:
    """Which of `n` (device_id, seq) keys are stored. A join from the keys, not
    `(device_id, seq) IN (VALUES ...)`: SQLite plans the IN form as a scan of the whole table
    (every batch slower as the table grows), the join as one unique-index lookup per key."""
    values = ", ".join("(?, ?)" for _ in range(n))
    return (
        f"WITH k(d, s) AS (VALUES {values}) "
        "SELECT r.device_id, r.seq FROM k JOIN readings r ON r.device_id = k.d AND r.seq = k.s"
    )


class Cursor(Protocol):
    """The DB-API cursor calls the write uses (`sqlite3.Cursor`, or the async driver's adapted
    cursor inside `run_sync`)."""

    @property
    def lastrowid(self) -> int | None: ...

    def execute(self, sql: str, params: Sequence[Any], /) -> Any: ...

    def fetchall(self) -> Sequence[Any]: ...


def existing_keys(cur: Cursor, keys: Sequence[tuple[str, int]]) -> set[tuple[str, int]]:
    found: set[tuple[str, int]] = set()
    for lo in range(0, len(keys), _KEYS_PER_QUERY):
        part = keys[lo : lo + _KEYS_PER_QUERY]
        cur.execute(key_query(len(part)), tuple(x for key in part for x in key))
        found.update((str(d), int(s)) for d, s in cur.fetchall())
    return found


def write_batch(
    cur: Cursor, readings: Sequence[Reading], encoded: Sequence[tuple[Any, ...]] | None = None
) -> tuple[list[Reading], int | None]:
    """Insert the readings not stored yet (keys unique within `readings`), inside the caller's
    transaction (`encoded`: the readings' insert parameters, one row each, if the caller made
    them already); return those and the row id of the last one inserted (None: nothing new). The
    id comes from the connection's `last_insert_rowid()` (the insert's `lastrowid`), not from a
    `max(id)` over the table: row ids grow with each insert, so the last one inserted is the
    batch's position (see `SqlReadingStore.position`)."""
    stored = existing_keys(cur, [r.key for r in readings])
    new = [r for r in readings if r.key not in stored]
    if not new:
        return new, None
    if encoded is None:
        params = rows(new)
    else:
        params = [p for r, p in zip(readings, encoded, strict=True) if r.key not in stored]
    for lo in range(0, len(params), ROWS_PER_INSERT):
        part = params[lo : lo + ROWS_PER_INSERT]
        cur.execute(insert(len(part)), tuple(x for row in part for x in row))
    return new, int(cur.lastrowid) if cur.lastrowid else None


class SqliteWriter:
    """Batches of readings written on a thread and SQLite connection of their own, each in one
    transaction (`BEGIN IMMEDIATE` ... `COMMIT`, durable with the database's pragmas)."""

    def __init__(self, path: str, pragmas: Callable[[sqlite3.Connection], None]) -> None:
        self.path = path
        self._pragmas = pragmas
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="readings-writer")
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._pragmas(conn)
            self._conn = conn
        return self._conn

    def _write(
        self, readings: Sequence[Reading], encoded: Sequence[tuple[Any, ...]]
    ) -> tuple[list[Reading], int | None]:
        conn = self._connection()
        cur = conn.cursor()
        try:
            cur.execute("BEGIN IMMEDIATE")
            try:
                out = write_batch(cur, readings, encoded)
                cur.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        finally:
            cur.close()
        return out

    async def write(self, readings: Sequence[Reading]) -> tuple[list[Reading], int | None]:
        """Store a batch durably (one hand-off to the writer's thread); as `write_batch`. The
        insert parameters are made here, on the caller's thread: that Python work on the writer
        thread had to win the interpreter lock from the event loop, which made the write, and
        so the acknowledgement, wait longer."""
        encoded = rows(readings)
        return await asyncio.get_running_loop().run_in_executor(
            self._thread, self._write, readings, encoded
        )

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def close(self) -> None:
        """Close the connection (a later batch opens it again; the idle thread goes with the
        writer)."""
        self._thread.submit(self._close).result()
