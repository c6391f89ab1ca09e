"""The urgent lane: a crisis reading's alert is stored and handed to the sender before the rest
of its batch is analysed, the bulk of the batch yields to the event loop, and lanes never change
which alerts are raised (a patient's readings stay in order, in one lane)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from alerts.targets import DEFAULT_TARGETS
from devices.kinds import Kind
from devices.model import Reading, utcnow
from gateway.flow import lanes, pipeline
from gateway.flow.intake import Inbound
from gateway.flow.lanes import is_urgent, split_lanes
from gateway.flow.ports import BatchResult
from gateway.runtime.service import Gateway
from gateway.runtime.settings import Settings
from tests.support.wire import v1

NOW = utcnow() - timedelta(minutes=2)


def msg(device: str, kind: str, seq: int, data: dict[str, object], at: datetime) -> Inbound:
    ts = (at + timedelta(seconds=seq)).isoformat()
    return Inbound(f"hm/v1/t/{device}/{kind}", v1(device, kind, seq, data, ts), utcnow())


def batch() -> list[Inbound]:
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


def reading(kind: Kind, patient: str, seq: int, **values: float) -> Reading:
    return Reading("t", f"d-{patient}", kind, seq, NOW, NOW, patient, values)


def test_urgency_and_lanes_keep_each_patients_readings_together() -> None:
    assert is_urgent(reading(Kind.BP, "a", 1, systolic=185.0, diastolic=100.0))
    assert not is_urgent(reading(Kind.BP, "a", 1, systolic=150.0, diastolic=95.0))
    assert is_urgent(reading(Kind.GLUCOSE, "a", 1, glucose=2.6))
    assert is_urgent(reading(Kind.SPO2, "a", 1, spo2=85.0))
    assert is_urgent(reading(Kind.HR, "a", 1, hr=35.0))
    assert not is_urgent(reading(Kind.HR, "a", 1, hr=110.0))
    low = DEFAULT_TARGETS.with_overrides({"crisis_systolic": 170.0})
    assert is_urgent(reading(Kind.BP, "a", 1, systolic=175.0, diastolic=90.0), low)
    rs = [
        reading(Kind.GLUCOSE, "b", 1, glucose=6.0),
        reading(Kind.HR, "a", 2, hr=70.0),
        reading(Kind.BP, "a", 3, systolic=200.0, diastolic=125.0),
        reading(Kind.GLUCOSE, "b", 4, glucose=6.1),
    ]
    lane, bulk = split_lanes(rs, is_urgent)
    assert [r.seq for r in lane] == [2, 3]
    assert [r.seq for r in bulk] == [1, 4]
    assert split_lanes(rs[:2], is_urgent) == ([], rs[:2])


async def test_the_crisis_is_recorded_first_and_the_bulk_yields(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "SLICE_S", 0.0)  # yield after every step of the bulk lane
    assert lanes.SLICE_S > 0
    recorded: list[list[str]] = []
    real = gw.pipeline.record
    ticks = 0

    async def spy(result, client, progress=None):  # type: ignore[no-untyped-def]
        recorded.append([e.alert.code for e in result.events])
        return await real(result, client, progress)

    async def probe() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    monkeypatch.setattr(gw.pipeline, "record", spy)
    running = asyncio.create_task(probe())
    await asyncio.sleep(0)
    before = ticks
    done: BatchResult = await gw.pipeline.handle(batch())
    running.cancel()
    assert done.stored == 302
    assert recorded[0] == ["bp.hypertensive_crisis"]  # before any glucose was analysed
    assert ticks - before >= 300 // pipeline.BULK_STEP  # the loop ran between the slices
    stored = await gw.stores.outbox.pending(utcnow() + timedelta(hours=1))
    assert all(e.event == "opened" for e in stored)


async def test_lanes_raise_the_same_alerts_as_one_pass(tmp_path: Path) -> None:
    """The same batch through a gateway with and without lanes: the same alerts."""
    found = []
    for k, urgent in enumerate((is_urgent, lambda _r: False)):
        g = Gateway(Settings(mode="test", data_dir=tmp_path / str(k), auto_register=True))
        g.pipeline.urgent = urgent
        await g.start(mqtt=False)
        try:
            await g.pipeline.handle(batch())
            found.append(sorted((a.patient_id, a.code) for a in await g.stores.alerts.active()))
        finally:
            await g.stop()
    assert found[0] == found[1]
    assert ("cuff-x", "bp.hypertensive_crisis") in found[0]
