"""Alerts and their events: the current state of every alert, its assignee, and the trail of
every transition (who, when, from which client)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.escalation import EscalationState
from alerts.model import Alert, AlertEvent, EventType, Priority, State
from alerts.outcome import TimerChanges
from alerts.serialize import event_detail
from gateway.storage.database import Database, Transaction
from gateway.storage.tables import (
    AlertAssignmentRow,
    AlertEventRow,
    AlertRow,
    EscalationTimerRow,
)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One transition of an alert as recorded: the event, its actor and client."""

    alert_id: str
    event: EventType
    at: datetime
    actor: str | None
    client: str | None
    detail: Mapping[str, Any] = field(default_factory=dict)


def _alert_of(r: AlertRow, assignee: str | None) -> Alert:
    return Alert(
        alert_id=r.alert_id,
        tenant=r.tenant,
        patient_id=r.patient_id,
        code=r.code,
        group=r.group,
        priority=Priority(r.priority),
        state=State(r.state),
        opened_at=r.opened_at,
        updated_at=r.updated_at,
        source_ts=r.source_ts,
        message=r.message,
        evidence=r.evidence,
        technical=r.technical,
        acknowledged_by=r.acknowledged_by,
        acknowledged_at=r.acknowledged_at,
        resolved_at=r.resolved_at,
        escalation_tier=r.escalation_tier,
        updates=r.updates,
        assignee=assignee,
    )


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


def _with_assignee() -> Select[AlertRow, str | None]:
    return select(AlertRow, AlertAssignmentRow.assignee).outerjoin(
        AlertAssignmentRow, AlertAssignmentRow.alert_id == AlertRow.alert_id
    )


async def _assign(
    s: AsyncSession, alert_id: str, assignee: str | None, by: str, at: datetime
) -> None:
    row = await s.get(AlertAssignmentRow, alert_id)
    if row is None:
        row = AlertAssignmentRow(alert_id=alert_id)
        s.add(row)
    row.assignee, row.assigned_by, row.assigned_at = assignee, by, at


class AlertStore:
    """Alerts come back with their assignee; an event's alert carries its assignee in."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def save_events(
        self,
        events: Sequence[AlertEvent],
        client: str | None = None,
        *,
        timers: TimerChanges | None = None,
        tx: Transaction | None = None,
    ) -> None:
        """Store each event's alert state and append the event to the alert's trail (a changed
        assignee is stored as assigned by the event's actor), then the escalation `timers` the
        same change moved: one call writes an alert change."""
        if not events and not timers:
            return
        async with self.db.writing(tx) as s:
            for e in events:
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
                        await _assign(s, a.alert_id, a.assignee, e.actor or "gateway", e.at)
            if timers:
                await save_timers(s, timers.saved, timers.deleted)

    async def assign(
        self,
        alert_id: str,
        assignee: str | None,
        by: str,
        at: datetime,
        *,
        tx: Transaction | None = None,
    ) -> None:
        """Who looks after the alert (None: nobody); not a transition of the alert."""
        async with self.db.writing(tx) as s:
            await _assign(s, alert_id, assignee, by, at)

    async def active(self, tenant: str | None = None) -> list[Alert]:
        """Alerts not resolved (of one tenant, or of all when `tenant` is None)."""
        stmt = _with_assignee().where(AlertRow.state != State.RESOLVED.value)
        if tenant is not None:
            stmt = stmt.where(AlertRow.tenant == tenant)
        async with self.db.session() as s:
            return [_alert_of(r, who) for r, who in (await s.execute(stmt)).all()]

    async def get(self, alert_id: str, tenant: str | None = None) -> Alert | None:
        stmt = _with_assignee().where(AlertRow.alert_id == alert_id)
        if tenant is not None:
            stmt = stmt.where(AlertRow.tenant == tenant)
        async with self.db.session() as s:
            found = (await s.execute(stmt)).first()
        return _alert_of(found[0], found[1]) if found else None

    async def query(
        self,
        *,
        tenant: str | None = None,
        patient_id: str | None = None,
        state: str | None = None,
        priority: str | None = None,
        code: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 200,
        after: tuple[datetime, str] | None = None,
        missed: bool | None = None,
    ) -> list[Alert]:
        """Newest first (by opening time, then id), filtered by whichever of the arguments are
        given; `after` continues a list past the (opened_at, alert_id) it ended with. `missed`:
        True keeps the alerts nobody acted on (no event with a person's name), False those
        someone did."""
        stmt = _with_assignee()
        if missed is not None:
            acted = select(AlertEventRow.id).where(
                AlertEventRow.alert_id == AlertRow.alert_id, AlertEventRow.actor.is_not(None)
            )
            stmt = stmt.where(~acted.exists() if missed else acted.exists())
        for col, value in (
            (AlertRow.tenant, tenant),
            (AlertRow.patient_id, patient_id),
            (AlertRow.state, state),
            (AlertRow.priority, priority),
            (AlertRow.code, code),
        ):
            if value is not None:
                stmt = stmt.where(col == value)
        if since is not None:
            stmt = stmt.where(AlertRow.opened_at >= since)
        if until is not None:
            stmt = stmt.where(AlertRow.opened_at < until)
        if after is not None:
            at, last = after
            stmt = stmt.where(
                or_(
                    AlertRow.opened_at < at,
                    and_(AlertRow.opened_at == at, AlertRow.alert_id < last),
                )
            )
        stmt = stmt.order_by(AlertRow.opened_at.desc(), AlertRow.alert_id.desc()).limit(limit)
        async with self.db.session() as s:
            return [_alert_of(r, who) for r, who in (await s.execute(stmt)).all()]

    # -- serious alerts nobody saw ----------------------------------------------------------
    def _unreviewed(self, tenant: str) -> Select[AlertRow, str | None]:
        """High-priority and emergency alerts of `tenant` that resolved before anyone acted on
        them (no event with a person's name) and are not reviewed yet."""
        acted = select(AlertEventRow.id).where(
            AlertEventRow.alert_id == AlertRow.alert_id, AlertEventRow.actor.is_not(None)
        )
        return (
            _with_assignee()
            .where(AlertRow.tenant == tenant, AlertRow.state == State.RESOLVED.value)
            .where(AlertRow.technical.is_(False), AlertRow.reviewed_by.is_(None))
            .where(
                or_(
                    AlertRow.priority == Priority.HIGH.value,
                    AlertRow.code.startswith("emergency."),
                )
            )
            .where(~acted.exists())
        )

    async def unreviewed(self, tenant: str, limit: int = 500) -> list[Alert]:
        """Alerts that still need a clinician's review, newest first."""
        stmt = self._unreviewed(tenant).order_by(AlertRow.resolved_at.desc()).limit(limit)
        async with self.db.session() as s:
            return [_alert_of(r, who) for r, who in (await s.execute(stmt)).all()]

    async def review(
        self, tenant: str, alert_id: str, by: str, at: datetime, *, tx: Transaction | None = None
    ) -> bool:
        """Mark an unreviewed alert reviewed (False: none such of this tenant)."""
        async with self.db.writing(tx) as s:
            stmt = self._unreviewed(tenant).where(AlertRow.alert_id == alert_id)
            found = (await s.execute(stmt)).first()
            if found is None:
                return False
            found[0].reviewed_by, found[0].reviewed_at = by, at
        return True

    async def events(self, alert_id: str) -> list[StoredEvent]:
        """The alert's trail, oldest first."""
        stmt = (
            select(AlertEventRow)
            .where(AlertEventRow.alert_id == alert_id)
            .order_by(AlertEventRow.id)
        )
        async with self.db.session() as s:
            rows = (await s.scalars(stmt)).all()
        return [
            StoredEvent(r.alert_id, EventType(r.event), r.at, r.actor, r.client, r.detail)
            for r in rows
        ]


async def save_timers(
    s: AsyncSession, upserts: Sequence[EscalationState], deleted: Sequence[str]
) -> None:
    """Replace the changed escalation timers and drop the deleted ones (by alert id)."""
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
