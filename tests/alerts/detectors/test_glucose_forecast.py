"""CGM predicted low: the learned model, its shipped file, and streaming equal to the batch code."""

from __future__ import annotations

import json
import math
import pickle
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest

from alerts.detectors import GlucoseForecastDetector, PatientContext
from alerts.detectors.glucose_features import (
    CONTEXT_NAMES,
    CgmContext,
    context_features,
    features,
    history_allows,
    lag_windows,
)
from alerts.detectors.glucose_low_model import (
    ALL_FEATURES,
    MODEL_FILE,
    AlarmState,
    LowModel,
    alarm_step,
    shipped_model,
)
from alerts.engine import DetectionEngine
from alerts.model import Action, AlertCandidate
from devices.model import Reading
from tests.alerts.detectors.readings import PID, T0, glucose

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


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
    assert 0.3 <= model.threshold <= 0.8


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
    # the detector's clock: minutes since 2000 (UTC), time of day on the deployment's local clock
    origin = (T0 - _EPOCH).total_seconds() / 60.0
    offset = d.ctx.settings.local_utc_offset.total_seconds() / 60.0
    ctx, lowest = context_features(t + origin, g, 3.9, offset)
    batch = model.probability(np.column_stack([trend, ctx]))
    allowed = history_allows(lowest, trend[:, 2], 3.9)
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
        state, what = alarm_step(state, float(batch[i]), bool(ready[i] and allowed[i]), model)
        raised += what == "open"
        assert any(c.action is Action.RAISE for c in out) == (what in ("open", "hold"))
    assert raised > 0  # the trace does reach lows, so the comparison is not vacuous


def test_a_single_reading_jump_is_an_artefact_not_a_fall() -> None:
    assert _feed([6.2] * 10 + [4.1] + [6.2] * 10) == []


def test_a_real_fall_alerts_once_and_holds() -> None:
    # a person whose CGM has read 4.2 before (history), then a fall at 1 mmol/L per 10 min
    out = _feed([4.2, 4.6, 5.5, 7.0, 7.0, 7.0, 6.5, 6.0, 5.5, 5.0, 4.5, 4.2, 4.0])
    assert {c.code for c in out} == {"glucose.predicted_low"}
    assert all(c.action is Action.RAISE for c in out)
    fc = out[0].evidence["forecast"]
    assert fc["probability"] >= shipped_model().threshold
    assert out[0].evidence["confidence"] == fc["confidence"] == fc["probability"]


def test_no_predicted_low_for_a_person_never_below_4_4_unless_the_fall_is_steep() -> None:
    gentle = [7.0, 7.0, 7.0, 6.5, 6.0, 5.5, 5.0, 4.5, 4.4, 4.4]
    assert _feed(gentle) == []  # the same fall alerts a person with a history (test above)
    steep = [8.5, 8.5, 8.5, 7.6, 6.7, 5.8, 4.9]  # 1.8 mmol/L per 10 min: "falling fast"
    assert {c.code for c in _feed(steep)} == {"glucose.predicted_low"}


def test_history_gate_thresholds() -> None:
    assert not history_allows(4.4, -1.0, 3.9)
    assert history_allows(4.39, 0.5, 3.9)
    assert history_allows(6.0, -1.11, 3.9)


def test_context_survives_a_snapshot_from_before_it_grew() -> None:
    d = GlucoseForecastDetector(PatientContext(PID))
    for k, v in enumerate([6.0, 3.5, 5.0, 5.5, 5.2, 5.0]):
        d.update(glucose(5.0 * k, v, "cgm"))
    # the shape of the state before the history values and time of day were added: a context
    # without `_share` and `lowest`, three context values
    old_ctx = CgmContext()
    old_ctx.update(0.0, 3.5, 3.9)
    del old_ctx._share, old_ctx.lowest
    old_ctx = pickle.loads(pickle.dumps(old_ctx))
    assert old_ctx.lowest < 4.4  # a low was seen: the person keeps their history
    d._context = old_ctx
    d._ctx_row = np.zeros(3)
    restored = pickle.loads(pickle.dumps(d))
    assert restored._ctx_row.shape == (len(CONTEXT_NAMES),)
    out = []
    for k, v in enumerate([7.0, 7.0, 7.0, 6.5, 6.0, 5.5, 5.0, 4.5, 4.2, 4.0]):
        out += restored.update(glucose(40.0 + 5.0 * k, v, "cgm"))
    assert {c.code for c in out} == {"glucose.predicted_low"}
    fresh = pickle.loads(pickle.dumps(CgmContext()))
    assert fresh.lowest == math.inf


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


def _patients_trace(seed: int) -> list[Reading]:
    """Three patients' CGM interleaved (two with lows and gaps, one with a fingerstick and an
    out-of-order reading among its own), in arrival order."""
    out: list[tuple[float, Reading]] = []
    for p in range(3):
        t, g = _trace(seed + p, 300)
        for ti, gi in zip(t, g, strict=True):
            r = glucose(float(ti), float(gi), "cgm")
            out.append((float(ti), replace(r, patient_id=f"p-{p}", device_id=f"cgm-{p}")))
    extra = glucose(100.0, 5.0, "fingerstick")
    late = replace(glucose(50.0, 4.0, "cgm"), patient_id="p-2", device_id="cgm-2")
    out += [(100.0, replace(extra, patient_id="p-1")), (400.0, late)]
    return [r for _, r in sorted(out, key=lambda x: x[0])]


@pytest.mark.parametrize("batch", [1, 7, 64, 500])
def test_prepared_batches_give_the_same_candidates_as_one_reading_at_a_time(batch: int) -> None:
    readings = _patients_trace(3)
    plain, prepared = DetectionEngine(["glucose_forecast"]), DetectionEngine(["glucose_forecast"])
    expected = [plain.process(r) for r in readings]
    got: list[list[AlertCandidate]] = []
    for lo in range(0, len(readings), batch):
        part = readings[lo : lo + batch]
        prepared.prepare(part)
        got += [prepared.process(r) for r in part]
    assert got == expected
    assert sum(len(c) for c in got) > 0  # the patients do reach lows: not vacuous


def test_a_prepared_row_equals_the_row_computed_alone() -> None:
    readings = _patients_trace(5)[:200]
    d = GlucoseForecastDetector(PatientContext("p-0"))
    mine = [r for r in readings if r.patient_id == "p-0"]
    GlucoseForecastDetector.prepare([(d, mine)])
    ahead = dict(d._ahead)
    assert len(ahead) > 10
    compared = 0
    for r in mine:
        d.update(r)
        window = (tuple(d._buf), d.ctx.targets.glucose_low)
        if window in ahead:
            d._ahead = {}
            alone = d.score()  # computed alone, without the cache
            d._ahead = ahead
            cached = d.score()
            assert (alone is None) == (cached is None)
            if alone is not None and cached is not None:
                assert alone[0] == cached[0]
                assert np.array_equal(alone[1], cached[1])
                compared += 1
    assert compared > 10


def test_prepared_rows_are_not_part_of_a_snapshot() -> None:
    d = GlucoseForecastDetector(PatientContext(PID))
    cgm = [glucose(5.0 * k, 6.0 - 0.1 * k, "cgm") for k in range(8)]
    GlucoseForecastDetector.prepare([(d, cgm)])
    assert d._ahead
    restored = pickle.loads(pickle.dumps(d))
    assert restored._ahead == {}
    assert [restored.update(r) for r in cgm] == [d.update(r) for r in cgm]
