"""`glucose.predicted_low`: a learned forecast that a CGM low follows within 30 minutes.

Method (chosen by patient-grouped cross-validation on the CGM of 140 older adults with type 1
diabetes, Weinstock et al. 2016; figures and the Nightscout AR2 anchor beside them in
`make eval-vitals`): on every CGM reading the detector computes trend features of the last 30 min
(least-squares levels and slopes over 15 and 30 min, a 20-min projection, residual SD, the recent
nadir, the last step, the acceleration; `glucose_features`) and the person's own history (how often
they ran near the limit in the last 24 h and below 4.4 mmol/L in the last 7 days, the 3-h mean
level, how recently a low occurred) and the local time of day, every level relative to the
patient's low limit. A person whose CGM has never read below 4.4 mmol/L gets no predicted low
unless the trend falls steeply (`glucose_features.history_allows`). A logistic regression shipped
as a versioned file (`glucose_low_model.json`, written by `make train-glucose`) turns them into the
probability of a reading below the limit within 30 min. The alarm opens at the file's threshold
(chosen inside the cross-validation folds) and holds with hysteresis: it ends after two
consecutive readings below half the threshold (`glucose_low_model.alarm_step`), when the low is
reached (the level alert takes over), at a gap in the CGM (> `settings.forecast_max_gap`, the
forecast restarts its warm-up), or, via `tick`, when no CGM reading arrived for the patient's
`predicted_low_horizon_min`.

The trend features of a batch's CGM readings are computed in one block (`prepare`, called by the
engine before the batch's updates): the windows each update will score are foreseen from the
buffer, and the rows kept by window; an update scores from that row when its window is the one
foreseen, else computes it alone. `features` gives a row the same numbers in a block as alone.

Warm-up: >= 4 CGM readings spanning >= 10 min without a gap. Fingersticks are ignored. State per
patient: the last 7 readings and a few floats of context (`CgmContext`); it is pickled into the
detector snapshots, and a snapshot from before the context grew restores with the values it had.

The evidence carries the probability (also as `confidence`, which an escalation policy can
require before a tier is notified: `alerts.policy` `[min_confidence]`), the threshold, the
15-min trend line's level, rate and point forecast at the horizon, and minutes until that line
reaches the limit (capped at 30, the model's horizon; the alert text says "within {minutes} min").

>>> from datetime import UTC, datetime, timedelta
>>> from alerts.detectors.base import PatientContext
>>> from devices.kinds import Kind
>>> from devices.model import Reading
>>> det = GlucoseForecastDetector(PatientContext("p1"))
>>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
>>> codes = []
>>> for i, g in enumerate([4.2, 5.0, 7.0, 6.6, 6.1, 5.6, 5.1, 4.6, 4.2]):
...     ts = t0 + timedelta(minutes=5 * i)
...     r = Reading("t", "c", Kind.GLUCOSE, i, ts, ts, "p1", {"glucose": g}, {"source": "cgm"})
...     codes += [c.code for c in det.update(r)]
>>> sorted(set(codes))
['glucose.predicted_low']
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import numpy as np

from alerts.detectors.base import Detector, PatientContext, glucose_below, reading_ref
from alerts.detectors.glucose_features import (
    CONTEXT_NAMES,
    LAGS,
    WINDOW_MIN,
    CgmContext,
    features,
    history_allows,
)
from alerts.detectors.glucose_low_model import (
    LABEL_HORIZON_MIN,
    AlarmState,
    LowModel,
    alarm_step,
    shipped_model,
)
from alerts.model import Action, AlertCandidate
from devices.kinds import Kind
from devices.model import Reading

CODE = "glucose.predicted_low"
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


# A trend window: the buffer's (time, mmol/L) readings, oldest first, and the low limit.
Window = tuple[tuple[tuple[datetime, float], ...], float]


def _minutes(ts: datetime) -> float:
    return (ts - _EPOCH).total_seconds() / 60.0


def _trend(windows: Sequence[Window]) -> tuple[np.ndarray, np.ndarray]:
    """Trend feature rows and readiness of windows (one row each, the newest reading first)."""
    ages = np.full((len(windows), LAGS), np.nan)
    vals = np.full((len(windows), LAGS), np.nan)
    rows: list[int] = []
    cols: list[int] = []
    age: list[float] = []
    level: list[float] = []
    for i, (buf, _) in enumerate(windows):
        t_last = buf[-1][0]
        for k, (ts, g) in enumerate(reversed(buf)):
            rows.append(i)
            cols.append(k)
            age.append((ts - t_last).total_seconds() / 60.0)
            level.append(g)
    ages[rows, cols] = age
    vals[rows, cols] = level
    valid = np.isfinite(ages) & (ages > -WINDOW_MIN)
    valid = np.cumprod(valid, axis=1).astype(bool)
    limits = np.array([low for _, low in windows], dtype=np.float64)
    return features(ages, vals, valid, limits)


class GlucoseForecastDetector:
    """Predictive low-glucose alert from CGM trends (fingersticks are ignored)."""

    name: ClassVar[str] = "glucose_forecast"
    kinds: ClassVar[frozenset[Kind]] = frozenset({Kind.GLUCOSE})
    warm_up: ClassVar[str] = ">= 4 CGM readings over >= 10 min without a gap"

    def __init__(self, ctx: PatientContext, model: LowModel | None = None) -> None:
        self.ctx = ctx
        self.model = model or shipped_model()
        self._buf: deque[tuple[datetime, float]] = deque(maxlen=LAGS)
        self._context = CgmContext()
        self._alarm = AlarmState()
        self._ctx_row = np.zeros(len(CONTEXT_NAMES))
        self._last_ref: dict[str, object] = {}
        self._last: Reading | None = None  # the newest reading, until its reference is needed
        self._ahead: dict[Window, tuple[np.ndarray, bool]] = {}  # `prepare`'s rows by window

    def __getstate__(self) -> dict[str, Any]:
        """The detector's state without the prepared rows (a cache, not state); the newest
        reading is kept as its evidence reference, as it always was."""
        state = dict(self.__dict__)
        state.pop("_ahead", None)
        state.pop("_last", None)
        state["_last_ref"] = self._ref()
        return state

    def _ref(self) -> dict[str, object]:
        """The evidence reference of the newest CGM reading (built once it is needed)."""
        if self._last is not None:
            self._last_ref, self._last = reading_ref(self._last), None
        return self._last_ref

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore from a snapshot; one taken before the context grew keeps the person's history
        values it had and starts the new ones afresh (the trend window is warm at once)."""
        self.__dict__.update(state)
        self._ahead = {}
        self._last = None
        row = np.asarray(self._ctx_row, dtype=np.float64)
        if row.shape != (len(CONTEXT_NAMES),):
            fresh = np.zeros(len(CONTEXT_NAMES))
            fresh[: min(len(row), len(fresh))] = row[: len(fresh)]
            self._ctx_row = fresh

    def score(self) -> tuple[float, np.ndarray] | None:
        """Probability of a low within 30 min and the feature row, or None during warm-up."""
        if not self._buf:
            return None
        window = (tuple(self._buf), self.ctx.targets.glucose_low)
        ahead = self._ahead.get(window)
        if ahead is None:
            trend, ready = _trend([window])
            ahead = trend[0], bool(ready[0])
        if not ahead[1]:
            return None
        row = np.concatenate([ahead[0], self._ctx_row])
        return float(self.model.probability(row[None, :])[0]), row

    def _windows(self, readings: Sequence[Reading]) -> list[Window]:
        """The windows `update` will score for `readings`, taken in order from the current
        buffer by the same rules (CGM only, in order, a gap restarts, no score at a low)."""
        buf = deque(self._buf, maxlen=LAGS)
        low = self.ctx.targets.glucose_low
        out: list[Window] = []
        for r in readings:
            if r.kind is not Kind.GLUCOSE or r.attrs.get("source") != "cgm":
                continue
            if buf and r.ts <= buf[-1][0]:
                continue
            if buf and r.ts - buf[-1][0] > self.ctx.settings.forecast_max_gap:
                buf.clear()
            g = r.values["glucose"]
            buf.append((r.ts, g))
            if not glucose_below(g, low):
                out.append((tuple(buf), low))
        return out

    @classmethod
    def prepare(cls, work: Sequence[tuple[Detector, Sequence[Reading]]]) -> None:
        """The trend rows of every window a batch's updates will score, in one block."""
        planned: list[tuple[GlucoseForecastDetector, Window]] = []
        for det, readings in work:
            assert isinstance(det, GlucoseForecastDetector)
            det._ahead = {}
            planned += [(det, w) for w in det._windows(readings)]
        if len(planned) < 2:
            return  # one row costs the same either way
        trend, ready = _trend([w for _, w in planned])
        for i, (det, w) in enumerate(planned):
            det._ahead[w] = trend[i], bool(ready[i])

    def allowed(self, row: np.ndarray) -> bool:
        """The history gate (`glucose_features.history_allows`) for a scored feature row."""
        low = self.ctx.targets.glucose_low
        return bool(history_allows(self._context.lowest, float(row[2]), low))

    def forecast(self) -> dict[str, Any] | None:
        """The evidence of the current forecast, or None during warm-up."""
        scored = self.score()
        if scored is None:
            return None
        p, row = scored
        low = self.ctx.targets.glucose_low
        horizon = self.ctx.targets.predicted_low_horizon_min
        level, rate = row[0] + low, row[2] / 10.0  # newest reading, 15-min slope per min
        minutes = (level - low) / -rate if rate < 0 else float("inf")
        return {
            "probability": round(p, 3),
            "confidence": round(p, 3),
            "threshold": self.model.threshold,
            "model_version": self.model.version,
            "level_mmol_l": round(level, 2),
            "rate_mmol_l_per_min": round(rate, 3),
            "predicted_mmol_l": round(level + rate * horizon, 2),
            "minutes_to_low": round(min(minutes, LABEL_HORIZON_MIN), 1),
            "horizon_min": horizon,
            "limit_mmol_l": low,
            "points": len(self._buf),
        }

    def update(self, reading: Reading) -> list[AlertCandidate]:
        if reading.attrs.get("source") != "cgm":
            return []
        if self._buf and reading.ts <= self._buf[-1][0]:
            return []  # out of order or duplicate
        out: list[AlertCandidate] = []
        g = reading.values["glucose"]
        low = self.ctx.targets.glucose_low
        if self._buf and reading.ts - self._buf[-1][0] > self.ctx.settings.forecast_max_gap:
            if self._alarm.active:
                out.append(self._clear(self._buf[-1][0], "gap"))
            self._buf.clear()  # restart warm-up after a gap
            self._alarm = AlarmState()
        self._buf.append((reading.ts, g))
        t = _minutes(reading.ts)
        local = t + self.ctx.settings.local_utc_offset.total_seconds() / 60.0
        self._ctx_row = np.array(self._context.update(t, g, low, local))
        self._last = reading
        if glucose_below(g, low):
            if self._alarm.active:
                out.append(self._clear(reading.ts, "low_reached"))
            self._alarm = AlarmState()
            return out
        scored = self.score()
        p = scored[0] if scored is not None else 0.0
        eligible = scored is not None and self.allowed(scored[1])
        self._alarm, what = alarm_step(self._alarm, p, eligible, self.model)
        if what in ("open", "hold"):
            fc = self.forecast()
            assert fc is not None
            params = {"limit": low, "minutes": fc["minutes_to_low"], "glucose": g}
            evidence = {"forecast": fc, "reading": self._ref(), "confidence": fc["confidence"]}
            out.append(
                AlertCandidate(
                    self.ctx.patient_id, CODE, reading.ts, params=params, evidence=evidence
                )
            )
        elif what == "clear":
            out.append(self._clear(reading.ts, "forecast_recovered", self.forecast()))
        return out

    def _clear(
        self, at: datetime, outcome: str, fc: dict[str, Any] | None = None
    ) -> AlertCandidate:
        evidence: dict[str, Any] = {"outcome": outcome, "reading": self._ref()}
        if fc is not None:
            evidence["forecast"] = fc
        return AlertCandidate(self.ctx.patient_id, CODE, at, Action.CLEAR, evidence=evidence)

    def tick(self, now: datetime) -> list[AlertCandidate]:
        if not self._alarm.active or not self._buf:
            return []
        last = self._buf[-1][0]
        if now - last >= timedelta(minutes=self.ctx.targets.predicted_low_horizon_min):
            self._alarm = AlarmState()
            self._buf.clear()
            return [self._clear(last, "expired_no_data")]
        return []
