"""The Petrėnas rule: the anchor for AF detection from beats alone (evaluation only).

Petrėnas, Marozas & Sörnmo, "Low-complexity detection of atrial fibrillation in continuous
long-term monitoring", Comput Biol Med 2015;65:184-191, as published (offline form, the whole
RR series at once), with the paper's parameters:
- RR intervals `r` (s) are median-filtered over 3 intervals (`rm`, ectopic beats) and their
  trend `rt` is a forward-backward exponential average (smoothing `ALPHA`);
- irregularity `M(n)`: the share of pairs among the last `N` values of `rm` that differ by at
  least `GAMMA` s, smoothed the same way and divided by the trend: `I = Mt / rt`;
- bigeminy suppression `B(n) = (sum(rm) / sum(r) - 1)^2` over the last `N` intervals, smoothed
  (`Bt`);
- fusion: `O = I` where `Bt >= DELTA`, else `Bt`; an interval is AF when `O > ETA`.
The label of interval `n` is given to the beat that ends it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.ndimage import median_filter
from scipy.signal import filtfilt

N = 8
GAMMA = 0.03
ALPHA = 0.02
DELTA = 2e-4
ETA = 0.725

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


def _smooth(x: FloatArray) -> FloatArray:
    if x.size < 8:
        return x.copy()
    out: FloatArray = filtfilt([ALPHA], [1.0, ALPHA - 1.0], x)
    return out


def _trailing(x: FloatArray, n: int) -> FloatArray:
    """Rows of the last `n` values up to each index (earlier positions padded with NaN)."""
    pad = np.concatenate((np.full(n - 1, np.nan), x))
    return np.lib.stride_tricks.sliding_window_view(pad, n)


def af_beats(beats: np.ndarray[Any, Any], fs: float) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """AF label of every beat (the first beat, without an interval, is not AF)."""
    out = np.zeros(beats.size, dtype=bool)
    if beats.size < 3:
        return out
    r = np.diff(beats.astype(np.float64)) / fs
    rm = median_filter(r, size=3, mode="nearest")
    rt = _smooth(r)
    win = _trailing(rm, N)
    diff = np.abs(win[:, :, None] - win[:, None, :])
    upper = np.triu(np.ones((N, N), dtype=bool), 1)
    pairs = diff[:, upper]
    m = np.where(np.isnan(pairs), False, pairs >= GAMMA).sum(axis=1) * 2.0 / (N * (N - 1))
    irregular = _smooth(m.astype(np.float64)) / rt
    sum_rm = np.nansum(_trailing(rm, N), axis=1)
    sum_r = np.nansum(_trailing(r, N), axis=1)
    big = _smooth((sum_rm / sum_r - 1.0) ** 2)
    fused = np.where(big >= DELTA, irregular, big)
    out[1:] = fused > ETA
    return out
