"""The ECG alert detector: readings of kind ECG in, rhythm and signal-quality candidates out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from alerts.detectors.base import PatientContext
from alerts.detectors.ecg import EcgDetector
from alerts.model import Action
from devices.kinds import Kind
from devices.model import EcgChunk, Reading
from tests.alerts.ecg.ecg_synth import synth_ecg

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def feed(x: np.ndarray, fs: float = 250.0, det: EcgDetector | None = None) -> list:  # type: ignore[type-arg]
    det = det or EcgDetector(PatientContext("p1"))
    t0 = T0
    out = []
    step = int(fs)
    for i, lo in enumerate(range(0, x.size, step)):
        adc = np.round(x[lo : lo + step] * 200).astype(np.int32)
        chunk = EcgChunk(fs, "II", 200.0, 0, adc)
        ts = t0 + timedelta(seconds=lo / fs)
        out += det.update(Reading("t", "patch-1", Kind.ECG, i, ts, ts, "p1", ecg=chunk))
    return out


def test_asystole_raises_with_evidence_and_stays_latched() -> None:
    det = EcgDetector(PatientContext("p1"))
    cands = feed(synth_ecg(250.0, [0.8] * 15 + [6.0] + [0.8] * 15), det=det)
    asystole = [c for c in cands if c.code == "ecg.asystole"]
    assert asystole
    assert all(c.action is Action.RAISE for c in asystole)  # the rhythm resumed: still open
    final = asystole[-1]
    assert final.evidence["strip"]["device_id"] == "patch-1"
    assert final.evidence["episode"]["start"].startswith("2026-01-01T00:00:1")
    assert final.evidence["episode"]["end"] is not None
    assert 5.0 < final.params["seconds"] < 7.0  # the 6 s gap, not the time of the report
    assert det.tick(T0 + timedelta(minutes=30)) == []
    cleared = det.tick(T0 + timedelta(hours=2))
    # A 6 s gap is both a pause and an asystole; both latched alerts resolve after quiet hours.
    assert sorted((c.code, c.action) for c in cleared) == [
        ("ecg.asystole", Action.CLEAR),
        ("ecg.pause", Action.CLEAR),
    ]


def test_af_needs_thirty_seconds() -> None:
    rng = np.random.default_rng(5)
    short = feed(synth_ecg(250.0, [0.8] * 30 + list(rng.uniform(0.45, 1.1, 15)) + [0.8] * 60))
    assert "ecg.af" not in [c.code for c in short]
    long = feed(synth_ecg(250.0, [0.8] * 30 + list(rng.uniform(0.45, 1.1, 150))))
    assert "ecg.af" in [c.code for c in long if c.action is Action.RAISE]


def test_persistent_noise_is_a_technical_alert() -> None:
    rng = np.random.default_rng(2)
    x = synth_ecg(250.0, [0.8] * 80)
    x[2500:15000] += 0.8 * rng.standard_normal(12500)
    codes = [c.code for c in feed(x)]
    assert "device.signal_quality" in codes
    assert not {"ecg.af", "ecg.tachycardia", "ecg.pause"} & set(codes)
