"""Alert lifecycle as pure transitions `(alert, input, now) -> (alert, event)` plus a small book.

One condition is one alert. A candidate for a (patient, group) that already has an active alert
updates it; a CLEAR resolves it.

- Severities of one family share a group (`glucose.low` and `glucose.urgent_low` both use the
  group `glucose.low`): a candidate with another code of the group changes the alert's code and
  priority to that code's, up or down (an `updated` event; `worse` when the priority rose, which
  notifies and restarts escalation like any worsening).
- Hold-off: a condition that clears and comes back within `HOLD_OFF` (30 min) re-opens the alert
  it resolved, same id, instead of opening a new one (an `updated` event with `reopened`, and
  `worse`, so the return notifies). Why 30 min: a CGM low that clears needs two readings back in
  range (10 min) and glucose hovering at a limit crosses it again within 15-30 min; a heart rate
  wandering about the tachycardia limit re-crosses within minutes. Alarm-management practice
  for chattering alarms (ANSI/ISA-18.2, EEMUA 191: off-delay / re-alarm suppression) and
  "repeat" settings of CGM receivers (typically 15 min or more) work on the same scale; 30 min
  merges such returns into one alert while an episode hours later remains a new alert.
A raise after the hold-off opens a new alert.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Final

from alerts.codes import render, spec
from alerts.model import Action, Alert, AlertCandidate, AlertEvent, EventType, State

HOLD_OFF: Final = timedelta(minutes=30)
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
    """Another candidate of the same episode. A code change within the group (a severity of the
    same family) takes that code's priority, up or down; otherwise the priority only rises."""
    priority = c.priority or spec(c.code).priority
    worse = priority.rank > alert.priority.rank
    recoded = c.code != alert.code
    new = replace(
        alert,
        code=c.code,
        updated_at=now,
        source_ts=c.at,
        message=render(c.code, c.params),
        evidence=dict(c.evidence) or alert.evidence,
        updates=alert.updates + 1,
        priority=priority if worse or recoded else alert.priority,
        # A worse condition re-opens notification even if it was acknowledged.
        state=State.OPEN if worse and alert.state is State.ACKNOWLEDGED else alert.state,
    )
    detail = {"code_from": alert.code} if recoded else {}
    return AlertEvent(EventType.UPDATED, now, new, detail=detail, worse=worse)


def reopen_alert(alert: Alert, c: AlertCandidate, now: datetime) -> AlertEvent:
    """The condition of a resolved alert came back within the hold-off: the same alert again."""
    s = spec(c.code)
    new = replace(
        alert,
        code=c.code,
        priority=c.priority or s.priority,
        state=State.OPEN,
        updated_at=now,
        source_ts=c.at,
        message=render(c.code, c.params),
        evidence=dict(c.evidence) or alert.evidence,
        updates=alert.updates + 1,
        resolved_at=None,
        acknowledged_by=None,
        acknowledged_at=None,
        escalation_tier=0,
    )
    detail: dict[str, object] = {"reopened": True}
    if c.code != alert.code:
        detail["code_from"] = alert.code
    return AlertEvent(EventType.UPDATED, now, new, detail=detail, worse=True)


def resolve_alert(
    alert: Alert,
    now: datetime,
    actor: str | None = None,
    c: AlertCandidate | None = None,
    *,
    outcome: str | None = None,
) -> AlertEvent:
    """Resolve; a detector's CLEAR may name an `outcome` (e.g. a fall the wearer ``cancelled``)
    and add evidence, both kept with the alert; a clinician may name one too (an emergency
    call's)."""
    outcome = outcome or (c.outcome if c is not None else None)
    evidence = {**alert.evidence, **c.evidence} if c is not None and c.evidence else alert.evidence
    new = replace(alert, state=State.RESOLVED, updated_at=now, resolved_at=now, evidence=evidence)
    detail = {"outcome": outcome} if outcome else {}
    return AlertEvent(EventType.RESOLVED, now, new, actor=actor, detail=detail)


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

    def __init__(
        self, tenant: str, active: list[Alert] | None = None, hold_off: timedelta = HOLD_OFF
    ) -> None:
        self.tenant = tenant
        self.hold_off = hold_off
        self._active: dict[tuple[str, str], Alert] = {
            (a.patient_id, a.group): a for a in active or [] if a.active
        }
        # Alerts resolved by their condition clearing, kept for the hold-off.
        self._cleared: dict[tuple[str, str], Alert] = {}
        # Where each active alert is (an action finds its alert by id without a scan).
        self._keys: dict[str, tuple[str, str]] = {a.alert_id: k for k, a in self._active.items()}

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
        key = self._keys.get(alert_id)
        a = self._active.get(key) if key is not None else None
        return a if a is not None and a.alert_id == alert_id else None

    def apply(self, c: AlertCandidate, now: datetime) -> AlertEvent | None:
        key = (c.patient_id, c.group_key)
        current = self._active.get(key)
        if c.action is Action.CLEAR:
            if current is None:
                return None
            event = resolve_alert(current, now, c=c)
            self._forget_cleared(now)
            self._cleared[key] = event.alert
        elif current is not None:
            event = update_alert(current, c, now)
        else:
            recent = self._cleared.pop(key, None)
            resolved_at = recent.resolved_at if recent is not None else None
            if (
                recent is not None
                and resolved_at is not None
                and now - resolved_at <= self.hold_off
            ):
                event = reopen_alert(recent, c, now)
            else:
                event = open_alert(self.tenant, c, now)
        self.record(event)
        return event

    def _forget_cleared(self, now: datetime) -> None:
        """Drop alerts whose hold-off is over (keeps the book small)."""
        if len(self._cleared) < 256:
            return
        self._cleared = {
            k: a
            for k, a in self._cleared.items()
            if a.resolved_at is not None and now - a.resolved_at <= self.hold_off
        }

    def record(self, event: AlertEvent) -> None:
        """Take an event decided elsewhere (a clinician's action, escalation) into the book."""
        self.keep(event.alert)

    def keep(self, a: Alert) -> None:
        """Hold the alert's latest state (bookkeeping such as an assignment is no event)."""
        key = (a.patient_id, a.group)
        held = self._active.get(key)
        if held is not None:
            self._keys.pop(held.alert_id, None)
        if a.active:
            self._active[key] = a  # in its place: the book's order stays the order of opening
            self._keys[a.alert_id] = key
        else:
            self._active.pop(key, None)
