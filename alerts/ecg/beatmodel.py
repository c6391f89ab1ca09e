"""Features of a beat against the patient's dominant template, and the logistic model over them.

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
  analysers). Beats of the dominant morphology get 0 (its mean by definition).
The decision is a logistic model over these features (`MODEL`), fitted by
`bench/eval_ventricular.py --fit` with record-level cross-validation on MIT-BIH records.
"""

from __future__ import annotations

import math

import numpy as np

from alerts.ecg.filters import FloatArray

EPS = 1e-9
# The reductions themselves (`arr.max(axis=...)` adds a Python wrapper around the same call).
_max = np.maximum.reduce
_min = np.minimum.reduce
_sum = np.add.reduce
UNLIKE = 1.001  # correlations enter as log(UNLIKE - corr): resolution near 1

FEATURES = (
    "unlike", "energy", "spread", "slope", "polarity", "pre", "post", "local",
    "abs_energy", "abs_spread", "abs_slope", "abs_polarity", "cluster_pre", "cluster_post",
)  # fmt: skip


class Model:
    """The shipped logistic model: standardised `FEATURES`, weights, bias and threshold.

    Fitted by `python -m bench.eval_ventricular --fit` on the 23 development MIT-BIH records
    (L2-regularised, the threshold maximising VEB F1 on them), the same procedure whose
    held-out figures `make eval-ecg` reports by leave-one-record-out cross-validation."""

    MEAN = np.array(
        [
            -4.719,
            0.008285,
            0.02128,
            -0.007021,
            -0.0454,
            -0.05331,
            -0.0537,
            -4.62,
            0.1082,
            0.08031,
            0.07409,
            0.0788,
            -0.02811,
            -0.004495,
        ]
    )
    SCALE = np.array(
        [
            1.455,
            0.1937,
            0.1642,
            0.138,
            0.2669,
            0.1925,
            0.193,
            1.416,
            0.1608,
            0.1448,
            0.1167,
            0.259,
            0.1387,
            0.07706,
        ]
    )
    WEIGHTS = np.array(
        [
            0.5832,
            0.08737,
            0.4127,
            -0.2741,
            0.1098,
            -0.6411,
            0.3683,
            0.4357,
            0.3023,
            0.1211,
            0.3265,
            0.1413,
            -0.4852,
            0.2952,
        ]
    )
    BIAS = -5.562
    THRESHOLD = 0.28


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


def features(
    corr: FloatArray,
    local: FloatArray,
    ratios: FloatArray,
    pol: FloatArray,
    log_rr: FloatArray,
    clusters: FloatArray,
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
        )
    )
    return f


def is_ventricular(f: FloatArray, model: type[Model] = Model) -> list[bool]:
    """The model's call for each column of `f`."""
    m = model
    z = (
        m.WEIGHTS @ np.minimum(np.maximum((f - m.MEAN[:, None]) / m.SCALE[:, None], -5.0), 5.0)
        + m.BIAS
    )
    out: list[bool] = (z > math.log(m.THRESHOLD / (1.0 - m.THRESHOLD))).tolist()
    return out
