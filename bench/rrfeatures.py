"""Multi-scale RR-interval features of every interval of a beat sequence (evaluation of a learned
beats-only AF classifier, `bench.afdb_learned`).

All features are computed over the whole record at once in numpy: running medians by
`scipy.ndimage.median_filter`, window means from cumulative sums (windows cut at the ends of the
record, so the first and last intervals are judged on fewer values), and the Lorenz-cell count
of a window from a sorted sliding view. For interval `i` and each centred window of `w + 1`
intervals (`w` in `SCALES`):

- `med`, `mean`, `rms`: median, mean and RMS of the normalised successive differences
  `d[i] = |RR[i] - RR[i-1]| / base[i]` (`base`: the median RR of the `BASE` intervals around),
  and `hi04`, `hi08`, `hi16`: the shares of them above 0.04, 0.08 (Petrėnas' threshold)
  and 0.16;
- `clean08`: the share above 0.08 once premature/compensatory pairs (`ECTOPIC`) are set aside;
- `turn`: the share of turning points (the RR series changes direction);
- `ectopic`: the share of intervals in a premature/compensatory pair;
- `cells`: the share of occupied cells of the Lorenz plot of successive differences
  (`(dRR[i-1], dRR[i]) / base` on a grid of `CELL`), AF scattering over many;
- `cv`: the coefficient of variation of the RR intervals.

Besides: `rr` (the interval, s), `rr/base` and `base/long` (the running median over `BASE`
intervals against that over `LONG`, a rate change against a longer baseline).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.ndimage import median_filter

F64 = np.ndarray[Any, np.dtype[np.float64]]

SCALES = (8, 16, 32, 64)
BASE = 65  # intervals in the running median RR the differences are normalised by
LONG = 513  # intervals in the longer baseline
ECTOPIC = (0.85, 1.1)  # premature below this share of `base`, compensatory above this share
CELL = 0.04  # Lorenz-plot cell width (share of `base`)
CELLS = 12  # cells each side of zero; larger differences share the outer cell
PER_SCALE = ("med", "mean", "rms", "hi04", "hi08", "hi16", "clean08", "turn", "ectopic",
             "cells", "cv")  # fmt: skip
NAMES = ("rr", "rr/base", "base/long",
         *(f"{n}{w}" for w in SCALES for n in PER_SCALE))  # fmt: skip


def window_mean(x: F64, w: int) -> F64:
    """Mean of `x` over the centred window of `w + 1` values (cut at the ends)."""
    n = x.size
    cs = np.concatenate(([0.0], np.cumsum(x)))
    i = np.arange(n)
    lo, hi = np.maximum(i - w // 2, 0), np.minimum(i + w // 2 + 1, n)
    out: F64 = (cs[hi] - cs[lo]) / (hi - lo)
    return out


def window_distinct(codes: np.ndarray[Any, Any], w: int) -> F64:
    """Share of distinct values of `codes` in the centred window of `w + 1` (cut at the ends)."""
    n = codes.size
    h = w // 2
    pad = np.concatenate((np.full(h, -1), codes, np.full(h, -1)))
    view = np.sort(np.lib.stride_tricks.sliding_window_view(pad, w + 1), axis=1)
    distinct = 1 + np.count_nonzero(np.diff(view, axis=1), axis=1)
    i = np.arange(n)
    cut = np.maximum(h - i, 0) + np.maximum(i + h + 1 - n, 0)  # padded places in the window
    distinct = distinct - (cut > 0)  # the padding value counts once when present
    out: F64 = distinct / (w + 1 - cut)
    return out


def running_median(x: F64, size: int) -> F64:
    out: F64 = median_filter(x, size=size, mode="nearest")
    return out


def rr_features(rr: F64) -> F64:
    """Features (rows: intervals, columns: `NAMES`) of the RR intervals `rr` (s)."""
    n = rr.size
    if n < 3:
        return np.zeros((n, len(NAMES)))
    base = running_median(rr, BASE)
    long = running_median(rr, LONG)
    step = np.concatenate(([0.0], np.diff(rr)))
    d = np.abs(step) / base
    after = np.concatenate((rr[1:], rr[-1:]))
    early = (rr < ECTOPIC[0] * base) & (after > ECTOPIC[1] * base)
    ectopic = early | np.concatenate(([False], early[:-1]))
    near = ectopic | np.concatenate((ectopic[1:], [False]))  # differences touching the pair
    turn = np.concatenate(([False], step[1:] * step[:-1] < 0))
    k = np.clip(np.round(step / base / CELL), -CELLS, CELLS).astype(np.int64) + CELLS
    cell = np.concatenate(([0], k[:-1])) * (2 * CELLS + 1) + k
    cols: list[F64] = [rr, rr / base, base / long]
    for w in SCALES:
        mean_rr = window_mean(rr, w)
        var = np.maximum(window_mean(rr * rr, w) - mean_rr**2, 0.0)
        cols += [
            running_median(d, w + 1),
            window_mean(d, w),
            np.sqrt(window_mean(d * d, w)),
            window_mean((d > 0.04).astype(np.float64), w),
            window_mean((d > 0.08).astype(np.float64), w),
            window_mean((d > 0.16).astype(np.float64), w),
            window_mean(((d > 0.08) & ~near).astype(np.float64), w),
            window_mean(turn.astype(np.float64), w),
            window_mean(ectopic.astype(np.float64), w),
            window_distinct(cell, w),
            np.sqrt(var) / mean_rr,
        ]
    return np.stack(cols, axis=1)
