"""Predicted low on real CGM: traces, features, scoring, the AR2 anchor and the patient-grouped CV.

Shared by `make train-glucose` (bench/train_glucose.py) and `make eval-vitals`.

Scoring (the same function for every method, on the same traces; limit 3.9 mmol/L):
- a *low episode* is a run of CGM readings < 3.9 mmol/L lasting >= 15 min (consecutive readings
  at most 16 min apart); its start is its first reading;
- *recall*: share of episodes with a predicted-low alarm opened in the 60 min before the start
  (inclusive); *lead*: minutes from the first such alarm to the start (median over predicted
  episodes);
- *precision*: share of opened alarms followed by a reading < 3.9 within 30 min;
- *false per person-day*: alarms not followed by a reading < 3.9 within 30 min, divided by the days
  of CGM in the traces (readings x 5 min).
An alarm *opens* where a method's rule starts firing after it was off. Our rule is the detector's
(`alarm_step`: threshold plus hysteresis); the low reached and a gap > 16 min end an alarm.

AR2 anchor (Nightscout `lib/plugins/ar2.js`, re-implemented from its published description): on
each reading with the previous one, y = ln(BG / 140) (mg/dL), the previous reading interpolated to
5 min before; six 5-min steps y[k+1] = -0.723 y[k-1] + 1.716 y[k] (30 min), each clipped to
36..400 mg/dL; avgLoss = sum over the six points of log10(BG / 120)^2 / 5; Nightscout warns when
avgLoss > 0.05 and calls it a *low* when the 20-min point is below the low limit. The AR2 alarm here
fires on such a low warning on a reading at or above the limit; it opens on the first firing
reading after a non-firing one (Nightscout re-notifies every reading; that would only count more).
"""

from __future__ import annotations

import csv
import hashlib
import multiprocessing
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from alerts.detectors.base import glucose_below
from alerts.detectors.glucose_features import (
    context_features,
    features,
    history_allows,
    lag_windows,
)
from alerts.detectors.glucose_low_model import ALL_FEATURES, AlarmState, LowModel, alarm_step

MGDL = 18.016
LIMIT = 3.9
MAX_GAP_MIN = 16.0
Arr = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]


@dataclass(slots=True)
class Trace:
    """One person's CGM with its features, label and segment ids (minutes, mmol/L)."""

    pid: str
    t: Arr
    g: Arr
    x: Arr = field(init=False)
    ready: Mask = field(init=False)
    y: Mask = field(init=False)
    seg: npt.NDArray[np.int64] = field(init=False)
    below: Mask = field(init=False)
    allowed: Mask = field(init=False)

    def __post_init__(self) -> None:
        ages, vals, valid = lag_windows(self.t, self.g, MAX_GAP_MIN)
        trend, self.ready = features(ages, vals, valid, LIMIT)
        ctx, lowest = context_features(self.t, self.g, LIMIT)  # times are the local clock
        ctx[~self.ready] = 0.0
        self.x = np.column_stack([trend, ctx])
        self.allowed = np.asarray(history_allows(lowest, trend[:, 2], LIMIT), dtype=bool)
        low_t = self.t[self.g < LIMIT]
        first = np.searchsorted(low_t, self.t, side="right")
        last = np.searchsorted(low_t, self.t + 30.0, side="right")
        self.y = last > first
        # the detector's own test (a whole 70 mg/dL is not below 70 mg/dL), unlike the scoring
        self.below = np.array([glucose_below(float(v), LIMIT) for v in self.g], dtype=bool)
        self.seg = np.concatenate([[0], np.cumsum(np.diff(self.t) > MAX_GAP_MIN)])

    @property
    def eligible(self) -> Mask:
        return self.ready & ~self.below & self.allowed


def load_traces(path: Path) -> list[Trace]:
    """A GlucoBench-style CSV (`id`, `time`, `gl` mg/dL) as traces, NA skipped. Times are minutes
    of the file's local clock (its time of day is the person's; de-identified dates only shift)."""
    by: dict[str, list[tuple[float, float]]] = {}
    with open(path) as f:
        for row in csv.DictReader(f):
            if row["gl"] in ("", "NA"):
                continue
            t = datetime.fromisoformat(row["time"]).replace(tzinfo=UTC).timestamp() / 60.0
            by.setdefault(row["id"], []).append((t, float(row["gl"]) / MGDL))
    traces = []
    for pid in sorted(by):
        a = np.array(sorted(by[pid]))
        keep = np.concatenate([[True], np.diff(a[:, 0]) > 0.5])  # duplicate timestamps
        traces.append(Trace(pid, a[keep, 0], a[keep, 1]))
    return traces


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- scoring ------------------------------------------------------------------------------------
def episode_starts(t: Arr, g: Arr) -> Arr:
    low = g < LIMIT
    starts: list[float] = []
    i, n = 0, len(t)
    while i < n:
        if not low[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and low[j + 1] and t[j + 1] - t[j] <= MAX_GAP_MIN:
            j += 1
        if t[j] - t[i] >= 15.0:
            starts.append(float(t[i]))
        i = j + 1
    return np.array(starts)


@dataclass(frozen=True, slots=True)
class Score:
    episodes: int
    predicted: int
    leads: tuple[float, ...]
    alarms: int
    true_alarms: int
    days: float

    @property
    def recall(self) -> float:
        return self.predicted / self.episodes if self.episodes else float("nan")

    @property
    def lead(self) -> float:
        return statistics.median(self.leads) if self.leads else float("nan")

    @property
    def precision(self) -> float:
        return self.true_alarms / self.alarms if self.alarms else float("nan")

    @property
    def false_per_day(self) -> float:
        return (self.alarms - self.true_alarms) / self.days if self.days else float("nan")

    @property
    def f1(self) -> float:
        r, p = self.recall, self.precision
        return 2 * r * p / (r + p) if r + p > 0 else 0.0

    def row(self) -> str:
        return (
            f"recall {self.recall:.3f} ({self.predicted}/{self.episodes}), median lead "
            f"{self.lead:.1f} min, precision {self.precision:.3f} ({self.true_alarms}/"
            f"{self.alarms}), false {self.false_per_day:.3f} per person-day"
        )


def score(traces: Sequence[Trace], opens: dict[str, Mask]) -> Score:
    episodes = predicted = alarms = true_alarms = 0
    leads: list[float] = []
    days = 0.0
    for tr in traces:
        at = tr.t[opens[tr.pid]]
        low_t = tr.t[tr.g < LIMIT]
        for s in episode_starts(tr.t, tr.g):
            episodes += 1
            before = at[(at >= s - 60.0) & (at <= s)]
            if before.size:
                predicted += 1
                leads.append(float(s - before[0]))
        first = np.searchsorted(low_t, at, side="right")
        last = np.searchsorted(low_t, at + 30.0, side="right")
        alarms += len(at)
        true_alarms += int((last > first).sum())
        days += len(tr.t) * 5.0 / 1440.0
    return Score(episodes, predicted, tuple(leads), alarms, true_alarms, days)


# -- alarm rules ----------------------------------------------------------------------------------
def model_opens(tr: Trace, p: Arr, model: LowModel) -> Mask:
    """Where the detector's alarm rule opens an alarm on this trace, given probabilities."""
    opens = np.zeros(len(tr.t), dtype=bool)
    eligible = tr.eligible
    state = AlarmState()
    for i in range(len(tr.t)):
        if (i and tr.seg[i] != tr.seg[i - 1]) or tr.below[i]:
            state = AlarmState()  # a gap or the low reached ends the alarm
            continue
        state, what = alarm_step(state, float(p[i]), bool(eligible[i]), model)
        opens[i] = what == "open"
    return opens


def ar2_opens(tr: Trace) -> Mask:
    """Nightscout AR2 low warnings, opened on their rising edges (see the module docstring)."""
    bg = tr.g * MGDL
    n = len(bg)
    has_prev = np.zeros(n, dtype=bool)
    has_prev[1:] = (tr.seg[1:] == tr.seg[:-1]) & (bg[1:] >= 36) & (bg[:-1] >= 36)
    dt = np.full(n, 5.0)
    dt[1:] = tr.t[1:] - tr.t[:-1]
    prev = bg.copy()
    prev[1:] = bg[1:] - (bg[1:] - bg[:-1]) * 5.0 / dt[1:]
    y_prev, y_cur = np.log(np.maximum(prev, 1.0) / 140.0), np.log(bg / 140.0)
    points = []
    for _ in range(6):
        y_prev, y_cur = y_cur, -0.723 * y_prev + 1.716 * y_cur
        points.append(np.clip(np.round(140.0 * np.exp(y_cur)), 36, 400))
    pts = np.array(points)
    loss = (np.log10(pts / 120.0) ** 2).sum(axis=0) / 5.0
    fire = has_prev & (loss > 0.05) & (pts[3] < LIMIT * MGDL) & (bg >= LIMIT * MGDL)
    before = np.zeros(n, dtype=bool)
    before[1:] = fire[:-1] & (tr.seg[1:] == tr.seg[:-1]) & (bg[:-1] >= LIMIT * MGDL)
    return np.asarray(fire & ~before, dtype=bool)


# -- fitting --------------------------------------------------------------------------------------
def fit_logistic(x: Arr, y: Mask, l2: float = 1e-3, iters: int = 30) -> tuple[Arr, Arr, Arr]:
    """Standardised L2 logistic regression by Newton steps: (mean, scale, [intercept, weights])."""
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = np.column_stack([np.ones(len(x)), (x - mean) / scale])
    w = np.zeros(z.shape[1])
    ridge = l2 * len(z) * np.eye(len(w))
    ridge[0, 0] = 0.0
    target = y.astype(np.float64)
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -30, 30)))
        hess = (z * (p * (1 - p))[:, None]).T @ z + ridge
        step = np.linalg.solve(hess, z.T @ (p - target) + ridge @ w)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return mean, scale, w


def fit_model(traces: Sequence[Trace], threshold: float, version: str = "cv") -> LowModel:
    x = np.concatenate([tr.x[tr.eligible] for tr in traces])
    y = np.concatenate([tr.y[tr.eligible] for tr in traces])
    mean, scale, w = fit_logistic(x, y)
    return LowModel(
        version,
        ALL_FEATURES,
        tuple(float(v) for v in mean),
        tuple(float(v) for v in scale),
        float(w[0]),
        tuple(float(v) for v in w[1:]),
        threshold,
    )


THRESHOLDS = tuple(round(0.30 + 0.05 * k, 2) for k in range(11))  # 0.30 .. 0.80


def folds_by_patient(pids: Sequence[str], k: int, seed: int) -> list[list[str]]:
    order = np.random.default_rng(seed).permutation(len(pids))
    return [sorted(pids[i] for i in order[j::k]) for j in range(k)]


MIN_LEAD_MIN = 10.0  # a warning must leave time to act: 15 g of carbohydrate takes ~15 min


def choose_threshold(
    traces: Sequence[Trace], k: int, seed: int, log: Callable[[str], Any] | None = None
) -> tuple[float, Score]:
    """The threshold with the best F1 (recall, precision) among those with a median lead of at
    least `MIN_LEAD_MIN` and no more false alarms per person-day than AR2 on the same patients,
    on out-of-fold probabilities of `traces` (k folds by patient)."""
    by = {tr.pid: tr for tr in traces}
    probs: dict[str, Arr] = {}
    for fold in folds_by_patient(sorted(by), k, seed):
        held = set(fold)
        m = fit_model([tr for tr in traces if tr.pid not in held], 0.5)
        for pid in fold:
            probs[pid] = m.probability(by[pid].x)
    ar2_false = score(traces, {tr.pid: ar2_opens(tr) for tr in traces}).false_per_day
    scored = []
    for th in THRESHOLDS:
        rule = _rule(th)
        s = score(traces, {pid: model_opens(by[pid], probs[pid], rule) for pid in by})
        scored.append((th, s))
        if log is not None:
            log(f"  threshold {th:.2f}: {s.row()}")
    allowed = (
        [(th, s) for th, s in scored if s.lead >= MIN_LEAD_MIN and s.false_per_day <= ar2_false]
        or [(th, s) for th, s in scored if s.false_per_day <= ar2_false]
        or scored[-1:]
    )
    return max(allowed, key=lambda ts: ts[1].f1)


def _rule(threshold: float) -> LowModel:
    n = len(ALL_FEATURES)
    return LowModel("rule", ALL_FEATURES, (0.0,) * n, (1.0,) * n, 0.0, (0.0,) * n, threshold)


@dataclass(frozen=True, slots=True)
class CrossValidation:
    held_out: Score
    ar2: Score
    thresholds: tuple[float, ...]
    probs: dict[str, Arr]
    opens: dict[str, Mask]


_SHARED: list[Trace] = []  # the traces, inherited by forked fold workers


def _outer_fold(job: tuple[int, list[str], int, int]) -> tuple[int, float, float, dict[str, Arr]]:
    j, fold, k, seed = job
    held = set(fold)
    train = [tr for tr in _SHARED if tr.pid not in held]
    th, inner = choose_threshold(train, k - 1, seed + 1 + j)
    model = fit_model(train, th)
    by = {tr.pid: tr for tr in _SHARED}
    return j, th, inner.f1, {pid: model.probability(by[pid].x) for pid in fold}


def cross_validate(
    traces: Sequence[Trace], k: int, seed: int, workers: int = 2, log: Callable[[str], Any] = print
) -> CrossValidation:
    """Outer k folds by patient; inside each, the threshold from an inner k-1-fold CV on the
    training patients only. Folds run in up to `workers` forked processes."""
    by = {tr.pid: tr for tr in traces}
    folds = folds_by_patient(sorted(by), k, seed)
    jobs = [(j, fold, k, seed) for j, fold in enumerate(folds)]
    _SHARED[:] = traces
    try:
        if workers > 1:
            ctx = multiprocessing.get_context("fork")
            with ctx.Pool(min(workers, k)) as pool:
                results = pool.map(_outer_fold, jobs)
        else:
            results = [_outer_fold(job) for job in jobs]
    finally:
        _SHARED.clear()
    opens: dict[str, Mask] = {}
    probs: dict[str, Arr] = {}
    chosen = []
    for j, th, inner_f1, fold_probs in sorted(results, key=lambda r: r[0]):
        chosen.append(th)
        rule = _rule(th)
        for pid, p in fold_probs.items():
            probs[pid] = p
            opens[pid] = model_opens(by[pid], p, rule)
        fold_score = score([by[p] for p in folds[j]], opens)
        log(
            f"  fold {j + 1}: {len(folds[j])} patients held out, threshold {th:.2f} (inner CV F1 "
            f"{inner_f1:.3f}); held out: {fold_score.row()}"
        )
    ar2 = score(traces, {tr.pid: ar2_opens(tr) for tr in traces})
    return CrossValidation(score(traces, opens), ar2, tuple(chosen), probs, opens)
