"""An alert record: everything one alert change writes, in one transaction or not at all.

Detection (`gateway.flow.pipeline`), a clinician's action (`gateway.flow.actions`) and a
consultation step (`gateway.consult`) each change alerts the same way, and each makes one call
for it: `OutboxSender.record(AlertRecord(...))` (`gateway.notifiers.outbox`), which adds the
events' notifications and writes the whole with `RecordStore.commit`. The record holds

- the lifecycle events: each event's alert as it is now, the event on the alert's trail, and
  the alert's assignee when the event changed it;
- the escalation timers the change moved (upserted, or dropped when the alert no longer has one);
- the audit entries of the action, chained onto the audit trail;
- the notifications of the events (outbox entries, made by
  `gateway.notifiers.outbox.outbox_entries`), sent once the record is committed;
- how far detection has run (`Progress`), so a restart knows which stored readings still need it.

The statements of the alerts, their events and assignees, the escalation timers and the
progress are in this module (the stores by concern keep the reads, and use these statements for
the few writes of their own: an assignment, a restart's re-armed timers, another stream's
progress); the outbox rows and the audit chain, which other writers share, are written with
their own module's one statement (`gateway.storage.outbox.insert_entries`,
`gateway.storage.auditchain.append_rows`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from alerts.escalation import EscalationState
from alerts.model import Alert, AlertEvent
from alerts.outcome import TimerChanges
from alerts.serialize import event_detail
from gateway.storage.audit import AuditEntry
from gateway.storage.auditchain import append_rows
from gateway.storage.database import Database, Transaction
from gateway.storage.outbox import OutboxEntry, insert_entries
from gateway.storage.tables import (
    AlertAssignmentRow,
    AlertEventRow,
    AlertRow,
    EscalationTimerRow,
    StreamProgressRow,
)

# Another write of the same change (a referral, an assignment, a consultation request), made
# first in the record's transaction.
Write = Callable[[Transaction], Awaitable[None]]


class Progress(NamedTuple):
    """How far detection has run: the last position of `stream` whose events the record holds
    (`gateway.storage.progress`)."""

    stream: str
    seq: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertRecord:
    """One alert change as it is written (see the module doc). `at` is when it is written: the
    stored notifications' creation time and the progress's. `client` is who made the change
    (an action's client, or `gateway`, `scheduler`, `worker`)."""

    at: datetime
    events: Sequence[AlertEvent] = ()
    timers: TimerChanges = field(default_factory=TimerChanges)
    client: str | None = None
    audit: Sequence[AuditEntry] = ()
    outbox: Sequence[OutboxEntry] = ()
    progress: Progress | None = None

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("an alert record's time must be timezone-aware")


class RecordStore:
    """Writes alert records; reading them back is the stores' by concern."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def commit(self, record: AlertRecord, *, also: Write | None = None) -> list[OutboxEntry]:
        """Write `record` (and `also`, first) in one transaction of its own: all of it, or
        nothing when anything fails (the error is raised). The stored outbox entries come back
        with their ids, to be sent now that they are committed."""
        async with self.db.transaction() as tx:
            if also is not None:
                await also(tx)
            s = tx.session
            for e in record.events:
                await _write_event(s, e, record.client)
            if record.timers:
                await save_timers(s, record.timers.saved, record.timers.deleted)
            if record.audit:
                await append_rows(s, [entry.content() for entry in record.audit])
            stored = await insert_entries(s, record.outbox, record.at)
            if record.progress is not None:
                await advance_to(s, record.progress.stream, record.progress.seq, record.at)
        return stored


async def _write_event(s: AsyncSession, e: AlertEvent, client: str | None) -> None:
    """The event's alert as it is now, the event on its trail, and its assignee if the event
    changed it (stored as assigned by the event's actor)."""
    a = e.alert
    row = await s.get(AlertRow, a.alert_id)
    if row is None:
        s.add(AlertRow(alert_id=a.alert_id, **_alert_fields(a)))
        await s.flush()
    else:
        for key, value in _alert_fields(a).items():
            setattr(row, key, value)
    s.add(
        AlertEventRow(
            alert_id=a.alert_id,
            event=e.event.value,
            at=e.at,
            actor=e.actor,
            client=client,
            detail=event_detail(e),
        )
    )
    if a.assignee is not None:
        assigned = await s.get(AlertAssignmentRow, a.alert_id)
        if assigned is None or assigned.assignee != a.assignee:
            await assign(s, a.alert_id, a.assignee, e.actor or "gateway", e.at)


def _alert_fields(a: Alert) -> dict[str, Any]:
    return {
        "tenant": a.tenant,
        "patient_id": a.patient_id,
        "code": a.code,
        "group": a.group,
        "priority": a.priority.value,
        "state": a.state.value,
        "technical": a.technical,
        "opened_at": a.opened_at,
        "updated_at": a.updated_at,
        "source_ts": a.source_ts,
        "resolved_at": a.resolved_at,
        "acknowledged_at": a.acknowledged_at,
        "acknowledged_by": a.acknowledged_by,
        "escalation_tier": a.escalation_tier,
        "updates": a.updates,
        "message": dict(a.message),
        "evidence": dict(a.evidence),
    }


async def assign(
    s: AsyncSession, alert_id: str, assignee: str | None, by: str, at: datetime
) -> None:
    """Who looks after the alert (None: nobody); `AlertStore.assign` writes it alone."""
    row = await s.get(AlertAssignmentRow, alert_id)
    if row is None:
        row = AlertAssignmentRow(alert_id=alert_id)
        s.add(row)
    row.assignee, row.assigned_by, row.assigned_at = assignee, by, at


async def save_timers(
    s: AsyncSession, upserts: Sequence[EscalationState], deleted: Sequence[str]
) -> None:
    """Replace the changed escalation timers and drop the deleted ones (by alert id);
    `TimerStore.save` writes them alone (a restart's re-arming)."""
    for alert_id in deleted:
        row = await s.get(EscalationTimerRow, alert_id)
        if row is not None:
            await s.delete(row)
    for t in upserts:
        row = await s.get(EscalationTimerRow, t.alert_id)
        if row is None:
            row = EscalationTimerRow(alert_id=t.alert_id)
            s.add(row)
        row.tenant, row.patient_id, row.group = t.tenant, t.patient_id, t.group
        row.priority, row.tier, row.due_at = t.priority.value, t.tier, t.due_at
        row.reason, row.repeats, row.flags = t.reason, t.repeats, sorted(t.flags)
        row.policy_version = t.policy_version


async def advance_to(s: AsyncSession, stream: str, seq: int, at: datetime) -> None:
    """Move `stream` to `seq`, never backwards (a late writer cannot undo progress);
    `ProgressStore.advance` writes it alone (a snapshot's, another stream's progress)."""
    row = await s.get(StreamProgressRow, stream)
    if row is None:
        s.add(StreamProgressRow(stream=stream, seq=seq, updated_at=at))
    elif seq > row.seq:
        row.seq, row.updated_at = seq, at
