"""Clinicians' actions through the one action path, on a gateway with a real SQLite file and the
demo escalation policy: each action's events, timers, extra changes and audit entry are stored
together before anyone is notified; a failed store keeps all of it out and tells nobody."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from alerts.model import Alert, AlertEvent, EventType, State
from alerts.referral import ReferralState
from devices.registry import Binding, Device
from gateway.actor import Actor, Role
from gateway.errors import ConflictError, NotFoundError
from gateway.flow.actions import Actions, ReferralRequest
from gateway.flow.intake import Inbound
from gateway.policies import load_policy
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from gateway.storage import record as alert_records
from tests.support.wire import v1

POLICY = load_policy(Path(__file__).resolve().parents[3] / "deploy" / "policies" / "demo.toml")
T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
DR = Actor("dr.wang", Role.CLINICIAN, "demo", "ward-tablet-7")


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class Told:
    """A notification sink that records, for each event, whether it was stored before."""

    def __init__(self) -> None:
        self.gw: Gateway | None = None
        self.events: list[tuple[EventType, bool]] = []

    async def send(self, events: Sequence[AlertEvent]) -> None:
        assert self.gw is not None
        for e in events:
            trail = await self.gw.stores.alerts.events(e.alert.alert_id)
            self.events.append((e.event, any(t.event is e.event for t in trail)))


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[tuple[Gateway, Clock, Told]]:
    clock, told = Clock(), Told()
    settings = Settings(mode="test", data_dir=tmp_path, tick_interval_s=3600)
    gateway = Gateway(settings, clock=clock, policies={"demo": POLICY}, sinks=[told])
    told.gw = gateway
    await gateway.start(mqtt=False)
    dev = Device("cuff-1", "demo", "bp", bindings=(Binding("p-001", T0 - timedelta(days=1)),))
    await gateway.stores.patients.save_device(dev, T0)
    gateway.registry.put(dev)
    yield gateway, clock, told
    await gateway.stop()


async def crisis(gw: Gateway, seq: int = 1) -> str:
    data = {"systolic": 195, "diastolic": 125, "unit": "mmHg"}
    msg = Inbound("hm/v1/demo/cuff-1/bp", v1("cuff-1", "bp", seq, data, T0), T0)
    result = await gw.pipeline.handle([msg])
    return result.events[0].alert.alert_id


async def test_acknowledge_stores_event_timer_and_audit_then_notifies(
    gw: tuple[Gateway, Clock, Told],
) -> None:
    g, clock, told = gw
    alert_id = await crisis(g)
    assert g.desk.timer(alert_id) is not None
    clock.now = T0 + timedelta(minutes=3)
    acked = await g.actions.acknowledge(DR, alert_id, "calling the patient")
    assert (acked.state, acked.acknowledged_by, acked.assignee) == (
        State.ACKNOWLEDGED,
        "dr.wang",
        "dr.wang",
    )
    assert told.events[-1] == (EventType.ACKNOWLEDGED, True)  # stored before it was told
    stored = await g.stores.alerts.get(alert_id)
    assert stored is not None
    assert (stored.state, stored.assignee) == (State.ACKNOWLEDGED, "dr.wang")
    (entry,) = await g.stores.audit.entries(subject_id=alert_id)
    assert (entry.action, entry.actor, entry.client) == ("acknowledge", "dr.wang", "ward-tablet-7")
    assert entry.detail["text"] == "calling the patient"
    assert entry.detail["events"] == ["acknowledged"]
    timers = {t.alert_id: t for t in await g.stores.timers.load()}
    assert timers.get(alert_id) == g.desk.timer(alert_id)
    with pytest.raises(NotFoundError):
        await g.actions.acknowledge(DR, "no-such-alert")


async def test_another_tenants_alert_is_not_found_and_a_resolved_one_is_a_conflict(
    gw: tuple[Gateway, Clock, Told],
) -> None:
    g, clock, _ = gw
    alert_id = await crisis(g)
    held = (g.desk.find(alert_id), g.desk.timer(alert_id))
    stranger = replace(DR, tenant="another-tenant")
    for act in (
        lambda: g.actions.acknowledge(stranger, alert_id),
        lambda: g.actions.escalate(stranger, alert_id),
        lambda: g.actions.comment(stranger, alert_id, "not mine"),
    ):
        with pytest.raises(NotFoundError):
            await act()
    assert (g.desk.find(alert_id), g.desk.timer(alert_id)) == held
    assert await g.stores.audit.entries(subject_id=alert_id) == []
    clock.now = T0 + timedelta(minutes=1)
    await g.actions.resolve(DR, alert_id)
    with pytest.raises(ConflictError, match="resolved"):
        await g.actions.acknowledge(DR, alert_id)


async def test_a_failed_store_keeps_the_whole_action_out_and_tells_nobody(
    gw: tuple[Gateway, Clock, Told], monkeypatch: pytest.MonkeyPatch
) -> None:
    g, clock, told = gw
    alert_id = await crisis(g)
    before = len(told.events)
    timer = g.desk.timer(alert_id)
    assert timer is not None

    async def broken(*_: object) -> None:
        raise OSError("disk full")  # the audit row, after the events and timers are written

    monkeypatch.setattr(alert_records, "append_rows", broken)
    clock.now = T0 + timedelta(minutes=1)
    with pytest.raises(OSError, match="disk full"):
        await g.actions.resolve(DR, alert_id)
    assert len(told.events) == before
    stored = await g.stores.alerts.get(alert_id)
    assert stored is not None
    assert stored.state is State.OPEN
    assert [e.event for e in await g.stores.alerts.events(alert_id)] == [EventType.OPENED]
    # The desk is back where it was: the alert stays open and still escalates on time.
    live = g.desk.find(alert_id)
    assert live is not None
    assert live.state is State.OPEN
    assert g.desk.timer(alert_id) == timer
    monkeypatch.undo()
    clock.now = T0 + timedelta(minutes=10)
    assert [e.event for e in await g.pipeline.tick()] == [EventType.ESCALATED]


async def test_an_action_s_notifications_are_stored_with_it_and_outlive_a_crash(
    gw: tuple[Gateway, Clock, Told], monkeypatch: pytest.MonkeyPatch
) -> None:
    g, clock, _ = gw
    alert_id = await crisis(g)

    def killed(*_: object) -> None:
        raise RuntimeError("the process died after the commit")

    monkeypatch.setattr(g.notifications, "hand", killed)
    clock.now = T0 + timedelta(minutes=2)
    with pytest.raises(RuntimeError, match="died"):
        await g.actions.acknowledge(DR, alert_id)
    # The acknowledgement is stored, and so is its notice: the sender's sweep finds it.
    entries = [(e.event, sent) for e, sent in await g.stores.outbox.of_alert(alert_id)]
    assert ("acknowledged", None) in entries
    # An action whose transaction fails stores no notice either.
    before = len(await g.stores.outbox.of_alert(alert_id))

    async def broken(*_: object) -> None:
        raise OSError("disk full")  # the audit row, after the events and timers are written

    monkeypatch.setattr(alert_records, "append_rows", broken)
    with pytest.raises(OSError, match="disk full"):
        await g.actions.resolve(DR, alert_id)
    assert len(await g.stores.outbox.of_alert(alert_id)) == before


async def test_assign_and_comment_are_audited_never_notified(
    gw: tuple[Gateway, Clock, Told],
) -> None:
    g, clock, told = gw
    alert_id = await crisis(g)
    before = len(told.events)
    shown: list[tuple[str, str | None, str | None, dict[str, Any]]] = []

    class View:
        def show(
            self, kind: str, at: datetime, alert: Alert, by: str | None, detail: Mapping[str, Any]
        ) -> None:
            shown.append((kind, alert.assignee, by, dict(detail)))

    assert isinstance(g.actions, Actions)
    g.actions.view = View()
    clock.now = T0 + timedelta(minutes=1)
    assigned = await g.actions.assign(DR, alert_id, "nurse.li")
    assert assigned.assignee == "nurse.li"
    # Open dashboards see it at once (the live view), as `assigned`, not as a lifecycle event.
    assert shown == [("assigned", "nurse.li", "dr.wang", {"assignee": "nurse.li"})]
    note = await g.actions.comment(DR, alert_id, "BP 170/100 at the second measurement")
    assert note.detail["text"].startswith("BP 170/100")
    assert len(told.events) == before  # nobody paged for bookkeeping
    assert [e.event for e in await g.stores.alerts.events(alert_id)] == [EventType.OPENED]
    stored = await g.stores.alerts.get(alert_id)
    assert stored is not None
    assert stored.assignee == "nurse.li"
    assert [(e.action, dict(e.detail)) for e in await g.stores.audit.entries()] == [
        ("assign", {"to": "nurse.li"}),
        ("comment", {"text": "BP 170/100 at the second measurement"}),
    ]
    await g.actions.resolve(DR, alert_id)
    await g.actions.comment(DR, alert_id, "follow-up call tomorrow")  # resolved: still allowed
    with pytest.raises(ConflictError):
        await g.actions.resolve(DR, alert_id)


async def test_snooze_puts_the_next_tier_off(gw: tuple[Gateway, Clock, Told]) -> None:
    g, clock, _ = gw
    alert_id = await crisis(g)
    timer = g.desk.timer(alert_id)
    assert timer is not None
    assert timer.due_at == T0 + timedelta(minutes=10)
    clock.now = T0 + timedelta(minutes=2)
    await g.actions.snooze(DR, alert_id, T0 + timedelta(minutes=40))
    snoozed = g.desk.timer(alert_id)
    assert snoozed is not None
    assert snoozed.due_at is not None
    assert snoozed.due_at >= T0 + timedelta(minutes=40)
    assert {t.alert_id: t for t in await g.stores.timers.load()}[alert_id] == snoozed
    clock.now = T0 + timedelta(minutes=30)
    assert await g.pipeline.tick() == []
    (entry,) = await g.stores.audit.entries(subject_id=alert_id)
    assert entry.action == "snooze"


async def test_refer_stores_referral_and_hand_over_together(
    gw: tuple[Gateway, Clock, Told],
) -> None:
    g, clock, told = gw
    alert_id = await crisis(g)
    clock.now = T0 + timedelta(minutes=5)
    request = ReferralRequest("City No.1 Hospital", "Cardiology", "uncontrolled crisis")
    referral = await g.actions.refer(DR, alert_id, request)
    assert [r.referral_id for r in await g.stores.referrals.query(alert_id=alert_id)] == [
        referral.referral_id
    ]
    readings = referral.evidence.readings
    assert [r.values["systolic"] for r in readings] == [195]
    stored = await g.stores.alerts.get(alert_id)
    assert stored is not None
    assert stored.state is State.REFERRED
    assert told.events[-1] == (EventType.REFERRED, True)
    moved = await g.actions.move_referral(
        Actor("er.zhao", Role.CLINICIAN, "demo"), referral.referral_id, ReferralState.ACCEPTED
    )
    assert (moved.state, moved.updated_by) == (ReferralState.ACCEPTED, "er.zhao")
    with pytest.raises(ConflictError):
        await g.actions.move_referral(DR, referral.referral_id, ReferralState.ACCEPTED)
    trail = [(e.action, e.subject_type) for e in await g.stores.audit.entries()]
    assert trail == [("refer", "alert"), ("accept", "referral")]
