"""The alert desk: every tenant's alert books, escalation timers and staleness watch in one object.

Detector candidates come in through `observe`, the clock through `tick`, and clinicians through
one method per action (`acknowledge`, `resolve`, `comment`, `assign`, `escalate`, `refer`,
`snooze`, `dispatch`, `arrive`). A lifecycle action names the alert by id and acts on the desk's
live copy of the actor's tenant (`NotHeldError` when there is none). Each call returns a typed
result: the alert events it produced, in order, the escalation timers it changed, which the
caller persists together (one transaction) before anyone is notified, and what the desk held
before, to put back if that fails. The desk does no I/O and never reads a clock: `now` is
always passed in, so the live gateway, `hmg replay` and the tests drive the same object on real
or virtual time.

The transitions themselves are small pure functions (`alerts.lifecycle` for alerts,
`alerts.escalation` for timers); the desk only routes: candidate -> book -> timers, action ->
transition -> book -> timers, tick -> staleness watch and due timers -> book. A new action is a
new transition function plus a method here that goes through `_act`.

>>> from datetime import UTC, datetime, timedelta
>>> from alerts.actor import Actor, Role
>>> from alerts.model import AlertCandidate
>>> t0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
>>> desk = AlertDesk()
>>> opened = desk.observe([AlertCandidate("p-1", "bp.hypertensive_crisis", t0)], t0, tenant="t")
>>> [e.event.value for e in opened.events]
['opened']
>>> dr = Actor("dr.li", Role.CLINICIAN, "t")
>>> ack = desk.acknowledge(opened.events[0].alert.alert_id, dr, t0 + timedelta(minutes=2))
>>> (ack.alert.state.value, ack.alert.acknowledged_by)
('acknowledged', 'dr.li')
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from alerts.actor import Actor
from alerts.combined import EpisodeCover
from alerts.detectors.device import StaleWatch
from alerts.emergency import Dispatch, Outcome, arrive_alert, dispatch_alert
from alerts.escalation import EscalationState
from alerts.escalator import Escalator
from alerts.lifecycle import (
    AlertBook,
    acknowledge_alert,
    assign_alert,
    refer_alert,
    resolve_alert,
)
from alerts.model import Action, Alert, AlertCandidate, AlertEvent, State
from alerts.outcome import (
    NO_TIMERS,
    NOTHING,
    NOTHING_HELD,
    Act,
    ActionRefusedError,
    ActionResult,
    DeskResult,
    Held,
    NotHeldError,
    TimerChanges,
)
from alerts.policy import EscalationPolicy
from devices.model import PatientKey, Reading

__all__ = [
    "Act",
    "ActionRefusedError",
    "ActionResult",
    "AlertDesk",
    "DeskResult",
    "NotHeldError",
    "TimerChanges",
]

# Tenant of candidates that name none and come without a tenant (a caller's own, in tests).
DEFAULT_TENANT: Final = "default"
# Safety net against a timer that does not move forward (it would spin `tick`).
_MAX_STEPS: Final = 1000


class AlertDesk:
    """Alert books, escalation timers and the staleness watch of every tenant (see module doc).

    `policies` are escalation policies by tenant, `default_policy` serves tenants without one
    (none: their alerts do not escalate).
    """

    def __init__(
        self,
        policies: Mapping[str, EscalationPolicy] | None = None,
        *,
        default_policy: EscalationPolicy | None = None,
        stale: StaleWatch | None = None,
    ) -> None:
        self._books: dict[str, AlertBook] = {}
        self._flags: dict[PatientKey, frozenset[str]] = {}  # context for escalation plans
        self.escalator = Escalator(policies, default=default_policy, flags_for=self.flags_of)
        self.stale = stale or StaleWatch()
        self._cover = EpisodeCover(self.escalator, lambda t: self._book(t).active())

    # -- state at start-up and patient context --------------------------------------------
    def load(self, active: Iterable[Alert], timers: Iterable[EscalationState] = ()) -> TimerChanges:
        """Take over after a restart: the active alerts and their stored timers. Alerts whose
        timer was lost get one counted from their last change (missed deadlines fire at the
        next tick); the returned changes are those new timers, to store."""
        alerts = [a for a in active if a.active]
        for a in alerts:
            self._book(a.tenant).keep(a)
        self.escalator.restore(timers)
        for a in alerts:
            self.escalator.rearm(a)
        self._cover.load(alerts)
        return self._timer_changes()

    def flags_of(self, patient: PatientKey) -> frozenset[str]:
        return self._flags.get(patient, frozenset())

    def set_flags(self, patient: PatientKey, flags: frozenset[str]) -> None:
        """Patient context (e.g. `lives_alone`) that chooses the escalation plan of new alerts."""
        self._flags[patient] = flags

    def replace_flags(self, flags: Mapping[PatientKey, frozenset[str]]) -> None:
        self._flags = dict(flags)

    def mirror(self, alert: Alert, timer: EscalationState | None) -> None:
        """Hold another desk's copy of an alert and its timer as they stand (the scaled-out API
        role keeps what the owning worker answered, so what it shows is what the owner holds).
        Nothing is reported to store for it: the owner stored it."""
        self._book(alert.tenant).keep(alert)
        self.escalator.hold(alert.alert_id, timer if alert.active else None)

    def mirror_timers(self, timers: Iterable[EscalationState]) -> None:
        """The owners' timers as stored, in place of those held (the scaled-out API role)."""
        self.escalator.hold_all(timers)

    # -- queries --------------------------------------------------------------------------
    def active(self) -> list[Alert]:
        return [a for book in self._books.values() for a in book.active()]

    def find(self, alert_id: str) -> Alert | None:
        """The active alert with this id (None once resolved)."""
        for book in self._books.values():
            if (a := book.by_id(alert_id)) is not None:
                return a
        return None

    def find_active(self, patient: PatientKey, code: str) -> Alert | None:
        """The active alert of a patient with this code (whatever its group)."""
        book = self._books.get(patient.tenant)
        return None if book is None else book.find(patient.patient_id, code)

    def timer(self, alert_id: str) -> EscalationState | None:
        return self.escalator.get(alert_id)

    def next_due(self) -> datetime | None:
        """When `tick` next has something to do (escalation or staleness); None: nothing."""
        dues = [d for d in (self.escalator.next_due(), self.stale.next_due()) if d is not None]
        return min(dues) if dues else None

    # -- detection and time ---------------------------------------------------------------
    def observe(
        self,
        candidates: Sequence[AlertCandidate],
        now: datetime,
        *,
        tenant: str | None = None,
        reading: Reading | None = None,
        seen_at: datetime | None = None,
    ) -> DeskResult:
        """Apply detector candidates at `now`.

        A candidate goes to its own tenant's book (`AlertCandidate.tenant`), else to `tenant`,
        else to the `reading`'s tenant. With `seen_at`, the staleness watch notes that the
        reading's device reported at that time (a stale device that reports again clears its
        alert, after the reading's own candidates).
        Shared kiosks are not watched: leave `seen_at` out for them.
        """
        if reading is not None and reading.patient_id is not None:
            tenant = tenant or reading.tenant
            if seen_at is not None:
                cleared = self.stale.seen(reading, seen_at)
                if cleared:
                    candidates = [*candidates, *cleared]
        if not candidates:
            return self._result(())
        return self._result(self._apply(candidates, now, tenant))

    def tick(self, now: datetime, candidates: Sequence[AlertCandidate] = ()) -> DeskResult:
        """The clock at `now`: first `candidates` (the detectors' own timeouts at `now`), then
        devices gone silent, then every escalation timer due at or before `now` (several tiers
        are caught up if needed)."""
        events = self._apply([*candidates, *self.stale.tick(now)], now, None)
        events.extend(self._fire_due(now))
        return self._result(events)

    def expedite(self, alert_id: str, now: datetime) -> bool:
        """Nobody of the alert's tier could be reached: move on to the next tier at the next
        tick (the timer change is reported with the next result)."""
        return self.escalator.expedite(alert_id, now)

    def pending(self) -> TimerChanges:
        """Timer changes not yet handed out with a result (e.g. by `expedite`)."""
        return self._timer_changes()

    def unsaved(self, timers: TimerChanges) -> None:
        """Timer changes that could not be stored: they come again with the next result."""
        self.escalator.unsaved([t.alert_id for t in timers.saved] + list(timers.deleted))

    # -- clinicians' actions --------------------------------------------------------------
    def acknowledge(self, alert_id: str, by: Actor, now: datetime) -> ActionResult:
        return self._act(
            Act.ACKNOWLEDGE, alert_id, by, now, lambda a: acknowledge_alert(a, by.user, now)
        )

    def resolve(
        self, alert_id: str, by: Actor, now: datetime, outcome: Outcome | None = None
    ) -> ActionResult:
        """Resolve by hand; an emergency call is resolved only with its outcome."""

        def resolve(a: Alert) -> AlertEvent:
            if a.emergency and outcome is None:
                raise ValueError("an emergency call is resolved with its outcome")
            return resolve_alert(a, now, by.user, outcome=outcome)

        note = {"outcome": outcome.value} if outcome is not None else {}
        return self._act(Act.RESOLVE, alert_id, by, now, resolve, note)

    def dispatch(self, alert_id: str, by: Actor, now: datetime, dispatch: Dispatch) -> ActionResult:
        """Help sent to an emergency call (see `alerts.emergency`)."""
        return self._act(
            Act.DISPATCH, alert_id, by, now, lambda a: dispatch_alert(a, by.user, now, dispatch),
            dispatch.to_json(),
        )  # fmt: skip

    def arrive(self, alert_id: str, by: Actor, now: datetime) -> ActionResult:
        """Help is there, as the responder confirms on the page."""
        return self._act(
            Act.ARRIVE, alert_id, by, now, lambda a: arrive_alert(a, by.user, now, "page")
        )

    def refer(self, alert_id: str, by: Actor, now: datetime, referral_id: str) -> ActionResult:
        """The alert is handed over to a hospital (the referral itself is the caller's record)."""
        return self._act(
            Act.REFER, alert_id, by, now, lambda a: refer_alert(a, by.user, now, referral_id),
            {"referral_id": referral_id},
        )  # fmt: skip

    def escalate(self, alert_id: str, by: Actor, now: datetime) -> ActionResult:
        """Escalate by hand to the next tier (the last one stays the last). Raises
        `ActionRefusedError` for a resolved alert or a tenant without an escalation policy."""
        current, held = self._current(Act.ESCALATE, alert_id, by)
        try:
            event = self.escalator.escalate(current, now, by.user)
        except LookupError as exc:
            raise ActionRefusedError(Act.ESCALATE, alert_id, str(exc)) from exc
        self._book(current.tenant).record(event)
        return self._action(Act.ESCALATE, by, now, event.alert, (event,), held=held)

    def comment(self, alert: Alert, by: Actor, now: datetime, text: str) -> ActionResult:
        """A note on the alert, resolved or not; it changes nothing but the audit trail."""
        if not text.strip():
            raise ActionRefusedError(Act.COMMENT, alert.alert_id, "empty comment")
        current = self.find(alert.alert_id) or alert
        return self._action(Act.COMMENT, by, now, current, (), {"text": text})

    def assign(self, alert: Alert, by: Actor, now: datetime, assignee: str | None) -> ActionResult:
        """Who looks after the alert (None: nobody). Bookkeeping, not a lifecycle event: it is
        audited, never notified; resolved alerts may be assigned too (follow-up)."""
        live = self.find(alert.alert_id)
        new = assign_alert(live or alert, assignee, now)
        held = NOTHING_HELD if live is None else Held(live, self.escalator.get(live.alert_id))
        if live is not None:
            self._book(new.tenant).keep(new)
        return self._action(Act.ASSIGN, by, now, new, (), {"to": assignee}, held)

    def snooze(self, alert_id: str, by: Actor, now: datetime, until: datetime) -> ActionResult:
        """Put notification off until `until`: no tier moves or repeats before then, and then
        the current tier hears again. The alert's state does not change (it is not
        acknowledged). Raises `ActionRefusedError` when there is nothing to put off."""
        current, held = self._current(Act.SNOOZE, alert_id, by)
        if until <= now:
            raise ActionRefusedError(Act.SNOOZE, alert_id, "snooze must end in the future")
        try:
            self.escalator.snooze(current, until)
        except LookupError as exc:
            raise ActionRefusedError(Act.SNOOZE, alert_id, str(exc)) from exc
        return self._action(Act.SNOOZE, by, now, current, (), {"until": until.isoformat()}, held)

    # -- internals ------------------------------------------------------------------------
    def _book(self, tenant: str) -> AlertBook:
        book = self._books.get(tenant)
        if book is None:
            book = self._books[tenant] = AlertBook(tenant)
        return book

    def _current(self, act: Act, alert_id: str, by: Actor) -> tuple[Alert, Held]:
        """The live copy of the alert an action is about, in the actor's tenant's book, and
        what the desk holds of it now; `NotHeldError` when it holds none."""
        book = self._books.get(by.tenant)
        current = None if book is None else book.by_id(alert_id)
        if current is None:
            raise NotHeldError(act, alert_id, f"alert {alert_id} is not active")
        return current, Held(current, self.escalator.get(alert_id))

    def _act(
        self,
        act: Act,
        alert_id: str,
        by: Actor,
        now: datetime,
        transition: Callable[[Alert], AlertEvent],
        note: Mapping[str, Any] | None = None,
    ) -> ActionResult:
        """A lifecycle action: the pure transition on the live alert, then book and timers."""
        current, held = self._current(act, alert_id, by)
        try:
            event = transition(current)
        except ValueError as exc:  # the transition refuses the alert as it is
            raise ActionRefusedError(act, alert_id, str(exc)) from exc
        event = self._record(event)
        return self._action(act, by, now, event.alert, (event,), note, held)

    def _action(
        self,
        act: Act,
        by: Actor,
        now: datetime,
        alert: Alert,
        events: tuple[AlertEvent, ...],
        note: Mapping[str, Any] | None = None,
        held: Held = NOTHING_HELD,
    ) -> ActionResult:
        timers = self._timer_changes()
        return ActionResult(act, by, now, alert, events, timers, note or {}, held)

    def _record(self, event: AlertEvent) -> AlertEvent:
        """An event into its book; the timers follow (the event comes back with the tier it
        notifies, if any)."""
        self._book(event.alert.tenant).record(event)
        return self._cover.after(self.escalator.observe(event))

    def _apply(
        self, candidates: Iterable[AlertCandidate], now: datetime, tenant: str | None
    ) -> list[AlertEvent]:
        events: list[AlertEvent] = []
        for c in candidates:
            t = c.tenant or tenant or DEFAULT_TENANT
            if c.action is Action.ARRIVE:
                events.extend(self._arrived(t, c, now))
                continue
            event = self._book(t).apply(c, now)
            if event is not None:
                events.append(self._cover.after(self.escalator.observe(event)))
        return events

    def _arrived(self, tenant: str, c: AlertCandidate, now: datetime) -> list[AlertEvent]:
        """The home unit's `help_arrived`: every open emergency call of the patient has help."""
        calls = [
            a
            for a in self._book(tenant).active()
            if a.patient_id == c.patient_id and a.emergency and a.state is not State.ARRIVED
        ]
        who = c.by or "home_unit"
        return [self._record(arrive_alert(a, who, now, "home_unit")) for a in calls]

    def _fire_due(self, now: datetime) -> list[AlertEvent]:
        """Fire every timer due at or before `now`, catching up several tiers if needed."""
        out: list[AlertEvent] = []
        esc = self.escalator
        for _ in range(_MAX_STEPS):
            due = esc.due(now)
            if not due:
                break
            for st in due:
                alert = self.find(st.alert_id)
                if alert is None:  # resolved or unknown: the timer has nothing to do
                    esc.forget(st.alert_id)
                    continue
                before = esc.get(st.alert_id)
                event = esc.fire(alert, now)
                if event is not None:
                    self._book(alert.tenant).record(event)
                    out.append(event)
                elif esc.get(st.alert_id) == before:
                    esc.forget(st.alert_id)
        return out

    def _timer_changes(self) -> TimerChanges:
        if not self.escalator.dirty:
            return NO_TIMERS
        saved, deleted = self.escalator.changes()
        return TimerChanges(tuple(saved), tuple(deleted))

    def _result(self, events: Sequence[AlertEvent]) -> DeskResult:
        timers = self._timer_changes()
        if not events and not timers:
            return NOTHING
        return DeskResult(tuple(events), timers)
