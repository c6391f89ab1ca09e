"""The audit trail: who (user, role, tenant, client) did what to which subject, when, with the
state before and after; and who read which elder's health data. Append-only and hash-chained
(`gateway.storage.auditchain`): the store offers no update or delete, and `hmg audit verify`
finds the first row that was edited, inserted or deleted behind its back.

Alert transitions are also kept as each alert's events (`gateway.storage.alerts`); this trail
records every action a person (or a system job) takes, whatever its subject.

Writing:
- `AuditStore.append(entry, tx=...)`: pass the change's transaction so the change and its entry
  commit (or fail) together.
- `AuditStore.record_read(entry: AuditEntry) -> None`, the entry made by
  `AuditEntry.read(actor, at, patient_id, resource)`: a read of a patient's health data
  (`action="read"`, subject the patient, or another `subject_type=` such as an alert;
  `detail.resource` what was read, e.g. `GET /history/p-1/readings?kind=bp`). It returns once
  the row is committed; reads that arrive while a write is under way are committed together in
  the next transaction (group commit), so a busy dashboard costs one chain-head lock per batch,
  not one per read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from gateway.actor import Actor, Role
from gateway.storage.access_tables import AuditRow
from gateway.storage.auditchain import append_rows, jsonable
from gateway.storage.database import Database, Transaction

READ = "read"
# Where the comment on an action (`AuditEntry.comment`) is kept in its detail.
_COMMENT = "text"
# Column widths of `audit_log` (checked up front: a clear error, not a database one).
_LIMITS = {"actor": 128, "tenant": 64, "client": 200, "action": 32, "subject_type": 32,
           "subject_id": 128}  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """One audited action. `actor`/`role`/`tenant`/`client` say who acted (None where nobody
    is known, e.g. a sign-in under an unknown name); `subject_type`/`subject_id` name what it
    acted on (an alert, a patient, a roster member, ...); `before`/`after` the subject's state
    around a change (JSON objects; None when it did not or does not exist); `detail` the rest."""

    at: datetime
    actor: str | None
    role: Role | None
    tenant: str | None
    client: str | None = None
    action: str
    subject_type: str
    subject_id: str
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("audit time must be timezone-aware")
        if not self.action or not self.subject_type:
            raise ValueError("an audit entry needs an action and a subject type")
        for name, limit in _LIMITS.items():
            value = getattr(self, name)
            if value is not None and len(value) > limit:
                raise ValueError(f"audit {name} longer than {limit} characters")

    @classmethod
    def by(
        cls,
        actor: Actor,
        at: datetime,
        action: str,
        subject_type: str,
        subject_id: str,
        detail: Mapping[str, Any] | None = None,
        *,
        before: Mapping[str, Any] | None = None,
        after: Mapping[str, Any] | None = None,
        comment: str | None = None,
    ) -> AuditEntry:
        """What `actor` did (its user, role, tenant and client are recorded), with the
        clinician's `comment` if any (stored in `detail` as ``text``)."""
        if comment:
            detail = {**(detail or {}), _COMMENT: comment}
        return cls(
            at=at,
            actor=actor.user,
            role=actor.role,
            tenant=actor.tenant,
            client=actor.client or None,
            action=action,
            subject_type=subject_type,
            subject_id=subject_id,
            before=before,
            after=after,
            detail=detail or {},
        )

    @property
    def comment(self) -> str | None:
        """The clinician's comment on the action (see `by`), if any."""
        text = self.detail.get(_COMMENT)
        return text if isinstance(text, str) else None

    @classmethod
    def read(
        cls,
        actor: Actor,
        at: datetime,
        subject_id: str,
        resource: str,
        *,
        subject_type: str = "patient",
        detail: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """`actor` read health data of `subject_id` (a patient unless `subject_type` says
        otherwise, e.g. an alert); `resource` says what was read (route and query)."""
        return cls.by(
            actor, at, READ, subject_type, subject_id, {"resource": resource, **(detail or {})}
        )

    def content(self) -> dict[str, Any]:
        """The columns this entry is stored (and hashed) as."""
        return {
            "at": self.at,
            "actor": self.actor,
            "role": self.role.value if self.role is not None else None,
            "tenant": self.tenant,
            "client": self.client,
            "action": self.action,
            "subject_type": self.subject_type,
            "subject_id": self.subject_id,
            "before": jsonable(self.before, "before") if self.before is not None else None,
            "after": jsonable(self.after, "after") if self.after is not None else None,
            "detail": jsonable(dict(self.detail), "detail"),
        }


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """A stored entry with its place in the chain."""

    id: int
    entry: AuditEntry
    hash: str


def _role(value: str | None) -> Role | None:
    try:
        return Role(value) if value is not None else None
    except ValueError:
        return None  # not a role the gateway writes: `hmg audit verify` reports the row


def _entry(r: AuditRow) -> AuditEntry:
    return AuditEntry(
        at=r.at,
        actor=r.actor,
        role=_role(r.role),
        tenant=r.tenant,
        client=r.client,
        action=r.action,
        subject_type=r.subject_type,
        subject_id=r.subject_id,
        before=r.before,
        after=r.after,
        detail=r.detail,
    )


class _ReadBatcher:
    """Group commit for reads: one writer task at a time; reads arriving meanwhile wait for the
    next transaction, which takes all of them."""

    def __init__(self, store: AuditStore) -> None:
        self.store = store
        self.pending: list[tuple[AuditEntry, asyncio.Future[None]]] = []
        self.task: asyncio.Task[None] | None = None

    async def record(self, entry: AuditEntry) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.add_done_callback(_retrieved)  # a caller cancelled meanwhile leaves no warning
        self.pending.append((entry, done))
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._drain())
        await asyncio.shield(done)

    async def _drain(self) -> None:
        while self.pending:
            batch, self.pending = self.pending, []
            try:
                await self.store.append_many([e for e, _ in batch])
            except Exception as exc:  # noqa: BLE001 - each waiting read gets the error
                _settle(batch, exc)
            except BaseException:  # cancelled: nobody waits forever
                _settle(batch, RuntimeError("the audit write was cancelled"))
                raise
            else:
                _settle(batch, None)


def _retrieved(done: asyncio.Future[None]) -> None:
    if not done.cancelled():
        done.exception()


def _settle(batch: list[tuple[AuditEntry, asyncio.Future[None]]], error: Exception | None) -> None:
    for _, done in batch:
        if done.done():
            continue
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)


class AuditStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._reads = _ReadBatcher(self)

    async def append(self, entry: AuditEntry, *, tx: Transaction | None = None) -> None:
        """Add one entry; pass the change's transaction so both commit (or fail) together."""
        await self.append_many([entry], tx=tx)

    async def append_many(
        self, entries: Sequence[AuditEntry], *, tx: Transaction | None = None
    ) -> None:
        """Add entries in this order, chained, in one transaction (the caller's if given)."""
        if not entries:
            return
        contents = [e.content() for e in entries]
        async with self.db.writing(tx) as s:
            await append_rows(s, contents)

    async def record_read(self, entry: AuditEntry) -> None:
        """Audit a read of health data (`AuditEntry.read`); returns once it is committed (see
        the module doc: concurrent reads share a transaction)."""
        if entry.action != READ:
            raise ValueError("record_read takes reads; a change goes with its transaction")
        await self._reads.record(entry)

    async def entries(
        self,
        *,
        subject_id: str | None = None,
        actor: str | None = None,
        tenant: str | None = None,
        since: datetime | None = None,
        limit: int = 500,
    ) -> list[AuditEntry]:
        """Oldest first."""
        stmt = select(AuditRow).order_by(AuditRow.id).limit(limit)
        if subject_id is not None:
            stmt = stmt.where(AuditRow.subject_id == subject_id)
        if actor is not None:
            stmt = stmt.where(AuditRow.actor == actor)
        if tenant is not None:
            stmt = stmt.where(AuditRow.tenant == tenant)
        if since is not None:
            stmt = stmt.where(AuditRow.at >= since)
        async with self.db.session() as s:
            rows = (await s.scalars(stmt)).all()
        return [_entry(r) for r in rows]

    async def page(
        self,
        tenant: str,
        *,
        before_id: int | None = None,
        actor: str | None = None,
        subject_type: str | None = None,
        subject_id: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
    ) -> list[AuditRecord]:
        """One tenant's entries, newest first, below `before_id` (the cursor) if given;
        `since` inclusive, `until` exclusive."""
        stmt = (
            select(AuditRow)
            .where(AuditRow.tenant == tenant)
            .order_by(AuditRow.id.desc())
            .limit(limit)
        )
        filters = (
            (AuditRow.actor, actor),
            (AuditRow.subject_type, subject_type),
            (AuditRow.subject_id, subject_id),
            (AuditRow.action, action),
        )
        for column, value in filters:
            if value is not None:
                stmt = stmt.where(column == value)
        if before_id is not None:
            stmt = stmt.where(AuditRow.id < before_id)
        if since is not None:
            stmt = stmt.where(AuditRow.at >= since)
        if until is not None:
            stmt = stmt.where(AuditRow.at < until)
        async with self.db.session() as s:
            rows = (await s.scalars(stmt)).all()
        return [AuditRecord(r.id, _entry(r), r.hash) for r in rows]
