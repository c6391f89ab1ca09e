"""Fitting the ventricular-beat model (`alerts.ecg.vebmodel`) on labelled beat features.

- Logistic part: L2-regularised (`L2`) logistic regression by Newton's method on standardised,
  clipped features.
- Trees: gradient boosting of depth-`DEPTH` trees on the logistic loss (`ROUNDS` rounds,
  shrinkage `RATE`), splits searched over at most `BINS` quantile edges per feature, leaves
  with an L2 penalty `LAMBDA` and at least `MIN_HESS` of curvature on each side of a split
  (the histogram method of LightGBM and XGBoost's `hist`, small enough to write in numpy).
- The two probabilities are averaged with equal weight (`MIX`, fixed, not tuned) and the
  threshold maximises VEB F1 on the training beats.
Deterministic: no random draws anywhere.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from alerts.ecg.beatmodel import FEATURES
from alerts.ecg.vebmodel import CLIP, VebModel

F64 = np.ndarray[Any, np.dtype[np.float64]]
L2 = 1.0
DEPTH = 3
ROUNDS = 60
RATE = 0.25
BINS = 32
LAMBDA = 1.0
MIN_HESS = 20.0
MIX = 0.5


def fit_logistic(x: F64, y: F64) -> tuple[F64, F64, F64, float]:
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = np.hstack((((x - mean) / scale).clip(-CLIP, CLIP), np.ones((y.size, 1))))
    w = np.zeros(z.shape[1])
    reg = np.full(z.shape[1], L2)
    reg[-1] = 0.0
    for _ in range(30):
        p = 1.0 / (1.0 + np.exp(-(z @ w)))
        grad = z.T @ (p - y) + reg * w
        hess = (z * (p * (1 - p))[:, None]).T @ z + np.diag(reg)
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return mean, scale, w[:-1], float(w[-1])


def _best_split(g: F64, h: F64, bins: Any, n_f: int, n_edges: list[int]) -> tuple[int, int, float]:
    """(feature, bin, gain) of the best split of the rows whose bin codes are `bins`."""
    width = BINS + 1
    idx = (bins + np.arange(n_f)[None, :] * width).ravel()
    gs = np.bincount(idx, np.repeat(g, n_f), minlength=n_f * width).reshape(n_f, width)
    hs = np.bincount(idx, np.repeat(h, n_f), minlength=n_f * width).reshape(n_f, width)
    gl, hl = np.cumsum(gs, axis=1)[:, :-1], np.cumsum(hs, axis=1)[:, :-1]
    gt, ht = gs.sum(axis=1)[:, None], hs.sum(axis=1)[:, None]
    gr, hr = gt - gl, ht - hl
    gain = gl**2 / (hl + LAMBDA) + gr**2 / (hr + LAMBDA) - gt**2 / (ht + LAMBDA)
    gain[(hl < MIN_HESS) | (hr < MIN_HESS)] = -1.0
    for f, n in enumerate(n_edges):
        gain[f, n:] = -1.0
    at = int(np.argmax(gain))
    f, b = divmod(at, gain.shape[1])
    return f, b, float(gain[f, b])


def fit_trees(x: F64, y: F64) -> tuple[Any, F64, F64, float]:
    n, n_f = x.shape
    q = np.linspace(0.0, 1.0, BINS + 1)[1:-1]
    edges = [np.unique(np.quantile(x[:, f], q)) for f in range(n_f)]
    bins = np.stack([np.searchsorted(edges[f], x[:, f], side="left") for f in range(n_f)], 1)
    n_edges = [e.size for e in edges]
    p0 = float(np.clip(y.mean(), 1e-4, 1 - 1e-4))
    base = float(np.log(p0 / (1 - p0)))
    m = np.full(n, base)
    nodes = (1 << DEPTH) - 1
    feats, thrs, leaves = [], [], []
    rows_all = np.arange(n)
    for _ in range(ROUNDS):
        p = 1.0 / (1.0 + np.exp(-m))
        g, h = p - y, p * (1 - p)
        node = np.zeros(n, dtype=np.int64)
        ft = np.zeros(nodes, dtype=np.int64)
        th = np.full(nodes, np.inf)
        for d in range(DEPTH):
            for k in range((1 << d) - 1, (1 << (d + 1)) - 1):
                rows = np.flatnonzero(node == k)
                if rows.size < 2:
                    continue
                f, b, gain = _best_split(g[rows], h[rows], bins[rows], n_f, n_edges)
                if gain > 0:
                    ft[k], th[k] = f, edges[f][b]
            node = 2 * node + 1 + (x[rows_all, ft[node]] > th[node])
        leaf = node - nodes
        gs = np.bincount(leaf, g, minlength=nodes + 1)
        hs = np.bincount(leaf, h, minlength=nodes + 1)
        lv = -RATE * gs / (hs + LAMBDA)
        m += lv[leaf]
        feats.append(ft)
        thrs.append(th)
        leaves.append(lv)
    return np.array(feats), np.array(thrs), np.array(leaves), base


def best_threshold(p: F64, y: F64) -> float:
    best, thr = -1.0, 0.5
    for t in np.arange(0.05, 0.96, 0.01):
        pred = p > t
        f1 = 2.0 * float(np.sum(pred & (y > 0))) / (float(pred.sum()) + float(y.sum()))
        if f1 > best:
            best, thr = f1, round(float(t), 2)
    return thr


def fit_model(x: F64, y: F64) -> VebModel:
    """The model fitted on beats `x` (beats x `FEATURES`) with VEB labels `y` (0/1)."""
    mean, scale, w, b = fit_logistic(x, y)
    feat, thr, leaf, base = fit_trees(x, y)
    m = VebModel(FEATURES, mean, scale, w, b, DEPTH, feat, np.minimum(thr, 1e300), leaf, base,
                 MIX, 0.5)  # fmt: skip
    return VebModel(FEATURES, mean, scale, w, b, DEPTH, feat, m.tree_threshold, leaf, base, MIX,
                    best_threshold(m.prob(x.T), y))  # fmt: skip


def logistic_only(x: F64, y: F64) -> VebModel:
    """The logistic part alone (no trees), threshold maximising F1 on the training beats."""
    mean, scale, w, b = fit_logistic(x, y)
    none = np.zeros((0, (1 << DEPTH) - 1))
    m = VebModel(FEATURES, mean, scale, w, b, DEPTH, none.astype(np.int64), none,
                 np.zeros((0, 1 << DEPTH)), 0.0, 1.0, 0.5)  # fmt: skip
    return VebModel(FEATURES, mean, scale, w, b, DEPTH, m.tree_feature, none, m.tree_leaf, 0.0,
                    1.0, best_threshold(m.prob(x.T), y))  # fmt: skip
