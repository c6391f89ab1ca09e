"""Actions routed from the API role to the partition's owner over a real nats-server, on a
gateway with a real SQLite file: every action is applied once, by the owner, on its desk; a
refusal comes back typed; no owner, an owner handing over and a silent owner each end in a
clear error within the bound, with nothing applied."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from alerts.desk import AlertDesk
from alerts.emergency import Dispatch, Outcome, Responder
from alerts.model import AlertCandidate, AlertEvent, EventType, State
from devices.registry import Binding, Device
from gateway.actor import Actor, Role
from gateway.api.app import create_app
from gateway.errors import (
    ConflictError,
    InvalidError,
    NotFoundError,
    OwnerTimeoutError,
    UnavailableError,
)
from gateway.flow.actions import Actions, ReferralRequest
from gateway.flow.intake import Inbound
from gateway.policies import load_policy
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from gateway.scale.action_routing import PartitionActions, RoutedActions
from gateway.scale.action_wire import Act, ActionRequest, Verdict, action_subject
from gateway.scale.partition import partition_of
from gateway.storage import AlertRecord, RecordStore, Write
from tests.support.auth import auth_headers
from tests.support.nats import nats_server
from tests.support.wire import v1

POLICY = load_policy(Path(__file__).resolve().parents[3] / "deploy" / "policies" / "demo.toml")
T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
DR = Actor("dr.wang", Role.CLINICIAN, "demo", "dashboard@10.0.0.7")
P = 4
PART = partition_of("demo", "p-001", P)
BOUND_S = 1.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class Told:
    """Notified events; `gate`, when set, holds each notification until it is opened."""

    def __init__(self) -> None:
        self.events: list[EventType] = []
        self.gate: asyncio.Event | None = None
        self.waiting = asyncio.Event()

    async def send(self, events: Sequence[AlertEvent]) -> None:
        if self.gate is not None:
            self.waiting.set()
            await self.gate.wait()
        self.events.extend(e.event for e in events)


@dataclass
class Setup:
    gw: Gateway
    owner: Actions  # the owning worker's action path (its desk runs the timers)
    api: RoutedActions
    nc: NatsClient
    clock: Clock
    told: Told

    def answering(
        self, *, owns: bool = True, partitions: int = P, worker: str = "w1"
    ) -> PartitionActions:
        return PartitionActions(
            self.nc, PART, partitions, self.owner, asyncio.Lock(), worker=worker,
            owns=lambda: owns,
        )  # fmt: skip


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    clock, told = Clock(), Told()
    settings = Settings(mode="test", data_dir=tmp_path, tick_interval_s=3600, partitions=P)
    gw = Gateway(settings, clock=clock, policies={"demo": POLICY}, sinks=[told])
    await gw.start(mqtt=False)
    owner = gw.actions
    assert isinstance(owner, Actions)
    dev = Device("cuff-1", "demo", "bp", bindings=(Binding("p-001", T0 - timedelta(days=1)),))
    await gw.stores.patients.save_device(dev, T0)
    gw.registry.put(dev)
    data = {"systolic": 195, "diastolic": 125, "unit": "mmHg"}
    await gw.pipeline.handle([Inbound("hm/v1/demo/cuff-1/bp", v1("cuff-1", "bp", 1, data, T0), T0)])
    # The API process: the same stores, a desk of its own that only mirrors the owners' answers.
    api_local = Actions(
        desk=AlertDesk(),
        stores=gw.stores,
        readings=gw.readings,
        outbox=Nobody(gw.stores.records),
        clock=clock,
    )
    with nats_server(tmp_path / "nats") as node:
        nc = await nats.connect(node.url)
        api = RoutedActions(nc, api_local, partitions=P, timeout_s=BOUND_S, clock=clock)
        try:
            yield Setup(gw, owner, api, nc, clock, told)
        finally:
            await nc.close()
            await gw.stop()


class Nobody:
    """The API process's outbox: it records what the API process itself writes, and must never
    notify (the owner does)."""

    def __init__(self, records: RecordStore) -> None:
        self.records = records

    async def record(self, record: AlertRecord, *, also: Write | None = None) -> None:
        if record.events:
            raise AssertionError(f"the API process notified {record.events}")
        await self.records.commit(record, also=also)


def alert_id(s: Setup) -> str:
    (a,) = s.gw.desk.active()
    return a.alert_id


async def test_every_action_is_applied_once_by_the_owner(setup: Setup) -> None:
    s = setup
    aid = alert_id(s)
    owner = s.answering()
    await owner.open()
    s.clock.now = T0 + timedelta(minutes=1)
    note = await s.api.comment(DR, aid, "calling the daughter")
    assert (note.actor, note.client, note.at, note.detail["text"]) == (
        "dr.wang", "dashboard@10.0.0.7", s.clock.now, "calling the daughter"
    )  # fmt: skip
    assert (await s.api.assign(DR, aid, "nurse.li")).assignee == "nurse.li"
    snoozed = await s.api.snooze(DR, aid, T0 + timedelta(minutes=30))
    assert s.api.desk.timer(aid) == s.gw.desk.timer(aid)  # the API shows the owner's timer
    assert snoozed.state is State.OPEN
    escalated = await s.api.escalate(DR, aid, "no answer")
    assert escalated.escalation_tier == 1
    assert s.api.desk.timer(aid) == s.gw.desk.timer(aid) is not None
    acked = await s.api.acknowledge(DR, aid)
    assert (acked.state, acked.acknowledged_by) == (State.ACKNOWLEDGED, "dr.wang")
    live = s.gw.desk.find(aid)
    assert live is not None
    assert live.state is State.ACKNOWLEDGED  # on the owner's desk, which runs the timers
    referral = await s.api.refer(DR, aid, ReferralRequest("City No.1", "Cardiology", "crisis"))
    assert referral.evidence.readings[0].values["systolic"] == 195
    resolved = await s.api.resolve(DR, aid, "seen at home")
    assert resolved.state is State.RESOLVED
    assert s.api.desk.find(aid) is None
    assert s.api.desk.timer(aid) is None
    events = [e.event for e in await s.gw.stores.alerts.events(aid)]
    assert events == [
        EventType.OPENED,
        EventType.ESCALATED,
        EventType.ACKNOWLEDGED,
        EventType.REFERRED,
        EventType.RESOLVED,
    ]
    audit = [(e.action, e.actor, e.client) for e in await s.gw.stores.audit.entries()]
    acts = ["comment", "assign", "snooze", "escalate", "acknowledge", "refer", "resolve"]
    assert sorted(audit) == sorted((a, "dr.wang", "dashboard@10.0.0.7") for a in acts)
    assert s.told.events[1:] == events[1:]  # notified by the owner, once each
    assert owner.applied == len(acts)
    await owner.close()


async def test_refusals_come_back_typed(setup: Setup) -> None:
    s = setup
    aid = alert_id(s)
    owner = s.answering()
    await owner.open()
    with pytest.raises(ConflictError, match="future"):
        await s.api.snooze(DR, aid, T0 - timedelta(minutes=1))
    await s.api.resolve(DR, aid)
    with pytest.raises(ConflictError, match="resolved"):
        await s.api.acknowledge(DR, aid)
    with pytest.raises(NotFoundError):
        await s.api.acknowledge(DR, "no-such-alert")
    assert owner.applied == 1
    await owner.close()


async def _nothing_applied(s: Setup, aid: str) -> None:
    stored = await s.gw.stores.alerts.get(aid)
    assert stored is not None
    assert stored.state is State.OPEN
    assert await s.gw.stores.audit.entries() == []
    assert [e.event for e in await s.gw.stores.alerts.events(aid)] == [EventType.OPENED]


async def test_no_owner_is_a_clear_error_within_the_bound(setup: Setup) -> None:
    aid = alert_id(setup)
    t = time.monotonic()
    with pytest.raises(UnavailableError, match=f"partition {PART} has no owner") as err:
        await setup.api.acknowledge(DR, aid)
    assert BOUND_S <= time.monotonic() - t < BOUND_S + 0.5
    assert "no worker owns it" in err.value.detail
    await _nothing_applied(setup, aid)


async def test_an_owner_handing_over_refuses_and_the_next_owner_applies(setup: Setup) -> None:
    s = setup
    aid = alert_id(s)
    leaving = s.answering(owns=False, worker="w1")
    await leaving.open()
    with pytest.raises(UnavailableError, match="w1 is handing partition"):
        await s.api.acknowledge(DR, aid)
    await _nothing_applied(s, aid)

    async def take_over() -> PartitionActions:
        await asyncio.sleep(0.3)
        await leaving.close()
        arriving = s.answering(worker="w2")
        await arriving.open()
        return arriving

    taking = asyncio.create_task(take_over())
    acked = await s.api.acknowledge(DR, aid)  # asks again until the new owner answers
    assert acked.state is State.ACKNOWLEDGED
    arriving = await taking
    assert (leaving.applied, arriving.applied) == (0, 1)
    assert [e.action for e in await s.gw.stores.audit.entries()] == ["acknowledge"]
    await arriving.close()


async def test_close_waits_for_the_action_being_applied(setup: Setup) -> None:
    s = setup
    aid = alert_id(s)
    owner = s.answering()
    await owner.open()
    s.told.gate = asyncio.Event()  # the owner is stuck notifying, after it stored the ack
    acking = asyncio.create_task(s.api.acknowledge(DR, aid))
    await s.told.waiting.wait()
    assert owner.lock.locked()
    closing = asyncio.create_task(owner.close())
    await asyncio.sleep(0.2)
    assert not closing.done()  # the partition is not handed over mid-action
    s.told.gate.set()
    await closing
    assert (await acking).state is State.ACKNOWLEDGED


async def test_a_silent_owner_is_a_timeout_not_a_retry(setup: Setup) -> None:
    s = setup
    aid = alert_id(s)
    heard: list[Msg] = []

    async def swallow(msg: Msg) -> None:
        heard.append(msg)

    await s.nc.subscribe(action_subject(PART), cb=swallow)
    t = time.monotonic()
    with pytest.raises(OwnerTimeoutError, match="may have been applied"):
        await s.api.acknowledge(DR, aid)
    assert time.monotonic() - t < BOUND_S + 0.5
    assert len(heard) == 1  # asked once: it may have been applied


async def test_misrouted_and_expired_requests_are_refused(setup: Setup) -> None:
    s = setup
    aid = alert_id(s)
    other = next(n for n in range(2, 64) if partition_of("demo", "p-001", n) != PART)
    confused = s.answering(partitions=other)  # a worker with another HMG_PARTITIONS
    await confused.open()
    with pytest.raises(UnavailableError, match="HMG_PARTITIONS"):
        await s.api.acknowledge(DR, aid)
    await confused.close()
    owner = s.answering()
    late = ActionRequest.of(Act.ACKNOWLEDGE, aid, DR, s.clock.now - timedelta(seconds=1))
    reply = await owner.handle(late.encode())
    assert reply.verdict is Verdict.EXPIRED
    assert (await owner.handle(b"{not json")).verdict is Verdict.INVALID
    await _nothing_applied(s, aid)


async def test_the_api_answers_after_the_owner_or_with_503(setup: Setup) -> None:
    s = setup
    aid = alert_id(s)
    app = create_app(gateway=s.gw)
    s.gw.actions = s.api
    headers = auth_headers(app, Role.CLINICIAN, "demo", "dr.wang")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.post(f"/alerts/{aid}/ack", json={}, headers=headers)
        assert r.status_code == 503, r.text
        assert r.headers["Retry-After"] == "1"
        assert f"partition {PART} has no owner" in r.json()["detail"]
        owner = s.answering()
        await owner.open()
        r = await c.post(f"/alerts/{aid}/ack", json={}, headers=headers)
        assert r.status_code == 200, r.text
        assert (r.json()["state"], r.json()["acknowledged_by"]) == ("acknowledged", "dr.wang")
        await s.api.resolve(DR, aid)
        r = await c.post(f"/alerts/{aid}/ack", json={}, headers=headers)
        assert r.status_code == 409, r.text  # the owner's refusal, as the single gateway's
        await owner.close()
    assert owner.applied == 2


async def test_an_emergency_call_is_dispatched_arrived_and_resolved_by_the_owner(
    setup: Setup,
) -> None:
    s = setup
    owner = s.answering()
    await owner.open()

    async def call(code: str) -> str:
        opened = s.gw.desk.observe([AlertCandidate("p-001", code, T0)], T0, tenant="demo")
        assert await s.gw.pipeline.record(opened, None)
        return opened.events[0].alert.alert_id

    sos = await call("emergency.sos")
    await s.api.acknowledge(DR, sos)
    going = Dispatch(
        Responder.COMMUNITY, "Li Ming", "+86 138 0000 0000", T0 + timedelta(minutes=20)
    )
    sent = await s.api.dispatch(DR, sos, going)
    assert sent.state is State.DISPATCHED
    timer = s.api.desk.timer(sos)
    assert timer is not None
    assert timer.due_at == going.expected_at  # the owner's arrival deadline, shown by the API
    assert (await s.api.arrive(DR, sos)).state is State.ARRIVED
    done = await s.api.resolve(DR, sos, outcome=Outcome.HANDLED_AT_HOME)
    assert done.state is State.RESOLVED
    fall = await call("emergency.fall")
    await s.api.acknowledge(DR, fall)
    with pytest.raises(InvalidError) as refused:
        await s.api.resolve(DR, fall, outcome=Outcome.TAKEN_TO_HOSPITAL)
    assert refused.value.fields == ("hospital",)
    await s.api.resolve(DR, fall, outcome=Outcome.TAKEN_TO_HOSPITAL, hospital="City No.1")
    (referral,) = await s.gw.stores.referrals.query(alert_id=fall)
    assert (referral.target_org, referral.requested_by) == ("City No.1", "dr.wang")
    trail = [e.action for e in await s.gw.stores.audit.entries(subject_id=sos)]
    assert sorted(trail) == ["acknowledge", "arrive", "dispatch", "resolve"]
    await owner.close()
