"""Every shipped simulator scenario raises its intended alert codes through `hmg replay`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.replay import make_pipeline, register_devices, replay_events
from simulator.render import render
from simulator.scenario import library, load

SCENARIOS = sorted(library(), key=lambda p: p.stem)


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario_raises_its_intended_codes(path: Path) -> None:
    rendered = render(load(path), seed=1)
    truth = rendered.truth_records()
    proc = make_pipeline()
    register_devices(proc, truth)
    lines = (json.dumps(line) for line in rendered.jsonl())
    # an alert's code can change with its severity (a low that becomes an urgent low)
    raised = {"opened", "updated"}
    opened = {e.alert.code for e in replay_events(lines, proc) if e.event.value in raised}
    assert set(truth["intended"]) <= opened, f"missing {set(truth['intended']) - opened}"


def test_library_covers_every_design_code() -> None:
    intended = {c for p in SCENARIOS for c in load(p).intended}
    required = {
        "bp.hypertensive_crisis",
        "bp.hypotension",
        "bp.uncontrolled",
        "glucose.urgent_low",
        "glucose.low",
        "glucose.high",
        "glucose.predicted_low",
        "ecg.bradycardia",
        "ecg.tachycardia",
        "ecg.pause",
        "ecg.asystole",
        "ecg.af",
        "device.signal_quality",
        "device.stale",
        "device.battery_low",
        "cv.crisis_with_arrhythmia",
        "cv.hypoglycaemia_with_tachycardia",
        "emergency.sos",
        "emergency.fall",
        "emergency.inactivity",
    }
    assert required <= intended
