"""The demo cohort: size, determinism, decodability and the guaranteed early alerts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from devices.codecs import decode_payload
from devices.kinds import Kind
from simulator.cohort import Cohort

START = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def _two_minutes(seed: int = 1) -> list[tuple[str, bytes]]:
    return Cohort(20, seed=seed, start=START).due(START + timedelta(seconds=120))


def test_same_seed_same_bytes() -> None:
    assert _two_minutes(3) == _two_minutes(3)
    assert _two_minutes(3) != _two_minutes(4)


def test_due_is_incremental_and_call_pattern_independent() -> None:
    c = Cohort(20, seed=3, start=START)
    parts: list[tuple[str, bytes]] = []
    for s in range(0, 121, 7):
        parts += c.due(START + timedelta(seconds=s))
    parts += c.due(START + timedelta(seconds=120))
    assert parts == _two_minutes(3)


def test_cohort_devices_and_kinds() -> None:
    c = Cohort(20, start=START)
    devices = c.devices()
    assert len({d.patient_id for d in devices if not d.kiosk}) >= 20
    assert {"bp", "glucose", "ecg", "hr", "spo2"} <= {d.kind for d in devices}
    assert any(d.kiosk for d in devices)


def test_everything_decodes_and_guarantees_hold() -> None:
    msgs = _two_minutes()
    crisis = hypo = 0
    units = set()
    ecg_chunks = 0
    for topic, payload in msgs:
        for r in decode_payload(topic, payload, START):
            assert r.ts <= START + timedelta(seconds=120)
            if r.kind is Kind.BP and r.values["systolic"] > 180 and r.values["diastolic"] > 120:
                crisis += 1
            if r.kind is Kind.GLUCOSE:
                units.add(json.loads(payload)["data"]["unit"])
                hypo += r.values["glucose"] < 3.0
            if r.kind is Kind.ECG:
                assert r.ecg is not None
                assert r.ecg.samples.size == 250
                ecg_chunks += 1
    assert crisis >= 2
    assert hypo >= 2
    assert units >= {"mg/dL", "mmol/L"}
    assert ecg_chunks >= 3 * 119
