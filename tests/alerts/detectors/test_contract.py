"""Every registered detector through the same checks (river's `check_estimator` idea)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from alerts.codes import CODES
from alerts.detectors import DETECTORS, DetectorFactory, Observer, PatientContext
from alerts.engine import DetectionEngine
from alerts.model import Action, AlertCandidate
from devices.kinds import Kind
from devices.model import Reading
from tests.alerts.detectors.readings import PID, T0, bp, glucose, hr, normal_stream

FACTORIES = sorted(DETECTORS.items())
ids = [name for name, _ in FACTORIES]


def _abnormal(kinds: frozenset[Kind]) -> list[Reading]:
    out: list[Reading] = []
    if Kind.BP in kinds:
        out += [bp(0, 230, 130, 130), bp(3, 231, 132, 128), bp(30, 70, 40, 130), bp(60, 200, 185)]
    if Kind.GLUCOSE in kinds:
        out += [glucose(5 * k, 9 - 0.6 * k, "cgm") for k in range(14)]
        out += [glucose(80, 2.2), glucose(90, 25.0)]
    if Kind.HR in kinds:
        out += [hr(1, 150), hr(2, 35)]
    return sorted(out, key=lambda r: r.ts)


def _check(cands: list[AlertCandidate]) -> None:
    for c in cands:
        assert c.code in CODES, c.code
        assert c.at.tzinfo is not None
        assert c.patient_id == PID
        assert isinstance(c.action, Action)


@pytest.mark.parametrize(("name", "factory"), FACTORIES, ids=ids)
def test_declares_name_and_kinds(name: str, factory: DetectorFactory) -> None:
    det = factory(PatientContext(PID))
    assert det.name == name
    assert det.kinds
    assert all(isinstance(k, Kind) for k in det.kinds)
    if isinstance(det, Observer):
        assert det.consumes <= set(CODES)


@pytest.mark.parametrize(("name", "factory"), FACTORIES, ids=ids)
def test_silent_on_warm_up_and_normal_data(name: str, factory: DetectorFactory) -> None:
    det = factory(PatientContext(PID))
    out: list[AlertCandidate] = []
    for r in normal_stream(det.kinds):
        out += det.update(r)
        out += det.tick(r.ts)
    _check(out)
    assert [c for c in out if c.action is Action.RAISE] == []


@pytest.mark.parametrize(("name", "factory"), FACTORIES, ids=ids)
def test_abnormal_data_known_codes_and_deterministic(name: str, factory: DetectorFactory) -> None:
    runs = []
    stream = _abnormal(factory(PatientContext(PID)).kinds)
    for _ in range(2):
        det = factory(PatientContext(PID))
        out: list[AlertCandidate] = []
        for r in stream:
            out += det.update(r)
            out += det.tick(r.ts + timedelta(minutes=20))
        _check(out)
        runs.append(out)
    assert runs[0] == runs[1]


@pytest.mark.parametrize(("name", "factory"), FACTORIES, ids=ids)
def test_late_and_stale_readings_raise_nothing(name: str, factory: DetectorFactory) -> None:
    engine = DetectionEngine(factories={name: factory})
    for flag in ("late", "stale"):
        for r in _abnormal(factory(PatientContext(PID)).kinds):
            assert engine.process(replace(r, flags=frozenset({flag}))) == []


@pytest.mark.parametrize(("name", "factory"), FACTORIES, ids=ids)
def test_tick_is_safe(name: str, factory: DetectorFactory) -> None:
    det = factory(PatientContext(PID))
    _check(det.tick(T0))  # before any data
    for r in _abnormal(det.kinds)[:3]:
        det.update(r)
    for minutes in (0, 1, 60, 24 * 60):
        _check(det.tick(T0 + timedelta(minutes=minutes)))
    _check(det.tick(T0 - timedelta(days=1)))  # a clock behind the data does not fire or raise


@pytest.mark.parametrize(("name", "factory"), FACTORIES, ids=ids)
def test_out_of_order_reading_does_not_crash(name: str, factory: DetectorFactory) -> None:
    det = factory(PatientContext(PID))
    stream = _abnormal(det.kinds)
    for r in reversed(stream):
        _check(det.update(r))


@pytest.mark.parametrize(("name", "factory"), FACTORIES, ids=ids)
def test_ticks_between_readings_do_not_change_results(name: str, factory: DetectorFactory) -> None:
    """Timers run on the clock of the newest reading give what reading-only delivery gives."""
    kinds = factory(PatientContext(PID)).kinds
    stream = sorted([*normal_stream(kinds, hours=6), *_abnormal(kinds)], key=lambda r: r.ts)
    a, b = factory(PatientContext(PID)), factory(PatientContext(PID))
    one = [c for r in stream for c in a.update(r)]
    ticked: list[AlertCandidate] = []
    for r in stream:
        ticked += b.update(r)
        ticked += b.tick(r.ts)
    assert ticked == one
