"""DetectionEngine: routing, settings, late/stale skipping, observers, retargeting, ticks."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from alerts.detectors import DETECTORS
from alerts.engine import DetectionEngine
from alerts.lifecycle import AlertBook
from alerts.model import Action, EventType
from alerts.targets import DEFAULT_TARGETS, Targets
from devices.model import PatientKey
from tests.alerts.detectors.readings import KEY, at, bp, glucose


def test_unknown_detector_is_rejected() -> None:
    with pytest.raises(ValueError, match="nope"):
        DetectionEngine(enabled=["bp", "nope"])


def test_only_enabled_detectors_run() -> None:
    e = DetectionEngine(enabled=["glucose"])
    assert e.process(bp(0, 200, 110)) == []
    assert [c.code for c in e.process(glucose(0, 3.5))] == ["glucose.low"]


@pytest.mark.parametrize("flag", ["late", "stale"])
def test_late_and_stale_readings_never_reach_detectors(flag: str) -> None:
    e = DetectionEngine()
    assert e.process(replace(bp(0, 200, 110), flags=frozenset({flag}))) == []
    assert e.process(replace(glucose(0, 2.0), flags=frozenset({flag}))) == []


def test_unbound_reading_is_ignored() -> None:
    assert DetectionEngine().process(replace(bp(0, 200, 110), patient_id=None)) == []


def test_per_patient_targets_and_retarget_keeps_episodes() -> None:
    targets: dict[PatientKey, Targets] = {}
    e = DetectionEngine(targets_for=lambda pid: targets.get(pid, DEFAULT_TARGETS))
    assert [c.code for c in e.process(glucose(0, 4.5))] == []
    targets[KEY] = DEFAULT_TARGETS.with_overrides({"glucose_low": 5.0})
    e.retarget(KEY)
    assert [c.code for c in e.process(glucose(10, 4.5))] == ["glucose.low"]
    cleared = e.process(glucose(20, 5.5))
    assert [(c.code, c.action) for c in cleared] == [("glucose.low", Action.CLEAR)]


def test_tick_escalation_reaches_lifecycle_and_cv_once() -> None:
    e = DetectionEngine()
    book = AlertBook("t")
    events = []
    for c in e.process(bp(0, 200, 188, 120)):  # implausible pulse pressure: repeat asked
        events.append(book.apply(c, at(0)))
    assert [ev.alert.code for ev in events if ev] == ["bp.repeat_measurement"]
    assert e.tick(at(10)) == []
    ticked = e.tick(at(15))
    evs = [book.apply(c, at(15)) for c in ticked]
    opened = sorted(ev.alert.code for ev in evs if ev and ev.event is EventType.OPENED)
    assert opened == ["bp.hypertensive_crisis", "cv.crisis_with_arrhythmia"]
    assert e.tick(at(15) + timedelta(minutes=5)) == []


def test_one_alert_per_episode_through_lifecycle() -> None:
    e = DetectionEngine()
    book = AlertBook("t")
    kinds = []
    for k, g in enumerate([3.6, 3.4, 3.5, 3.7, 4.2]):
        for c in e.process(glucose(15 * k, g)):
            ev = book.apply(c, at(15 * k))
            if ev:
                kinds.append((ev.event, ev.alert.code))
    assert kinds == [
        (EventType.OPENED, "glucose.low"),
        (EventType.UPDATED, "glucose.low"),
        (EventType.UPDATED, "glucose.low"),
        (EventType.UPDATED, "glucose.low"),
        (EventType.RESOLVED, "glucose.low"),
    ]


def test_registry_names_match_factories() -> None:
    assert {"bp", "bp_uncontrolled", "glucose", "glucose_forecast", "ecg", "cv"} <= set(DETECTORS)
