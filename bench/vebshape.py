"""Beat features against the patient's own dominant template, for the alternative ventricular-beat
models of `bench.veb_alternatives`.

Morphology: the QRS window `x` and the template `t` in force when the beat was classified (both
from `alerts.ecg.classifier.BeatClassifier`), scaled by the template's norm, so amplitudes are
"relative to this patient's normal beat". The window's difference to the template and the
window itself are each summarised by their Haar approximation at `HAAR_LEVELS` (means of
2**levels samples: at 360 Hz about 22 ms per coefficient), the shape of "unlike this patient's
normal" rather than an absolute shape; beside them the log ratios of energy, area, QRS width,
positive and negative peak to the template's, and the correlation.

Rhythm: the RR intervals the inter-patient literature found robust (de Chazal, O'Dwyer &
Reilly, IEEE Trans Biomed Eng 2004;51:1196; Llamedo & Martinez, IEEE Trans Biomed Eng
2011;58:616): the interval before and after the beat, the local average of the `LOCAL_BEATS`
intervals before it and the long average over the `LONG_S` seconds before it, as log ratios
to the averages (so a patient's own rate cancels out).

All functions work on whole arrays (one row per beat); nothing loops per sample.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from alerts.ecg.beatmodel import EPS, qrs_width

F64 = np.ndarray[Any, np.dtype[np.float64]]

HAAR_LEVELS = 3
LOCAL_BEATS = 10
LONG_S = 300.0
SCALARS = ("corr", "energy", "area", "width", "peak_pos", "peak_neg")
RR = ("pre_local", "post_local", "pre_long", "post_long", "local_long", "post_pre")


def haar_approx(x: F64, levels: int = HAAR_LEVELS) -> F64:
    """Haar approximation coefficients of each row at `levels` (the mean of each block of
    2**levels samples times 2**(levels/2), orthonormal scaling); rows are padded at the end with
    their last value to a multiple of the block."""
    block = 1 << levels
    n, m = x.shape
    pad = -m % block
    if pad:
        x = np.concatenate((x, np.repeat(x[:, -1:], pad, axis=1)), axis=1)
    out: F64 = x.reshape(n, -1, block).sum(axis=2) / np.sqrt(block)
    return out


def shape_names(width: int, levels: int = HAAR_LEVELS) -> tuple[str, ...]:
    """Names of the columns of `shape_features` for windows of `width` samples."""
    k = -(-width // (1 << levels))
    return (
        *(f"diff{i}" for i in range(k)),
        *(f"rel{i}" for i in range(k)),
        *SCALARS,
    )


def shape_features(x: F64, t: F64, levels: int = HAAR_LEVELS) -> F64:
    """Per beat (rows of `x`, its template in the same row of `t`): Haar approximation of the
    difference to the template and of the window, both over the template's norm, then
    `SCALARS` (correlation; log ratios of energy, area sum|x|, QRS energy width, and of the
    positive and negative peaks, to the template's)."""
    t_norm = np.sqrt((t * t).sum(axis=1)) + EPS
    x_norm = np.sqrt((x * x).sum(axis=1)) + EPS
    xs, ts = x / t_norm[:, None], t / t_norm[:, None]
    corr = (x * t).sum(axis=1) / (x_norm * t_norm)
    area = np.log((np.abs(x).sum(axis=1) + EPS) / (np.abs(t).sum(axis=1) + EPS))
    width = np.log(qrs_width(x) / qrs_width(t))
    pos = np.log(_peak(xs.max(axis=1)) / _peak(ts.max(axis=1)))
    neg = np.log(_peak(-xs.min(axis=1)) / _peak(-ts.min(axis=1)))
    scalars = np.stack((corr, np.log(x_norm / t_norm), area, width, pos, neg), axis=1)
    out: F64 = np.concatenate((haar_approx(xs - ts, levels), haar_approx(xs, levels), scalars), 1)
    return out


def _peak(v: F64) -> F64:
    """A peak over the template's norm, kept off 0 (a window may have no positive part)."""
    out: F64 = np.maximum(v, 0.0) + 0.01
    return out


def rr_features(beats: F64, fs: float) -> F64:
    """Per beat of the sequence `beats` (sample numbers, increasing): the `RR` log ratios. The
    first beat's interval before and the last's after are the neighbouring interval; the
    averages are over the intervals before the beat's own (its own where there are none)."""
    rr = np.diff(beats.astype(np.float64)) / fs
    if rr.size == 0:
        return np.zeros((beats.size, len(RR)))
    pre = np.concatenate((rr[:1], rr))
    post = np.concatenate((rr, rr[-1:]))
    c = np.concatenate(([0.0], np.cumsum(pre)))
    at = np.arange(pre.size)
    lo = np.maximum(at - LOCAL_BEATS, 0)
    local = np.where(at > lo, (c[at] - c[lo]) / np.maximum(at - lo, 1), pre)
    # long average: the intervals ending within `LONG_S` seconds before the beat
    t = beats.astype(np.float64) / fs
    start = np.searchsorted(t, t - LONG_S, side="left")
    lo_l = np.minimum(start, at)
    long = np.where(at > lo_l, (c[at] - c[lo_l]) / np.maximum(at - lo_l, 1), pre)
    out: F64 = np.log(
        np.stack((pre / local, post / local, pre / long, post / long, local / long, post / pre), 1)
    )
    return out
