"""Rosters, referrals and escalation timers, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from alerts.escalation import EscalationState
from alerts.model import AlertEvent, EventType, Priority
from alerts.outcome import TimerChanges
from alerts.referral import Referral, ReferralEvidence, ReferralState, Urgency
from alerts.roster import CareTeam, Contact, Member, Rotation
from devices.model import PatientKey
from gateway.storage import AlertRecord, Patient, Stores
from tests.gateway.storage.helpers import T0
from tests.gateway.storage.test_alerts import alert


async def test_roster_parts_put_read_and_deleted_by_kind(stores: Stores) -> None:
    rosters = stores.rosters
    li = Member("dr-li", "t1", "Dr Li", contacts=(Contact("sms", "+8613800000001"),))
    await rosters.put_member(li, T0)
    await rosters.put_member(Member("dr-x", "t2", "Dr X"), T0)
    await rosters.put_team(CareTeam("fd-1", "t1", "Family doctors", members=("dr-li",)), T0)
    rot = Rotation("oncall", "t1", "fd-1", ("dr-li",), T0, timedelta(hours=8))
    await rosters.put_rotation(rot, T0)
    await stores.patients.save_patient(Patient("p-1", "t1", T0, care_team="fd-1"))
    daughter = Member("ec:p-1:0", "t1", "Daughter", "daughter", "en", (Contact("sms", "+86-1"),))
    await rosters.set_emergency_contacts(PatientKey("t1", "p-1"), [daughter])
    # Another tenant's "p-1" is another elder: its contacts replace none of the first's.
    await stores.patients.save_patient(Patient("p-1", "t2", T0))
    son = Member("ec:p-1:0", "t2", "Son", "son", "zh-CN", (Contact("sms", "+86-2"),))
    await rosters.set_emergency_contacts(PatientKey("t2", "p-1"), [son])
    assert (await rosters.roster("t2")).emergency_contacts == {"p-1": [son]}
    roster = await rosters.roster("t1")
    assert roster.members == {"dr-li": li}
    assert roster.rotations["oncall"] == rot
    assert roster.emergency_contacts["p-1"] == [daughter]
    assert roster.patient_teams == {"p-1": "fd-1"}
    assert set((await rosters.roster("t2")).members) == {"dr-x"}
    assert await rosters.tenant_of("members", "dr-li") == "t1"
    assert await rosters.tenant_of("teams", "dr-li") is None  # a member's id is no team
    assert not await rosters.delete("rotations", "oncall", "t2")  # only by its own tenant
    assert await rosters.delete("rotations", "oncall", "t1")
    assert not await rosters.delete("rotations", "oncall", "t1")
    assert not await rosters.delete("teams", "dr-li", "t1")
    assert await rosters.delete("teams", "fd-1", "t1")
    assert await rosters.delete("members", "dr-li", "t1")
    left = await rosters.roster("t1")
    assert (left.members, left.teams, left.rotations) == ({}, {}, {})


async def test_referrals_saved_and_queried(stores: Stores) -> None:
    await stores.records.commit(
        AlertRecord(at=T0, events=[AlertEvent(EventType.OPENED, T0, alert())])
    )
    r = Referral(
        "r-1", "a-1", "t1", "p-1", "City No.1", "Cardiology", "crisis", Urgency.STAT, True,
        "dr-li", T0, evidence=ReferralEvidence(start=T0 - timedelta(hours=24), end=T0),
    )  # fmt: skip
    await stores.referrals.save(r)
    accepted = replace(r, state=ReferralState.ACCEPTED, updated_by="er", updated_at=T0)
    await stores.referrals.save(accepted)
    assert await stores.referrals.get("r-1") == accepted
    assert await stores.referrals.get("r-1", tenant="t2") is None
    assert await stores.referrals.query(alert_id="a-1") == [accepted]
    assert await stores.referrals.query(state=ReferralState.REQUESTED) == []
    assert await stores.referrals.query(tenant="t2") == []


async def test_timers_saved_replaced_and_deleted(stores: Stores) -> None:
    await stores.records.commit(
        AlertRecord(at=T0, events=[AlertEvent(EventType.OPENED, T0, alert())])
    )
    timer = EscalationState("a-1", "t1", "p-1", "g", Priority.HIGH, 1, T0, flags=frozenset({"x"}))
    await stores.timers.save([timer], [])
    await stores.timers.save([replace(timer, tier=2)], [])
    assert await stores.timers.load() == [replace(timer, tier=2)]
    await stores.timers.save([], ["a-1"])
    assert await stores.timers.load() == []


async def test_an_alert_change_writes_its_timers_with_its_events(stores: Stores) -> None:
    timer = EscalationState("a-1", "t1", "p-1", "g", Priority.HIGH, 0, T0)
    opened = [AlertEvent(EventType.OPENED, T0, alert())]
    await stores.records.commit(
        AlertRecord(at=T0, events=opened, timers=TimerChanges(saved=(timer,)))
    )
    assert await stores.timers.load() == [timer]
    await stores.records.commit(
        AlertRecord(at=T0, timers=TimerChanges(deleted=("a-1",)))
    )  # timers alone
    assert await stores.timers.load() == []
