"""The audit trail for auditors: `GET /audit`, newest first, one tenant (the caller's), filtered
by actor, subject, action and time, with cursor pagination.

Reads of health data are recorded by the route guard (`gateway.api.security`) through
`AuditStore.record_read(AuditEntry.read(...))`, which commits concurrent reads together.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from devices.timeparse import format_ts
from gateway.actor import Actor, Role
from gateway.api.deps import ReadsDep
from gateway.api.security import require
from gateway.errors import InvalidError
from gateway.storage.audit import AuditRecord

router = APIRouter(tags=["audit"])

MAX_LIMIT = 500
_CURSOR_PREFIX = "audit:"
# Longest resource string kept in a read's audit row.
MAX_RESOURCE = 500

Auditor = Annotated[Actor, Depends(require(Role.AUDITOR))]


class AuditEntryOut(BaseModel):
    """One audited action or read: who (`by`, `role`, `tenant`, `client`), what (`action` on
    `subject_type`/`subject_id`), the subject's state `before`/`after` a change, the rest in
    `detail`; `hash` is the row's link in the chain (`hmg audit verify`)."""

    id: int
    at: str
    by: str | None
    role: str | None
    tenant: str | None
    client: str | None
    action: str
    subject_type: str
    subject_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    detail: dict[str, Any]
    hash: str

    @classmethod
    def of(cls, r: AuditRecord) -> AuditEntryOut:
        e = r.entry
        return cls(
            id=r.id,
            at=format_ts(e.at),
            by=e.actor,
            role=e.role.value if e.role is not None else None,
            tenant=e.tenant,
            client=e.client,
            action=e.action,
            subject_type=e.subject_type,
            subject_id=e.subject_id,
            before=dict(e.before) if e.before is not None else None,
            after=dict(e.after) if e.after is not None else None,
            detail=dict(e.detail),
            hash=r.hash,
        )


class AuditPageOut(BaseModel):
    """A page of entries, newest first; pass `next_cursor` as `cursor` for the next (older)
    page, with the same filters. `next_cursor` is null on the last page."""

    entries: list[AuditEntryOut]
    next_cursor: str | None


def encode_cursor(before_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{before_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The row id a cursor continues below; `InvalidError` for anything not made here."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not text.startswith(_CURSOR_PREFIX):
            raise ValueError(cursor)
        before_id = int(text.removeprefix(_CURSOR_PREFIX))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidError("invalid cursor", ("cursor",)) from exc
    if before_id < 1:
        raise InvalidError("invalid cursor", ("cursor",))
    return before_id


@router.get("/audit")
async def audit_log(
    reads: ReadsDep,
    auditor: Auditor,
    actor: str | None = None,
    subject_type: str | None = None,
    subject_id: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> AuditPageOut:
    """The caller's tenant's audit trail, newest first: actions (alert actions, edits of
    patients, devices, rosters, referrals, accounts), sign-ins, and reads of health data. Each
    alert's lifecycle events are in its `/alerts/{id}/audit`. `since` inclusive, `until`
    exclusive."""
    for name, t in (("since", since), ("until", until)):
        if t is not None and t.tzinfo is None:
            raise InvalidError(f"{name} needs a UTC offset", (name,))
    found = await reads.stores.audit.page(
        auditor.tenant,
        before_id=decode_cursor(cursor) if cursor is not None else None,
        actor=actor,
        subject_type=subject_type,
        subject_id=subject_id,
        action=action,
        since=since,
        until=until,
        limit=limit + 1,
    )
    page = found[:limit]
    more = len(found) > limit
    return AuditPageOut(
        entries=[AuditEntryOut.of(r) for r in page],
        next_cursor=encode_cursor(page[-1].id) if more else None,
    )
