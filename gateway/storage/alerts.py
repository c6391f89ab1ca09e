"""Alerts and their events: the current state of every alert, its assignee, and the trail of
every transition (who, when, from which client). An alert change is written as an alert record
(`gateway.storage.record`); this store reads alerts back, and writes what is not a transition
(an assignment, a review)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_, select

from alerts.model import Alert, EventType, Priority, State
from gateway.storage.database import Database, Transaction
from gateway.storage.record import assign
from gateway.storage.tables import AlertAssignmentRow, AlertEventRow, AlertRow


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


def _with_assignee() -> Select[AlertRow, str | None]:
    return select(AlertRow, AlertAssignmentRow.assignee).outerjoin(
        AlertAssignmentRow, AlertAssignmentRow.alert_id == AlertRow.alert_id
    )


class AlertStore:
    """Alerts come back with their assignee; an event's alert carries its assignee in."""

    def __init__(self, db: Database) -> None:
        self.db = db

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
            await assign(s, alert_id, assignee, by, at)

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
