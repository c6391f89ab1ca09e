"""CGM predicted low: the learned model, its shipped file, and streaming equal to the batch code."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from alerts.detectors import GlucoseForecastDetector, PatientContext
from alerts.detectors.glucose_features import context_features, features, lag_windows
from alerts.detectors.glucose_low_model import (
    ALL_FEATURES,
    MODEL_FILE,
    AlarmState,
    LowModel,
    alarm_step,
    shipped_model,
)
from alerts.model import Action, AlertCandidate
from tests.alerts.detectors.readings import PID, glucose


def _feed(values: list[float], minutes: list[float] | None = None) -> list[AlertCandidate]:
    d = GlucoseForecastDetector(PatientContext(PID))
    times = minutes or [5.0 * k for k in range(len(values))]
    out: list[AlertCandidate] = []
    for t, v in zip(times, values, strict=True):
        out += d.update(glucose(t, v, "cgm"))
    return out


def _trace(seed: int, n: int = 600) -> tuple[np.ndarray, np.ndarray]:
    """A wandering CGM trace with lows, jitter in timing and two gaps."""
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.uniform(4.5, 5.5, n))
    t[200:] += 40.0  # a sensor gap
    t[420:] += 18.0
    g = 6.5 + 2.5 * np.sin(t / 90.0) + np.cumsum(rng.normal(0, 0.08, n)) * 0.3
    return t, np.round(np.clip(g, 2.2, 22.0), 1)


def test_the_shipped_model_file_is_versioned_and_traceable() -> None:
    doc = json.loads(MODEL_FILE.read_text())
    assert doc["version"]
    assert len(doc["data_sha256"]) == 64
    assert doc["trained_on"].endswith("weinstock2016_cgm.csv")
    model = shipped_model()
    assert model.features == ALL_FEATURES
    assert 0.3 <= model.threshold <= 0.7


def test_model_rejects_a_malformed_file() -> None:
    n = len(ALL_FEATURES)
    with pytest.raises(ValueError, match="one value per feature"):
        LowModel("x", ALL_FEATURES, (0.0,) * n, (1.0,) * (n - 1), 0.0, (0.0,) * n, 0.5)
    with pytest.raises(ValueError, match="threshold"):
        LowModel("x", ALL_FEATURES, (0.0,) * n, (1.0,) * n, 0.0, (0.0,) * n, 1.5)


@pytest.mark.parametrize("seed", [1, 2])
def test_streaming_scores_equal_the_batch_features(seed: int) -> None:
    t, g = _trace(seed)
    d = GlucoseForecastDetector(PatientContext(PID))
    model = d.model
    ages, vals, valid = lag_windows(t, g, d.ctx.settings.forecast_max_gap.total_seconds() / 60)
    trend, ready = features(ages, vals, valid, 3.9)
    ctx = context_features(t, g, 3.9)
    batch = model.probability(np.column_stack([trend, ctx]))
    raised = 0
    state = AlarmState()
    for i, (ti, gi) in enumerate(zip(t, g, strict=True)):
        out = d.update(glucose(float(ti), float(gi), "cgm"))
        scored = d.score()
        assert (scored is not None) == bool(ready[i])
        if scored is not None:
            assert math.isclose(scored[0], batch[i], rel_tol=1e-6)
        if i and ti - t[i - 1] > 16:
            state = AlarmState()  # a gap ends the alarm
        if gi < 3.9:
            state = AlarmState()  # the low reached ends it
            assert not any(c.action is Action.RAISE for c in out)
            continue
        state, what = alarm_step(state, float(batch[i]), bool(ready[i]), model)
        raised += what == "open"
        assert any(c.action is Action.RAISE for c in out) == (what in ("open", "hold"))
    assert raised > 0  # the trace does reach lows, so the comparison is not vacuous


def test_a_single_reading_jump_is_an_artefact_not_a_fall() -> None:
    assert _feed([6.2] * 10 + [4.1] + [6.2] * 10) == []


def test_a_real_fall_alerts_once_and_holds() -> None:
    out = _feed([7.0, 7.0, 7.0, 6.5, 6.0, 5.5, 5.0, 4.5, 4.2, 4.0])
    assert {c.code for c in out} == {"glucose.predicted_low"}
    assert all(c.action is Action.RAISE for c in out)
    assert out[0].evidence["forecast"]["probability"] >= shipped_model().threshold


def test_alarm_step_hysteresis() -> None:
    n = len(ALL_FEATURES)
    m = LowModel("x", ALL_FEATURES, (0.0,) * n, (1.0,) * n, 0.0, (0.0,) * n, 0.6)
    s, what = alarm_step(AlarmState(), 0.7, True, m)
    assert what == "open"
    s, what = alarm_step(s, 0.4, True, m)  # between half the threshold and the threshold: held
    assert (what, s.active) == ("", True)
    s, what = alarm_step(s, 0.2, True, m)
    s, what = alarm_step(s, 0.2, True, m)
    assert (what, s.active) == ("clear", False)
