"""Simulated ventricular ectopy and tachycardia: beat patterns, and what the scenarios raise."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gateway.replay import make_pipeline, register_devices, replay_events
from simulator.render import render
from simulator.rhythm import Beat, BeatTrain, Rhythm, RhythmPlan, Segment
from simulator.scenario import library, load

PVCS = (int(Beat.PVC), int(Beat.PVC2))


def train(seg: Segment, until: float = 300.0) -> BeatTrain:
    tr = BeatTrain.start(RhythmPlan(segments=(seg,)), np.random.default_rng(3))
    tr.extend(until, np.random.default_rng(4))
    return tr


@pytest.mark.parametrize(("pattern", "cycle"), [("bigeminy", 2), ("trigeminy", 3)])
def test_patterned_ectopy(pattern: str, cycle: int) -> None:
    tr = train(Segment(0.0, 300.0, Rhythm.SINUS, 70.0, 0.0, pattern))
    kinds = tr.kinds[10:-10]
    pvc = [i for i, k in enumerate(kinds) if k in PVCS]
    assert len(pvc) > 50
    assert set(np.diff(pvc).tolist()) == {cycle}
    rr = np.diff(tr.times)
    # Premature, then a compensatory pause.
    at = [i + 10 for i in pvc]
    assert np.all(rr[[i - 1 for i in at]] < 0.8 * 60 / 70)
    assert np.all(rr[at] > 1.2 * 60 / 70)


def test_multifocal_ectopy_has_two_morphologies() -> None:
    tr = train(Segment(0.0, 600.0, Rhythm.SINUS, 70.0, 8.0, "random", 2))
    assert tr.kinds.count(int(Beat.PVC)) > 10
    assert tr.kinds.count(int(Beat.PVC2)) > 10
    assert not any(a in PVCS and b in PVCS for a, b in zip(tr.kinds, tr.kinds[1:], strict=False))


def test_vt_segment_is_a_run_of_ventricular_beats() -> None:
    tr = train(Segment(60.0, 90.0, Rhythm.VT, 160.0), 120.0)
    times = np.asarray(tr.times)
    inside = [k for t, k in zip(times, tr.kinds, strict=True) if 61.5 < t < 89.5]
    assert set(inside) == {int(Beat.PVC)}
    assert 70 <= len(inside) <= 78
    assert not any(k in PVCS for t, k in zip(times, tr.kinds, strict=True) if t < 59 or t > 92)


def opened(stem: str) -> set[str]:
    path = next(p for p in library() if p.stem == stem)
    rendered = render(load(path), seed=1)
    proc = make_pipeline()
    register_devices(proc, rendered.truth_records())
    lines = (json.dumps(line) for line in rendered.jsonl())
    return {e.alert.code for e in replay_events(lines, proc) if e.event.value == "opened"}


def test_sustained_vt_scenario_is_vt_not_tachycardia() -> None:
    codes = opened("ecg_vt")
    assert "ecg.vt" in codes
    assert "ecg.tachycardia" not in codes


def test_nsvt_scenario_with_multifocal_and_bigeminy() -> None:
    codes = opened("ecg_nsvt")
    assert "ecg.nsvt" in codes
    assert not codes & {"ecg.vt", "ecg.tachycardia", "ecg.af"}
