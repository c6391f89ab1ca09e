"""Every registered detector through the same checks (river's `check_estimator` idea)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import ClassVar

import pytest

from alerts.codes import CODES
from alerts.detectors import DETECTORS, DetectorFactory, Observer, PatientContext
from alerts.detectors.emergency import ARRIVAL
from alerts.engine import DetectionEngine
from alerts.model import Action, AlertCandidate
from devices.kinds import Kind
from devices.model import Reading
from tests.alerts.detectors.readings import (
    PID,
    T0,
    at,
    bp,
    ecg_chunk,
    event,
    glucose,
    hr,
    normal_stream,
)

FACTORIES = sorted(DETECTORS.items())
ids = [name for name, _ in FACTORIES]


def _abnormal(name: str, kinds: frozenset[Kind]) -> list[Reading]:
    """The detector's own abnormal fixture plus abnormal data of every kind it reads."""
    out: list[Reading] = ABNORMAL[name].readings()
    if Kind.BP in kinds:
        out += [bp(0, 230, 130, 130), bp(3, 231, 132, 128), bp(30, 70, 40, 130), bp(60, 200, 185)]
    if Kind.GLUCOSE in kinds:
        out += [glucose(5 * k, 9 - 0.6 * k, "cgm") for k in range(14)]
        out += [glucose(80, 2.2), glucose(90, 25.0)]
    if Kind.HR in kinds:
        out += [hr(1, 150), hr(2, 35)]
    if Kind.EVENT in kinds:
        out += [event(4, "sos", room="bathroom"), event(6, "fall")]
    return sorted(out, key=lambda r: r.ts)


def _status(minutes: float, battery: float, lead_off: bool) -> Reading:
    t = at(minutes)
    return Reading(
        "t", "patch-1", Kind.STATUS, 1, t, t, PID, {"battery": battery}, {"lead_off": lead_off}
    )


@dataclass(frozen=True)
class Abnormal:
    """A detector's own abnormal data and every code it must raise on it. An observer gets its
    inputs from the `feeders` (the detectors whose candidates it combines)."""

    readings: Callable[[], list[Reading]]
    raises: frozenset[str]
    feeders: tuple[str, ...] = ()
    flags: frozenset[str] = frozenset()  # the patient's care context (e.g. lives_alone)


def _silent_home() -> list[Reading]:
    """Nine days of a band worn 07:00-21:00 (UTC+8), then silence from 09:00 on day ten; a
    status report (not activity) six hours later carries the clock past the elder's limit."""
    day0 = T0.replace(hour=0, minute=0) - timedelta(hours=8)
    out = [
        hr((day0 + timedelta(days=d, hours=7, minutes=15 * k) - T0).total_seconds() / 60, 70)
        for d in range(9)
        for k in range(56)
    ]
    out += [hr((day0 + timedelta(days=9, hours=7, minutes=15 * k) - T0).total_seconds() / 60, 70)
            for k in range(9)]  # fmt: skip
    return [*out, _status((out[-1].ts - T0).total_seconds() / 60 + 360, 0.9, False)]


# One entry per registered detector: a new detector without its abnormal fixture fails below.
ABNORMAL: dict[str, Abnormal] = {
    "bp": Abnormal(
        lambda: [bp(0, 230, 130, 130), bp(3, 231, 132, 128), bp(30, 70, 40, 130)],
        frozenset({"bp.hypertensive_crisis", "bp.hypotension"}),
    ),
    "bp_uncontrolled": Abnormal(
        lambda: [bp(k * 12 * 60, 156, 88) for k in range(14)], frozenset({"bp.uncontrolled"})
    ),
    "glucose": Abnormal(
        lambda: [glucose(0, 3.3), glucose(40, 2.2), glucose(90, 25.0)],
        frozenset({"glucose.low", "glucose.urgent_low", "glucose.high"}),
    ),
    "glucose_forecast": Abnormal(
        lambda: [glucose(5 * k, 9 - 0.6 * k, "cgm") for k in range(14)],
        frozenset({"glucose.predicted_low"}),
    ),
    "ecg": Abnormal(
        lambda: [ecg_chunk(k * 10 / 60.0, bpm=150) for k in range(30)],
        frozenset({"ecg.tachycardia"}),
    ),
    "cv": Abnormal(
        lambda: [bp(0, 192, 112, 118), glucose(30, 3.3), hr(40, 114)],
        frozenset({"cv.crisis_with_arrhythmia", "cv.hypoglycaemia_with_tachycardia"}),
        feeders=("bp", "glucose"),
    ),
    "device": Abnormal(
        lambda: [_status(0, 0.08, True)],
        frozenset({"device.battery_low", "device.signal_quality"}),
    ),
    "emergency": Abnormal(
        lambda: [event(0, "sos", room="bedroom"), event(5, "fall")],
        frozenset({"emergency.sos", "emergency.fall"}),
    ),
    "inactivity": Abnormal(
        _silent_home, frozenset({"emergency.inactivity"}), flags=frozenset({"lives_alone"})
    ),
}


def raised_on_its_abnormal_fixture(name: str, factory: DetectorFactory) -> set[str]:
    """The codes raised when `factory` (registered as `name`) and its feeders see its fixture."""
    fixture = ABNORMAL[name]
    engine = DetectionEngine(
        [*fixture.feeders, name],
        factories={**DETECTORS, name: factory},
        flags_for=lambda _pid: fixture.flags,
    )
    out: list[AlertCandidate] = []
    for r in fixture.readings():
        out += engine.process(r)
        out += engine.tick(r.ts + timedelta(minutes=1))
    _check(out)
    return {c.code for c in out if c.action is Action.RAISE}


def _check(cands: list[AlertCandidate]) -> None:
    for c in cands:
        if c.action is Action.ARRIVE:  # a responder on site names no alert of its own
            assert c.code == ARRIVAL, c.code
            continue
        assert c.code in CODES, c.code
        assert c.at.tzinfo is not None
        assert c.patient_id == PID
        assert isinstance(c.action, Action)


def test_every_registered_detector_has_its_abnormal_fixture() -> None:
    assert set(ABNORMAL) == set(DETECTORS)
    for name, fixture in ABNORMAL.items():
        assert fixture.raises <= set(CODES), name
        assert set(fixture.feeders) <= set(DETECTORS), name


@pytest.mark.parametrize(("name", "factory"), FACTORIES, ids=ids)
def test_raises_every_code_of_its_abnormal_fixture(name: str, factory: DetectorFactory) -> None:
    missing = ABNORMAL[name].raises - raised_on_its_abnormal_fixture(name, factory)
    assert not missing, f"{name} did not raise {sorted(missing)}"


class _Silent:
    """A detector that never finds anything, under any registered name."""

    name: ClassVar[str] = "silent"
    kinds: ClassVar[frozenset[Kind]] = frozenset(Kind)

    def __init__(self, ctx: PatientContext) -> None:
        self.ctx = ctx

    def update(self, reading: Reading) -> list[AlertCandidate]:
        return []

    def tick(self, now: datetime) -> list[AlertCandidate]:
        return []


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_a_detector_that_never_raises_fails_the_contract(name: str) -> None:
    assert not ABNORMAL[name].raises & raised_on_its_abnormal_fixture(name, _Silent)


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
    stream = _abnormal(name, factory(PatientContext(PID)).kinds)
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
        for r in _abnormal(name, factory(PatientContext(PID)).kinds):
            assert engine.process(replace(r, flags=frozenset({flag}))) == []


@pytest.mark.parametrize(("name", "factory"), FACTORIES, ids=ids)
def test_tick_is_safe(name: str, factory: DetectorFactory) -> None:
    det = factory(PatientContext(PID))
    _check(det.tick(T0))  # before any data
    for r in _abnormal(name, det.kinds)[:3]:
        det.update(r)
    for minutes in (0, 1, 60, 24 * 60):
        _check(det.tick(T0 + timedelta(minutes=minutes)))
    _check(det.tick(T0 - timedelta(days=1)))  # a clock behind the data does not fire or raise


@pytest.mark.parametrize(("name", "factory"), FACTORIES, ids=ids)
def test_out_of_order_reading_does_not_crash(name: str, factory: DetectorFactory) -> None:
    det = factory(PatientContext(PID))
    stream = _abnormal(name, det.kinds)
    for r in reversed(stream):
        _check(det.update(r))


@pytest.mark.parametrize(("name", "factory"), FACTORIES, ids=ids)
def test_ticks_between_readings_do_not_change_results(name: str, factory: DetectorFactory) -> None:
    """Timers run on the clock of the newest reading give what reading-only delivery gives."""
    kinds = factory(PatientContext(PID)).kinds
    stream = sorted([*normal_stream(kinds, hours=6), *_abnormal(name, kinds)], key=lambda r: r.ts)
    a, b = factory(PatientContext(PID)), factory(PatientContext(PID))
    one = [c for r in stream for c in a.update(r)]
    ticked: list[AlertCandidate] = []
    for r in stream:
        ticked += b.update(r)
        ticked += b.tick(r.ts)
    assert ticked == one
