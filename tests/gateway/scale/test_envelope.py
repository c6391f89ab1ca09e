"""Routed readings survive the trip from router to worker unchanged, ECG samples included."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from devices.kinds import Kind
from devices.model import EcgChunk, Reading
from gateway.scale.envelope import EnvelopeError, msg_id, pack, unpack

T = datetime(2026, 11, 29, 8, 0, 0, 123000, tzinfo=UTC)


def test_ecg_round_trip() -> None:
    samples = np.array([0, 12, -40, 32767, -32768, 100000], dtype=np.int32)
    r = Reading("t", "patch-1", Kind.ECG, 3, T, T, "p-9", {}, {"lead_off": False},
                EcgChunk(250.0, "II", 200.0, 5, samples), frozenset({"late"}))  # fmt: skip
    back = unpack(pack(r))
    assert back.ecg is not None
    assert np.array_equal(back.ecg.samples, samples)
    assert (back.ecg.fs, back.ecg.lead, back.ecg.gain, back.ecg.baseline) == (250.0, "II", 200.0, 5)
    assert (back.patient_id, back.flags, back.attrs, back.ts) == (
        "p-9",
        frozenset({"late"}),
        r.attrs,
        T,
    )


def test_vital_round_trip_and_id() -> None:
    r = Reading("t", "g-1", Kind.GLUCOSE, 11, T, T, None, {"glucose": 2.8}, {"source": "cgm"})
    assert unpack(pack(r)) == r
    assert msg_id(r) == "t/g-1/11"


@pytest.mark.parametrize("data", [b"{}", b"not json", b'{"schema": "hmg.routed/1", "kind": "bp"}'])
def test_damaged_is_a_clear_error(data: bytes) -> None:
    with pytest.raises(EnvelopeError):
        unpack(data)
