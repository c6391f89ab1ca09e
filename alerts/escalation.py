"""Escalation timers as pure transitions over `EscalationState` (the book that holds them is
`alerts.escalator.Escalator`).

One `EscalationState` per active clinical alert, keyed by alert_id, holds the tier the alert has
reached and the one pending timer (`due_at` + `reason`):

- `deadline`: the current tier must acknowledge by `due_at`; then the alert moves to the next
  tier (event `escalated`), or, at the last tier, is re-notified every `repeat_interval`.
- `repeat`: re-notify the last tier (event `escalated`, detail reason `repeat`).
- `ack_expired`: the acknowledgement silences re-notification until `due_at` (policy
  `ack_silence`); then the alert re-opens at its tier (event `escalated`, reason `ack_expired`).
- `expedite`: a notification channel failed for the whole tier; move on at `due_at` (= now).
- `snoozed`: a clinician put notification off until `due_at`; then the current tier hears again
  (event `escalated`, reason `snooze_expired`) and its deadline starts over.

Emergency calls (`alerts.emergency`) run on the policy's `emergency_calls` times instead:

- `answer`: nobody has acknowledged the call by `due_at`; the next tier and the elder's
  emergency contacts hear at once (reason `answer_missed`), and that tier has the same time.
- `arrival`: help is not confirmed on site by `due_at` (the dispatch's expected arrival, or the
  policy's `arrival` after the answer); the dispatcher and the next tier hear (reason
  `no_arrival`), again every `arrival_repeat` until arrival is confirmed, which ends the timer.

Timers advance from their own due time, not from when they were noticed, so a replay that ticks at
each due time and a live gateway that ticks every few seconds reach the same tiers at the same
deadlines. Technical (device) alerts never escalate. The clock is always passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final

from alerts.emergency import Dispatch
from alerts.model import HANDLED, Alert, AlertEvent, EscalationDetail, EventType, Priority, State
from alerts.policy import EscalationPlan

REASONS: Final = frozenset(
    {"deadline", "repeat", "ack_expired", "expedite", "snoozed", "answer", "arrival"}
)
EMERGENCY_CONTACTS: Final = "patient:emergency_contact"


@dataclass(frozen=True, slots=True)
class EscalationState:
    alert_id: str
    tenant: str
    patient_id: str
    group: str
    priority: Priority
    tier: int = 0
    due_at: datetime | None = None
    reason: str = "deadline"
    repeats: int = 0
    flags: frozenset[str] = frozenset()
    policy_version: str = ""

    def __post_init__(self) -> None:
        if self.reason not in REASONS:
            raise ValueError(f"unknown timer reason {self.reason!r}")
        if self.due_at is not None and self.due_at.tzinfo is None:
            raise ValueError("due_at must be timezone-aware")
        if self.tier < 0:
            raise ValueError("tier must not be negative")


def _after(plan: EscalationPlan, at: datetime, delay: timedelta, prio: Priority) -> datetime:
    """`at + delay`, pushed past quiet hours for the priorities they defer."""
    due = at + delay
    quiet = plan.policy.quiet_hours
    return quiet.defer_until(due, prio) if quiet is not None else due


def _tier_timer(
    plan: EscalationPlan, st: EscalationState, tier: int, base: datetime
) -> EscalationState:
    deadline = plan.deadline(tier, st.priority)
    if deadline is None:
        return replace(st, tier=tier, due_at=None, reason="deadline")
    return replace(
        st, tier=tier, due_at=_after(plan, base, deadline, st.priority), reason="deadline"
    )


def arm(plan: EscalationPlan, alert: Alert, now: datetime) -> EscalationState:
    """The timer of a newly opened alert: tier 0 must acknowledge within its deadline (an
    emergency call: within the policy's answer time)."""
    st = EscalationState(
        alert.alert_id,
        alert.tenant,
        alert.patient_id,
        alert.group,
        alert.priority,
        tier=0,
        flags=plan.flags,
        policy_version=plan.policy.version,
    )
    if alert.emergency:
        return replace(st, due_at=now + plan.policy.emergency_calls.answer, reason="answer")
    return _tier_timer(plan, st, 0, now)


def observe(
    plan: EscalationPlan, st: EscalationState | None, event: AlertEvent
) -> EscalationState | None:
    """Follow a lifecycle event (opened, updated, acknowledged, referred, resolved)."""
    a, now = event.alert, event.at
    if a.technical or event.event is EventType.RESOLVED or not a.active:
        return None
    if st is None:
        if event.event not in (EventType.OPENED, EventType.UPDATED):
            return None
        # an alert below the policy's required confidence waits on the desk, unnotified
        return arm(plan, a, now) if plan.policy.confident(a.code, a.evidence) else None
    if a.emergency:
        return _observe_call(plan, st, event)
    if event.event is EventType.UPDATED:
        if not event.worse:
            return st
        # A worse condition re-opens notification at the current tier with the new deadline.
        return _tier_timer(plan, replace(st, priority=a.priority, repeats=0), st.tier, now)
    if event.event in (EventType.ACKNOWLEDGED, EventType.REFERRED):
        silence = plan.policy.ack_silence.get(a.priority)
        if silence is None:
            return replace(st, due_at=None, reason="ack_expired")
        return replace(st, due_at=now + silence, reason="ack_expired")
    return st


def _observe_call(
    plan: EscalationPlan, st: EscalationState, event: AlertEvent
) -> EscalationState | None:
    """An emergency call's loop: answered -> help due on site; dispatched -> due at its
    expected arrival; arrived -> no more deadlines."""
    times, now = plan.policy.emergency_calls, event.at
    if event.event is EventType.ARRIVED:
        return None
    if event.event in (EventType.ACKNOWLEDGED, EventType.REFERRED):
        return replace(st, due_at=now + times.arrival, reason="arrival")
    if event.event is EventType.DISPATCHED:
        dispatch = Dispatch.of(event.alert)
        due = dispatch.expected_at if dispatch is not None else now + times.arrival
        return replace(st, due_at=due, reason="arrival")
    return st


def _fire_call(
    plan: EscalationPlan, st: EscalationState, alert: Alert, now: datetime
) -> tuple[EscalationState | None, AlertEvent | None]:
    """A due timer of an emergency call (see the module doc)."""
    times, base = plan.policy.emergency_calls, st.due_at or now
    tier = min(st.tier + 1, len(plan.tiers) - 1)
    if st.reason == "arrival":
        if alert.state is State.ARRIVED:
            return None, None
        new_st = replace(st, tier=tier, due_at=base + times.arrival_repeat, repeats=st.repeats + 1)
        response = alert.evidence.get("response", {})
        dispatcher = response.get("dispatched_by") or alert.acknowledged_by
        extra = (f"member:{dispatcher}",) if dispatcher else ()
        late = _escalated(alert, new_st, now, keep_state=True)
        return new_st, _event(plan, new_st, late, now, "no_arrival", extra)
    if alert.state in HANDLED:  # answered in the meantime: the arrival timer took over
        return st, None
    new_st = replace(st, tier=tier, due_at=base + times.answer, reason="answer", repeats=0)
    event = _event(
        plan, new_st, _escalated(alert, new_st, now), now, "answer_missed", (EMERGENCY_CONTACTS,)
    )
    return new_st, event


def _escalated(
    alert: Alert, st: EscalationState, now: datetime, *, keep_state: bool = False
) -> Alert:
    """The alert at its new tier, open again (`keep_state`: an answered call stays answered)."""
    if keep_state:
        return replace(alert, escalation_tier=st.tier, updated_at=now)
    return replace(
        alert,
        state=State.ESCALATED if st.tier > 0 else State.OPEN,
        escalation_tier=st.tier,
        updated_at=now,
    )


def fire(
    plan: EscalationPlan, st: EscalationState, alert: Alert, now: datetime
) -> tuple[EscalationState | None, AlertEvent | None]:
    """The due timer of `st` at `now`: the new state and the `escalated` event, if any."""
    if st.due_at is None or st.due_at > now or not alert.active:
        return st, None
    if st.reason in ("answer", "arrival"):
        return _fire_call(plan, st, alert, now)
    base = st.due_at
    if st.reason == "ack_expired":
        if alert.state not in (State.ACKNOWLEDGED, State.REFERRED):
            return _tier_timer(plan, st, st.tier, base), None
        new_st = _tier_timer(plan, replace(st, repeats=0), st.tier, base)
        return new_st, _event(plan, new_st, _escalated(alert, new_st, now), now, st.reason)
    if alert.state in (State.ACKNOWLEDGED, State.REFERRED):
        return replace(st, due_at=None), None  # acknowledged in the meantime: nothing to do
    if st.reason == "snoozed":
        new_st = _tier_timer(plan, replace(st, repeats=0), st.tier, base)
        return new_st, _event(plan, new_st, _escalated(alert, new_st, now), now, "snooze_expired")
    nxt = st.tier + 1 if st.reason == "expedite" and st.tier + 1 < len(plan.tiers) else None
    nxt = nxt if nxt is not None else plan.next_tier(st.tier, st.priority)
    if nxt is not None:
        new_st = _tier_timer(plan, replace(st, repeats=0), nxt, base)
        return new_st, _event(plan, new_st, _escalated(alert, new_st, now), now, "deadline")
    interval = plan.policy.repeat_interval
    if interval is None or st.repeats >= plan.policy.max_repeats:
        return replace(st, due_at=None), None
    new_st = replace(
        st,
        repeats=st.repeats + 1,
        reason="repeat",
        due_at=_after(plan, base, interval, st.priority),
    )
    event = _event(plan, new_st, _escalated(alert, new_st, now), now, "repeat")
    return new_st, event


def escalate_now(
    plan: EscalationPlan, st: EscalationState, alert: Alert, now: datetime, by: str | None
) -> tuple[EscalationState, AlertEvent]:
    """A clinician escalates by hand: the next tier (the last one stays the last) now."""
    tier = min(st.tier + 1, len(plan.tiers) - 1)
    new_st = _tier_timer(plan, replace(st, repeats=0), tier, now)
    event = _event(plan, new_st, _escalated(alert, new_st, now), now, "manual")
    return new_st, replace(event, actor=by)


def snooze(st: EscalationState, until: datetime) -> EscalationState:
    """Put notification off until `until`: no tier moves and no repeats before then."""
    return replace(st, due_at=until, reason="snoozed")


def escalation_detail(plan: EscalationPlan, st: EscalationState, reason: str) -> EscalationDetail:
    """What notifiers need: the tier, its roster targets and channels, and the next deadline."""
    tier = plan.tier(st.tier)
    return EscalationDetail(
        tier=st.tier,
        tier_name=tier.name,
        targets=tuple(tier.targets),
        channels=tuple(tier.channels),
        reason=reason,
        repeat=st.repeats,
        next_due_at=st.due_at,
        next_action=st.reason if st.due_at else None,
        policy_version=plan.policy.version,
        context=tuple(sorted(st.flags)),
    )


def _event(
    plan: EscalationPlan,
    st: EscalationState,
    alert: Alert,
    now: datetime,
    reason: str,
    also: tuple[str, ...] = (),
) -> AlertEvent:
    """An `escalated` event to `st`'s tier, and to the targets `also` names."""
    detail = escalation_detail(plan, st, reason)
    if also:
        extra = tuple(t for t in also if t not in detail.targets)
        detail = replace(detail, targets=detail.targets + extra)
    return AlertEvent(EventType.ESCALATED, now, alert, escalation=detail)


def _rearm_call(plan: EscalationPlan, alert: Alert) -> EscalationState | None:
    """The timer an emergency call without a stored one should have, from its last change."""
    if alert.state is State.ARRIVED:
        return None
    st = replace(arm(plan, alert, alert.updated_at), tier=alert.escalation_tier)
    if alert.state not in HANDLED:
        return st
    dispatch = Dispatch.of(alert)
    due = dispatch.expected_at if dispatch is not None else None
    return replace(
        st, due_at=due or alert.updated_at + plan.policy.emergency_calls.arrival, reason="arrival"
    )


def rearm(plan: EscalationPlan, alert: Alert) -> EscalationState | None:
    """The timer an active alert without a stored one (e.g. a crash before it was saved) should
    have, counted from its last change, so missed deadlines fire at the next tick; None when it
    should have none (technical, inactive, or below the policy's required confidence)."""
    if alert.technical or not alert.active or not plan.policy.confident(alert.code, alert.evidence):
        return None
    if alert.emergency:
        return _rearm_call(plan, alert)
    st = _tier_timer(
        plan, arm(plan, alert, alert.opened_at), alert.escalation_tier, alert.updated_at
    )
    if alert.state in (State.ACKNOWLEDGED, State.REFERRED):
        silence = plan.policy.ack_silence.get(alert.priority)
        due = alert.updated_at + silence if silence is not None else None
        st = replace(st, due_at=due, reason="ack_expired")
    return st
