"""The escalation book: every tenant's escalation timers, the policy of each tenant, and what
changed since the shell last stored them. The transitions themselves are `alerts.escalation`'s."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime

from alerts.escalation import (
    EscalationState,
    arm,
    escalate_now,
    escalation_detail,
    fire,
    observe,
    rearm,
    snooze,
)
from alerts.model import Alert, AlertEvent, EventType
from alerts.policy import EscalationPlan, EscalationPolicy
from devices.model import PatientKey


class Escalator:
    """Escalation timers of every tenant; policies per tenant, patient flags via a callback.

    `changes()` hands the shell what to persist since the last call (upserts and deletions).
    """

    def __init__(
        self,
        policies: Mapping[str, EscalationPolicy] | None = None,
        *,
        default: EscalationPolicy | None = None,
        flags_for: Callable[[PatientKey], frozenset[str]] | None = None,
        timers: Iterable[EscalationState] = (),
    ) -> None:
        self.policies = dict(policies or {})
        self.default = default
        self.flags_for: Callable[[PatientKey], frozenset[str]] | None = flags_for
        self._timers: dict[str, EscalationState] = {t.alert_id: t for t in timers}
        self._dirty: set[str] = set()

    def policy(self, tenant: str) -> EscalationPolicy | None:
        return self.policies.get(tenant, self.default)

    def plan(self, tenant: str, flags: frozenset[str]) -> EscalationPlan | None:
        policy = self.policy(tenant)
        return policy.plan_for(flags) if policy is not None else None

    def get(self, alert_id: str) -> EscalationState | None:
        return self._timers.get(alert_id)

    def timers(self) -> list[EscalationState]:
        return list(self._timers.values())

    def _set(self, alert_id: str, st: EscalationState | None) -> None:
        if st is None:
            if self._timers.pop(alert_id, None) is not None:
                self._dirty.add(alert_id)
        elif self._timers.get(alert_id) != st:
            self._timers[alert_id] = st
            self._dirty.add(alert_id)

    def _plan_of(self, alert: Alert) -> EscalationPlan | None:
        st = self._timers.get(alert.alert_id)
        if st is not None:
            flags = st.flags
        else:
            flags = self.flags_for(alert.patient) if self.flags_for else frozenset()
        return self.plan(alert.tenant, flags)

    def observe(self, event: AlertEvent) -> AlertEvent:
        """Track a lifecycle event; return it with escalation detail when it notifies a tier."""
        plan = self._plan_of(event.alert)
        if plan is None or event.event is EventType.ESCALATED:
            return event
        before = self._timers.get(event.alert.alert_id)
        st = observe(plan, before, event)
        self._set(event.alert.alert_id, st)
        notifies = (
            event.event is EventType.OPENED
            or (event.event is EventType.UPDATED and event.worse)
            or (before is None and st is not None)  # confident enough now: first notification
        )
        if st is None or not notifies:
            return event
        return replace(event, escalation=escalation_detail(plan, st, event.event.value))

    def next_due(self) -> datetime | None:
        dues = [t.due_at for t in self._timers.values() if t.due_at is not None]
        return min(dues) if dues else None

    def due(self, now: datetime) -> list[EscalationState]:
        out = [t for t in self._timers.values() if t.due_at is not None and t.due_at <= now]
        return sorted(out, key=lambda t: (t.due_at or now, t.alert_id))

    def fire(self, alert: Alert, now: datetime) -> AlertEvent | None:
        st = self._timers.get(alert.alert_id)
        plan = self._plan_of(alert)
        if st is None or plan is None:
            return None
        new_st, event = fire(plan, st, alert, now)
        self._set(alert.alert_id, new_st)
        return event

    def escalate(self, alert: Alert, now: datetime, by: str | None) -> AlertEvent:
        """Manual escalation (API); arms a timer for alerts that had none."""
        plan = self._plan_of(alert)
        if plan is None:
            raise LookupError(f"no escalation policy for tenant {alert.tenant!r}")
        st = self._timers.get(alert.alert_id) or replace(
            arm(plan, alert, now), tier=alert.escalation_tier
        )
        new_st, event = escalate_now(plan, st, alert, now, by)
        self._set(alert.alert_id, new_st)
        return event

    def expedite(self, alert_id: str, now: datetime) -> bool:
        """Move an alert on to its next tier at the next tick (all channels of a tier failed)."""
        st = self._timers.get(alert_id)
        if st is not None and st.reason == "answer":  # an unanswered call: the next tier now
            self._set(alert_id, replace(st, due_at=now))
            return True
        if st is None or st.reason in ("ack_expired", "snoozed", "arrival"):
            return False
        self._set(alert_id, replace(st, due_at=now, reason="expedite"))
        return True

    def snooze(self, alert: Alert, until: datetime) -> EscalationState:
        """Hold the alert's notification until `until` (see `snooze`)."""
        st = self._timers.get(alert.alert_id)
        if st is None:
            raise LookupError(f"alert {alert.alert_id} has no escalation timer to snooze")
        new_st = snooze(st, until)
        self._set(alert.alert_id, new_st)
        return new_st

    def restore(self, timers: Iterable[EscalationState]) -> None:
        """Timers loaded from storage (not reported by `changes`)."""
        for t in timers:
            self._timers[t.alert_id] = t

    def rearm(self, alert: Alert) -> None:
        """An active alert without a stored timer gets the one it should have (see `rearm`)."""
        if alert.alert_id in self._timers:
            return
        plan = self._plan_of(alert)
        st = rearm(plan, alert) if plan is not None else None
        if st is not None:
            self._set(alert.alert_id, st)

    def forget(self, alert_id: str) -> None:
        self._set(alert_id, None)

    def hold_all(self, timers: Iterable[EscalationState]) -> None:
        """Every timer as its owners stored them, in place of those held (`AlertDesk.mirror`);
        never reported by `changes`."""
        self._timers = {t.alert_id: t for t in timers}
        self._dirty.clear()

    def hold(self, alert_id: str, st: EscalationState | None) -> None:
        """Another book's timer, as it stands (`AlertDesk.mirror`): never reported by
        `changes`, since its owner stores it."""
        self._dirty.discard(alert_id)
        if st is None:
            self._timers.pop(alert_id, None)
        else:
            self._timers[alert_id] = st

    @property
    def dirty(self) -> bool:
        """Whether `changes` has anything to report."""
        return bool(self._dirty)

    def unsaved(self, alert_ids: Iterable[str]) -> None:
        """Timers whose change could not be stored: reported again by the next `changes`."""
        self._dirty.update(alert_ids)

    def changes(self) -> tuple[list[EscalationState], list[str]]:
        """Timers changed since the last call: (current states, deleted alert ids)."""
        upserts = [self._timers[a] for a in sorted(self._dirty) if a in self._timers]
        deleted = sorted(a for a in self._dirty if a not in self._timers)
        self._dirty.clear()
        return upserts, deleted
