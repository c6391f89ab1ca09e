"""Blood pressure: crisis with artefact guard, hypotension, uncontrolled average."""

from __future__ import annotations

from alerts.detectors import BloodPressureDetector, BloodPressureTrendDetector, PatientContext
from alerts.model import Action, AlertCandidate
from alerts.targets import DEFAULT_TARGETS
from tests.alerts.detectors.readings import PID, at, bp

DAY = 24 * 60


def raised(cands: list[AlertCandidate]) -> list[str]:
    return [c.code for c in cands if c.action is Action.RAISE]


def cleared(cands: list[AlertCandidate]) -> list[str]:
    return [c.code for c in cands if c.action is Action.CLEAR]


def det(**targets: float) -> BloodPressureDetector:
    return BloodPressureDetector(PatientContext(PID, DEFAULT_TARGETS.with_overrides(targets)))


def with_baseline(d: BloodPressureDetector, s: float = 130, n: int = 4) -> None:
    for k in range(n):
        assert d.update(bp(k * DAY - 5 * DAY, s + k % 2, 80, 70)) == []


def test_crisis_limits_both_sides() -> None:
    assert raised(det().update(bp(0, 180, 100))) == []
    assert raised(det().update(bp(0, 181, 100))) == ["bp.hypertensive_crisis"]
    assert raised(det().update(bp(0, 150, 120))) == []
    assert raised(det().update(bp(0, 150, 121))) == ["bp.hypertensive_crisis"]


def test_one_episode_updates_then_resolves_with_hysteresis() -> None:
    d = det()
    assert raised(d.update(bp(0, 190, 100))) == ["bp.hypertensive_crisis"]
    assert raised(d.update(bp(30, 185, 100))) == ["bp.hypertensive_crisis"]  # update, same group
    assert d.update(bp(60, 175, 100)) == []  # below the limit but inside the hysteresis band
    assert cleared(d.update(bp(90, 165, 95))) == ["bp.hypertensive_crisis"]


def test_outlier_asks_for_repeat_and_normal_repeat_is_an_artefact() -> None:
    d = det()
    with_baseline(d)
    out = d.update(bp(0, 222, 84))
    assert raised(out) == ["bp.repeat_measurement"]
    assert out[0].evidence["suspect_reason"] == "outlier_among_consistent_readings"
    out = d.update(bp(4, 133, 81))
    assert cleared(out) == ["bp.repeat_measurement"]
    assert raised(out) == []
    assert out[0].evidence["outcome"] == "artefact"
    assert d.tick(at(60)) == []


def test_confirmed_repeat_raises_crisis_from_the_repeat() -> None:
    d = det()
    with_baseline(d)
    assert raised(d.update(bp(0, 196, 104))) == ["bp.repeat_measurement"]
    out = d.update(bp(5, 192, 106))
    crisis = [c for c in out if c.code == "bp.hypertensive_crisis"]
    assert crisis[0].at == at(5)
    assert crisis[0].evidence["confirmation"] == "repeat"


def test_repeat_not_taken_escalates_on_tick() -> None:
    d = det()
    assert raised(d.update(bp(0, 200, 188))) == ["bp.repeat_measurement"]  # pulse pressure 12
    assert d.tick(at(14)) == []
    out = d.tick(at(15))
    assert raised(out) == ["bp.hypertensive_crisis"]
    assert out[-1].at == at(0)
    assert out[-1].evidence["confirmation"] == "repeat_not_taken"
    assert d.tick(at(30)) == []


def test_late_repeat_escalates_first_then_judges_the_new_reading() -> None:
    d = det()
    d.update(bp(0, 200, 188))
    out = d.update(bp(40, 130, 80))
    assert "bp.hypertensive_crisis" in raised(out)


def test_hypotension_absolute_and_relative() -> None:
    assert raised(det().update(bp(0, 89, 60))) == ["bp.hypotension"]
    assert raised(det().update(bp(0, 90, 60))) == []
    d = det()
    with_baseline(d, 146)
    out = d.update(bp(0, 96, 60, 104))
    assert raised(out) == ["bp.hypotension"]
    assert out[0].evidence["rule"] == "relative_drop"
    d2 = det()
    with_baseline(d2, 146)
    assert d2.update(bp(0, 96, 60, 74)) == []  # shock index 0.77
    d3 = det()
    with_baseline(d3, 104)
    assert d3.update(bp(0, 96, 60, 104)) == []  # no 20 mmHg fall from this patient's baseline


def test_hypotension_resolves_with_hysteresis() -> None:
    d = det()
    d.update(bp(0, 85, 55))
    assert d.update(bp(30, 95, 60)) == []
    assert cleared(d.update(bp(60, 101, 65))) == ["bp.hypotension"]


def test_frail_patient_target_override() -> None:
    """A care team raises the crisis limit for nobody, but the target for a frail 85-year-old."""
    t = DEFAULT_TARGETS.with_overrides({"target_systolic": 150, "target_diastolic": 90})
    d = BloodPressureTrendDetector(PatientContext(PID, t))
    out: list[AlertCandidate] = []
    for k in range(14):
        out += d.update(bp(k * 12 * 60, 146, 80))
    assert raised(out) == []
    d = BloodPressureTrendDetector(PatientContext(PID))
    out = []
    for k in range(14):
        out += d.update(bp(k * 12 * 60, 146, 80))
    assert raised(out)[0] == "bp.uncontrolled"


def test_uncontrolled_needs_min_count_in_window_and_clears() -> None:
    d = BloodPressureTrendDetector(PatientContext(PID))
    outs = [d.update(bp(k * 12 * 60, 156, 88)) for k in range(12)]
    assert all(o == [] for o in outs[:11])
    assert raised(outs[11]) == ["bp.uncontrolled"]
    assert outs[11][0].params["count"] == 12
    # readings further apart than the window never reach the count
    sparse = BloodPressureTrendDetector(PatientContext(PID))
    assert all(sparse.update(bp(k * 3 * DAY, 170, 95)) == [] for k in range(15))
    out: list[AlertCandidate] = []
    for k in range(12, 40):
        out += d.update(bp(k * 12 * 60, 120, 75))
    assert cleared(out) == ["bp.uncontrolled"]


def test_uncontrolled_ignores_implausible_pulse_pressure() -> None:
    d = BloodPressureTrendDetector(PatientContext(PID))
    assert all(d.update(bp(k * 60, 190, 180)) == [] for k in range(20))


def test_out_of_order_reading_is_ignored() -> None:
    d = det()
    d.update(bp(10, 120, 80))
    assert d.update(bp(5, 200, 110)) == []
