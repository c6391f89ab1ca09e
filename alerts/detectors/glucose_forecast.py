"""`glucose.predicted_low`: CGM forecast to cross the low limit within the horizon (default 20 min).

Method (general; one constant chosen on half of a data set, see below): a least-squares line
through the CGM readings of the last `FIT_WINDOW` (15) minutes gives a smoothed current level and a
rate of change, the first-order polynomial predictor of Sparacino et al. 2007 (IEEE TBME 54:931)
and of CGM trend arrows; Dexcom's "urgent low soon" alert looks 20 min ahead, our default horizon.
The alert accounts for forecast uncertainty (cf. the optimal-estimation hypoglycaemia alarms of
Palerm & Bequette 2005/2007, which alarm on the predicted distribution, not the point forecast): it
fires only when the upper one-sided `PI_Z` (2, about 97.7 %) prediction bound of the regression for
a new reading h minutes ahead,

    level + rate * h + PI_Z * s * sqrt(1 + 1/n + (h - mean(t))^2 / Sxx)

is below the low limit within the horizon. s is the residual SD, floored at `NOISE_FLOOR`
(0.05 mmol/L) because CGM values are already smoothed by the sensor, so a few residuals understate
the error. The bound widens with the extrapolation distance, so a shallow drift that reaches the
limit only by a few tenths of a mmol/L (within sensor error, where falls usually level off) does
not alert, while a steep fall still alerts about as early as the point forecast; a noisy fit must
cross by more. `PI_Z` is the textbook 97.7 % quantile; `NOISE_FLOOR` was chosen on the odd patient
ids of Dubosson 2018 and checked on the even ids (bench/eval_vitals.py).

Gates, so that noise and ongoing lows do not alert:
- warm-up: >= 4 readings spanning >= 10 min with no gap > `settings.forecast_max_gap`; a longer
  gap (sensor loss, warm-up of a new sensor) restarts the buffer;
- falling for real: rate <= -0.02 mmol/L/min, the slope is >= 3 standard errors from zero, and
  the newest reading is not above the previous one;
- fit quality: residual SD <= 0.3 mmol/L (about twice typical CGM point noise), so a
  compression artefact or a jumpy sensor does not look like a fall;
- not already low: the newest reading and the smoothed level are at or above the low limit.
The forecast (level, rate, point forecast and upper bound at the horizon, minutes until the upper
bound crosses the limit) is in the alert's evidence.

The episode ends when the low is reached (the level alert takes over), when two consecutive
forecasts do not cross the limit within 1.5x the horizon (hysteresis), or, via `tick`, when no CGM
reading arrived for one horizon: a forecast from old data is not current.

>>> from datetime import UTC, datetime, timedelta
>>> from alerts.detectors.base import PatientContext
>>> from devices.kinds import Kind
>>> from devices.model import Reading
>>> det = GlucoseForecastDetector(PatientContext("p1"))
>>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
>>> codes = []
>>> for i, g in enumerate([6.0, 5.6, 5.2, 4.8, 4.4]):
...     ts = t0 + timedelta(minutes=5 * i)
...     r = Reading("t", "c", Kind.GLUCOSE, i, ts, ts, "p1", {"glucose": g}, {"source": "cgm"})
...     codes += [c.code for c in det.update(r)]
>>> sorted(set(codes))
['glucose.predicted_low']
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta
from typing import Any, ClassVar

import numpy as np

from alerts.detectors.base import PatientContext, glucose_below, reading_ref
from alerts.model import Action, AlertCandidate
from devices.kinds import Kind
from devices.model import Reading

CODE = "glucose.predicted_low"
FIT_WINDOW = timedelta(minutes=15)
MIN_POINTS = 4
MIN_SPAN_MIN = 10.0
MIN_FALL_RATE = 0.02  # mmol/L per min
MIN_T_STAT = 3.0
PI_Z = 2.0  # one-sided ~97.7 % prediction bound
NOISE_FLOOR = 0.05  # mmol/L, floor of the residual SD
MAX_RESIDUAL_SD = 0.3  # mmol/L
CLEAR_HORIZON_FACTOR = 1.5
CLEAR_READINGS = 2


class GlucoseForecastDetector:
    """Predictive low-glucose alert from CGM trends (fingersticks are ignored)."""

    name: ClassVar[str] = "glucose_forecast"
    kinds: ClassVar[frozenset[Kind]] = frozenset({Kind.GLUCOSE})
    warm_up: ClassVar[str] = ">= 4 CGM readings over >= 10 min without a gap"

    def __init__(self, ctx: PatientContext) -> None:
        self.ctx = ctx
        self._buf: deque[tuple[datetime, float]] = deque()
        self._active = False
        self._clear_run = 0
        self._last_ref: dict[str, object] = {}

    def forecast(self) -> dict[str, Any] | None:
        """The current forecast over the buffer, or None during warm-up."""
        if len(self._buf) < MIN_POINTS:
            return None
        t_last = self._buf[-1][0]
        t = np.array([(ts - t_last).total_seconds() / 60.0 for ts, _ in self._buf])
        g = np.array([v for _, v in self._buf])
        if -t[0] < MIN_SPAN_MIN:
            return None
        t_mean = t.mean()
        sxx = float(np.sum((t - t_mean) ** 2))
        slope = float(np.sum((t - t_mean) * (g - g.mean())) / sxx)
        level = float(g.mean() - slope * t_mean)  # fitted value at the newest reading
        resid = g - (slope * t + level)
        sd = float(np.sqrt(np.sum(resid**2) / (len(g) - 2)))
        t_stat = -slope / max(sd / np.sqrt(sxx), 1e-3)
        horizon = self.ctx.targets.predicted_low_horizon_min
        low = self.ctx.targets.glucose_low
        s = max(sd, NOISE_FLOOR)
        n = len(g)

        def upper(h: np.ndarray) -> np.ndarray:
            """Upper prediction bound for a new reading h minutes ahead."""
            se: np.ndarray = s * np.sqrt(1 + 1 / n + (h - t_mean) ** 2 / sxx)
            return np.asarray(level + slope * h + PI_Z * se)

        minutes = float("inf")
        if slope < 0 and level >= low:
            grid = np.arange(0.0, 2 * horizon + 0.05, 0.1)
            below = np.flatnonzero(upper(grid) < low)
            minutes = float(grid[below[0]]) if below.size else float("inf")
        predicted = level + slope * horizon
        bound = float(upper(np.array([horizon]))[0])
        return {
            "level_mmol_l": round(level, 2),
            "rate_mmol_l_per_min": round(slope, 3),
            "predicted_mmol_l": round(float(predicted), 2),
            "upper_bound_mmol_l": round(bound, 2),
            "minutes_to_low": round(minutes, 1) if np.isfinite(minutes) else None,
            "horizon_min": horizon,
            "limit_mmol_l": low,
            "residual_sd": round(sd, 3),
            "t_stat": round(float(min(t_stat, 99.0)), 1),
            "points": len(g),
        }

    def update(self, reading: Reading) -> list[AlertCandidate]:
        if reading.attrs.get("source") != "cgm":
            return []
        if self._buf and reading.ts <= self._buf[-1][0]:
            return []  # out of order or duplicate
        if self._buf and reading.ts - self._buf[-1][0] > self.ctx.settings.forecast_max_gap:
            self._buf.clear()  # restart warm-up after a gap
        g = reading.values["glucose"]
        prev = self._buf[-1][1] if self._buf else None
        self._buf.append((reading.ts, g))
        while reading.ts - self._buf[0][0] > FIT_WINDOW:
            self._buf.popleft()
        self._last_ref = reading_ref(reading)
        pid = self.ctx.patient_id
        low = self.ctx.targets.glucose_low
        if glucose_below(g, low):
            if self._active:
                self._active = False
                return [self._clear(reading.ts, "low_reached")]
            return []
        fc = self.forecast()
        if fc is None:
            return []
        horizon = fc["horizon_min"]
        minutes = fc["minutes_to_low"]
        predicted = (
            minutes is not None
            and minutes <= horizon
            and fc["rate_mmol_l_per_min"] <= -MIN_FALL_RATE
            and fc["residual_sd"] <= MAX_RESIDUAL_SD
            and fc["t_stat"] >= MIN_T_STAT
            and fc["level_mmol_l"] >= low
            and (prev is None or g <= prev)
        )
        if predicted:
            self._active = True
            self._clear_run = 0
            params = {"limit": low, "minutes": minutes, "glucose": g}
            evidence = {"forecast": fc, "reading": self._last_ref}
            return [AlertCandidate(pid, CODE, reading.ts, params=params, evidence=evidence)]
        if self._active:
            far = minutes is None or minutes > CLEAR_HORIZON_FACTOR * horizon
            self._clear_run = self._clear_run + 1 if far else 0
            if self._clear_run >= CLEAR_READINGS:
                self._active = False
                return [self._clear(reading.ts, "forecast_recovered", fc)]
        return []

    def _clear(
        self, at: datetime, outcome: str, fc: dict[str, Any] | None = None
    ) -> AlertCandidate:
        evidence: dict[str, Any] = {"outcome": outcome, "reading": self._last_ref}
        if fc is not None:
            evidence["forecast"] = fc
        return AlertCandidate(self.ctx.patient_id, CODE, at, Action.CLEAR, evidence=evidence)

    def tick(self, now: datetime) -> list[AlertCandidate]:
        if not self._active or not self._buf:
            return []
        last = self._buf[-1][0]
        if now - last >= timedelta(minutes=self.ctx.targets.predicted_low_horizon_min):
            self._active = False
            self._buf.clear()
            return [self._clear(last, "expired_no_data")]
        return []
