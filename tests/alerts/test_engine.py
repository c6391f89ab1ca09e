"""DetectionEngine: routing, settings, late/stale skipping, observers, retargeting, ticks, the
urgent lane at each patient's targets, detection a reading at a time."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from itertools import islice

import pytest

from alerts.detectors import DETECTORS
from alerts.engine import DetectionEngine
from alerts.lifecycle import AlertBook
from alerts.model import Action, AlertCandidate, EventType
from alerts.targets import DEFAULT_TARGETS, Targets
from devices.kinds import Kind
from devices.model import PatientKey, Reading
from tests.alerts.detectors.readings import KEY, at, bp, glucose, hr, scalar


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


def test_lanes_judge_each_reading_at_its_patients_targets() -> None:
    own = {KEY: DEFAULT_TARGETS.with_overrides({"crisis_systolic": 170.0})}
    asked: list[PatientKey] = []

    def targets_for(key: PatientKey) -> Targets:
        asked.append(key)
        return own.get(key, DEFAULT_TARGETS)

    def of(r: Reading, tenant: str, patient: str) -> Reading:
        return replace(r, tenant=tenant, patient_id=patient, device_id=f"{r.device_id}@{patient}")

    e = DetectionEngine(targets_for=targets_for)
    rs = [
        glucose(0, 6.0),  # the patient with their own crisis limit
        of(bp(1, 175, 112), "u", KEY.patient_id),  # another tenant's patient of the same id
        of(bp(2, 175, 112), "t", "p-2"),  # default targets: 175/112 is no crisis
        bp(3, 175, 112),  # a crisis at 170
        of(glucose(4, 6.0), "u", KEY.patient_id),
        of(scalar(Kind.SPO2, 5, "spo2", 97.0), "t", "p-3"),
        hr(6, 70.0),
    ]
    lane, bulk = e.lanes(rs)
    assert lane == [rs[0], rs[3], rs[6]]  # each lane in arrival order
    assert bulk == [rs[1], rs[2], rs[4], rs[5]]
    assert PatientKey("t", "p-3") not in asked  # an SpO2's urgency needs no targets
    assert e.lanes(rs[1:3]) == ([], rs[1:3])


def test_detect_gives_each_readings_candidates_as_prepare_and_process_do() -> None:
    rs = [bp(0, 200, 125), *(glucose(5 * k, 8.0 - 0.3 * k, "cgm") for k in range(20)), hr(99, 35)]
    one_by_one = DetectionEngine()
    one_by_one.prepare(rs)
    expected = [(r, one_by_one.process(r)) for r in rs]
    detected = DetectionEngine().detect(rs)
    got: list[tuple[Reading, list[AlertCandidate]]] = []
    while part := list(islice(detected, 4)):  # taken a slice at a time, as the pipeline does
        got += part
    assert got == expected
    codes = {c.code for _, cs in got for c in cs}
    assert {"bp.hypertensive_crisis", "glucose.low"} <= codes  # not vacuous


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
