"""Features of a beat against the patient's dominant template, and the model's call on them.

Per beat, with the QRS window of `alerts.ecg.beats.BeatQuality` (0.5-40 Hz, R-100..R+150 ms,
mean removed; `x`) and the dominant template `t` (`FEATURES`, in this order):
- `unlike`: log(1.001 - correlation of `x` with `t`) (shape, including polarity; normal beats
  sit at 0.99-1, so the log spreads out the values that matter);
- `energy`: log of the root-mean-square of `x` over that of `t` (amplitude / area);
- `spread`: log ratio of sum|x| / max|x| to the same for `t` (a wide QRS spreads its area);
- `slope`: log ratio of max|dx| / (max x - min x) to the same for `t` (a wide QRS rises slowly);
- `polarity`: x at the R sample over max|x|, minus the same for `t`;
- `pre`, `post`: log of the RR intervals before and after the beat over the reference RR
  (prematurity and compensatory pause; a beat without a neighbour gets 0);
- `local`: the same for the correlation with the trailing template of the last 8 beats
  (`BeatQuality`): a lone ectopic beat is unlike its neighbours, a run of alike beats is not;
- the absolute values of `energy`, `spread`, `slope` and `polarity` (an ectopic beat may be
  larger or smaller than the normal one; a linear model needs both directions);
- `cluster_pre`, `cluster_post`: the mean `pre` and `post` of the beats of this beat's
  morphology. Besides the dominant template, up to `_CLUSTERS` other morphologies are kept
  (a beat correlating at least `MATCH_CORR` with one joins it); a morphology whose beats come
  on time is a second normal shape (aberrant conduction, intermittent bundle branch block,
  pre-excitation), one whose beats come early and are followed by a pause is ectopic even
  when a single beat's timing is ambiguous (the idea of template clustering in Holter
  analysers). Beats of the dominant morphology get 0 (its mean by definition);
- `width`: log ratio of the QRS energy width (samples between 10 % and 90 % of the window's
  cumulative energy) to the template's (QRS width, de Chazal et al. 2004);
- `prev_unlike`: `unlike` against the previous beat's window instead of the template (a run of
  one ectopic complex repeats itself; noise does not);
- `local_rr`: log of the RR before the beat over the mean of the 8 intervals before it (de
  Chazal's local average RR: prematurity against the recent rhythm, not the reference);
- `level`: the lower quartile of `unlike` over the last 64 beats (how alike this stretch's
  beats usually are to the template: a noisy or lead-V5-like stretch sits higher), and
  `unlike_rel`, `unlike` minus that level.
The decision is the model of `alerts.ecg.vebmodel` (logistic part and boosted trees averaged),
fitted by `make train-beats` with leave-one-record-out cross-validation on MIT-BIH records.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np

from alerts.ecg.filters import FloatArray
from alerts.ecg.vebmodel import VebModel, load_shipped

EPS = 1e-9
# The reductions themselves (`arr.max(axis=...)` adds a Python wrapper around the same call).
_max = np.maximum.reduce
_min = np.minimum.reduce
_sum = np.add.reduce
UNLIKE = 1.001  # correlations enter as log(UNLIKE - corr): resolution near 1

FEATURES = (
    "unlike", "energy", "spread", "slope", "polarity", "pre", "post", "local",
    "abs_energy", "abs_spread", "abs_slope", "abs_polarity", "cluster_pre", "cluster_post",
    "width", "prev_unlike", "local_rr", "level", "unlike_rel",
)  # fmt: skip


@cache
def shipped_model() -> VebModel:
    """The model the analyser runs by default (`veb_model.json`, loaded once)."""
    return load_shipped(FEATURES)


def template_stats(t: FloatArray, pre: int) -> tuple[float, float, float, float]:
    """A template's norm, spread, slope and polarity at the R sample `pre` (the quantities the
    beat features compare with)."""
    a = np.abs(t)
    peak = float(_max(a)) + EPS
    lo, hi = float(_min(t)), float(_max(t))
    slope = float(_max(np.abs(t[1:] - t[:-1]))) / (hi - lo + EPS) + EPS
    norm = math.sqrt(float(t @ t)) + EPS
    return norm, float(_sum(a)) / peak, slope, float(t[pre]) / peak


def morphology(
    x: FloatArray,
    sq: FloatArray,
    tpl: FloatArray,
    t_stats: tuple[float, float, float, float],
    pre: int,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Per beat (rows of `x`, their squared norms `sq`): correlation with the template, norm,
    the log ratios of energy, spread and slope to the template's (3 x k), and polarity."""
    ax = np.abs(x)
    peak = _max(ax, axis=1) + EPS
    norm = np.sqrt(sq) + EPS
    spread = _sum(ax, axis=1) / peak
    slope = (
        _max(np.abs(x[:, 1:] - x[:, :-1]), axis=1) / (_max(x, axis=1) - _min(x, axis=1) + EPS) + EPS
    )
    t_norm, t_spread, t_slope, t_pol = t_stats
    corr = (x @ tpl) / (norm * t_norm)
    ratios = np.log(np.stack((norm / t_norm, spread / t_spread, slope / t_slope)))
    pol = x[:, pre] / peak - t_pol
    return corr, norm, ratios, pol


def qrs_width(x: FloatArray) -> FloatArray:
    """Energy width of each row of `x`: samples between 10 % and 90 % of its cumulative energy
    (a wide ventricular QRS spreads its energy over more samples)."""
    c = np.cumsum(x * x, axis=1)
    tot = c[:, -1:] + EPS
    lo = _sum(c < 0.1 * tot, axis=1)
    hi = _sum(c < 0.9 * tot, axis=1)
    out: FloatArray = (hi - lo + 1).astype(np.float64)
    return out


def recent_rr(hist: FloatArray, n_old: int, k: int, ref: float, n: int) -> FloatArray:
    """Log of each of the last `k` intervals of `hist` over the mean of the up to `n`
    intervals before it (the reference RR where there are none)."""
    c = np.concatenate(([0.0], np.cumsum(hist)))
    at = np.arange(n_old, n_old + k)
    lo = np.maximum(at - n, 0)
    m = at - lo
    mean = np.where(m > 0, (c[at] - c[lo]) / np.maximum(m, 1), ref)
    out: FloatArray = np.log(hist[at] / mean)
    return out


def features(
    corr: FloatArray,
    local: FloatArray,
    ratios: FloatArray,
    pol: FloatArray,
    log_rr: FloatArray,
    clusters: FloatArray,
    x: FloatArray,
    t_width: float,
    prev_corr: FloatArray,
    local_rr: FloatArray,
    level: float,
) -> FloatArray:
    """The `FEATURES` of a group's beats (one column per beat); `log_rr` has one more entry
    than beats (the interval after the last), `clusters` is `cluster_pre`, `cluster_post`."""
    unlike = np.log(UNLIKE - np.minimum(np.stack((corr, local)), 1.0))
    f: FloatArray = np.concatenate(  # in `FEATURES` order
        (
            unlike[:1],
            ratios,
            pol[None, :],
            log_rr[None, :-1],
            log_rr[None, 1:],
            unlike[1:],
            np.abs(ratios),
            np.abs(pol)[None, :],
            clusters,
            np.log(qrs_width(x) / t_width)[None, :],
            np.log(UNLIKE - np.minimum(prev_corr, 1.0))[None, :],
            local_rr[None, :],
            np.full((1, corr.size), level),
            unlike[:1] - level,
        )
    )
    return f


def is_ventricular(f: FloatArray, model: VebModel | None = None) -> list[bool]:
    """The model's call for each column of `f`."""
    m = model or shipped_model()
    out: list[bool] = (m.prob(f) > m.threshold).tolist()
    return out
