"""Reading builders shared by the detector tests (source times, canonical units)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np

from devices.kinds import Kind
from devices.model import EcgChunk, PatientKey, Reading

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
PID = "p-1"
KEY = PatientKey("t", PID)  # the tenant of every reading built here
_seq = iter(range(1, 10**9))


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def bp(minutes: float, s: float, d: float, pulse: float | None = None) -> Reading:
    values = {"systolic": float(s), "diastolic": float(d)}
    if pulse is not None:
        values["pulse"] = float(pulse)
    t = at(minutes)
    return Reading("t", "cuff-1", Kind.BP, next(_seq), t, t, PID, values)


def glucose(minutes: float, g: float, source: str = "fingerstick") -> Reading:
    t = at(minutes)
    return Reading(
        "t",
        f"{source}-1",
        Kind.GLUCOSE,
        next(_seq),
        t,
        t,
        PID,
        {"glucose": float(g)},
        {"source": source},
    )


def hr(minutes: float, v: float) -> Reading:
    t = at(minutes)
    return Reading("t", "band-1", Kind.HR, next(_seq), t, t, PID, {"hr": float(v)})


def scalar(kind: Kind, minutes: float, name: str, v: float) -> Reading:
    t = at(minutes)
    return Reading("t", f"{kind}-1", kind, next(_seq), t, t, PID, {name: float(v)})


def ecg_chunk(minutes: float, seconds: float = 10.0, fs: float = 250.0, bpm: float = 72) -> Reading:
    """Synthetic clean sinus rhythm: narrow Gaussian R waves on a flat baseline, 1 mV."""
    n = int(seconds * fs)
    t = np.arange(n) / fs + minutes * 60.0
    period = 60.0 / bpm
    phase = (t % period) - period / 2
    mv = np.exp(-(phase**2) / (2 * 0.012**2)) - 0.1 * np.exp(-((phase - 0.2) ** 2) / 0.002)
    samples = np.round(mv * 200).astype(np.int32)
    ts = at(minutes)
    chunk = EcgChunk(fs=fs, lead="II", gain=200.0, baseline=0, samples=samples)
    return Reading("t", "patch-1", Kind.ECG, next(_seq), ts, ts, PID, ecg=chunk)


def event(minutes: float, etype: str, *, device: str = "pendant-1", **attrs: str | int) -> Reading:
    t = at(minutes)
    return Reading("t", device, Kind.EVENT, next(_seq), t, t, PID, attrs={"type": etype, **attrs})


def normal_stream(kinds: frozenset[Kind], hours: float = 24.0) -> Iterator[Reading]:
    """Normal data for the given kinds, in time order: what no detector may alert on."""
    rng = np.random.default_rng(3)
    step = 5.0
    for k in range(int(hours * 60 / step)):
        m = k * step
        if Kind.GLUCOSE in kinds:
            yield glucose(m, 6.0 + 0.8 * np.sin(m / 90) + rng.normal(0, 0.1), "cgm")
            if k % 48 == 0:
                yield glucose(m + 1, 6.5, "fingerstick")
        if Kind.BP in kinds and k % 72 == 0:
            yield bp(m + 2, 124 + rng.normal(0, 5), 78 + rng.normal(0, 3), 70)
        if Kind.HR in kinds and k % 6 == 0:
            yield hr(m + 3, 70 + rng.normal(0, 4))
        if Kind.SPO2 in kinds and k % 72 == 0:
            yield scalar(Kind.SPO2, m + 3, "spo2", 97)
        if Kind.EVENT in kinds and k % 144 == 0:
            yield event(m + 4, "help_arrived", device="homeunit-1")
        if Kind.ECG in kinds and k % 24 == 0:
            for c in range(6):
                yield ecg_chunk(m + c * 10 / 60.0)
