"""Multi-signal cardiovascular alerts through the engine (candidates fan out to observers)."""

from __future__ import annotations

from datetime import timedelta

from alerts.detectors import DETECTORS
from alerts.detectors.base import DetectorSettings
from alerts.engine import DetectionEngine
from alerts.model import Action, AlertCandidate, Priority
from tests.alerts.detectors.readings import KEY, PID, at, bp, glucose, hr

CRISIS_AF = "cv.crisis_with_arrhythmia"
HYPO_TACHY = "cv.hypoglycaemia_with_tachycardia"


def codes(cands: list[AlertCandidate], action: Action = Action.RAISE) -> list[str]:
    return sorted(c.code for c in cands if c.action is action)


def test_crisis_with_tachycardia_from_cuff_pulse() -> None:
    out = DetectionEngine().process(bp(0, 192, 112, 118))
    assert codes(out) == ["bp.hypertensive_crisis", CRISIS_AF]
    cv = next(c for c in out if c.code == CRISIS_AF)
    assert cv.evidence["rhythm"]["source"] == "bp_cuff_pulse"
    assert "tachycardia" in cv.params["rhythm"]


def test_crisis_with_tachycardia_from_hr_within_window_only() -> None:
    e = DetectionEngine()
    assert e.process(hr(0, 112)) == []
    assert CRISIS_AF in codes(e.process(bp(10, 186, 104)))
    late = DetectionEngine()
    late.process(hr(0, 112))
    assert codes(late.process(bp(50, 186, 104))) == ["bp.hypertensive_crisis"]


def test_crisis_with_af_from_ecg_candidates() -> None:
    """The ECG analyser's `ecg.af` reaches the cv detector as an observed candidate."""
    e = DetectionEngine()
    e.process(bp(0, 195, 110, 88))
    patient = e._patient(KEY.tenant, KEY.patient_id)
    af = AlertCandidate(PID, "ecg.af", at(5), params={"hr": 132})
    out = patient.fan_out([(patient.detectors[0], af)])
    combined = [c for c in out if c.code == CRISIS_AF]
    assert combined
    assert combined[0].params["rhythm"] == "atrial fibrillation"
    assert combined[0].priority is Priority.HIGH


def test_hypoglycaemia_with_tachycardia_and_resolution() -> None:
    e = DetectionEngine()
    assert codes(e.process(glucose(0, 3.3))) == ["glucose.low"]
    assert codes(e.process(hr(10, 96))) == []
    out = e.process(hr(12, 114))
    assert codes(out) == [HYPO_TACHY]
    assert e.process(hr(13, 112)) != []  # new heart-rate evidence updates the episode
    assert codes(e.process(glucose(20, 5.0)), Action.CLEAR) == [HYPO_TACHY, "glucose.low"]


def test_window_and_priority_are_configurable() -> None:
    settings = DetectorSettings(
        cv_window=timedelta(minutes=60), cv_priorities={HYPO_TACHY: Priority.MEDIUM}
    )
    e = DetectionEngine(settings=settings)
    e.process(glucose(0, 3.3))
    out = [c for c in e.process(hr(50, 120)) if c.code == HYPO_TACHY]
    assert out
    assert out[0].priority is Priority.MEDIUM


def test_cv_needs_its_inputs_enabled() -> None:
    e = DetectionEngine(enabled=["bp", "cv"], factories=DETECTORS)
    assert codes(e.process(glucose(0, 2.5))) == []  # glucose detector switched off
