"""A small multilayer perceptron for ventricular-beat features, in numpy (`bench.veb_alternatives`).

One hidden layer of `tanh` units and a logistic output, on standardised features clipped to
+-`CLIP`; trained on the cross-entropy with an L2 penalty by Adam (Kingma & Ba 2015) in
minibatches, for a fixed number of epochs from a fixed seed, so the same beats give the same
model. Evaluation is two matrix products per block of beats.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

F64 = np.ndarray[Any, np.dtype[np.float64]]

CLIP = 5.0
EPOCHS = 12
BATCH = 256
RATE = 3e-3
SEED = 2004


@dataclass(frozen=True, slots=True)
class Mlp:
    """`prob` of each row of a feature matrix (beats x features) being ventricular."""

    mean: F64
    scale: F64
    w1: F64  # features x hidden
    b1: F64
    w2: F64  # hidden
    b2: float

    def __post_init__(self) -> None:
        n, h = self.w1.shape
        if self.mean.shape != (n,) or self.scale.shape != (n,):
            raise ValueError("standardisation must have one value per feature")
        if self.b1.shape != (h,) or self.w2.shape != (h,):
            raise ValueError("hidden layer shapes disagree")

    def hidden(self, x: F64) -> F64:
        z = np.clip((x - self.mean) / self.scale, -CLIP, CLIP)
        out: F64 = np.tanh(z @ self.w1 + self.b1)
        return out

    def prob(self, x: F64) -> F64:
        out: F64 = 1.0 / (1.0 + np.exp(-(self.hidden(x) @ self.w2 + self.b2)))
        return out


def fit_mlp(x: F64, y: F64, hidden: int, l2: float, epochs: int = EPOCHS) -> Mlp:
    """The network fitted on beats `x` (beats x features) with labels `y` (0/1); `l2` is the
    penalty per beat on the squared weights (not the biases)."""
    rng = np.random.default_rng(SEED)
    n, n_f = x.shape
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = np.clip((x - mean) / scale, -CLIP, CLIP)
    p0 = float(np.clip(y.mean(), 1e-4, 1 - 1e-4))
    params = [
        rng.normal(0.0, np.sqrt(1.0 / n_f), (n_f, hidden)),
        np.zeros(hidden),
        rng.normal(0.0, np.sqrt(1.0 / hidden), hidden),
        np.array([np.log(p0 / (1 - p0))]),
    ]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    b1, b2, eps = 0.9, 0.999, 1e-8
    step = 0
    for _ in range(epochs):
        order = rng.permutation(n)
        for lo in range(0, n, BATCH):
            at = order[lo : lo + BATCH]
            zb, yb = z[at], y[at]
            w1, c1, w2, c2 = params
            h = np.tanh(zb @ w1 + c1)
            p = 1.0 / (1.0 + np.exp(-(h @ w2 + c2[0])))
            d = (p - yb) / at.size
            dh = np.outer(d, w2) * (1.0 - h * h)
            grads = [zb.T @ dh + l2 * w1, dh.sum(axis=0), h.T @ d + l2 * w2, np.array([d.sum()])]
            step += 1
            for i, g in enumerate(grads):
                m[i] = b1 * m[i] + (1 - b1) * g
                v[i] = b2 * v[i] + (1 - b2) * g * g
                mh = m[i] / (1 - b1**step)
                vh = v[i] / (1 - b2**step)
                params[i] = params[i] - RATE * mh / (np.sqrt(vh) + eps)
    return Mlp(mean, scale, params[0], params[1], params[2], float(params[3][0]))


def best_threshold(p: F64, y: F64) -> tuple[float, float]:
    """The threshold (0.05..0.95 by 0.01) maximising F1 of the VEB class, and that F1."""
    best, thr = -1.0, 0.5
    pos = float(y.sum())
    for t in np.arange(0.05, 0.96, 0.01):
        pred = p > t
        f1 = 2.0 * float(np.sum(pred & (y > 0))) / (float(pred.sum()) + pos + 1e-9)
        if f1 > best:
            best, thr = f1, round(float(t), 2)
    return thr, best
