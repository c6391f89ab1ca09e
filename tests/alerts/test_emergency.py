"""The closed loop of an emergency call on the desk, on virtual time: answered within the
policy's answer time or the next tier and the emergency contacts hear; dispatched help due on
site by its expected arrival or raised again; the home unit's `help_arrived` ends the loop."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alerts.actor import Actor, Role
from alerts.desk import ActionRefusedError, AlertDesk
from alerts.emergency import Dispatch, Outcome, Responder, arrived_at
from alerts.escalation import EMERGENCY_CONTACTS
from alerts.model import Action, Alert, AlertCandidate, AlertEvent, EventType, State
from alerts.policy import parse_policy_text

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "policies" / "demo.toml"
POLICY = parse_policy_text(EXAMPLE.read_text(encoding="utf-8"), "toml")
T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
OP = Actor("op.wu", Role.CLINICIAN, "demo", "test")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def sos(d: AlertDesk) -> Alert:
    c = AlertCandidate("p-001", "emergency.sos", T0, group="emergency.sos:pendant-1:7")
    (event,) = d.observe([c], T0, tenant="demo").events
    assert event.escalation is not None
    assert event.escalation.next_due_at == at(60)  # the policy's answer time
    return event.alert


def run_until(d: AlertDesk, end: datetime) -> list[AlertEvent]:
    out: list[AlertEvent] = []
    while (due := d.next_due()) is not None and due <= end:
        out.extend(d.tick(due).events)
    return out


def test_an_unanswered_call_reaches_the_next_tier_and_the_contacts_at_once() -> None:
    d = AlertDesk({"demo": POLICY})
    call = sos(d)
    assert run_until(d, at(59)) == []
    (missed,) = run_until(d, at(60))
    assert missed.escalation is not None
    assert (missed.at, missed.escalation.reason) == (at(60), "answer_missed")
    assert missed.escalation.tier_name == "on_call_physician"
    assert EMERGENCY_CONTACTS in missed.escalation.targets
    (again,) = run_until(d, at(120))  # the next tier has the same minute
    assert again.escalation is not None
    assert again.escalation.tier_name == "emergency"
    d.acknowledge(call.alert_id, OP, at(130))
    assert all(
        e.escalation and e.escalation.reason != "answer_missed" for e in run_until(d, at(600))
    )


def test_dispatched_help_that_does_not_arrive_is_raised_again_until_it_does() -> None:
    d = AlertDesk({"demo": POLICY})
    call = sos(d)
    ack = d.acknowledge(call.alert_id, OP, at(40))
    assert d.timer(call.alert_id) is not None
    going = Dispatch(Responder.COMMUNITY, "Li Ming", "+8613800000001", at(40 + 20 * 60))
    sent = d.dispatch(ack.alert.alert_id, OP, at(50), going)
    assert [e.event for e in sent.events] == [EventType.DISPATCHED]
    assert sent.alert.state is State.DISPATCHED
    assert Dispatch.of(sent.alert) == going
    timer = d.timer(call.alert_id)
    assert timer is not None
    assert (timer.reason, timer.due_at) == ("arrival", going.expected_at)
    (late,) = run_until(d, going.expected_at)
    assert late.escalation is not None
    assert late.escalation.reason == "no_arrival"
    assert "member:op.wu" in late.escalation.targets  # the dispatcher hears
    assert late.alert.state is State.DISPATCHED  # still on its way, not re-opened
    (later,) = run_until(d, going.expected_at + timedelta(minutes=10))
    assert later.escalation is not None
    assert later.escalation.reason == "no_arrival"
    there = d.arrive(later.alert.alert_id, Actor("li.ming", Role.CLINICIAN, "demo"), at(33 * 60))
    assert there.alert.state is State.ARRIVED
    assert arrived_at(there.alert) == at(33 * 60)
    assert d.timer(call.alert_id) is None
    assert run_until(d, at(3 * 3600)) == []


def test_an_answered_call_without_a_dispatch_is_due_on_site_in_the_policys_time() -> None:
    d = AlertDesk({"demo": POLICY})
    call = sos(d)
    d.acknowledge(call.alert_id, OP, at(30))
    (late,) = run_until(d, at(30 + 30 * 60))
    assert late.escalation is not None
    assert (late.at, late.escalation.reason) == (at(30 + 30 * 60), "no_arrival")


def test_the_home_units_button_confirms_arrival_on_every_open_call() -> None:
    d = AlertDesk({"demo": POLICY})
    call = sos(d)
    d.acknowledge(call.alert_id, OP, at(30))
    button = AlertCandidate(
        "p-001", "emergency.arrival", at(900), Action.ARRIVE, by="home_unit:hub-1"
    )
    (arrived,) = d.observe([button], at(900), tenant="demo").events
    assert (arrived.event, arrived.actor) == (EventType.ARRIVED, "home_unit:hub-1")
    assert arrived.detail == {"source": "home_unit"}
    assert d.timer(call.alert_id) is None
    assert d.observe([replace(button, at=at(950))], at(950), tenant="demo").events == ()


def test_the_loop_refuses_steps_out_of_order_and_resolves_only_with_an_outcome() -> None:
    d = AlertDesk({"demo": POLICY})
    call = sos(d)
    going = Dispatch(Responder.AMBULANCE, "120", None, at(900))
    with pytest.raises(ActionRefusedError, match="acknowledge the call"):
        d.dispatch(call.alert_id, OP, at(10), going)
    with pytest.raises(ActionRefusedError, match="outcome"):
        d.resolve(call.alert_id, OP, at(20))
    done = d.resolve(call.alert_id, OP, at(20), Outcome.FALSE_ALARM)
    assert done.alert.state is State.RESOLVED
    assert done.events[0].detail == {"outcome": "false_alarm"}
    assert d.timer(call.alert_id) is None
    crisis = d.observe(
        [AlertCandidate("p-001", "bp.hypertensive_crisis", T0)], T0, tenant="demo"
    ).events[0]
    ack = d.acknowledge(crisis.alert.alert_id, OP, at(5))
    with pytest.raises(ActionRefusedError, match="no emergency"):
        d.dispatch(ack.alert.alert_id, OP, at(6), going)


def test_timers_of_an_open_call_come_back_after_a_restart() -> None:
    d = AlertDesk({"demo": POLICY})
    call = sos(d)
    ack = d.acknowledge(call.alert_id, OP, at(30))
    going = Dispatch(Responder.FAMILY, "Daughter", None, at(1200))
    sent = d.dispatch(ack.alert.alert_id, OP, at(40), going)
    again = AlertDesk({"demo": POLICY})
    again.load([sent.alert], [])  # the timer itself was lost: it is rebuilt from the alert
    timer = again.timer(call.alert_id)
    assert timer is not None
    assert (timer.reason, timer.due_at) == ("arrival", at(1200))
    fresh = AlertDesk({"demo": POLICY})
    fresh.load([call], [])
    (missed,) = run_until(fresh, at(60))
    assert missed.escalation is not None
    assert missed.escalation.reason == "answer_missed"
