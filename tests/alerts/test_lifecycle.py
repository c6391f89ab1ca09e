"""Pure lifecycle transitions, rosters and referrals (with their FHIR form)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alerts.lifecycle import HOLD_OFF, AlertBook, acknowledge_alert, refer_alert, resolve_alert
from alerts.model import Action, AlertCandidate, EventType, Priority, State
from alerts.referral import (
    EcgStripRef,
    EvidenceReading,
    Referral,
    ReferralEvidence,
    ReferralState,
    ReferralTransitionError,
    Urgency,
    to_fhir,
    transition,
)
from alerts.roster import CareTeam, Contact, Member, Roster, Rotation

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def c(
    code: str,
    minute: float,
    action: Action = Action.RAISE,
    priority: Priority | None = None,
    params: dict[str, object] | None = None,
) -> AlertCandidate:
    at = T0 + timedelta(minutes=minute)
    return AlertCandidate("p-001", code, at, action, priority, params or {})


def test_one_alert_per_episode_and_a_new_one_after_resolution() -> None:
    book = AlertBook("demo")
    events = [
        book.apply(c("bp.hypertensive_crisis", m), T0 + timedelta(minutes=m)) for m in range(4)
    ]
    assert [e.event for e in events if e] == [EventType.OPENED] + [EventType.UPDATED] * 3
    assert len({e.alert.alert_id for e in events if e}) == 1
    gone = book.apply(c("bp.hypertensive_crisis", 5, Action.CLEAR), T0 + timedelta(minutes=5))
    assert gone is not None
    assert gone.event is EventType.RESOLVED
    assert book.active() == []
    later = T0 + timedelta(minutes=5) + HOLD_OFF + timedelta(seconds=1)
    again = book.apply(c("bp.hypertensive_crisis", 40), later)
    assert again is not None
    assert again.event is EventType.OPENED
    assert again.alert.alert_id != events[0].alert.alert_id  # type: ignore[union-attr]


def test_a_condition_back_within_the_hold_off_reopens_the_same_alert() -> None:
    book = AlertBook("demo")
    first = book.apply(c("ecg.tachycardia", 0), T0)
    assert first is not None
    for k in range(3):  # a rate wandering about the limit: open, clear, back, clear, ...
        gone = book.apply(
            c("ecg.tachycardia", 4 + 10 * k, Action.CLEAR), T0 + timedelta(minutes=4 + 10 * k)
        )
        assert gone is not None
        assert gone.event is EventType.RESOLVED
        back = book.apply(c("ecg.tachycardia", 9 + 10 * k), T0 + timedelta(minutes=9 + 10 * k))
        assert back is not None
        assert back.event is EventType.UPDATED
        assert back.detail["reopened"] is True
        assert back.worse  # the return notifies
        assert back.alert.alert_id == first.alert.alert_id
        assert back.alert.state is State.OPEN
        assert back.alert.resolved_at is None
    assert len(book.active()) == 1


def test_severities_of_one_family_are_one_alert_whose_code_follows_the_level() -> None:
    book = AlertBook("demo")

    def low(code: str, minute: float, action: Action = Action.RAISE) -> AlertCandidate:
        t = T0 + timedelta(minutes=minute)
        return AlertCandidate("p-1", code, t, action, params={"glucose": 2.8}, group="glucose.low")

    opened = book.apply(low("glucose.low", 0), T0)
    assert opened is not None
    assert opened.alert.priority is Priority.MEDIUM
    up = book.apply(low("glucose.urgent_low", 5), T0 + timedelta(minutes=5))
    assert up is not None
    assert (up.event, up.alert.code, up.alert.priority) == (
        EventType.UPDATED,
        "glucose.urgent_low",
        Priority.HIGH,
    )
    assert up.worse
    assert up.detail == {"code_from": "glucose.low"}
    down = book.apply(low("glucose.low", 15), T0 + timedelta(minutes=15))
    assert down is not None
    assert (down.alert.code, down.alert.priority, down.worse) == (
        "glucose.low",
        Priority.MEDIUM,
        False,
    )
    assert {e.alert.alert_id for e in (opened, up, down)} == {opened.alert.alert_id}
    assert len(book.active()) == 1


def test_technical_alerts_are_separate_from_clinical_ones() -> None:
    book = AlertBook("demo")
    clinical = book.apply(c("bp.hypertensive_crisis", 0), T0)
    tech = book.apply(c("device.battery_low", 0, params={"device_id": "x", "percent": 4}), T0)
    assert clinical is not None
    assert tech is not None
    assert tech.alert.technical
    assert not clinical.alert.technical
    assert tech.alert.alert_id != clinical.alert.alert_id


def test_acknowledge_refer_and_worse_condition() -> None:
    book = AlertBook("demo")
    opened = book.apply(c("bp.hypotension", 0), T0)
    assert opened is not None
    ack = acknowledge_alert(opened.alert, "dr.li", T0 + timedelta(minutes=1))
    book.record(ack)
    assert (ack.alert.state, ack.actor, ack.alert.assignee) == (
        State.ACKNOWLEDGED,
        "dr.li",
        "dr.li",
    )
    worse = book.apply(c("bp.hypotension", 2, priority=Priority.HIGH), T0 + timedelta(minutes=2))
    assert worse is not None
    assert worse.worse is True
    assert (worse.alert.state, worse.alert.priority) == (State.OPEN, Priority.HIGH)
    referred = refer_alert(worse.alert, "dr.li", T0 + timedelta(minutes=3), "ref-1")
    assert referred.event is EventType.REFERRED
    assert referred.detail == {"referral_id": "ref-1"}
    done = resolve_alert(referred.alert, T0 + timedelta(minutes=4), "dr.li")
    with pytest.raises(ValueError, match="resolved"):
        acknowledge_alert(done.alert, "dr.li", T0 + timedelta(minutes=5))


def test_roster_resolves_teams_rotations_and_emergency_contacts() -> None:
    def m(mid: str, *contacts: Contact) -> Member:
        return Member(mid, "demo", mid.title(), contacts=contacts)

    members = {x.member_id: x for x in (m("a"), m("b"), m("c"))}
    rot = Rotation("oncall", "demo", "phys", ("a", "b", "c"), T0, timedelta(hours=12))
    roster = Roster(
        members=members,
        teams={"fd": CareTeam("fd", "demo", "FD", members=("a", "b"))},
        rotations={"oncall": rot},
        emergency_contacts={"p-001": [m("daughter", Contact("sms", "+86139"))]},
        patient_teams={"p-001": "fd"},
    )
    assert rot.on_call(T0 + timedelta(hours=13)) == "b"
    assert rot.on_call(T0 + timedelta(hours=37)) == "a"
    ids = [
        x.member_id for x in roster.resolve(["patient:care_team", "rotation:oncall"], "p-001", T0)
    ]
    assert ids == ["a", "b"]  # a is on call and in the team: reached once
    ec = roster.resolve(["patient:emergency_contact", "team:none"], "p-001", T0)
    assert [x.member_id for x in ec] == ["daughter"]


def test_referral_states_and_fhir_service_request() -> None:
    r = Referral(
        referral_id="ref-1",
        alert_id="alert-1",
        tenant="demo",
        patient_id="p-001",
        target_org="City No.1 Hospital",
        department="Cardiology",
        reason="Hypertensive crisis",
        urgency=Urgency.STAT,
        green_channel=True,
        requested_by="dr.li",
        requested_at=T0,
        evidence=ReferralEvidence(
            readings=(EvidenceReading("cuff-1-3", "bp 190/124"),),
            ecg_strip=EcgStripRef("urn:hmg:ecg:patch-1:77"),
        ),
    )
    fhir = to_fhir(r)
    assert fhir["resourceType"] == "ServiceRequest"
    assert (fhir["status"], fhir["intent"], fhir["priority"]) == ("active", "order", "stat")
    assert fhir["category"][0]["coding"][0]["code"] == "3457005"
    assert fhir["subject"] == {"reference": "Patient/p-001"}
    assert fhir["authoredOn"] == "2026-11-22T10:00:00.000Z"
    refs = [s["reference"] for s in fhir["supportingInfo"]]
    assert refs == ["Observation/cuff-1-3", "urn:hmg:ecg:patch-1:77"]
    assert {"url": "urn:hmg:fhir:StructureDefinition/green-channel", "valueBoolean": True} in fhir[
        "extension"
    ]
    accepted = transition(r, ReferralState.ACCEPTED, "er", T0 + timedelta(minutes=5))
    done = transition(accepted, ReferralState.COMPLETED, "er", T0 + timedelta(hours=2))
    assert to_fhir(done)["status"] == "completed"
    with pytest.raises(ReferralTransitionError):
        transition(done, ReferralState.DECLINED, "er", T0 + timedelta(hours=3))
    assert to_fhir(transition(r, ReferralState.DECLINED, "er", T0))["status"] == "revoked"
