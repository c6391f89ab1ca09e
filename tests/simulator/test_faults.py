"""Each wire fault does what its record claims, and nothing else."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from devices.codecs import decode_payload
from devices.errors import DecodeError
from devices.kinds import Kind
from devices.timeparse import parse_ts
from simulator.faults import apply
from simulator.scenario import FaultDef
from simulator.wire import DeviceWire, Message

T0 = datetime(2026, 11, 22, tzinfo=UTC)


def _stream(n: int = 60) -> list[Message]:
    a, b = DeviceWire("t", "hr-1"), DeviceWire("t", "hr-2")
    out = []
    for i in range(n):
        out.append(a.scalar(Kind.HR, T0 + timedelta(minutes=i), 70 + i % 5))
        out.append(b.scalar(Kind.HR, T0 + timedelta(minutes=i, seconds=30), 80))
    return out


def _seqs(msgs: list[Message], device: str) -> list[int]:
    return [json.loads(m.payload)["seq"] for m in msgs if f"/{device}/" in m.topic]


def test_dropout_removes_exactly_the_recorded() -> None:
    msgs, recs, _ = apply(_stream(), (FaultDef("dropout", {"device": "hr-1", "probability": 0.3}),),
                          T0, 1)  # fmt: skip
    dropped = {r.seq for r in recs}
    assert dropped
    assert set(_seqs(msgs, "hr-1")) == set(range(1, 61)) - dropped
    assert _seqs(msgs, "hr-2") == list(range(1, 61))


def test_duplicate_and_reorder() -> None:
    msgs, recs, _ = apply(_stream(), (FaultDef("duplicate", {"probability": 0.2}),), T0, 2)
    assert len(msgs) == 120 + len(recs) > 120
    msgs, recs, _ = apply(_stream(), (FaultDef("reorder", {"device": "hr-1", "probability": 0.2,
                                                           "delay": 300}),), T0, 2)  # fmt: skip
    seqs = _seqs(msgs, "hr-1")
    assert recs
    assert seqs != sorted(seqs)
    assert sorted(seqs) == list(range(1, 61))


def test_clock_skew_shifts_ts_only() -> None:
    f = FaultDef("clock_skew", {"device": "hr-2", "seconds": 900, "from": "00:30"})
    msgs, recs, _ = apply(_stream(), (f,), T0, 3)
    assert len(recs) == 30
    for m in msgs:
        ts = parse_ts(json.loads(m.payload)["ts"])
        skewed = "/hr-2/" in m.topic and m.at >= T0 + timedelta(minutes=30)
        assert (ts - m.at == timedelta(seconds=900)) if skewed else ts == m.at


def test_late_batch_is_one_array_at_the_end() -> None:
    f = FaultDef("late_batch", {"device": "hr-1", "from": "00:10", "to": "00:20"})
    msgs, recs, _ = apply(_stream(), (f,), T0, 4)
    batches = [m for m in msgs if m.payload.startswith(b"[")]
    assert len(batches) == 1
    assert batches[0].at == T0 + timedelta(minutes=20)
    readings = decode_payload(batches[0].topic, batches[0].payload, T0)
    assert [r.seq for r in readings] == [r.seq for r in recs] == list(range(11, 21))


def test_malformed_and_spoofed_fail_decode() -> None:
    msgs, recs, _ = apply(_stream(), (FaultDef("malformed", {"probability": 0.25}),), T0, 5)
    bad = []
    for m in msgs:
        try:
            decode_payload(m.topic, m.payload, T0)
        except DecodeError:
            bad.append(m)
    assert len(bad) == len(recs) > 0
    assert len({r.detail for r in recs}) >= 4
    msgs, recs, _ = apply(_stream(), (FaultDef("spoofed", {"probability": 0.2}),), T0, 6)
    assert len(msgs) == 120 + len(recs)
    assert {r.detail for r in recs} == {"mismatch", "rogue"}
    assert sum("/rogue-" in m.topic for m in msgs) == sum(r.detail == "rogue" for r in recs)


def test_broker_disconnect_is_a_control() -> None:
    f = FaultDef("broker_disconnect", {"at": "00:05", "for": 2})
    msgs, _recs, controls = apply(_stream(), (f,), T0, 7)
    assert len(msgs) == 120
    assert controls[0].at == T0 + timedelta(minutes=5)
