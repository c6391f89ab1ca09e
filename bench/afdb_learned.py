"""`python -m bench.afdb_learned`: a learned per-interval AF classifier over multi-scale RR
features (`bench.rrfeatures`), beats only, by leave-one-record-out cross-validation on the 12
AFDB records, beside the shipped beats-only rule and the Petrėnas anchor on the same beats.

Two models are compared, both fitted on every `SUB`-th interval of the training records
(an interval's label is the reference rhythm of the beat that ends it): an L2-regularised
logistic regression by Newton's method, and 60 boosted depth-3 trees on the logistic loss
(`bench.beatfit.fit_logistic`, `fit_trees`). A beat gets the probability of the interval that
ends it, averaged over a centred window of `SMOOTH` intervals. The model, the smoothing window
and the threshold (`THRESHOLDS`) are chosen inside each fold by a nested cross-validation on
the 11 training records (`INNER` groups of records, each scored by models fitted on the
others): the highest lowest per-record Se (records where both rhythms occur) among the
settings whose pooled Se and Sp over those held-out scores stay at or above `POOLED`; on a
tie, the higher pooled Sp; when none does, the setting nearest to both targets. The chosen
model is then fitted on the 11 records and the left-out record scored with that setting. Only
held-out figures are printed, per record and pooled; `Se 30s` and `Se <30s` are the Se over
the beats of reference AF episodes of at least and of under 30 s (`bench.afdb_eval.LONG_S`).
The shipped rule runs with its shipped settings (`EcgConfig()`, whose short-paroxysm setting
was chosen on all 12 records; its held-out figures: `python -m bench.afdb_cv`). The per-record
table goes to `TABLE`.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import wfdb

from alerts.ecg.vebmodel import CLIP
from bench.afdb_eval import AFDB, Counts, af_counts, af_reference_long
from bench.beatfit import DEPTH, fit_logistic, fit_trees
from bench.petrenas import af_beats
from bench.records import WORKERS, data_dir, pct
from bench.rrfeatures import F64, rr_features, window_mean
from gateway.ecgtool import BEAT_SYMBOLS

KINDS = ("logistic", "trees")  # models compared inside each fold
SUB = 6  # every SUB-th interval of a training record is fitted on
SMOOTH = (1, 9, 17, 33)  # intervals the probability is averaged over (centred)
THRESHOLDS = np.round(np.arange(0.02, 0.99, 0.02), 2)
POOLED = (97.0, 98.0)  # pooled Se, Sp (%) a setting must keep on the training records
TABLE = Path("build") / "eval" / "afdb_learned.tsv"
INNER = 4  # record groups of the nested cross-validation inside a fold


@dataclass(frozen=True, slots=True)
class Record:
    name: str
    path: str
    beats: np.ndarray[Any, Any]
    fs: float
    x: F64  # features of every interval (rows), interval i ends beat i + 1
    ref: np.ndarray[Any, Any]  # per beat: reference AF
    long: np.ndarray[Any, Any]  # per beat: in a reference AF episode of >= 30 s

    @property
    def both(self) -> bool:
        return bool(self.ref.any() and (~self.ref).any())


def load(name: str) -> Record:
    path = str(data_dir() / "ecg" / "afdb" / name)
    ann = wfdb.rdann(path, "qrs")
    fs = float(ann.fs or 250.0)
    keep = np.array([s in BEAT_SYMBOLS for s in ann.symbol], dtype=bool)
    beats = np.sort(np.asarray(ann.sample, dtype=np.int64)[keep])
    ref, long = af_reference_long(path, beats)
    x = rr_features(np.diff(beats).astype(np.float64) / fs)
    return Record(name, path, beats, fs, x, ref, long)


def fit(kind: str, recs: list[Record]) -> Any:
    """A model of `kind` (one of `KINDS`) fitted on every `SUB`-th interval of `recs`."""
    x = np.concatenate([r.x[::SUB] for r in recs])
    y = np.concatenate([r.ref[1:][::SUB] for r in recs]).astype(np.float64)
    return fit_logistic(x, y) if kind == "logistic" else fit_trees(x, y)


def prob(kind: str, model: Any, x: F64) -> F64:
    """Per-interval AF probability of the features `x` (rows) under a model of `kind`."""
    if kind == "logistic":
        mean, scale, w, b = model
        z = ((x - mean) / scale).clip(-CLIP, CLIP) @ w + b
    else:
        feat, thr, leaf, base = model
        nodes = (1 << DEPTH) - 1
        rows = np.arange(x.shape[0])
        z = np.full(x.shape[0], base)
        for f, t, v in zip(feat, thr, leaf, strict=True):
            node = np.zeros(x.shape[0], dtype=np.int64)
            for _ in range(DEPTH):
                node = 2 * node + 1 + (x[rows, f[node]] > t[node])
            z += v[node - nodes]
    out: F64 = 1.0 / (1.0 + np.exp(-z))
    return out


def beat_prob(p: F64, smooth: int) -> F64:
    """Per beat (the first has no interval: 0) from per-interval probabilities."""
    return np.concatenate(([0.0], window_mean(p, smooth - 1) if smooth > 1 else p))


def sweep(p: F64, ref: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """(TP, FN, TN, FP) at every threshold of `THRESHOLDS` (rows), beat `p` > threshold."""
    pa, pn = np.sort(p[ref]), np.sort(p[~ref])
    fn = np.searchsorted(pa, THRESHOLDS, side="right")
    tn = np.searchsorted(pn, THRESHOLDS, side="right")
    return np.stack((pa.size - fn, fn, tn, pn.size - tn), axis=1)


Setting = tuple[str, int, float]  # model kind, smoothing intervals, threshold


def choose(per: dict[tuple[str, int], list[Any]], both: list[bool]) -> Setting:
    """(kind, smoothing, threshold) by the rule of the module docstring over per-record sweeps."""
    best: tuple[float, ...] = (-np.inf,)
    pick: Setting = (KINDS[0], SMOOTH[0], 0.5)
    for (kind, s), sweeps in per.items():
        tp, fn, tn, fp = np.sum(sweeps, axis=0).T
        se, sp = 100.0 * tp / np.maximum(tp + fn, 1), 100.0 * tn / np.maximum(tn + fp, 1)
        rec_se = [100.0 * c[:, 0] / np.maximum(c[:, 0] + c[:, 1], 1) for c, b in
                  zip(sweeps, both, strict=True) if b]  # fmt: skip
        low = np.min(rec_se, axis=0)
        ok = (se >= POOLED[0]) & (sp >= POOLED[1])
        for k in range(THRESHOLDS.size):
            near = min(se[k] - POOLED[0], sp[k] - POOLED[1])
            key = (1.0, low[k], sp[k]) if ok[k] else (0.0, near)
            if key > best:
                best, pick = key, (kind, s, float(THRESHOLDS[k]))
    return pick


def held_out_setting(recs: list[Record], train: list[int]) -> Setting:
    """The setting chosen by nested cross-validation on the records `train`: `INNER` groups
    of records (every `INNER`-th), each scored by models fitted on the other groups."""
    per: dict[tuple[str, int], list[Any]] = {(k, s): [] for k in KINDS for s in SMOOTH}
    order: list[int] = []
    for g in range(INNER):
        test = train[g::INNER]
        order += test
        for kind in KINDS:
            model = fit(kind, [recs[i] for i in train if i not in test])
            for j in test:
                p = prob(kind, model, recs[j].x)
                for s in SMOOTH:
                    per[kind, s].append(sweep(beat_prob(p, s), recs[j].ref))
    return choose(per, [recs[j].both for j in order])


@cache
def records() -> list[Record]:
    """The 12 records with their features (loaded once per process)."""
    return [load(name) for name in AFDB]


def fold(k: int) -> tuple[Setting, Counts]:
    """Setting chosen without record `k`, and record `k`'s held-out counts with it."""
    recs = records()
    train = [i for i in range(len(recs)) if i != k]
    kind, s, t = held_out_setting(recs, train)
    r = recs[k]
    pred = beat_prob(prob(kind, fit(kind, [recs[i] for i in train]), r.x), s) > t
    return (kind, s, t), _counts(pred, r.ref, r.long)


def _counts(pred: Any, ref: Any, long: Any) -> Counts:
    return (int(np.sum(pred & ref)), int(np.sum(~pred & ref)),
            int(np.sum(~pred & ~ref)), int(np.sum(pred & ~ref)),
            int(np.sum(pred & long)), int(np.sum(~pred & long)))  # fmt: skip


def _se_sp(c: Counts) -> tuple[float, float]:
    return pct(c[0], c[0] + c[1]), pct(c[2], c[2] + c[3])


def main() -> None:
    with ProcessPoolExecutor(max_workers=min(WORKERS, os.cpu_count() or 1)) as pool:
        shipped = list(pool.map(af_counts, [str(data_dir() / "ecg" / "afdb" / r) for r in AFDB]))
        res = list(pool.map(fold, range(len(AFDB))))
    recs = records()
    anchor = [_counts(af_beats(r.beats, r.fs), r.ref, r.long) for r in recs]
    head = ("record", "AF", "non-AF", "setting", "learned Se", "Sp", "Se 30s", "Se <30s",
            "shipped Se", "Sp",
            "Petrenas Se", "Sp")  # fmt: skip
    print("AF per beat, AFDB beats only: learned classifier held out (leave-one-record-out), "
          "the shipped rule and the Petrenas anchor on the same beats")  # fmt: skip
    print(f"{head[0]:<8}{head[1]:>7}{head[2]:>8}  {head[3]:<9}" + "".join(
        f"{h:>12}" for h in head[4:]))  # fmt: skip
    lines = ["\t".join(head)]
    low = [100.0, 100.0, 100.0]
    for r, (setting, c), sh, an in zip(recs, res, shipped, anchor, strict=True):
        short = pct(c[0] - c[4], c[0] + c[1] - c[4] - c[5])
        row = (*_se_sp(c), pct(c[4], c[4] + c[5]), short, *_se_sp(sh), *_se_sp(an))
        if r.both:
            low = [min(low[0], row[0]), min(low[1], row[4]), min(low[2], row[6])]
        name = f"{setting[0][0]}/{setting[1]}/{setting[2]:.2f}"
        print(f"{r.name:<8}{c[0] + c[1]:>7}{c[2] + c[3]:>8}  {name:<9}" + "".join(
            f"{v:>12.2f}" for v in row))  # fmt: skip
        lines.append("\t".join([r.name, str(c[0] + c[1]), str(c[2] + c[3]), name,
                                *(f"{v:.2f}" for v in row)]))  # fmt: skip
    tot = [tuple(sum(c[k] for c in cs) for k in range(6)) for cs in
           ([c for _, c in res], shipped, anchor)]  # fmt: skip
    pooled = [_se_sp(c) for c in tot]  # type: ignore[arg-type]
    lines.append("\t".join(["pooled", "", "", "", f"{pooled[0][0]:.2f}", f"{pooled[0][1]:.2f}",
                            "", "", *(f"{v:.2f}" for p in pooled[1:] for v in p)]))  # fmt: skip
    print("pooled held-out: learned Se {:.2f} %, Sp {:.2f} %; shipped {:.2f} / {:.2f}; Petrenas "
          "{:.2f} / {:.2f}".format(*(v for p in pooled for v in p)))  # fmt: skip
    print(f"lowest per-record Se where both rhythms occur: learned {low[0]:.2f} %, shipped "
          f"{low[1]:.2f} %, Petrenas {low[2]:.2f} %")  # fmt: skip
    TABLE.parent.mkdir(parents=True, exist_ok=True)
    TABLE.write_text("\n".join(lines) + "\n")
    print("(setting: model (l: logistic, t: trees) / smoothing intervals / threshold, chosen "
          f"in the fold; table: {TABLE})")  # fmt: skip


if __name__ == "__main__":
    main()
