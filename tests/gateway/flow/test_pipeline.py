"""Pipeline on a real SQLite file: store first, detect only what is new, never ack a failure;
events and the escalation timers they move are stored together, before anyone is told. The urgent
lane: a crisis reading's alert is stored and handed to the sender before the rest of its batch is
analysed, the bulk of the batch yields to the event loop, and lanes never change which alerts are
raised."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest

from alerts.desk import AlertDesk
from alerts.detectors.base import PatientContext
from alerts.engine import DetectionEngine
from alerts.model import AlertCandidate, AlertEvent
from alerts.policy import parse_policy_text
from devices.kinds import Kind
from devices.model import PatientKey, Reading, utcnow
from devices.registry import DeviceRegistry
from gateway.flow.intake import Inbound, Intake
from gateway.flow.pipeline import BULK_STEP, SLICE_S, Pipeline
from gateway.notifiers.outbox import OutboxSender
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from gateway.storage import Database, SqlReadingStore, Stores, StoreUnavailableError
from gateway.storage import record as alert_records
from tests.support.wire import v1

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
POLICY = parse_policy_text(
    (Path(__file__).resolve().parents[3] / "deploy" / "policies" / "demo.toml").read_text(), "toml"
)


def bp(seq: int, sys_: float, dia: float, ts: datetime = T0) -> Inbound:
    data = {"systolic": sys_, "diastolic": dia, "unit": "mmHg"}
    payload = v1("cuff-1", "bp", seq, data, ts.isoformat())
    return Inbound("hm/v1/t/cuff-1/bp", payload, ts + timedelta(seconds=1), seq, 1)


class FlakyStore(SqlReadingStore):
    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.down = False

    async def write(self, readings: Sequence[Reading]) -> list[Reading]:
        if self.down:
            raise StoreUnavailableError("simulated outage")
        return await super().write(readings)


class HighSystolic:
    """A fake detector: every systolic over 180 raises the crisis code (one episode)."""

    name: ClassVar[str] = "fake"
    kinds: ClassVar[frozenset[Kind]] = frozenset({Kind.BP})

    def __init__(self, ctx: PatientContext) -> None:
        self.ctx = ctx

    def update(self, reading: Reading) -> list[AlertCandidate]:
        if reading.values["systolic"] > 180:
            return [
                AlertCandidate(
                    self.ctx.patient_id,
                    "bp.hypertensive_crisis",
                    reading.ts,
                    params=dict(reading.values),
                )
            ]
        return []

    def tick(self, now: datetime) -> list[AlertCandidate]:
        return []


class Told:
    """A sink that notes, for every event it is told, whether its timer was stored by then."""

    def __init__(self, stores: Stores) -> None:
        self.stores = stores
        self.events: list[AlertEvent] = []
        self.timers_stored: list[bool] = []

    async def send(self, events: Sequence[AlertEvent]) -> None:
        stored = {t.alert_id for t in await self.stores.timers.load()}
        for e in events:
            self.events.append(e)
            self.timers_stored.append(e.alert.alert_id in stored)


@pytest.fixture
async def pipeline(tmp_path: Path) -> AsyncIterator[Pipeline]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
    await db.create_schema()
    engine = DetectionEngine(factories={"fake": HighSystolic})
    intake = Intake(DeviceRegistry(auto_bind=True), late_after=timedelta(minutes=10))
    yield Pipeline(
        intake,
        engine,
        AlertDesk(default_policy=POLICY),
        readings=FlakyStore(db),
        stores=Stores.of(db),
        outbox=OutboxSender(
            Stores.of(db).outbox,
            {},
            records=Stores.of(db).records,
            sinks=[Told(Stores.of(db))],
            clock=lambda: T0,
        ),
        clock=lambda: T0,
    )
    await db.dispose()


def told_of(p: Pipeline) -> Told:
    """The listener the outbox tells once the events are stored."""
    assert isinstance(p.outbox, OutboxSender)
    told = p.outbox.sinks[0]
    assert isinstance(told, Told)
    return told


def stores(p: Pipeline) -> tuple[FlakyStore, Stores]:
    assert isinstance(p.readings, FlakyStore)
    assert p.stores is not None
    return p.readings, p.stores


async def test_duplicates_stored_once_and_detected_once(pipeline: Pipeline) -> None:
    first = await pipeline.handle([bp(1, 200, 125), bp(2, 130, 80)])
    again = await pipeline.handle([bp(1, 200, 125)])
    assert (first.stored, first.duplicates) == (2, 0)
    assert (again.stored, again.duplicates) == (0, 1)
    assert [(e.event.value, e.alert.code) for e in first.events] == [
        ("opened", "bp.hypertensive_crisis")
    ]
    assert again.events == []
    readings, records = stores(pipeline)
    stored = await records.alerts.query(patient_id="cuff-1")
    assert [a.code for a in stored] == ["bp.hypertensive_crisis"]
    rows = await readings.query(
        PatientKey("t", "cuff-1"), Kind.BP, T0 - timedelta(1), T0 + timedelta(1)
    )
    assert [r.seq for r in rows] == [1, 2]


async def test_store_outage_raises_and_nothing_is_detected(pipeline: Pipeline) -> None:
    store, _ = stores(pipeline)
    store.down = True
    batch = [bp(1, 200, 125)]
    decoded = pipeline.decode(batch)
    with pytest.raises(StoreUnavailableError):
        await pipeline.store(decoded)
    assert pipeline.desk.active() == []
    store.down = False
    result = await pipeline.finish(batch, decoded, await pipeline.store(decoded), 0.0)
    assert result.stored == 1
    assert [e.alert.code for e in result.events] == ["bp.hypertensive_crisis"]


async def test_events_and_their_timers_are_stored_before_anyone_is_told(
    pipeline: Pipeline,
) -> None:
    told = told_of(pipeline)
    (opened,) = (await pipeline.handle([bp(1, 200, 125)])).events
    assert told.events == [opened]
    assert told.timers_stored == [True]
    _, records = stores(pipeline)
    (row,) = await records.alerts.events(opened.alert.alert_id)
    assert row.detail["escalation"]["tier_name"] == "family_doctor"


async def test_an_alert_store_failure_tells_nobody_and_keeps_the_timers(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    told = told_of(pipeline)
    _, records = stores(pipeline)

    async def down(*_args: object, **_kw: object) -> None:
        raise StoreUnavailableError("alerts database down")  # the events are written by then

    with monkeypatch.context() as m:
        m.setattr(alert_records, "insert_entries", down)
        result = await pipeline.handle([bp(1, 200, 125)])
    assert (result.stored, result.events, told.events) == (1, [], [])
    # The timer comes again with the next result and is stored then.
    assert await pipeline.tick() == []
    timers = await records.timers.load()
    assert [t.alert_id for t in timers] == [a.alert_id for a in pipeline.desk.active()]


async def test_rejects_are_kept_with_reason(pipeline: Pipeline) -> None:
    bad = Inbound("hm/v1/t/cuff-1/bp", b"\xff\xfe not json", T0)
    spoof = Inbound("hm/v1/t/cuff-2/bp", bp(5, 120, 80).payload, T0)
    result = await pipeline.handle([bad, spoof, bp(3, 120, 80)])
    assert (result.rejected, result.stored) == (2, 1)
    reasons = sorted(d.reason for d in await stores(pipeline)[1].deadletters.query())
    assert reasons == ["malformed", "topic_mismatch"]


async def test_late_reading_is_stored_but_not_alerted(pipeline: Pipeline) -> None:
    old = bp(9, 210, 130, ts=T0 - timedelta(hours=3))
    late = Inbound(old.topic, old.payload, T0, 9, 1)
    result = await pipeline.handle([late])
    assert result.stored == 1
    assert result.events == []
    rows = await stores(pipeline)[0].query(
        PatientKey("t", "cuff-1"), None, T0 - timedelta(1), T0 + timedelta(1)
    )
    assert rows[0].flags == frozenset({"late"})


# -- the two lanes ------------------------------------------------------------------------


def msg(device: str, kind: str, seq: int, data: dict[str, object], at: datetime) -> Inbound:
    ts = (at + timedelta(seconds=seq)).isoformat()
    return Inbound(f"hm/v1/t/{device}/{kind}", v1(device, kind, seq, data, ts), utcnow())


def mixed_batch() -> list[Inbound]:
    """300 routine glucose readings, then one cuff's elevated reading and its crisis, measured
    two minutes ago (now, not when the module was imported: a late reading is never analysed)."""
    at = utcnow() - timedelta(minutes=2)
    out = [
        msg(f"cgm-{i:03d}", "glucose", 1, {"value": 6.0, "unit": "mmol/L", "source": "cgm"}, at)
        for i in range(300)
    ]
    out.append(msg("cuff-x", "bp", 1, {"systolic": 168, "diastolic": 102, "unit": "mmHg"}, at))
    out.append(msg("cuff-x", "bp", 2, {"systolic": 196, "diastolic": 124, "unit": "mmHg"}, at))
    return out


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    g = Gateway(Settings(mode="test", data_dir=tmp_path, auto_register=True))
    await g.start(mqtt=False)
    yield g
    await g.stop()


async def test_the_crisis_is_recorded_first_and_the_bulk_yields(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert SLICE_S > 0
    monkeypatch.setattr("gateway.flow.pipeline.SLICE_S", 0.0)  # yield after every bulk step
    recorded: list[tuple[int, list[str]]] = []  # (readings analysed by then, codes)
    real, process = gw.pipeline.record, gw.pipeline.engine.process
    analysed: list[Reading] = []
    ticks = 0

    async def spy(result, client, progress=None):  # type: ignore[no-untyped-def]
        recorded.append((len(analysed), [e.alert.code for e in result.events]))
        return await real(result, client, progress)

    def counted(r: Reading) -> list[AlertCandidate]:
        analysed.append(r)
        return process(r)

    async def probe() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    monkeypatch.setattr(gw.pipeline, "record", spy)
    monkeypatch.setattr(gw.pipeline.engine, "process", counted)
    running = asyncio.create_task(probe())
    await asyncio.sleep(0)
    before = ticks
    done = await gw.pipeline.handle(mixed_batch())
    running.cancel()
    assert done.stored == 302
    assert recorded[0] == (2, ["bp.hypertensive_crisis"])  # before any glucose was analysed
    assert ticks - before >= 300 // BULK_STEP  # the loop ran between the slices
    stored = await gw.stores.outbox.pending(utcnow() + timedelta(hours=1))
    assert all(e.event == "opened" for e in stored)


async def test_lanes_raise_the_same_alerts_as_one_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same batch through a gateway with and without lanes: the same alerts."""
    found = []
    for k, lanes in enumerate((True, False)):
        g = Gateway(Settings(mode="test", data_dir=tmp_path / str(k), auto_register=True))
        if not lanes:  # every reading in the bulk lane
            monkeypatch.setattr(g.pipeline.engine, "lanes", lambda rs: ([], list(rs)))
        await g.start(mqtt=False)
        try:
            await g.pipeline.handle(mixed_batch())
            found.append(sorted((a.patient_id, a.code) for a in await g.stores.alerts.active()))
        finally:
            await g.stop()
    assert found[0] == found[1]
    assert ("cuff-x", "bp.hypertensive_crisis") in found[0]
