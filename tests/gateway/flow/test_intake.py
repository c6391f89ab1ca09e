"""The pipeline's synchronous stages: decode -> resolve -> flag, then detection into the desk."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from alerts.desk import AlertDesk
from alerts.engine import DetectionEngine
from alerts.model import EventType
from devices.kinds import Kind
from devices.registry import Binding, Device, DeviceRegistry
from devices.timeparse import format_ts
from gateway.flow.intake import Inbound, Intake, open_emergencies
from gateway.flow.pipeline import Pipeline
from tests.support.clock import VirtualClock
from tests.support.wire import v1

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def registry() -> DeviceRegistry:
    return DeviceRegistry(
        [
            Device("cuff-1", "t1", "bp", bindings=(Binding("p-1", T0 - DAY),)),
            Device("patch-1", "t1", "ecg", bindings=(Binding("p-2", T0 - DAY),)),
            Device("kiosk-1", "t1", "kiosk", kiosk=True),
        ]
    )


def proc(**kw: Any) -> Pipeline:
    """A pipeline without storage: its decode and detect stages, on a clock the test moves."""
    return Pipeline(
        Intake(registry(), **kw), DetectionEngine(), AlertDesk(), clock=VirtualClock(T0)
    )


def detect(p: Pipeline, readings: Any, at: datetime) -> list[Any]:
    assert isinstance(p.clock, VirtualClock)
    p.clock.advance_to(at)
    return list(p.detect(readings).events)


def tick(p: Pipeline, at: datetime) -> list[Any]:
    return list(p.advance(at).events)


def msg(topic: str, payload: bytes, rx: datetime = T0) -> Inbound:
    return Inbound(topic, payload, rx, 1, 1)


def kiosk(device: str = "kiosk-1", seq: int = 1) -> bytes:
    return json.dumps(
        {
            "schema": "hm.kiosk/1",
            "device_id": device,
            "seq": seq,
            "ts": format_ts(T0),
            "patient_id": "p-9",
            "measurements": {
                "bp": {"systolic": 150, "diastolic": 90, "unit": "mmHg"},
                "glucose": {"value": 6.1, "unit": "mmol/L"},
                "pulse": {"value": 70},
            },
        }
    ).encode()


def test_kiosk_batches_only_from_registered_kiosks() -> None:
    p = proc()
    out = p.decode([msg("hm/v1/t1/kiosk-1/kiosk", kiosk())])
    assert [(r.kind, r.patient_id, r.seq) for r in out.readings] == [
        (Kind.BP, "p-9", 8),
        (Kind.GLUCOSE, "p-9", 9),
        (Kind.HR, "p-9", 10),
    ]
    out = p.decode([msg("hm/v1/t1/cuff-1/kiosk", kiosk("cuff-1"))])
    assert [d.reason.value for d in out.rejected] == ["not_kiosk"]
    out = p.decode([msg("hm/v1/t1/ghost/kiosk", kiosk("ghost"))])
    assert [d.reason.value for d in out.rejected] == ["unknown_device"]


def test_kiosk_reading_naming_another_tenants_patient_is_refused() -> None:
    p = proc()
    p.intake.registry.admit("p-9", "t2")  # p-9 is an elder of tenant t2
    out = p.decode([msg("hm/v1/t1/kiosk-1/kiosk", kiosk())])
    assert out.readings == []
    assert [d.reason.value for d in out.rejected] == ["other_tenant"]
    assert "another tenant" in out.rejected[0].detail
    # Once t1 has a "p-9" of its own, its kiosk's reading goes to that elder.
    p.intake.registry.admit("p-9", "t1")
    own = p.decode([msg("hm/v1/t1/kiosk-1/kiosk", kiosk())])
    assert own.rejected == []
    assert {(r.tenant, r.patient_id) for r in own.readings} == {("t1", "p-9")}


def test_patient_id_from_a_personal_device_is_refused() -> None:
    doc = json.loads(v1("cuff-1", "bp", 1, {"systolic": 120, "diastolic": 80}, T0))
    doc["patient_id"] = "p-other"
    out = proc().decode([msg("hm/v1/t1/cuff-1/bp", json.dumps(doc).encode())])
    assert [d.reason.value for d in out.rejected] == ["not_kiosk"]


def test_rebinding_from_a_time_splits_readings_between_patients() -> None:
    p = proc()
    p.intake.registry.bind("cuff-1", "p-new", T0)
    data = {"systolic": 120, "diastolic": 80}
    out = p.decode(
        [
            msg("hm/v1/t1/cuff-1/bp", v1("cuff-1", "bp", i, data, T0 + timedelta(minutes=m)))
            for i, m in ((1, -5), (2, 5))
        ]
    )
    assert [r.patient_id for r in out.readings] == ["p-1", "p-new"]
    p.intake.registry.retire("cuff-1", T0 + timedelta(minutes=10))
    out = p.decode(
        [
            msg(
                "hm/v1/t1/cuff-1/bp",
                v1("cuff-1", "bp", 3, data, T0 + timedelta(minutes=11)),
                T0 + timedelta(minutes=11),
            )
        ]
    )
    assert [d.reason.value for d in out.rejected] == ["retired_device"]


@pytest.mark.parametrize(("policy", "expect"), [("reject", "timestamp"), ("flag", "clock_skew")])
def test_future_timestamps_rejected_or_flagged(policy: str, expect: str) -> None:
    p = proc(future_skew=timedelta(minutes=5), future_policy=policy)
    future = v1("cuff-1", "bp", 1, {"systolic": 120, "diastolic": 80}, T0 + timedelta(minutes=6))
    out = p.decode([msg("hm/v1/t1/cuff-1/bp", future)])
    if policy == "reject":
        assert [d.reason.value for d in out.rejected] == [expect]
    else:
        assert expect in out.readings[0].flags


def test_late_readings_are_stored_but_never_alerted() -> None:
    p = proc(late_after=timedelta(minutes=10))
    crisis = v1("cuff-1", "bp", 1, {"systolic": 230, "diastolic": 130}, T0 - timedelta(hours=1))
    out = p.decode([msg("hm/v1/t1/cuff-1/bp", crisis)])
    assert "late" in out.readings[0].flags
    assert detect(p, out.readings, T0) == []


def ecg(seq: int, ts: datetime, n: int = 250) -> bytes:
    data = {"fs": 250, "gain": 200, "lead": "II", "samples": np.zeros(n, dtype=int).tolist()}
    return v1("patch-1", "ecg", seq, data, ts)


def test_ecg_continuity_gaps_and_overlaps_per_device() -> None:
    p = proc()
    second = timedelta(seconds=1)
    msgs = [
        ecg(1, T0),
        ecg(2, T0 + second),  # continues exactly
        ecg(3, T0 + 3 * second),  # 1 s gap
        ecg(4, T0 + 3.5 * second),  # 0.5 s overlap
        ecg(4, T0 + 3.5 * second),  # redelivery: not part of the stream
        ecg(5, T0 + 4.6 * second),  # 0.1 s late: within tolerance, continues
    ]
    out = p.decode([msg("hm/v1/t1/patch-1/ecg", m, T0 + 5 * second) for m in msgs])
    assert [sorted(r.flags) for r in out.readings] == [
        [],
        [],
        ["ecg_gap"],
        ["ecg_overlap"],
        ["ecg_reordered"],
        [],
    ]
    assert out.readings[2].attrs["ecg_gap_ms"] == pytest.approx(1000.0)
    assert out.readings[3].attrs["ecg_overlap_ms"] == pytest.approx(500.0)


def test_status_messages_raise_battery_and_signal_alerts() -> None:
    p = proc()

    def status(seq: int, data: dict[str, Any]) -> list[EventType]:
        rx = T0 + timedelta(minutes=seq)
        out = p.decode([msg("hm/v1/t1/patch-1/status", v1("patch-1", "status", seq, data, rx), rx)])
        return [e.event for e in detect(p, out.readings, rx) if e.alert.technical]

    assert status(1, {"battery": 0.10, "lead_off": True}) == [EventType.OPENED, EventType.OPENED]
    assert status(2, {"battery": 0.20, "lead_off": False}) == [EventType.RESOLVED]
    assert status(3, {"battery": 0.30}) == [EventType.RESOLVED]


def test_stale_device_on_the_server_clock() -> None:
    p = proc()
    data = {"systolic": 120, "diastolic": 80}
    for i in range(3):  # a device that normally reports: three readings
        rx = T0 + timedelta(hours=i)
        out = p.decode([msg("hm/v1/t1/cuff-1/bp", v1("cuff-1", "bp", i, data, rx), rx)])
        detect(p, out.readings, rx)
    last = T0 + timedelta(hours=2)
    assert tick(p, last + timedelta(hours=36)) == []  # within 1.5 x the 36 h BP interval
    events = tick(p, last + timedelta(hours=55))
    assert [(e.event, e.alert.code, e.alert.patient_id) for e in events] == [
        (EventType.OPENED, "device.stale", "p-1")
    ]
    assert tick(p, last + timedelta(hours=60)) == []  # one episode
    rx = last + timedelta(hours=61)
    out = p.decode([msg("hm/v1/t1/cuff-1/bp", v1("cuff-1", "bp", 9, data, rx), rx)])
    assert [(e.event, e.alert.code) for e in detect(p, out.readings, rx)] == [
        (EventType.RESOLVED, "device.stale")
    ]


def watch_registry() -> DeviceRegistry:
    reg = registry()
    reg.put(Device("watch-1", "t1", "event", bindings=(Binding("p-1", T0 - DAY),)))
    reg.put(
        Device(
            "watch-old",
            "t1",
            "event",
            retired_at=T0 - DAY / 2,
            bindings=(Binding("p-1", T0 - DAY),),
        )
    )
    return reg


def event_msg(device: str, seq: int, data: dict[str, Any], after_s: float = 0) -> Inbound:
    ts = T0 + timedelta(seconds=after_s)
    return msg(f"hm/v1/t1/{device}/event", v1(device, "event", seq, data, ts), ts)


def emergency_pipeline(desk: AlertDesk | None = None) -> Pipeline:
    desk = desk or AlertDesk()
    intake = Intake(watch_registry(), event_lookup=open_emergencies(desk.active))
    return Pipeline(intake, DetectionEngine(), desk, clock=VirtualClock(T0))


def test_sos_opens_an_emergency_alert_and_bad_events_are_dead_lettered() -> None:
    p = emergency_pipeline()
    out = p.decode(
        [
            event_msg("watch-1", 1, {"type": "sos", "location": {"room": "kitchen"}}),
            event_msg("watch-1", 2, {"type": "earthquake"}),
            event_msg("watch-1", 3, {"type": "cancel", "ref_seq": 2}),  # not an sos or fall
            event_msg("watch-old", 4, {"type": "sos"}),
        ]
    )
    assert [(r.kind, r.attrs["type"]) for r in out.readings] == [(Kind.EVENT, "sos")]
    assert [d.reason.value for d in out.rejected] == ["schema", "unknown_ref", "retired_device"]
    [opened] = detect(p, out.readings, T0)
    assert opened.event is EventType.OPENED
    assert opened.alert.code == "emergency.sos"
    assert "kitchen" in opened.alert.message["en"]


def test_cancelled_fall_is_resolved_even_after_a_restart() -> None:
    p = emergency_pipeline()
    fall = p.decode([event_msg("watch-1", 1, {"type": "fall", "confidence": 0.9})])
    [opened] = detect(p, fall.readings, T0)
    # A new intake (empty event ledger) with the open alerts restored into a new desk.
    desk = AlertDesk()
    desk.load(p.desk.active())
    again = emergency_pipeline(desk)
    cancel = again.decode([event_msg("watch-1", 2, {"type": "cancel", "ref_seq": 1}, 40)])
    assert cancel.rejected == []
    events = detect(again, cancel.readings, T0 + timedelta(seconds=40))
    [resolved] = [e for e in events if e.event is EventType.RESOLVED]
    assert resolved.alert.alert_id == opened.alert.alert_id
    assert resolved.detail == {"outcome": "cancelled"}
