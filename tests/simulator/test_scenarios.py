"""The shipped scenario library: every alert code covered, intended codes in the truth,
deterministic, decodable."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from devices.codecs import decode_payload
from devices.errors import DecodeError
from simulator.render import render, render_jsonl
from simulator.scenario import ScenarioError, library, load, parse

CODES = {
    "bp.hypertensive_crisis", "bp.hypotension", "bp.uncontrolled", "glucose.urgent_low",
    "glucose.low", "glucose.high", "glucose.predicted_low", "ecg.bradycardia", "ecg.tachycardia",
    "ecg.pause", "ecg.asystole", "ecg.af", "device.signal_quality", "device.stale",
    "device.battery_low", "cv.crisis_with_arrhythmia", "cv.hypoglycaemia_with_tachycardia",
}  # fmt: skip
NOW = datetime(2026, 11, 22, tzinfo=UTC)
FAST = [p for p in library() if p.stem != "issue_example"]


def test_library_has_a_scenario_per_code() -> None:
    covered = {c for p in library() for c in load(p).intended}
    assert covered >= CODES


@pytest.mark.parametrize("path", FAST, ids=lambda p: p.stem)
def test_scenario_truth_and_wire(path: Path) -> None:
    r = render(load(path), seed=5)
    truth_codes = {c for e in r.episodes for c in e.codes}
    assert set(r.scenario.intended) <= truth_codes
    assert r.messages, "a scenario must publish something"
    assert [m.at for m in r.messages] == sorted(m.at for m in r.messages)
    if not r.scenario.faults:
        for m in r.messages:
            decode_payload(m.topic, m.payload, NOW)


def test_truth_matches_the_generated_values() -> None:
    """The crisis and hypo episodes are really in the data, not just in the truth."""
    lib = {p.stem: p for p in library()}
    r = render(load(lib["bp_hypertensive_crisis"]), seed=2)
    (ep,) = r.episodes
    readings = [x for m in r.messages for x in decode_payload(m.topic, m.payload, NOW)]
    inside = [x for x in readings if ep.start <= x.ts < ep.end]
    assert inside
    assert all(x.values["systolic"] > 180 for x in inside)
    assert all(x.values["systolic"] < 180 for x in readings if x not in inside)
    r = render(load(lib["glucose_urgent_low"]), seed=2)
    (ep,) = r.episodes
    readings = [x for m in r.messages for x in decode_payload(m.topic, m.payload, NOW)]
    assert min(x.values["glucose"] for x in readings if ep.start <= x.ts <= ep.end) < 3.0


def test_same_seed_same_output() -> None:
    path = next(p for p in library() if p.stem == "cv_crisis_with_arrhythmia")
    assert render_jsonl(path, 3) == render_jsonl(path, 3)
    assert render_jsonl(path, 3) != render_jsonl(path, 4)


def test_bad_scenarios_are_reported() -> None:
    with pytest.raises(ScenarioError, match="unknown patient"):
        parse({"patients": [{"id": "a"}], "events": [{"patient": "b", "type": "af", "at": 0}]})
    with pytest.raises(ScenarioError, match="unknown device kind"):
        parse({"patients": [{"id": "a", "devices": [{"id": "x", "kind": "toaster"}]}]})
    with pytest.raises(ScenarioError, match="unknown event"):
        render(parse({"patients": [{"id": "a"}], "events": [{"patient": "a", "type": "x",
                                                              "at": "00:01"}]}))  # fmt: skip


def test_dry_run_cli_writes_replay_and_truth(tmp_path: Path) -> None:
    import json

    from simulator.cli import main

    path = next(p for p in library() if p.stem == "glucose_low")
    out, truth = tmp_path / "out.jsonl", tmp_path / "truth.json"
    rc = main(["scenario", str(path), "--dry-run", "--record-to", str(out),
               "--truth-to", str(truth)])  # fmt: skip
    assert rc == 0
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert lines == render_jsonl(path, 1)
    assert json.loads(truth.read_text())["intended"] == ["glucose.low"]


def test_decode_errors_only_where_faults_say() -> None:
    path = next(p for p in library() if p.stem == "faults_mixed")
    r = render(load(path), seed=1)
    bad = 0
    for m in r.messages:
        try:
            decode_payload(m.topic, m.payload, NOW)
        except DecodeError:
            bad += 1
    claimed = [f for f in r.faults if f.type in ("malformed", "spoofed")]
    mismatched = [f for f in claimed if f.detail == "mismatch"]
    malformed = [f for f in claimed if f.type == "malformed"]
    # A malformed message may also be the one a spoof copied: both claims, one failure.
    assert len(malformed) <= bad <= len(malformed) + len(mismatched)
