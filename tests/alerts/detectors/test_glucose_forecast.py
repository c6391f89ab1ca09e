"""CGM predictive low: the alert needs the upper prediction bound, not only the point forecast."""

from __future__ import annotations

from alerts.detectors import GlucoseForecastDetector, PatientContext
from alerts.model import Action, AlertCandidate
from tests.alerts.detectors.readings import PID, glucose


def _feed(values: list[float]) -> tuple[GlucoseForecastDetector, list[AlertCandidate]]:
    d = GlucoseForecastDetector(PatientContext(PID))
    out: list[AlertCandidate] = []
    for k, v in enumerate(values):
        out += d.update(glucose(5 * k, v, "cgm"))
    return d, out


def test_shallow_drift_that_barely_crosses_is_silent() -> None:
    # -0.03 mmol/L/min from 4.45: the line reaches 3.85 at 20 min, within sensor error of 3.9.
    d, out = _feed([4.9, 4.75, 4.6, 4.45])
    assert out == []
    fc = d.forecast()
    assert fc is not None
    assert fc["predicted_mmol_l"] < 3.9 < fc["upper_bound_mmol_l"]
    assert fc["minutes_to_low"] is None or fc["minutes_to_low"] > 20


def test_steep_fall_alerts_with_the_bound_below_the_limit() -> None:
    _, out = _feed([6.5, 6.0, 5.5, 5.0])
    raise_ = [c for c in out if c.action is Action.RAISE]
    assert len(raise_) == 1
    fc = raise_[0].evidence["forecast"]
    assert fc["upper_bound_mmol_l"] < 3.9
    assert fc["predicted_mmol_l"] < fc["upper_bound_mmol_l"]
    assert 10 <= fc["minutes_to_low"] <= 20


def test_the_bound_widens_with_a_noisier_fit() -> None:
    smooth, _ = _feed([6.5, 6.0, 5.5, 5.0])
    noisy, _ = _feed([6.4, 6.1, 5.4, 5.1])  # same line, residuals above the noise floor
    fs, fn = smooth.forecast(), noisy.forecast()
    assert fs is not None
    assert fn is not None
    assert fn["residual_sd"] > fs["residual_sd"]
    gap_s = fs["upper_bound_mmol_l"] - fs["predicted_mmol_l"]
    gap_n = fn["upper_bound_mmol_l"] - fn["predicted_mmol_l"]
    assert gap_n > gap_s
