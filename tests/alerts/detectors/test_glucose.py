"""Glucose level alerts and the CGM predictive low."""

from __future__ import annotations

import pytest

from alerts.detectors import GlucoseDetector, GlucoseForecastDetector, PatientContext
from alerts.detectors.base import glucose_above, glucose_below
from alerts.model import Action, AlertCandidate
from alerts.targets import DEFAULT_TARGETS
from devices.kinds import MGDL_PER_MMOLL
from tests.alerts.detectors.readings import PID, at, glucose


def raised(cands: list[AlertCandidate]) -> list[str]:
    return sorted(c.code for c in cands if c.action is Action.RAISE)


def cleared(cands: list[AlertCandidate]) -> list[str]:
    return sorted(c.code for c in cands if c.action is Action.CLEAR)


def mg(v: int) -> float:
    return v / MGDL_PER_MMOLL


@pytest.mark.parametrize(
    ("value", "codes"),
    [
        (3.0, ["glucose.low"]),
        (2.99, ["glucose.urgent_low"]),
        (3.9, []),
        (3.89, ["glucose.low"]),
        (13.9, []),
        (13.91, ["glucose.high"]),
        (mg(54), ["glucose.low"]),
        (mg(53), ["glucose.urgent_low"]),
        (mg(70), []),
        (mg(69), ["glucose.low"]),
        (mg(250), []),
        (mg(251), ["glucose.high"]),
    ],
)
def test_ada_levels_in_both_units(value: float, codes: list[str]) -> None:
    assert raised(GlucoseDetector(PatientContext(PID)).update(glucose(0, value))) == codes


def test_unit_rule_helpers() -> None:
    assert glucose_below(3.85, 3.9)
    assert not glucose_below(mg(70), 3.9)
    assert glucose_above(mg(251), 13.9)
    assert not glucose_above(mg(250), 13.9)


def test_fingerstick_recheck_in_range_ends_episode() -> None:
    d = GlucoseDetector(PatientContext(PID))
    assert raised(d.update(glucose(0, 3.5))) == ["glucose.low"]
    assert raised(d.update(glucose(15, 3.7))) == ["glucose.low"]  # update, not a new episode
    assert cleared(d.update(glucose(30, 4.0))) == ["glucose.low"]


def test_cgm_episode_needs_two_readings_past_the_margin() -> None:
    d = GlucoseDetector(PatientContext(PID))
    d.update(glucose(0, 3.6, "cgm"))
    assert d.update(glucose(5, 4.0, "cgm")) == []  # inside the 0.2 margin
    assert d.update(glucose(10, 4.2, "cgm")) == []  # first reading past it
    assert cleared(d.update(glucose(15, 4.3, "cgm"))) == ["glucose.low"]


def test_individual_glucose_range() -> None:
    t = DEFAULT_TARGETS.with_overrides({"glucose_low": 5.0, "glucose_high": 12.0})
    d = GlucoseDetector(PatientContext(PID, t))
    assert raised(d.update(glucose(0, 4.8))) == ["glucose.low"]
    assert raised(d.update(glucose(60, 12.5))) == ["glucose.high"]


def _feed(
    d: GlucoseForecastDetector, values: list[float], start: float = 0
) -> list[AlertCandidate]:
    out: list[AlertCandidate] = []
    for k, v in enumerate(values):
        out += d.update(glucose(start + 5 * k, v, "cgm"))
    return out


FALL = [7.0, 7.0, 7.0, 6.5, 6.0, 5.5, 5.0, 4.5, 4.2]  # -0.1 mmol/L/min towards 3.9


def test_predicted_low_fires_before_the_low_with_forecast_evidence() -> None:
    d = GlucoseForecastDetector(PatientContext(PID))
    out = _feed(d, FALL)
    first = next(c for c in out if c.action is Action.RAISE)
    fc = first.evidence["forecast"]
    assert fc["probability"] >= fc["threshold"]
    assert fc["minutes_to_low"] <= 30
    assert fc["rate_mmol_l_per_min"] < 0
    assert fc["predicted_mmol_l"] < 3.9
    assert first.params["limit"] == 3.9
    assert cleared(_feed(d, [3.8], start=45)) == ["glucose.predicted_low"]  # low reached


def test_predicted_low_silent_on_noise_flat_and_already_low() -> None:
    assert _feed(GlucoseForecastDetector(PatientContext(PID)), [5.0, 4.6, 5.1, 4.5, 5.0, 4.4]) == []
    assert _feed(GlucoseForecastDetector(PatientContext(PID)), [4.2] * 20) == []
    assert _feed(GlucoseForecastDetector(PatientContext(PID)), [3.8, 3.6, 3.4, 3.2, 3.0]) == []
    fingersticks = GlucoseForecastDetector(PatientContext(PID))
    assert [fingersticks.update(glucose(5 * k, 7 - 0.6 * k)) for k in range(6)] == [[]] * 6


def test_predicted_low_warm_up_and_gap_restart() -> None:
    d = GlucoseForecastDetector(PatientContext(PID))
    assert _feed(d, [6.0, 5.4, 4.8]) == []  # three readings: still warming up
    assert d.forecast() is None
    assert _feed(d, [4.6, 4.3, 4.1], start=60) == []  # after a 45 min gap: warm-up again


def test_predicted_low_ends_at_a_gap() -> None:
    d = GlucoseForecastDetector(PatientContext(PID))
    assert raised(_feed(d, FALL))
    out = _feed(d, [4.2], start=70)  # 30 min without a reading
    assert cleared(out) == ["glucose.predicted_low"]
    assert out[0].evidence["outcome"] == "gap"


def test_predicted_low_expires_without_data() -> None:
    d = GlucoseForecastDetector(PatientContext(PID))
    _feed(d, FALL)
    assert d.tick(at(55)) == []
    out = d.tick(at(60))  # the horizon (20 min) after the last reading at 40 min
    assert cleared(out) == ["glucose.predicted_low"]
    assert out[0].evidence["outcome"] == "expired_no_data"


def test_predicted_low_recovers_with_hysteresis() -> None:
    d = GlucoseForecastDetector(PatientContext(PID))
    _feed(d, FALL)
    out = _feed(d, [4.4, 4.7, 5.0, 5.4, 5.8], start=45)
    assert cleared(out) == ["glucose.predicted_low"]
    assert out[-1].evidence["outcome"] == "forecast_recovered"


def test_horizon_is_a_patient_target_for_expiry() -> None:
    t = DEFAULT_TARGETS.with_overrides({"predicted_low_horizon_min": 60})
    d = GlucoseForecastDetector(PatientContext(PID, t))
    _feed(d, FALL)
    assert d.tick(at(60)) == []
    assert cleared(d.tick(at(100))) == ["glucose.predicted_low"]


def test_low_and_urgent_low_are_one_episode_whose_code_follows_the_level() -> None:
    d = GlucoseDetector(PatientContext(PID))
    trace = [5.0, 3.5, 2.8, 2.7, 3.3, 3.4, 3.6, 4.2, 4.3]
    steps = [d.update(glucose(5 * k, v, "cgm")) for k, v in enumerate(trace)]
    assert all(c.group == "glucose.low" for out in steps for c in out if c.code != "glucose.high")
    assert [raised(out) for out in steps] == [
        [],
        ["glucose.low"],
        ["glucose.urgent_low"],
        ["glucose.urgent_low"],
        ["glucose.urgent_low"],  # one reading >= 3.2: still urgent (CGM hysteresis)
        ["glucose.low"],  # two readings >= 3.2: steps down to low
        ["glucose.low"],
        [],  # one reading >= 4.1
        [],
    ]
    assert cleared(steps[-1]) == ["glucose.low"]  # the whole episode ends once
