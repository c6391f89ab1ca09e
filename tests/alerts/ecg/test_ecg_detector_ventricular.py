"""Ventricular alerts of the ECG detector: VT, non-sustained VT, PVC burden, no rate alarm."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from alerts.codes import spec
from alerts.detectors.base import PatientContext
from alerts.detectors.ecg import EcgDetector
from alerts.ecg import EcgConfig
from alerts.model import Action, Priority
from simulator.artefacts import background
from simulator.ecg import Beat, beats_to_mv
from tests.alerts.ecg.test_ecg_detector import T0, feed

FS = 250.0


def strip(plan: list[tuple[float, Beat]]) -> np.ndarray:
    times = np.cumsum([0.5] + [rr for rr, _ in plan])
    kinds = np.array([int(Beat.NORMAL)] + [int(k) for _, k in plan], dtype=np.int8)
    t = np.arange(int((times[-1] + 1.0) * FS)) / FS
    return beats_to_mv(t, times, kinds) + background(t, np.random.default_rng(1), 0.2, FS)


def codes(cands: list) -> list[tuple[str, Action]]:  # type: ignore[type-arg]
    return [(c.code, c.action) for c in cands]


def test_sustained_vt_is_high_priority_and_not_tachycardia() -> None:
    plan = [(0.85, Beat.NORMAL)] * 40 + [(0.4, Beat.PVC)] * 100 + [(0.85, Beat.NORMAL)] * 30
    det = EcgDetector(PatientContext("p1"))
    cands = feed(strip(plan), FS, det)
    vt = [c for c in cands if c.code == "ecg.vt"]
    assert vt
    assert vt[0].action is Action.RAISE
    assert spec("ecg.vt").priority is Priority.HIGH
    assert 140 < vt[-1].params["hr"] < 160
    assert vt[-1].params["seconds"] >= 30
    assert vt[-1].evidence["strip"]["device_id"] == "patch-1"
    assert vt[-1].evidence["episode"]["end"] is not None  # updated with its bounds at the end
    assert "ecg.tachycardia" not in [c.code for c in cands]
    assert "ecg.nsvt" not in [c.code for c in cands]
    # Latched: resolves by itself only after a quiet hour.
    assert ("ecg.vt", Action.CLEAR) in codes(det.tick(T0 + timedelta(hours=2)))


def test_fast_vt_raises_before_thirty_seconds() -> None:
    plan = [(0.85, Beat.NORMAL)] * 40 + [(0.33, Beat.PVC)] * 40 + [(0.85, Beat.NORMAL)] * 20
    cands = feed(strip(plan), FS)
    vt = [c for c in cands if c.code == "ecg.vt"]
    assert vt
    assert vt[-1].params["hr"] >= 150
    assert 10 <= vt[-1].params["seconds"] < 30


def test_short_run_is_non_sustained_vt() -> None:
    plan = [(0.85, Beat.NORMAL)] * 40 + [(0.4, Beat.PVC)] * 6 + [(1.1, Beat.NORMAL)]
    plan += [(0.85, Beat.NORMAL)] * 40
    cands = feed(strip(plan), FS)
    nsvt = [c for c in cands if c.code == "ecg.nsvt"]
    assert [c.action for c in nsvt] == [Action.RAISE]
    assert spec("ecg.nsvt").priority is Priority.MEDIUM
    assert 5 <= nsvt[0].params["beats"] <= 7
    assert "ecg.vt" not in [c.code for c in cands]


def test_sinus_tachycardia_still_alarms() -> None:
    plan = [(0.85, Beat.NORMAL)] * 20 + [(0.45, Beat.NORMAL)] * 120
    cands = feed(strip(plan), FS)
    assert ("ecg.tachycardia", Action.RAISE) in codes(cands)
    assert not [c for c in cands if c.code.startswith(("ecg.vt", "ecg.nsvt"))]


def test_pvc_burden_suggests_review() -> None:
    bigeminy = [(0.6, Beat.PVC), (1.1, Beat.NORMAL)] * 150
    plan = [(0.85, Beat.NORMAL)] * 30 + bigeminy
    cfg = EcgConfig(pvc_burden_min_beats=200)
    det = EcgDetector(PatientContext("p1"), cfg)
    cands = feed(strip(plan), FS, det)
    burden = [c for c in cands if c.code == "ecg.pvc_burden"]
    assert [c.action for c in burden] == [Action.RAISE]
    assert spec("ecg.pvc_burden").priority is Priority.LOW
    assert burden[0].params["percent"] >= 10
    assert burden[0].evidence["strip"]["device_id"] == "patch-1"
    # Too few beats for the default limit of a day's judgement.
    assert "ecg.pvc_burden" not in [c.code for c in feed(strip(plan), FS)]
