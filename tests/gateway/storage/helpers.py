"""Readings for storage tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from devices.kinds import Kind
from devices.model import EcgChunk, PatientKey, Reading

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
P1 = PatientKey("t1", "p-1")
P2 = PatientKey("t1", "p-2")
FS = 250.0


def bp(seq: int, sys_: float = 120.0, *, minutes: float = 0.0, patient: str = "p-1") -> Reading:
    ts = T0 + timedelta(minutes=minutes)
    return Reading(
        tenant="t1",
        device_id="cuff-1",
        kind=Kind.BP,
        seq=seq,
        ts=ts,
        received_at=ts + timedelta(seconds=1),
        patient_id=patient,
        values={"systolic": sys_, "diastolic": 80.0, "pulse": 70.0},
        attrs={"firmware": "1.2"},
    )


def glucose(seq: int, value: float, *, minutes: float = 0.0) -> Reading:
    ts = T0 + timedelta(minutes=minutes)
    return Reading(
        tenant="t1",
        device_id="cgm-1",
        kind=Kind.GLUCOSE,
        seq=seq,
        ts=ts,
        received_at=ts,
        patient_id="p-1",
        values={"glucose": value},
        attrs={"source": "cgm"},
        flags=frozenset({"late"}),
    )


def ecg_signal(seconds: float, rate_bpm: float = 72.0) -> np.ndarray:
    """Synthetic ECG in ADC units (gain 200/mV, baseline 0): narrow spikes at `rate_bpm`."""
    t = np.arange(int(seconds * FS)) / FS
    period = 60.0 / rate_bpm
    mv = np.exp(-(((t % period) - period / 2) ** 2) / (2 * 0.01**2))
    return np.round(mv * 200).astype(np.int32)


def ecg_chunks(
    seconds: float, chunk_s: float = 1.0, *, start_seq: int = 1, device: str = "patch-1"
) -> list[Reading]:
    signal = ecg_signal(seconds)
    n = int(chunk_s * FS)
    out = []
    for i, k in enumerate(range(0, signal.size, n)):
        ts = T0 + timedelta(seconds=k / FS)
        out.append(
            Reading(
                tenant="t1",
                device_id=device,
                kind=Kind.ECG,
                seq=start_seq + i,
                ts=ts,
                received_at=ts,
                patient_id="p-1",
                ecg=EcgChunk(FS, "II", 200.0, 0, signal[k : k + n]),
            )
        )
    return out
