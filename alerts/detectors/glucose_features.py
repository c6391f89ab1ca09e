"""Trend features of recent CGM readings for the predicted-low model, on blocks of readings.

One function computes the features for a block of windows (one row per reading, the newest
reading first in each row), so that the streaming detector (one row per new reading) and the
training and evaluation code (every reading of a trace at once) compute exactly the same numbers.

A window is the newest reading and up to `LAGS - 1` earlier readings of the same CGM segment
(no gap longer than the detector's `forecast_max_gap` between consecutive readings) taken less than
`WINDOW_MIN` minutes before it. Glucose is in mmol/L and every level is taken relative to the
patient's low limit, so one model serves every limit.

Features (columns of `features`, in `FEATURE_NAMES` order):
- `level`: newest reading minus the limit;
- `fit_level`: level of the least-squares line through the window at the newest reading, minus
  the limit (a smoothed current level);
- `slope15`, `slope30`: rate of change (mmol/L per 10 min) of the least-squares lines through the
  readings of the last 15 and 30 minutes (the first-order predictor of CGM trend arrows);
- `projected20`: the newest reading plus 20 min of the 15-min slope, minus the limit;
- `resid_sd`: residual SD of the 30-min line (noise or curvature);
- `nearness`: 1 / (level + 1), steep as the level approaches the limit (the log-odds of a low
  within half an hour rise faster than linearly near the limit);
- `window_min`: lowest reading of the window minus the limit (a recent nadir);
- `delta5`: change since the previous reading, per 10 min (0 without one);
- `level_x_slope`, `projected_sq`: level times short slope, and the square of `projected20` when
  it is below 1 mmol/L above the limit (the two interactions that carried weight);
- `accel`: the rate's change, twice the quadratic term of the least-squares parabola through the
  window (mmol/L per 10 min per 10 min; 0 with fewer than 5 readings): a fall that is slowing
  down (positive) bottoms out above the limit more often than one that is steepening.

Context of the person's own history (`CgmContext`, a few floats per patient, updated reading by
reading, kept in the detector's snapshots):
- `near_low_24h`: time-decayed (24 h) share of readings less than `NEAR_MARGIN` above the limit
  (how often this person runs close to a low);
- `mean_3h`: time-decayed (3 h) mean glucose minus the limit;
- `low_recency`: exp(-minutes since the last reading below the limit / 120) (lows cluster);
- `tod_sin`, `tod_cos`: the local time of day on the unit circle (nocturnal lows are the common,
  long and unnoticed ones in insulin-treated elders);
- `low_share_7d`: time-decayed (7 d) share of readings below `HISTORY_MARGIN` above the limit.

History gate (`history_allows`): a person whose CGM has never read below the limit plus
`HISTORY_MARGIN` (4.4 mmol/L at the default 3.9 limit) gets no predicted low unless the 15-min
trend falls at `STEEP_FALL` or faster (2 mg/dL per min, the CGM "falling" arrow): an adult without
diabetes runs near 4.4 after a meal's dip and recovers, and a forecast there is a false alarm.
The lowest reading seen is part of the context (`CgmContext.lowest`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

LAGS = 7  # newest reading and six earlier ones: 30 min at the usual 5-min CGM sampling
WINDOW_MIN = 30.5  # minutes; readings older than this are not part of the window
SHORT_MIN = 15.5  # minutes; the short slope's window
MIN_POINTS = 4
MIN_SPAN_MIN = 10.0
MAX_STEP_RATE = 0.25  # mmol/L per min (4.5 mg/dL/min) between consecutive readings
FEATURE_NAMES = (
    "level",
    "fit_level",
    "slope15",
    "slope30",
    "projected20",
    "resid_sd",
    "nearness",
    "window_min",
    "delta5",
    "level_x_slope",
    "projected_sq",
    "accel",
)
CONTEXT_NAMES = ("near_low_24h", "mean_3h", "low_recency", "tod_sin", "tod_cos", "low_share_7d")
NEAR_MARGIN = 0.6  # mmol/L above the limit that counts as "near low"
NEAR_TAU_MIN = 1440.0
MEAN_TAU_MIN = 180.0
RECENCY_TAU_MIN = 120.0
HISTORY_TAU_MIN = 7 * 1440.0
HISTORY_MARGIN = 0.5  # mmol/L above the limit: 4.4 mmol/L (80 mg/dL) at the default 3.9
STEEP_FALL = -0.111  # mmol/L per min (-2 mg/dL/min), on the 15-min trend line
ACCEL_POINTS = 5

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def lag_windows(
    t_min: FloatArray, g: FloatArray, max_gap_min: float
) -> tuple[FloatArray, FloatArray, BoolArray]:
    """Windows of one trace sorted by time: (age in minutes, glucose, valid), each (N, LAGS).

    Column k holds the reading k places before the newest; `valid` marks readings inside the
    window (same segment, less than `WINDOW_MIN` old).
    """
    n = len(t_min)
    seg = np.concatenate([[0], np.cumsum(np.diff(t_min) > max_gap_min)]) if n else np.zeros(0)
    ages = np.full((n, LAGS), np.nan)
    vals = np.full((n, LAGS), np.nan)
    valid = np.zeros((n, LAGS), dtype=bool)
    for k in range(LAGS):
        if k >= n:
            break
        idx = np.arange(k, n)
        ages[idx, k] = t_min[idx - k] - t_min[idx]
        vals[idx, k] = g[idx - k]
        valid[idx, k] = (seg[idx - k] == seg[idx]) & (ages[idx, k] > -WINDOW_MIN)
    # a window ends at the first invalid lag: nothing beyond a gap
    valid = np.cumprod(valid, axis=1).astype(bool)
    return ages, vals, valid


def _line(
    ages: FloatArray, vals: FloatArray, w: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Weighted least-squares line per row: (level at age 0, slope per min, residual SD)."""
    n = w.sum(axis=1)
    safe_n = np.maximum(n, 1.0)
    a = np.where(w > 0, ages, 0.0)
    v = np.where(w > 0, vals, 0.0)
    ma = (w * a).sum(axis=1) / safe_n
    mv = (w * v).sum(axis=1) / safe_n
    da = (a - ma[:, None]) * w
    sxx = (da * (a - ma[:, None])).sum(axis=1)
    sxy = (da * (v - mv[:, None])).sum(axis=1)
    slope = np.where(sxx > 0, sxy / np.maximum(sxx, 1e-9), 0.0)
    level = mv - slope * ma
    resid = (v - (level[:, None] + slope[:, None] * a)) * w
    sd = np.sqrt((resid**2).sum(axis=1) / np.maximum(n - 2, 1.0))
    return level, slope, sd


def _accel(ages: FloatArray, vals: FloatArray, w: FloatArray) -> FloatArray:
    """Second derivative of the weighted least-squares parabola per row (per (10 min)^2)."""
    a = np.where(w > 0, ages, 0.0) / 10.0
    v = np.where(w > 0, vals, 0.0)
    phi = np.stack([np.ones_like(a), a, a * a], axis=2)  # (N, LAGS, 3)
    normal = np.einsum("nk,nki,nkj->nij", w, phi, phi)
    rhs = np.einsum("nk,nki,nk->ni", w, phi, v)
    ok = (w.sum(axis=1) >= ACCEL_POINTS) & (np.abs(np.linalg.det(normal)) > 1e-9)
    normal[~ok] = np.eye(3)
    rhs[~ok] = 0.0
    coef = np.linalg.solve(normal, rhs[:, :, None])[:, :, 0]
    return np.where(ok, 2.0 * coef[:, 2], 0.0)


def features(
    ages: FloatArray, vals: FloatArray, valid: BoolArray, limit: float | FloatArray
) -> tuple[FloatArray, BoolArray]:
    """Feature rows (N, len(FEATURE_NAMES)) and whether each row is warmed up.

    A row is warmed up with >= `MIN_POINTS` readings spanning >= `MIN_SPAN_MIN` minutes, and is
    plausible: the step from the previous reading is at most `MAX_STEP_RATE` per minute. Glucose
    rarely moves faster than 3 mg/dL/min (the steepest CGM trend arrow, "> 3 mg/dL/min"); a jump
    of 4.5 mg/dL/min or more between two readings is a sensor artefact (a compression low), so
    that reading is not scored and the next one, if the fall is real, is.
    """
    w = valid.astype(np.float64)
    n = w.sum(axis=1)
    oldest = np.where(valid, ages, 0.0).min(axis=1)
    ready = (n >= MIN_POINTS) & (-oldest >= MIN_SPAN_MIN)
    lim = np.broadcast_to(np.asarray(limit, dtype=np.float64), n.shape)
    g0 = np.where(valid[:, 0], vals[:, 0], 0.0) - lim
    fit_level, slope30, sd = _line(ages, vals, w)
    w15 = w * (np.nan_to_num(ages, nan=-1e9) > -SHORT_MIN)
    short_ok = w15.sum(axis=1) >= 3
    _, slope15, _ = _line(ages, vals, w15)
    slope15 = np.where(short_ok, slope15, slope30)
    nadir = np.where(valid, vals, np.inf).min(axis=1) - lim
    step = np.where(valid[:, 1], -ages[:, 1], 1.0)
    delta5 = np.where(valid[:, 1], (vals[:, 0] - vals[:, 1]) / np.maximum(step, 1.0) * 10.0, 0.0)
    ready &= np.abs(delta5) <= 10.0 * MAX_STEP_RATE
    x = np.column_stack(
        [
            g0,
            fit_level - lim,
            10.0 * slope15,
            10.0 * slope30,
            g0 + 20.0 * slope15,
            sd,
            1.0 / (np.maximum(g0, 0.0) + 1.0),
            np.where(np.isfinite(nadir), nadir, 0.0),
            delta5,
            g0 * 10.0 * slope15,
            np.where(g0 + 20.0 * slope15 < 1.0, (g0 + 20.0 * slope15) ** 2, 0.0),
            _accel(ages, vals, w),
        ]
    )
    x[~ready] = 0.0
    return x, ready


def history_allows(lowest: FloatArray | float, slope15: FloatArray | float, limit: float) -> Any:
    """The history gate: the person has read below limit + `HISTORY_MARGIN`, or the 15-min trend
    (the `slope15` feature, mmol/L per 10 min) falls at `STEEP_FALL` or faster."""
    return np.logical_or(
        np.asarray(lowest) < limit + HISTORY_MARGIN, np.asarray(slope15) <= 10.0 * STEEP_FALL
    )


_DEFAULTS: dict[str, Any] = {
    "_t": None,
    "_near": 0.0,
    "_mean": 0.0,
    "_last_low": -math.inf,
    "_share": 0.0,
    "lowest": math.inf,
}


class CgmContext:
    """The person's CGM context: a few time-decayed values and the lowest reading, per reading.

    Restores from a snapshot taken before a value was added: missing values start afresh.
    """

    __slots__ = ("_last_low", "_mean", "_near", "_share", "_t", "lowest")
    _t: float | None
    _near: float
    _mean: float
    _last_low: float
    _share: float
    lowest: float

    def __init__(self) -> None:
        for name, value in _DEFAULTS.items():
            setattr(self, name, value)

    def __setstate__(self, state: Any) -> None:
        slots = (state[1] if isinstance(state, tuple) else state) or {}
        for name, value in _DEFAULTS.items():
            setattr(self, name, slots.get(name, value))
        if "lowest" not in slots and self._last_low > -math.inf:
            self.lowest = 0.0  # a reading below the limit was seen; its value was not kept

    def update(
        self, t_min: float, g: float, limit: float, local_min: float | None = None
    ) -> tuple[float, ...]:
        """Take one reading (minutes on any fixed origin, mmol/L; `local_min`: the same instant
        on the local clock, default `t_min`); the context after it, in `CONTEXT_NAMES` order."""
        near = 1.0 if g < limit + NEAR_MARGIN else 0.0
        hist = 1.0 if g < limit + HISTORY_MARGIN else 0.0
        if self._t is None:
            self._near, self._mean, self._share = near, g, hist
        else:
            dt = max(t_min - self._t, 0.0)
            a, b = math.exp(-dt / NEAR_TAU_MIN), math.exp(-dt / MEAN_TAU_MIN)
            c = math.exp(-dt / HISTORY_TAU_MIN)
            self._near = self._near * a + (1.0 - a) * near
            self._mean = self._mean * b + (1.0 - b) * g
            self._share = self._share * c + (1.0 - c) * hist
        self._t = t_min
        self.lowest = min(self.lowest, g)
        if g < limit:
            self._last_low = t_min
        recency = 1.0 if g < limit else math.exp(-(t_min - self._last_low) / RECENCY_TAU_MIN)
        day = 2.0 * math.pi * ((t_min if local_min is None else local_min) % 1440.0) / 1440.0
        return (
            self._near,
            self._mean - limit,
            recency,
            math.sin(day),
            math.cos(day),
            self._share,
        )


def context_features(
    t_min: FloatArray, g: FloatArray, limit: float, local_offset_min: float = 0.0
) -> tuple[FloatArray, FloatArray]:
    """`CgmContext` over a whole trace sorted by time: the rows (N, len(CONTEXT_NAMES)) and the
    lowest reading so far at each reading."""
    ctx = CgmContext()
    rows, lowest = [], []
    for t, v in zip(t_min, g, strict=True):
        rows.append(ctx.update(float(t), float(v), limit, float(t) + local_offset_min))
        lowest.append(ctx.lowest)
    x = np.array(rows, dtype=np.float64).reshape(len(t_min), len(CONTEXT_NAMES))
    return x, np.array(lowest, dtype=np.float64)
