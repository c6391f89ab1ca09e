"""The alert desk on virtual time: observe, tick and the clinicians' actions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alerts.actor import Actor, Role
from alerts.desk import (
    Act,
    ActionRefusedError,
    ActionResult,
    AlertDesk,
    DeskResult,
    NotHeldError,
    TimerChanges,
)
from alerts.escalation import EscalationState
from alerts.model import Action, Alert, AlertCandidate, AlertEvent, EventType, Priority, State
from alerts.outcome import NO_TIMERS
from alerts.policy import parse_policy_text
from devices.kinds import Kind
from devices.model import PatientKey, Reading

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "policies" / "demo.toml"
POLICY = parse_policy_text(EXAMPLE.read_text(encoding="utf-8"), "toml")
# 10:00 UTC = 18:00 at +08:00, outside the example's quiet hours.
T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
CRISIS = "bp.hypertensive_crisis"
DR_LI = Actor("dr.li", Role.CLINICIAN, "demo", "test")


def minutes(m: float) -> datetime:
    return T0 + timedelta(minutes=m)


def desk() -> AlertDesk:
    return AlertDesk({"demo": POLICY})


def raise_(
    d: AlertDesk, at: datetime, code: str = CRISIS, priority: Priority | None = None
) -> AlertEvent:
    result = d.observe([AlertCandidate("p-001", code, at, priority=priority)], at, tenant="demo")
    (event,) = result.events
    return event


def run_until(d: AlertDesk, end: datetime) -> list[AlertEvent]:
    """Tick at every due time up to `end`, as `hmg replay` does between readings."""
    out: list[AlertEvent] = []
    while (due := d.next_due()) is not None and due <= end:
        out.extend(d.tick(due).events)
    return out


def tiers(events: Sequence[AlertEvent]) -> list[tuple[float, str, str]]:
    out = []
    for e in events:
        assert e.escalation is not None
        out.append(((e.at - T0).total_seconds() / 60, e.escalation.tier_name, e.escalation.reason))
    return out


def live(d: AlertDesk, code: str = CRISIS) -> Alert:
    alert = d.find_active(PatientKey("demo", "p-001"), code)
    assert alert is not None
    return alert


# -- escalation driven by tick --------------------------------------------------------------
def test_unacknowledged_high_alert_escalates_through_every_tier_at_its_deadlines() -> None:
    d = desk()
    opened = raise_(d, T0)
    assert opened.escalation is not None
    assert (opened.escalation.tier_name, opened.escalation.next_due_at) == (
        "family_doctor",
        minutes(10),
    )
    out = run_until(d, minutes(120))
    assert tiers(out) == [
        (10, "on_call_physician", "deadline"),
        (20, "emergency", "deadline"),
        (35, "emergency", "repeat"),  # emergency tier's 15 min deadline passed
        (45, "emergency", "repeat"),
        (55, "emergency", "repeat"),  # max_repeats = 3, then silence
    ]
    assert all(e.event is EventType.ESCALATED for e in out)
    assert (live(d).state, live(d).escalation_tier) == (State.ESCALATED, 2)


def test_one_tick_catches_up_every_missed_tier() -> None:
    d = desk()
    raise_(d, T0)
    result = d.tick(minutes(21))  # a gateway that was busy for 21 minutes
    assert [(e.escalation.tier_name if e.escalation else None) for e in result.events] == [
        "on_call_physician",
        "emergency",
    ]
    assert [t.tier for t in result.timers.saved] == [2]


def test_acknowledgement_stops_escalation_until_the_silence_expires() -> None:
    d = desk()
    raise_(d, T0)
    assert run_until(d, minutes(5)) == []
    done = d.acknowledge(live(d).alert_id, DR_LI, minutes(5))
    assert done.act is Act.ACKNOWLEDGE
    assert [(e.event, e.actor) for e in done.events] == [(EventType.ACKNOWLEDGED, "dr.li")]
    assert (done.alert.state, done.alert.assignee) == (State.ACKNOWLEDGED, "dr.li")
    assert [(t.reason, t.due_at) for t in done.timers.saved] == [("ack_expired", minutes(35))]
    assert run_until(d, minutes(34)) == []  # no tier-1 escalation at 10 min
    # ack_silence for high is 30 min: at 35 min the acknowledgement lapses, tier 0 hears again
    out = run_until(d, minutes(35))
    assert tiers(out) == [(35, "family_doctor", "ack_expired")]
    assert out[0].alert.state is State.OPEN
    assert tiers(run_until(d, minutes(45))) == [(45, "on_call_physician", "deadline")]


def test_resolution_by_hand_clears_the_timer() -> None:
    d = desk()
    opened = raise_(d, T0)
    done = d.resolve(live(d).alert_id, DR_LI, minutes(3))
    assert [e.event for e in done.events] == [EventType.RESOLVED]
    assert done.timers.deleted == (opened.alert.alert_id,)
    assert d.find(opened.alert.alert_id) is None
    assert d.escalator.timers() == []
    assert run_until(d, minutes(120)) == []


def test_living_alone_elder_escalates_faster_with_emergency_contact() -> None:
    plain, alone = desk(), desk()
    alone.set_flags(PatientKey("demo", "p-001"), frozenset({"lives_alone"}))
    for d in (plain, alone):
        raise_(d, T0)
    assert tiers(run_until(plain, minutes(20))) == [
        (10, "on_call_physician", "deadline"),
        (20, "emergency", "deadline"),
    ]
    alone_out = run_until(alone, minutes(20))
    assert tiers(alone_out) == [
        (5, "emergency_contact", "deadline"),
        (7.5, "on_call_physician", "deadline"),
        (12.5, "emergency", "deadline"),
        (20, "emergency", "repeat"),
    ]
    assert alone_out[0].escalation is not None
    assert alone_out[0].escalation.context == ("lives_alone",)


def test_worse_condition_reopens_notification_after_acknowledgement() -> None:
    d = desk()
    raise_(d, T0, "bp.hypotension")  # medium: 1 h deadline at tier 0
    d.acknowledge(live(d, "bp.hypotension").alert_id, DR_LI, minutes(1))
    worse = raise_(d, minutes(2), "bp.hypotension", priority=Priority.HIGH)
    assert (worse.event, worse.worse, worse.alert.state) == (EventType.UPDATED, True, State.OPEN)
    assert worse.escalation is not None
    assert worse.escalation.next_due_at == minutes(12)
    assert tiers(run_until(d, minutes(12))) == [(12, "on_call_physician", "deadline")]


def test_repeated_readings_do_not_renotify_or_reset_the_deadline() -> None:
    d = desk()
    first = raise_(d, T0)
    for m in (2, 4, 6, 8):
        ev = raise_(d, minutes(m))
        assert (ev.event, ev.worse, ev.escalation) == (EventType.UPDATED, False, None)
        assert ev.alert.alert_id == first.alert.alert_id
    assert tiers(run_until(d, minutes(10))) == [(10, "on_call_physician", "deadline")]


def test_quiet_hours_defer_medium_but_never_high() -> None:
    night = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)  # 23:00 at +08:00
    d = desk()
    med = raise_(d, night, "bp.hypotension")
    high = raise_(d, night)
    assert med.escalation is not None
    assert high.escalation is not None
    assert med.escalation.next_due_at == datetime(2026, 11, 22, 23, 0, tzinfo=UTC)  # 07:00 local
    assert high.escalation.next_due_at == night + timedelta(minutes=10)


def test_technical_alerts_never_escalate() -> None:
    d = desk()
    params = {"device_id": "x", "percent": 5}
    result = d.observe(
        [AlertCandidate("p-001", "device.battery_low", T0, params=params)], T0, tenant="demo"
    )
    assert [(e.event, e.escalation) for e in result.events] == [(EventType.OPENED, None)]
    assert not result.timers
    assert d.next_due() is None


def test_nobody_reached_expedites_the_next_tier_at_the_next_tick() -> None:
    d = desk()
    opened = raise_(d, T0)
    assert d.expedite(opened.alert.alert_id, minutes(1))
    assert [t.reason for t in d.pending().saved] == ["expedite"]
    assert tiers(d.tick(minutes(1)).events) == [(1, "on_call_physician", "deadline")]


def test_a_tenant_without_policy_keeps_alerts_but_never_escalates() -> None:
    d = AlertDesk({"other": POLICY})
    opened = raise_(d, T0)
    assert opened.escalation is None
    assert d.tick(minutes(60)) == DeskResult()
    with pytest.raises(ActionRefusedError, match="no escalation policy") as refused:
        d.escalate(opened.alert.alert_id, DR_LI, minutes(1))
    assert refused.value.act is Act.ESCALATE


# -- the other actions ----------------------------------------------------------------------
def test_manual_escalation_and_a_restarted_desk_continues() -> None:
    d = desk()
    opened = raise_(d, T0)
    done = d.escalate(live(d).alert_id, DR_LI, minutes(2))
    (ev,) = done.events
    assert (ev.event, ev.actor, ev.alert.escalation_tier) == (EventType.ESCALATED, "dr.li", 1)
    assert ev.escalation is not None
    assert (ev.escalation.reason, ev.escalation.next_due_at) == ("manual", minutes(12))
    assert [t.alert_id for t in done.timers.saved] == [opened.alert.alert_id]
    # A restarted desk takes over the active alerts and their stored timers.
    again = desk()
    assert not again.load([live(d)], d.escalator.timers())  # nothing new to store
    assert again.next_due() == minutes(12)
    assert tiers(again.tick(minutes(12)).events) == [(12, "emergency", "deadline")]


def test_a_restart_rearms_alerts_whose_timer_was_lost() -> None:
    d = desk()
    opened = raise_(d, T0)
    again = desk()
    rearmed = again.load([opened.alert])  # the timer was never stored (a crash)
    assert [(t.alert_id, t.due_at) for t in rearmed.saved] == [(opened.alert.alert_id, minutes(10))]
    # the missed deadline fires at the first tick, at its own due time onwards
    assert tiers(again.tick(minutes(11)).events) == [(11, "on_call_physician", "deadline")]


def test_referral_stops_notification_like_an_acknowledgement() -> None:
    d = desk()
    raise_(d, T0)
    done = d.refer(live(d).alert_id, DR_LI, minutes(3), "ref-1")
    (ev,) = done.events
    assert (ev.event, ev.detail, ev.alert.state) == (
        EventType.REFERRED,
        {"referral_id": "ref-1"},
        State.REFERRED,
    )
    assert done.note == {"referral_id": "ref-1"}
    assert run_until(d, minutes(32)) == []
    assert tiers(run_until(d, minutes(33))) == [(33, "family_doctor", "ack_expired")]


def test_snooze_puts_notification_off_then_the_tier_hears_again() -> None:
    d = desk()
    raise_(d, T0)
    done = d.snooze(live(d).alert_id, DR_LI, minutes(2), until=minutes(25))
    assert (done.act, done.events, done.alert.state) == (Act.SNOOZE, (), State.OPEN)
    assert [(t.reason, t.due_at) for t in done.timers.saved] == [("snoozed", minutes(25))]
    assert run_until(d, minutes(24)) == []  # no tier-1 escalation at 10 min
    out = run_until(d, minutes(35))
    assert tiers(out) == [
        (25, "family_doctor", "snooze_expired"),
        (35, "on_call_physician", "deadline"),  # the deadline started over at 25 min
    ]


def test_snooze_is_refused_when_there_is_nothing_to_put_off() -> None:
    d = desk()
    raise_(d, T0)
    with pytest.raises(ActionRefusedError, match="future"):
        d.snooze(live(d).alert_id, DR_LI, minutes(2), until=minutes(2))
    d.observe(
        [
            AlertCandidate(
                "p-001", "device.battery_low", T0, params={"device_id": "x", "percent": 5}
            )
        ],
        T0,
        tenant="demo",
    )
    with pytest.raises(ActionRefusedError, match="no escalation timer"):
        d.snooze(live(d, "device.battery_low").alert_id, DR_LI, minutes(2), until=minutes(30))


def test_assignment_and_comments_are_bookkeeping_without_events() -> None:
    d = desk()
    opened = raise_(d, T0)
    assigned = d.assign(live(d), DR_LI, minutes(1), "dr.wang")
    assert (assigned.events, assigned.note, assigned.alert.assignee) == (
        (),
        {"to": "dr.wang"},
        "dr.wang",
    )
    assert live(d).assignee == "dr.wang"
    noted = d.comment(live(d), DR_LI, minutes(2), "called the daughter")
    assert (noted.act, noted.events, noted.note) == (
        Act.COMMENT,
        (),
        {"text": "called the daughter"},
    )
    with pytest.raises(ActionRefusedError):
        d.comment(live(d), DR_LI, minutes(2), "  ")
    # A resolved alert can still be assigned and commented on (follow-up); it stays resolved.
    resolved = d.resolve(live(d).alert_id, DR_LI, minutes(3)).alert
    later = d.assign(resolved, DR_LI, minutes(4), "dr.zhao")
    assert (later.alert.state, later.alert.assignee) == (State.RESOLVED, "dr.zhao")
    assert d.find(opened.alert.alert_id) is None
    assert d.comment(resolved, DR_LI, minutes(5), "follow-up booked").alert.state is State.RESOLVED


def test_lifecycle_actions_on_a_resolved_alert_are_refused() -> None:
    d = desk()
    raise_(d, T0)
    resolved = d.resolve(live(d).alert_id, DR_LI, minutes(1)).alert
    calls: list[tuple[Act, Callable[[], ActionResult]]] = [
        (Act.ACKNOWLEDGE, lambda: d.acknowledge(resolved.alert_id, DR_LI, minutes(2))),
        (Act.RESOLVE, lambda: d.resolve(resolved.alert_id, DR_LI, minutes(2))),
        (Act.ESCALATE, lambda: d.escalate(resolved.alert_id, DR_LI, minutes(2))),
        (Act.REFER, lambda: d.refer(resolved.alert_id, DR_LI, minutes(2), "ref-2")),
        (Act.SNOOZE, lambda: d.snooze(resolved.alert_id, DR_LI, minutes(2), minutes(9))),
    ]
    for act, call in calls:
        with pytest.raises(NotHeldError, match="not active") as refused:
            call()
        assert (refused.value.act, refused.value.alert_id) == (act, resolved.alert_id)


def test_an_action_on_another_tenants_alert_finds_nothing_and_changes_nothing() -> None:
    d = desk()
    raise_(d, T0)
    alert = live(d)
    stranger = Actor("dr.other", Role.CLINICIAN, "another-tenant")
    timer = d.timer(alert.alert_id)
    calls: list[Callable[[], ActionResult]] = [
        lambda: d.acknowledge(alert.alert_id, stranger, minutes(1)),
        lambda: d.escalate(alert.alert_id, stranger, minutes(1)),
        lambda: d.snooze(alert.alert_id, stranger, minutes(1), minutes(30)),
    ]
    for call in calls:
        with pytest.raises(NotHeldError):
            call()
    assert (live(d), d.timer(alert.alert_id), d.pending()) == (alert, timer, NO_TIMERS)


def test_an_action_says_what_the_desk_held_before_it() -> None:
    d = desk()
    raise_(d, T0)
    before, timer = live(d), d.timer(live(d).alert_id)
    assert timer is not None
    done = d.acknowledge(before.alert_id, DR_LI, minutes(2))
    assert (done.held.alert, done.held.timer) == (before, timer)
    assert done.alert.state is State.ACKNOWLEDGED
    assert d.timer(before.alert_id) != timer  # the acknowledgement moved the escalation
    d.load([before], [timer])  # what a caller does when the acknowledgement is not stored
    assert (live(d), d.timer(before.alert_id)) == (before, timer)


def test_an_action_applies_to_the_desks_live_copy_not_a_stale_one() -> None:
    d = desk()
    stale_copy = raise_(d, T0).alert
    raise_(d, minutes(1), priority=Priority.HIGH)
    d.assign(live(d), DR_LI, minutes(2), "dr.wang")
    done = d.acknowledge(stale_copy.alert_id, DR_LI, minutes(3))
    assert (done.alert.updates, done.alert.assignee) == (1, "dr.wang")


# -- detection: readings, the staleness watch, detector timeouts -----------------------------
def bp(seq: int, at: datetime, device: str = "cuff-1", tenant: str = "t1") -> Reading:
    values = {"systolic": 120.0, "diastolic": 80.0}
    return Reading(tenant, device, Kind.BP, seq, at, at, "p-001", values)


def test_a_silent_device_turns_stale_on_tick_and_its_next_reading_clears_it() -> None:
    d = desk()
    for i in range(3):  # a device that normally reports: three readings a day apart
        at = T0 + timedelta(days=i)
        assert d.observe([], at, reading=bp(i, at), seen_at=at) == DeskResult()
    last = T0 + timedelta(days=2)
    due = d.next_due()
    assert due is not None
    assert due > last + timedelta(hours=36)
    (opened,) = d.tick(due).events
    assert (opened.event, opened.alert.code, opened.alert.tenant) == (
        EventType.OPENED,
        "device.stale",
        "t1",  # learned from the device's readings
    )
    assert d.tick(due + timedelta(hours=5)).events == ()  # one episode
    back = due + timedelta(hours=6)
    result = d.observe([], back, reading=bp(9, back), seen_at=back)
    assert [(e.event, e.alert.code) for e in result.events] == [
        (EventType.RESOLVED, "device.stale")
    ]


def test_devices_seen_without_a_time_are_not_watched() -> None:
    d = desk()
    for i in range(5):  # e.g. a shared kiosk
        at = T0 + timedelta(days=i)
        d.observe([], at, reading=bp(i, at, "kiosk-1"))
    assert d.next_due() is None


def test_candidates_of_a_reading_come_before_the_stale_device_clears() -> None:
    d = desk()
    for i in range(3):
        at = T0 + timedelta(hours=i)
        d.observe([], at, reading=bp(i, at), seen_at=at)
    d.tick(T0 + timedelta(days=5))
    back = T0 + timedelta(days=5, hours=1)
    crisis = AlertCandidate("p-001", CRISIS, back)
    result = d.observe([crisis], back, reading=bp(9, back), seen_at=back)
    assert [(e.event.value, e.alert.code) for e in result.events] == [
        ("opened", CRISIS),
        ("resolved", "device.stale"),
    ]


def test_tick_applies_detector_timeouts_first_in_their_own_tenants_book() -> None:
    d = desk()
    d.observe([], T0, reading=bp(1, T0, tenant="demo"), seen_at=T0)
    raise_(d, T0)
    # Another tenant's "p-001" timing out clears nothing of this one.
    other = AlertCandidate("p-001", CRISIS, minutes(10), Action.CLEAR, tenant="east")
    assert EventType.RESOLVED not in [e.event for e in d.tick(minutes(9), [other]).events]
    assert d.find_active(PatientKey("demo", "p-001"), CRISIS) is not None
    timeout = AlertCandidate("p-001", CRISIS, minutes(10), Action.CLEAR, tenant="demo")
    result = d.tick(minutes(10), [timeout])
    assert [(e.event, e.alert.tenant) for e in result.events] == [(EventType.RESOLVED, "demo")]
    assert result.timers.deleted == (result.events[0].alert.alert_id,)


# -- results and timer changes --------------------------------------------------------------
def state(alert_id: str, tier: int) -> EscalationState:
    return EscalationState(alert_id, "demo", "p-001", CRISIS, Priority.HIGH, tier=tier)


def test_timer_changes_in_sequence_keep_the_latest_state_of_each_timer() -> None:
    first = TimerChanges((state("a", 0), state("b", 0)), ("c",))
    later = TimerChanges((state("a", 1), state("c", 0)), ("b",))
    merged = first.then(later)
    assert sorted((t.alert_id, t.tier) for t in merged.saved) == [("a", 1), ("c", 0)]
    assert merged.deleted == ("b",)
    assert first.then(TimerChanges()) is first
    assert not TimerChanges()


def test_timers_that_could_not_be_stored_come_again_with_the_next_result() -> None:
    d = desk()
    opened = raise_(d, T0)
    assert not d.pending()  # handed out with the observe result
    d.unsaved(TimerChanges((state(opened.alert.alert_id, 0),)))
    assert [t.alert_id for t in d.tick(minutes(1)).timers.saved] == [opened.alert.alert_id]


def test_a_mirror_holds_the_owners_copy_and_reports_nothing_to_store() -> None:
    owner, copy = desk(), desk()
    opened = raise_(owner, T0)
    owner.pending()
    acked = owner.acknowledge(opened.alert.alert_id, DR_LI, minutes(2))
    copy.mirror(acked.alert, owner.timer(acked.alert.alert_id))
    assert copy.find(acked.alert.alert_id) == acked.alert
    assert copy.timer(acked.alert.alert_id) == owner.timer(acked.alert.alert_id)
    assert not copy.pending()  # the owner stored it; the copy never writes it again
    resolved = owner.resolve(acked.alert.alert_id, DR_LI, minutes(3))
    copy.mirror(resolved.alert, None)
    assert copy.find(acked.alert.alert_id) is None
    assert copy.timer(acked.alert.alert_id) is None
    assert not copy.pending()


# -- a policy's required confidence ---------------------------------------------------------
PREDICTED = "glucose.predicted_low"
CONFIDENT = parse_policy_text(
    EXAMPLE.read_text(encoding="utf-8") + f'\n[min_confidence]\n"{PREDICTED}" = 0.7\n', "toml"
)


def forecast(d: AlertDesk, at: datetime, confidence: float) -> DeskResult:
    c = AlertCandidate("p-001", PREDICTED, at, evidence={"confidence": confidence})
    return d.observe([c], at, tenant="demo")


def test_an_alert_below_the_required_confidence_waits_on_the_desk_unnotified() -> None:
    d = AlertDesk({"demo": CONFIDENT})
    (opened,) = forecast(d, T0, 0.6).events
    assert opened.event is EventType.OPENED
    assert opened.escalation is None
    assert d.next_due() is None
    assert live(d, PREDICTED).active
    (same,) = forecast(d, minutes(5), 0.65).events
    assert same.escalation is None
    (sure,) = forecast(d, minutes(10), 0.8).events  # the forecast firmed up: first notification
    assert sure.escalation is not None
    assert sure.escalation.tier_name == "family_doctor"
    assert d.next_due() is not None
    (later,) = forecast(d, minutes(15), 0.5).events  # once notified, it escalates as usual
    assert later.escalation is None
    assert d.next_due() is not None


def test_required_confidence_applies_only_to_alerts_that_state_one() -> None:
    d = AlertDesk({"demo": CONFIDENT})
    (opened,) = forecast(d, T0, 0.9).events
    assert opened.escalation is not None
    assert raise_(AlertDesk({"demo": CONFIDENT}), T0).escalation is not None  # no confidence
    (plain,) = forecast(desk(), T0, 0.1).events  # a policy that requires none
    assert plain.escalation is not None


def test_a_restart_does_not_arm_an_alert_below_the_required_confidence() -> None:
    d = AlertDesk({"demo": CONFIDENT})
    (opened,) = forecast(d, T0, 0.6).events
    again = AlertDesk({"demo": CONFIDENT})
    assert again.load([opened.alert]).saved == ()
    assert again.next_due() is None
