"""The processor with escalation timers: lifecycle events feed the `Escalator`, ticks fire it.

`EscalatingProcessor` is the `Processor` that replay and the live gateway both use when a policy
is configured, so escalation runs on whichever clock drives `tick(now)`: the replay clock or the
gateway clock. Events decided outside detection (API acknowledgements, referrals) go through
`record`, which keeps the alert book and the timers in step.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from alerts.escalation import EscalationState, Escalator
from alerts.model import Alert, AlertCandidate, AlertEvent
from gateway.processor import Processor

# Safety net against a timer that does not move forward (would spin the tick loop).
_MAX_STEPS = 1000


class EscalatingProcessor(Processor):
    def __init__(self, *args: Any, escalator: Escalator | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Patient context flags (lives_alone, disability) by patient id, kept by the shell.
        self.patient_flags: dict[str, frozenset[str]] = {}
        self.escalator = escalator or Escalator()
        if escalator is None or escalator.flags_for is None:
            self.escalator.flags_for = self._flags

    def _flags(self, patient_id: str) -> frozenset[str]:
        return self.patient_flags.get(patient_id, frozenset())

    def apply(
        self, candidates: Iterable[AlertCandidate], tenant: str, now: datetime
    ) -> list[AlertEvent]:
        return [self.escalator.observe(e) for e in super().apply(candidates, tenant, now)]

    def record(self, event: AlertEvent) -> AlertEvent:
        """Take an event decided elsewhere into the book and the timers; returns it enriched."""
        self.book(event.alert.tenant).record(event)
        return self.escalator.observe(event)

    def find(self, alert_id: str) -> Alert | None:
        for book in self.books.values():
            if (a := book.by_id(alert_id)) is not None:
                return a
        return None

    def tick(self, now: datetime) -> list[AlertEvent]:
        return super().tick(now) + self.escalate_due(now)

    def next_due(self) -> datetime | None:
        dues = [d for d in (self.escalator.next_due(), super().next_due()) if d is not None]
        return min(dues) if dues else None

    def escalate_due(self, now: datetime) -> list[AlertEvent]:
        """Fire every timer due at or before `now`, catching up several tiers if needed."""
        out: list[AlertEvent] = []
        for _ in range(_MAX_STEPS):
            due = self.escalator.due(now)
            if not due:
                break
            for st in due:
                alert = self.find(st.alert_id)
                if alert is None:  # resolved or unknown: the timer has nothing to do
                    self.escalator.forget(st.alert_id)
                    continue
                before = self.escalator.get(st.alert_id)
                event = self.escalator.fire(alert, now)
                if event is not None:
                    self.book(alert.tenant).record(event)
                    out.append(event)
                elif self.escalator.get(st.alert_id) == before:
                    self.escalator.forget(st.alert_id)
        return out

    def escalate(self, alert_id: str, now: datetime, by: str | None) -> AlertEvent:
        alert = self.find(alert_id)
        if alert is None:
            raise KeyError(f"no active alert {alert_id!r}")
        event = self.escalator.escalate(alert, now, by)
        self.book(alert.tenant).record(event)
        return event

    def rearm(self, alerts: Sequence[Alert]) -> None:
        """After a restart: active alerts whose timer was not persisted get one."""
        for a in alerts:
            self.escalator.rearm(a)


class TimerStore(Protocol):
    async def save(self, upserts: Sequence[EscalationState], deleted: Sequence[str]) -> None: ...


class TimerPersistence:
    """An alert sink (placed first) that persists the timers changed by the events it sees."""

    def __init__(self, escalator: Escalator, store: TimerStore) -> None:
        self.escalator = escalator
        self.store = store

    async def flush(self) -> None:
        upserts, deleted = self.escalator.changes()
        if upserts or deleted:
            await self.store.save(upserts, deleted)

    async def send(self, events: Sequence[AlertEvent]) -> None:
        await self.flush()
