"""The audit trail's hash chain: how a row is hashed, how appends are serialised, how it is checked.

Each row of `audit_log` carries `prev_hash` (the hash of the row before it in id order; 64 zeros
for the first) and `hash` = SHA-256 of `prev_hash`, a newline and the row's canonical content:
the JSON object of `CONTENT_FIELDS` (keys sorted, no spaces, UTF-8, `at` as
`YYYY-MM-DDTHH:MM:SS.ffffffZ`), hex-encoded. Editing any field of a row changes its hash; deleting,
inserting or reordering rows breaks the next row's `prev_hash`.

The one-row table `audit_chain` is the chain's head: how many rows it holds, the last row's id and
hash. An append locks the head first (`UPDATE ... RETURNING`: a row lock on PostgreSQL, the write
lock on SQLite), chains its rows onto it, inserts them and moves the head, all in the caller's
transaction; a concurrent writer waits for that commit and chains onto the new head, so two
writers never both link to one row. The head also shows a row cut off the end of the chain.
A missing head is reported by the check; the next append restarts it after the last row (with a
warning in the log) rather than stop every audited action.

This detects tampering by anyone who cannot also recompute every later hash and the head; to
catch that as well, keep the head hash `hmg audit verify` prints somewhere the database's
administrators cannot write (a ticket, a signed log).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.storage.access_tables import AuditChainRow, AuditRow
from gateway.storage.database import Database

log = logging.getLogger(__name__)

GENESIS = "0" * 64
HEAD_ID = 1
# What a row's hash covers, in this order of columns (the JSON keys are sorted anyway).
CONTENT_FIELDS = (
    "at", "actor", "role", "tenant", "client", "action", "subject_type", "subject_id",
    "before", "after", "detail",
)  # fmt: skip
VERIFY_BLOCK = 2000


def jsonable(value: Any, what: str) -> Any:
    """`value` as it reads back from a JSON column (tuples become lists, keys strings), so the
    hash computed at append time is the one recomputed from the stored row."""
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"audit {what} is not plain JSON: {exc}") from exc


def _stamp(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("audit time must be timezone-aware")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(content: Mapping[str, Any]) -> bytes:
    """The bytes a row's hash covers (besides `prev_hash`)."""
    doc = {k: content[k] for k in CONTENT_FIELDS}
    doc["at"] = _stamp(content["at"])
    return json.dumps(
        doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def row_hash(prev_hash: str, content: Mapping[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical(content)).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainHead:
    rows: int
    last_id: int
    hash: str


_HEAD_COLUMNS = (AuditChainRow.rows, AuditChainRow.last_id, AuditChainRow.hash)


async def _lock_head(s: AsyncSession) -> ChainHead | None:
    # A no-op write: on PostgreSQL it row-locks the head until commit; on SQLite it takes the
    # database's write lock (waiting out the busy timeout) before the head is read.
    stmt = (
        update(AuditChainRow)
        .where(AuditChainRow.id == HEAD_ID)
        .values(rows=AuditChainRow.rows)
        .returning(*_HEAD_COLUMNS)
        .execution_options(synchronize_session=False)
    )
    row = (await s.execute(stmt)).first()
    return ChainHead(row[0], row[1], row[2]) if row is not None else None


async def _start_head(s: AsyncSession) -> None:
    """Create the head: from the last row when rows exist (the head was lost), else genesis."""
    last = (
        await s.execute(select(AuditRow.id, AuditRow.hash).order_by(AuditRow.id.desc()).limit(1))
    ).first()
    count = int(await s.scalar(select(func.count()).select_from(AuditRow)) or 0)
    if last is not None:
        log.warning("audit chain head missing: restarting it after row %d", last[0])
    values = {
        "id": HEAD_ID,
        "rows": count,
        "last_id": last[0] if last is not None else 0,
        "hash": last[1] if last is not None else GENESIS,
    }
    conn = await s.connection()
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    await s.execute(
        dialect_insert(AuditChainRow).values(**values).on_conflict_do_nothing(index_elements=["id"])
    )


async def lock_head(s: AsyncSession) -> ChainHead:
    """The chain head, locked until `s` commits (created on the first append)."""
    head = await _lock_head(s)
    if head is None:
        await _start_head(s)
        head = await _lock_head(s)
    if head is None:
        raise RuntimeError("audit chain head could not be created")
    return head


async def append_rows(s: AsyncSession, contents: Sequence[Mapping[str, Any]]) -> None:
    """Chain `contents` (mappings with `CONTENT_FIELDS`) onto the head, in order, in `s`'s
    transaction."""
    head = await lock_head(s)
    prev = head.hash
    rows: list[dict[str, Any]] = []
    for content in contents:
        digest = row_hash(prev, content)
        rows.append({**{k: content[k] for k in CONTENT_FIELDS}, "prev_hash": prev, "hash": digest})
        prev = digest
    stmt = insert(AuditRow).returning(AuditRow.id, sort_by_parameter_order=True)
    ids = list((await s.scalars(stmt, rows)).all())
    if any(b <= a for a, b in zip([head.last_id, *ids], ids, strict=False)):
        raise RuntimeError(f"audit ids not increasing after {head.last_id}: {ids}")
    await s.execute(
        update(AuditChainRow)
        .where(AuditChainRow.id == HEAD_ID)
        .values(rows=head.rows + len(ids), last_id=ids[-1], hash=prev)
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The outcome of a check: `rows` checked; when broken, the first bad row's id (None when the
    chain's end or head is what is wrong) and what is wrong with it."""

    rows: int
    head_hash: str
    broken_id: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


_ROW_COLUMNS = (
    AuditRow.id,
    AuditRow.prev_hash,
    AuditRow.hash,
    *(getattr(AuditRow, f) for f in CONTENT_FIELDS),
)


async def _snapshot(db: Database) -> tuple[ChainHead | None, int]:
    """The head and the largest row id, read in one statement (one consistent view)."""

    def head(col: Any) -> Any:
        return select(col).where(AuditChainRow.id == HEAD_ID).scalar_subquery()

    max_id_q = select(func.max(AuditRow.id)).scalar_subquery()
    stmt = select(
        head(AuditChainRow.rows), head(AuditChainRow.last_id), head(AuditChainRow.hash), max_id_q
    )
    async with db.session() as s:
        rows, last_id, digest, max_id = (await s.execute(stmt)).one()
    found = ChainHead(rows, last_id, digest) if rows is not None else None
    return found, int(max_id or 0)


async def verify_chain(db: Database, block: int = VERIFY_BLOCK) -> ChainReport:
    """Walk the chain in id order, `block` rows per query, up to the head as it was when the
    check started (rows appended meanwhile are left for the next check)."""
    head, max_id = await _snapshot(db)
    upto = head.last_id if head is not None else max_id
    prev, prev_id, count = GENESIS, 0, 0
    while prev_id < upto:
        stmt = (
            select(*_ROW_COLUMNS)
            .where(AuditRow.id > prev_id, AuditRow.id <= upto)
            .order_by(AuditRow.id)
            .limit(block)
        )
        async with db.session() as s:
            rows = (await s.execute(stmt)).all()
        for r in rows:
            row_id, prev_hash, stored = r[0], r[1], r[2]
            if prev_hash != prev:
                where = f"row {prev_id}" if prev_id else "the start of the chain"
                return ChainReport(
                    count, prev, row_id,
                    f"prev_hash does not match the hash of {where}: rows between them were "
                    "deleted or inserted, or the chain was reordered",
                )  # fmt: skip
            content = dict(zip(CONTENT_FIELDS, r[3:], strict=True))
            if row_hash(prev_hash, content) != stored:
                return ChainReport(
                    count, prev, row_id, "the row's content does not match its hash: edited"
                )
            prev, prev_id, count = stored, row_id, count + 1
        if len(rows) < block:
            break
    if head is None:
        if count == 0:
            return ChainReport(0, GENESIS)
        return ChainReport(count, prev, None, "the chain head (audit_chain) is missing")
    if (head.rows, head.last_id, head.hash) != (count, prev_id, prev):
        return ChainReport(
            count, prev, head.last_id if head.last_id != prev_id else None,
            f"the chain ends at row {prev_id} after {count} rows, but its head records "
            f"{head.rows} rows up to row {head.last_id}: rows were deleted or rewritten",
        )  # fmt: skip
    if max_id > head.last_id:
        async with db.session() as s:
            stray = await s.scalar(
                select(func.min(AuditRow.id)).where(
                    AuditRow.id > head.last_id, AuditRow.id <= max_id
                )
            )
        return ChainReport(
            count, prev, stray, f"the row was added after the chain's head (row {head.last_id})"
        )
    return ChainReport(count, prev)
