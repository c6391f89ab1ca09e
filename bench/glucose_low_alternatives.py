"""Approaches to the predicted low beside the shipped one, on the same folds and scoring.

`python -m bench.glucose_low_alternatives` (nice it: a few minutes on 2 cores). Every approach
is scored by `bench.glucose_low.score` on out-of-fold output of the same 5 patient folds of the
140 Weinstock 2016 older adults (seed 17) as `make eval-vitals`; each prints its whole operating
curve (threshold or margin sweep) and the best precision it reaches with recall >= 0.80 at a
median lead >= 15 min, so a curve that never reaches the target shows it cannot be reached by
choosing the threshold, even with hindsight. AR2 is printed first, on the same traces.

Approaches:
- `logistic-v1`: the previous model's 14 features (trend and day context only);
- `logistic-v2`: the shipped features (v1 + acceleration, time of day, 7-day low share) and the
  history gate;
- `logistic-45min`: the v2 features trained on "a low within 45 min" (to buy lead);
- `context-3h`: the v2 features plus the last 3 hours (drop from the 3-h peak, hours since that
  peak, 3-h trough, change over the last hour): a fall after a meal's peak (a bolus at work) is
  not the same as a fall while fasting;
- `mlp`: a one-hidden-layer network (16 tanh units, Adam, 12 epochs) on the v2 features;
- `personal`: stacking; the v2 probability plus the person's own running hit rate of past
  warnings (outcome known 30 min later, 3-day decay), refitted in the folds;
- `kinematic`: no learning; the 15-min trend line plus half the acceleration extrapolated h
  minutes, warning when it is within m of the limit.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.glucose_low import (
    LIMIT,
    Arr,
    Mask,
    Score,
    Trace,
    _rule,
    ar2_opens,
    fit_logistic,
    folds_by_patient,
    load_traces,
    model_opens,
    score,
)

ROOT = Path(__file__).resolve().parent.parent
FOLDS, SEED = 5, 17
SWEEP = tuple(round(0.30 + 0.05 * k, 2) for k in range(11))
V1_COLUMNS = [*range(11), 12, 13, 14]  # without accel, tod_sin, tod_cos, low_share_7d
Features = Callable[[Trace], Arr]
Labels = Callable[[Trace], Mask]


def _sigmoid(z: Arr) -> Arr:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0))))


def label_within(minutes: float) -> Labels:
    def label(tr: Trace) -> Mask:
        low_t = tr.t[tr.g < LIMIT]
        ahead = np.searchsorted(low_t, tr.t + minutes, side="right")
        return np.asarray(ahead > np.searchsorted(low_t, tr.t, side="right"))

    return label


def logistic(x: Arr, y: Mask) -> Callable[[Arr], Arr]:
    mean, scale, w = fit_logistic(x, y)
    return lambda z: _sigmoid(w[0] + ((z - mean) / scale) @ w[1:])


def mlp(x: Arr, y: Mask, hidden: int = 16, epochs: int = 12) -> Callable[[Arr], Arr]:
    """One tanh layer, logistic output, Adam on mini-batches of 1,024, seeded."""
    rng = np.random.default_rng(0)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mean) / scale
    prior = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
    params = [
        rng.normal(0, 1 / math.sqrt(z.shape[1]), (z.shape[1], hidden)),
        np.zeros(hidden),
        rng.normal(0, 1 / math.sqrt(hidden), hidden),
        np.array([math.log(prior / (1 - prior))]),
    ]
    m1 = [np.zeros_like(p) for p in params]
    m2 = [np.zeros_like(p) for p in params]
    target, step = y.astype(np.float64), 0
    for _ in range(epochs):
        order = rng.permutation(len(z))
        for k in range(0, len(z), 1024):
            b = order[k : k + 1024]
            h = np.tanh(z[b] @ params[0] + params[1])
            d = (_sigmoid(h @ params[2] + params[3][0]) - target[b]) / len(b)
            dh = np.outer(d, params[2]) * (1 - h * h)
            grads = [z[b].T @ dh + 1e-4 * params[0], dh.sum(0), h.T @ d + 1e-4 * params[2]]
            grads.append(np.array([d.sum()]))
            step += 1
            for i, g in enumerate(grads):
                m1[i] = 0.9 * m1[i] + 0.1 * g
                m2[i] = 0.999 * m2[i] + 0.001 * g * g
                corr = m1[i] / (1 - 0.9**step)
                params[i] = params[i] - 0.003 * corr / (np.sqrt(m2[i] / (1 - 0.999**step)) + 1e-8)

    def predict(x_new: Arr) -> Arr:
        h = np.tanh(((x_new - mean) / scale) @ params[0] + params[1])
        return _sigmoid(h @ params[2] + params[3][0])

    return predict


def out_of_fold(
    traces: list[Trace],
    feats: Features,
    fit: Callable[[Arr, Mask], Callable[[Arr], Arr]],
    label: Labels,
) -> dict[str, Arr]:
    by = {tr.pid: tr for tr in traces}
    probs: dict[str, Arr] = {}
    for fold in folds_by_patient(sorted(by), FOLDS, SEED):
        train = [tr for tr in traces if tr.pid not in set(fold)]
        x = np.concatenate([feats(tr)[tr.eligible] for tr in train])
        y = np.concatenate([label(tr)[tr.eligible] for tr in train])
        predict = fit(x, y)
        for pid in fold:
            probs[pid] = predict(feats(by[pid]))
    return probs


def context_3h(tr: Trace, span_min: float = 180.0, lags: int = 40) -> Arr:
    """[drop from the 3-h peak, hours since it, 3-h trough - limit, change over the last hour,
    the drop while falling] per reading (0 during warm-up)."""
    n, g = len(tr.t), tr.g
    peak, since, trough = g.copy(), np.zeros(n), g.copy()
    hour_ago = np.full(n, np.nan)
    for k in range(1, lags):
        idx = np.arange(k, n)
        age = tr.t[idx] - tr.t[idx - k]
        ok = age <= span_min
        v = g[idx - k]
        higher = ok & (v > peak[idx])
        peak[idx[higher]], since[idx[higher]] = v[higher], age[higher]
        trough[idx[ok]] = np.minimum(trough[idx[ok]], v[ok])
        first = ok & np.isnan(hour_ago[idx]) & (age >= 55.0)
        hour_ago[idx[first]] = v[first]
    drop = peak - g
    rows = np.column_stack(
        [
            drop,
            since / 60.0,
            trough - LIMIT,
            np.where(np.isnan(hour_ago), 0.0, g - hour_ago),
            drop * (tr.x[:, 2] < 0),
        ]
    )
    rows[~tr.ready] = 0.0
    return rows


def personal_features(tr: Trace, p: Arr, tau_min: float = 3 * 1440.0) -> Arr:
    """[logit p, logit of the person's running hit rate, log count of past warnings]: warnings
    are readings with p >= 0.3, each counted once its 30-min outcome is known."""
    warned = np.nonzero(p >= 0.3)[0]
    known = tr.t[warned] + 30.0
    order = np.argsort(known, kind="stable")
    warned, known = warned[order], known[order]
    hits, count, last, k = 0.0, 0.0, float(tr.t[0]), 0
    rows = np.zeros((len(tr.t), 3))
    for i, t in enumerate(tr.t):
        decay = math.exp(-(t - last) / tau_min)
        hits, count, last = hits * decay, count * decay, float(t)
        while k < len(warned) and known[k] <= t:
            hits += float(tr.y[warned[k]])
            count += 1.0
            k += 1
        rate = (hits + 1.0) / (count + 2.0)
        rows[i, 1:] = math.log(rate / (1.0 - rate)), math.log1p(count)
    q = np.clip(p, 1e-6, 1 - 1e-6)
    rows[:, 0] = np.log(q / (1 - q))
    return rows


def report(name: str, rows: list[tuple[str, Score]]) -> None:
    print(f"\n== {name} ==")
    for setting, s in rows:
        print(f"  {setting:22s} {s.row()}")
    ok = [(k, s) for k, s in rows if s.recall >= 0.80 and s.lead >= 15.0]
    if not ok:
        print("  no setting reaches recall >= 0.80 at a median lead >= 15 min")
        return
    k, best = max(ok, key=lambda ks: ks[1].precision)
    print(
        f"  best precision with recall >= 0.80 at median lead >= 15 min (leads unrounded): "
        f"{best.precision:.3f} at {k} (recall {best.recall:.3f}, lead {best.lead:.2f} min)"
    )


def sweep(traces: list[Trace], probs: dict[str, Arr]) -> list[tuple[str, Score]]:
    out = []
    for th in SWEEP:
        opens = {tr.pid: model_opens(tr, probs[tr.pid], _rule(th)) for tr in traces}
        out.append((f"threshold {th:.2f}", score(traces, opens)))
    return out


def kinematic(traces: list[Trace]) -> list[tuple[str, Score]]:
    out = []
    for h in (15.0, 20.0, 30.0):
        for margin in (-0.2, 0.0, 0.2):
            opens = {}
            for tr in traces:
                hh = h / 10.0
                ahead = tr.x[:, 1] + tr.x[:, 2] * hh + 0.25 * tr.x[:, 11] * hh * hh
                fire = ((ahead < margin) & tr.eligible).astype(np.float64)
                opens[tr.pid] = model_opens(tr, fire, _rule(0.5))
            out.append((f"h {h:.0f} min, m {margin:+.1f}", score(traces, opens)))
    return out


def main() -> int:
    data = Path(os.environ.get("HMG_RECORDS", ROOT.parent / "shared" / "data"))
    traces = load_traces(data / "glucose" / "weinstock2016_cgm.csv")
    print(f"AR2: {score(traces, {tr.pid: ar2_opens(tr) for tr in traces}).row()}")
    y30 = label_within(30.0)
    v2: Features = lambda tr: tr.x  # noqa: E731
    v1: Features = lambda tr: tr.x[:, V1_COLUMNS]  # noqa: E731
    report("logistic-v1", sweep(traces, out_of_fold(traces, v1, logistic, y30)))
    base = out_of_fold(traces, v2, logistic, y30)
    report("logistic-v2 (shipped)", sweep(traces, base))
    report("logistic-45min", sweep(traces, out_of_fold(traces, v2, logistic, label_within(45.0))))
    longer = {tr.pid: np.column_stack([tr.x, context_3h(tr)]) for tr in traces}
    with_3h: Features = lambda tr: longer[tr.pid]  # noqa: E731
    report("context-3h", sweep(traces, out_of_fold(traces, with_3h, logistic, y30)))
    report("mlp", sweep(traces, out_of_fold(traces, v2, mlp, y30)))
    stacked = {tr.pid: personal_features(tr, base[tr.pid]) for tr in traces}
    personal: Features = lambda tr: stacked[tr.pid]  # noqa: E731
    report("personal", sweep(traces, out_of_fold(traces, personal, logistic, y30)))
    report("kinematic", kinematic(traces))
    return 0


if __name__ == "__main__":
    sys.exit(main())
