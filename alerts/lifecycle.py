"""Alert lifecycle as pure transitions `(alert, input, now) -> (alert, event)` plus a small book.

One alert per episode: a candidate for a (patient, group) that already has an active alert updates
it; a CLEAR resolves it; a raise after resolution opens a new alert.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

from alerts.codes import render, spec
from alerts.model import Action, Alert, AlertCandidate, AlertEvent, EventType, State

_NS = uuid.UUID("5d1c3f7e-8a53-4c1e-9a0e-4b8f1c2d3e4f")


def alert_id_for(tenant: str, patient_id: str, group: str, opened: datetime) -> str:
    """Deterministic ids, so a replay of the same input gives the same alerts."""
    return str(uuid.uuid5(_NS, f"{tenant}|{patient_id}|{group}|{opened.isoformat()}"))


def open_alert(tenant: str, c: AlertCandidate, now: datetime) -> AlertEvent:
    s = spec(c.code)
    alert = Alert(
        alert_id=alert_id_for(tenant, c.patient_id, c.group_key, c.at),
        tenant=tenant,
        patient_id=c.patient_id,
        code=c.code,
        group=c.group_key,
        priority=c.priority or s.priority,
        state=State.OPEN,
        opened_at=now,
        updated_at=now,
        source_ts=c.at,
        message=render(c.code, c.params),
        evidence=dict(c.evidence),
        technical=s.technical,
    )
    return AlertEvent(EventType.OPENED, now, alert)


def update_alert(alert: Alert, c: AlertCandidate, now: datetime) -> AlertEvent:
    priority = c.priority or spec(c.code).priority
    worse = priority.rank > alert.priority.rank
    new = replace(
        alert,
        updated_at=now,
        source_ts=c.at,
        message=render(c.code, c.params),
        evidence=dict(c.evidence) or alert.evidence,
        updates=alert.updates + 1,
        priority=priority if worse else alert.priority,
        # A worse condition re-opens notification even if it was acknowledged.
        state=State.OPEN if worse and alert.state is State.ACKNOWLEDGED else alert.state,
    )
    return AlertEvent(EventType.UPDATED, now, new, worse=worse)


def resolve_alert(alert: Alert, now: datetime, actor: str | None = None) -> AlertEvent:
    new = replace(alert, state=State.RESOLVED, updated_at=now, resolved_at=now)
    return AlertEvent(EventType.RESOLVED, now, new, actor=actor)


def acknowledge_alert(alert: Alert, by: str, now: datetime) -> AlertEvent:
    if not alert.active:
        raise ValueError(f"alert {alert.alert_id} is resolved")
    new = replace(
        alert,
        state=State.ACKNOWLEDGED,
        updated_at=now,
        acknowledged_by=by,
        acknowledged_at=now,
        assignee=alert.assignee or by,
    )
    return AlertEvent(EventType.ACKNOWLEDGED, now, new, actor=by)


def refer_alert(alert: Alert, by: str, now: datetime, referral_id: str) -> AlertEvent:
    """The alert is handed over to a hospital; notification stops as for an acknowledgement."""
    if not alert.active:
        raise ValueError(f"alert {alert.alert_id} is resolved")
    new = replace(alert, state=State.REFERRED, updated_at=now, assignee=alert.assignee or by)
    return AlertEvent(EventType.REFERRED, now, new, actor=by, detail={"referral_id": referral_id})


def assign_alert(alert: Alert, assignee: str | None, now: datetime) -> Alert:
    """Assignment is bookkeeping, not a lifecycle event: it is audited, never notified."""
    return replace(alert, assignee=assignee, updated_at=now)


class AlertBook:
    """Active alerts by (patient, group); applies candidates and returns the resulting events."""

    def __init__(self, tenant: str, active: list[Alert] | None = None) -> None:
        self.tenant = tenant
        self._active: dict[tuple[str, str], Alert] = {
            (a.patient_id, a.group): a for a in active or [] if a.active
        }

    def active(self) -> list[Alert]:
        return list(self._active.values())

    def get(self, patient_id: str, group: str) -> Alert | None:
        return self._active.get((patient_id, group))

    def find(self, patient_id: str, code: str) -> Alert | None:
        """The active alert of a patient with this code (whatever its group)."""
        return self._active.get((patient_id, code)) or next(
            (a for a in self._active.values() if a.patient_id == patient_id and a.code == code),
            None,
        )

    def by_id(self, alert_id: str) -> Alert | None:
        return next((a for a in self._active.values() if a.alert_id == alert_id), None)

    def apply(self, c: AlertCandidate, now: datetime) -> AlertEvent | None:
        key = (c.patient_id, c.group_key)
        current = self._active.get(key)
        if c.action is Action.CLEAR:
            if current is None:
                return None
            event = resolve_alert(current, now)
        elif current is None:
            event = open_alert(self.tenant, c, now)
        else:
            event = update_alert(current, c, now)
        self.record(event)
        return event

    def acknowledge(self, patient_id: str, group: str, by: str, now: datetime) -> AlertEvent:
        current = self._active.get((patient_id, group))
        if current is None:
            raise KeyError(f"no active alert {group!r} for {patient_id!r}")
        event = acknowledge_alert(current, by, now)
        self.record(event)
        return event

    def record(self, event: AlertEvent) -> None:
        """Take an event decided elsewhere (a clinician's action, escalation) into the book."""
        self.keep(event.alert)

    def keep(self, a: Alert) -> None:
        """Hold the alert's latest state (bookkeeping such as an assignment is no event)."""
        if a.active:
            self._active[(a.patient_id, a.group)] = a
        else:
            self._active.pop((a.patient_id, a.group), None)
