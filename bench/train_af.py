"""`make train-af`: fit the AF window model of `alerts.ecg.afmodel` on CinC 2017 records.

    HMG_RECORDS=../shared/data .venv/bin/python -m bench.train_af \
        [--cache FILE] [--fit-on odd|all] [--out alerts/ecg/af_model.json]

Every CinC 2017 development record (6,528, labels in REFERENCE.csv) is run through the streaming
analyser exactly as `hmg ecg analyze` runs it (1 s chunks), recording the features of every
window the model judges; the target of a window is its record's reference label (AF or not).
Each record has the same total weight (its windows share it), so long records do not count more.

The model is an L2-regularised logistic regression on standardised features, fitted by
Newton's method (numpy only). The decision threshold (the intercept shift) maximises the
record-level F1 over 5-fold cross-validation on the fitting records (`REPEATS` shuffles), with
the record rule of `bench.eval_ecg` applied to the traced interval labels (at least half of the
record's beats in AF episodes; see `record_scores`). Printed, all held out: nested 5-fold
cross-validation by record over all records (each fold's threshold chosen on its own training
records), and the fit on odd-numbered records scored on the even-numbered ones and the other way
round. `--out` writes the model file (constants, training-data SHA-256, the held-out figures);
every random choice is seeded, so the file is reproducible.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import wfdb

from alerts.ecg import EcgAnalyzer, Episode, Label
from alerts.ecg.afmodel import CLIP, FEATURES, MODEL_VERSION
from bench.records import WORKERS, data_dir

# Ridge penalty on the standardised weights (per unit of total record weight); chosen among
# 1, 3 and 10 by the nested cross-validated F1 and AUC on the odd records.
L2 = 3.0
FOLDS = 5
REPEATS = 2


@dataclass(frozen=True, slots=True)
class Rec:
    """One record as the AF model sees it: the features of every window it judges (one row
    per labelled interval), the (start, end) samples of those intervals, and the beats."""

    x: np.ndarray[Any, Any]
    span: np.ndarray[Any, Any]
    beats: np.ndarray[Any, Any]
    noise: float = 0.0  # share of the record in noise episodes
    af: bool = False  # the analyser's own call with the shipped model (record rule)


def record_windows(path: str) -> Rec:
    """Run one record through the streaming analyser (1 s chunks), tracing the AF model."""
    rec = wfdb.rdrecord(path, channels=[0])
    fs = float(rec.fs)
    x = np.nan_to_num(np.asarray(rec.p_signal[:, 0], dtype=np.float64))
    ana = EcgAnalyzer(fs)
    trace: list[tuple[int, int, tuple[float, ...]]] = []
    ana.rhythm.trace = trace
    step = max(1, round(fs))
    beats: list[int] = []
    eps: list[Episode] = []
    for i in range(0, x.size, step):
        upd = ana.feed(x[i : i + step])
        beats.extend(upd.beats)
        eps.extend(upd.closed)
    upd = ana.finish()
    beats.extend(upd.beats)
    eps.extend(upd.closed)
    b = np.array(beats, dtype=np.int64)
    in_af = np.zeros(b.size, dtype=bool)
    noise = 0
    for e in eps:
        end = e.end if e.end is not None else x.size
        if e.label is Label.AF:
            in_af |= (b > e.start) & (b <= end)
        elif e.label is Label.NOISE:
            noise += end - e.start
    return Rec(
        np.array([f for _, _, f in trace], dtype=np.float64).reshape(-1, len(FEATURES)),
        np.array([(s, e) for s, e, _ in trace], dtype=np.int64).reshape(-1, 2),
        b,
        noise / max(1, x.size),
        bool(b.size) and float(in_af.mean()) >= 0.5,
    )


def load(
    root: Path, cache: Path | None, pool: Executor | None = None
) -> tuple[list[str], list[str], list[Rec]]:
    base = root / "ecg" / "cinc2017"
    with (base / "REFERENCE.csv").open() as f:
        ref = {row[0]: row[1] for row in csv.reader(f) if row}
    names = sorted(ref)
    if cache is not None and cache.exists():
        data = np.load(cache)
        calls = {n: data[n + "/call"].tolist() for n in names}  # [noise share, AF call]
        rows = [
            Rec(data[n], data[n + "/span"], data[n + "/beats"], calls[n][0], bool(calls[n][1]))
            for n in names
        ]
    else:
        paths = [str(base / n) for n in names]
        if pool is None:
            with ProcessPoolExecutor(max_workers=min(WORKERS, os.cpu_count() or 1)) as own:
                rows = list(own.map(record_windows, paths, chunksize=32))
        else:
            rows = list(pool.map(record_windows, paths, chunksize=32))
        if cache is not None:
            arrays: dict[str, Any] = {}
            for n, r in zip(names, rows, strict=True):
                arrays[n], arrays[n + "/span"], arrays[n + "/beats"] = r.x, r.span, r.beats
                arrays[n + "/call"] = np.array([r.noise, float(r.af)])
            np.savez_compressed(cache, **arrays)
    return names, [ref[n] for n in names], rows


def fit(x: np.ndarray[Any, Any], y: np.ndarray[Any, Any], w: np.ndarray[Any, Any]) -> Any:
    """Weighted L2 logistic regression (intercept not penalised) by Newton's method."""
    a = np.hstack((np.ones((x.shape[0], 1)), x))
    beta = np.zeros(a.shape[1])
    pen = np.full(a.shape[1], L2)
    pen[0] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(a @ beta)))
        g = a.T @ (w * (p - y)) + pen * beta
        h = (a * (w * p * (1 - p))[:, None]).T @ a + np.diag(pen)
        step = np.linalg.solve(h, g)
        beta -= step
        if np.max(np.abs(step)) < 1e-9:
            break
    return beta


def standardise(x: Any, mu: Any, sd: Any) -> Any:
    """As `alerts.ecg.afmodel.score` sees the features: missing (NaN) as the mean, clipped."""
    z = np.nan_to_num((x - mu) / sd, nan=0.0)
    return np.clip(z, -CLIP, CLIP)


def _is_af(r: Rec, af: Any) -> bool:
    """The record rule of `bench.eval_ecg` for given interval labels: AF episodes run from the
    start of the first of consecutive AF intervals to the end of the last, and the record is
    AF when at least half of its beats lie in them (after the start, up to the end)."""
    if not af.any():
        return False
    edges = np.diff(np.concatenate(([0], af.astype(np.int8), [0])))
    first, last = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    start, end = r.span[first, 0], r.span[last, 1]
    k = np.searchsorted(start, r.beats, side="left") - 1  # the last episode starting before
    inside = (k >= 0) & (r.beats <= end[np.maximum(k, 0)])
    return bool(2 * int(inside.sum()) >= r.beats.size)


def record_scores(beta: Any, rows: list[Rec], mu: Any, sd: Any) -> Any:
    """Per record, the largest window log-odds threshold t at which the record rule still
    calls it AF (windows with log-odds above t are AF): AF at the model's own threshold iff the
    score is > 0, and a shift s of the intercept makes it AF iff score > -s. The rule is
    monotone in t, so a bisection over the record's sorted window log-odds finds it."""
    out = np.full(len(rows), -np.inf)
    for i, r in enumerate(rows):
        if not r.x.size:
            continue
        z = beta[0] + standardise(r.x, mu, sd) @ beta[1:]
        cand = np.unique(z)[::-1]  # thresholds just below each value, highest first
        lo, hi = 0, cand.size  # find the first candidate at which the record is AF
        while lo < hi:
            mid = (lo + hi) // 2
            if _is_af(r, z >= cand[mid]):
                hi = mid
            else:
                lo = mid + 1
        if lo < cand.size:
            out[i] = float(cand[lo])
    return out


def f1(pred: Any, truth: Any) -> tuple[float, int, int, int]:
    tp = int(np.sum(pred & truth))
    fp = int(np.sum(pred & ~truth))
    fn = int(np.sum(~pred & truth))
    return (2 * tp / (2 * tp + fp + fn) if tp else 0.0), tp, fp, fn


def train(rows: list[Rec], truth: Any) -> tuple[Any, Any, Any]:
    keep = [i for i, r in enumerate(rows) if r.x.size]
    x = np.vstack([rows[i].x for i in keep])
    y = np.concatenate([np.full(len(rows[i].x), float(truth[i])) for i in keep])
    w = np.concatenate([np.full(len(rows[i].x), 1.0 / len(rows[i].x)) for i in keep])
    ok = ~np.isnan(x)
    wk = w[:, None] * ok
    xz = np.where(ok, x, 0.0)
    mu = (wk * xz).sum(axis=0) / wk.sum(axis=0)
    sd = np.sqrt((wk * (xz - mu) ** 2).sum(axis=0) / wk.sum(axis=0))
    sd[sd == 0] = 1.0
    return fit(standardise(x, mu, sd), y, w), mu, sd


SHIFTS = np.linspace(-3.0, 3.0, 121)


def auc(score: Any, truth: Any) -> float:
    """Area under the ROC curve (Mann-Whitney; ties are broken arbitrarily)."""
    rank = np.argsort(np.argsort(score)) + 1
    pos, neg = int(truth.sum()), int((~truth).sum())
    return float((rank[truth].sum() - pos * (pos + 1) / 2) / (pos * neg))


def nested_cv(rows: list[Rec], truth: Any, idx: Any, folds: int) -> Any:
    """Cross-validated record scores of the whole procedure of `fit_final` (folds by record, in
    a fixed shuffled order; each fold's threshold chosen on its own training records only)."""
    fold = np.empty(idx.size, dtype=np.int64)
    fold[np.random.default_rng(0).permutation(idx.size)] = np.arange(idx.size) % folds
    out = np.empty(idx.size)
    for k in range(folds):
        tr, te = idx[fold != k], idx[fold == k]
        beta, mu, sd = fit_final(rows, truth, tr, quiet=True)
        out[fold == k] = record_scores(beta, [rows[i] for i in te], mu, sd)
    return out


def fit_final(
    rows: list[Rec], truth: Any, idx: Any, *, quiet: bool = False
) -> tuple[Any, Any, Any]:
    """Fit on records `idx`. The threshold shift maximises the record F1 of 5-fold CV scores,
    averaged over `REPEATS` shuffles of the folds and smoothed over +-0.25 of shift: F1 is a
    step function of a few dozen AF records, and its raw maximum moves with the fold split."""
    curve = np.zeros(SHIFTS.size)
    for rep in range(REPEATS):
        fold = np.empty(idx.size, dtype=np.int64)
        fold[np.random.default_rng(rep).permutation(idx.size)] = np.arange(idx.size) % FOLDS
        cv = np.empty(idx.size)
        for k in range(FOLDS):
            tr, te = idx[fold != k], idx[fold == k]
            beta, mu, sd = train([rows[i] for i in tr], truth[tr])
            cv[fold == k] = record_scores(beta, [rows[i] for i in te], mu, sd)
        curve += [f1(cv > -s, truth[idx])[0] for s in SHIFTS]
    smooth = np.convolve(curve, np.ones(11) / 11, mode="same")
    beta, mu, sd = train([rows[i] for i in idx], truth[idx])
    shift = float(SHIFTS[int(np.argmax(smooth))])
    if not quiet:
        best = curve[int(np.argmax(smooth))] / REPEATS
        print(f"threshold shift {shift:+.2f} (mean CV F1 there {best:.3f})")
    beta[0] += shift
    return beta, mu, sd


def data_hash(root: Path, names: list[str]) -> str:
    """SHA-256 over REFERENCE.csv and every record's header and signal file, in name order."""
    base = root / "ecg" / "cinc2017"
    h = hashlib.sha256((base / "REFERENCE.csv").read_bytes())
    for n in names:
        for ext in (".hea", ".mat"):
            h.update((base / (n + ext)).read_bytes())
    return h.hexdigest()


def held_out(
    rows: list[Rec], truth: Any, fit_idx: Any, test_idx: Any
) -> tuple[float, int, int, int, float]:
    """F1 (with TP, FP, FN) and AUC on `test_idx` of the procedure fitted on `fit_idx`."""
    beta, mu, sd = fit_final(rows, truth, fit_idx, quiet=True)
    sc = record_scores(beta, [rows[i] for i in test_idx], mu, sd)
    return (*f1(sc > 0, truth[test_idx]), auc(sc, truth[test_idx]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--cache", type=Path, default=None, help="npz file of window features")
    p.add_argument("--fit-on", choices=("odd", "all"), default="odd", help="records to fit")
    p.add_argument("--out", type=Path, default=None, help="write the model file here")
    args = p.parse_args()
    root = data_dir()
    names, labels, rows = load(root, args.cache)
    truth = np.array([lab == "A" for lab in labels])
    odd = np.array([int(n[1:]) % 2 == 1 for n in names])
    oi, ei = np.flatnonzero(odd), np.flatnonzero(~odd)
    every = np.arange(len(rows))
    n_all = len(rows)
    cv = nested_cv(rows, truth, every, FOLDS)
    res = f1(cv > 0, truth)
    figures: dict[str, Any] = {
        "nested_cv_f1": round(res[0], 4),
        "nested_cv_auc": round(auc(cv, truth), 4),
    }
    print(f"nested {FOLDS}-fold CV on all {n_all} records: F1 {res[0]:.3f} "
          f"(TP/FP/FN {res[1:]}), AUC {figures['nested_cv_auc']:.4f}")  # fmt: skip
    for fit_name, fit_idx, test_name, test_idx in (
        ("odd", oi, "even", ei),
        ("even", ei, "odd", oi),
    ):
        ho = held_out(rows, truth, fit_idx, test_idx)
        figures[f"fit_{fit_name}_test_{test_name}_f1"] = round(ho[0], 4)
        print(f"fit on {fit_name}-numbered, scored on {test_name}-numbered (held out): "
              f"F1 {ho[0]:.3f} (TP/FP/FN {ho[1:4]}), AUC {ho[4]:.4f}")  # fmt: skip
    fit_idx = every if args.fit_on == "all" else oi
    beta, mu, sd = fit_final(rows, truth, fit_idx)
    print(f"constants fitted on {args.fit_on} records:")
    for name, m, s, b in zip(FEATURES, mu, sd, beta[1:], strict=True):
        print(f"  {name:<12} mean {m:9.4f}  sd {s:8.4f}  weight {b:+.3f}")
    if args.out is not None:
        model = {
            "version": MODEL_VERSION,
            "features": list(FEATURES),
            "mu": [round(float(v), 6) for v in mu],
            "sd": [round(float(v), 6) for v in sd],
            "w": [round(float(v), 6) for v in beta[1:]],
            "b0": round(float(beta[0]), 6),
            "training": {
                "data": "PhysioNet/CinC Challenge 2017 training records (REFERENCE.csv labels)",
                "records": int(fit_idx.size),
                "fit_on": args.fit_on,
                "sha256": data_hash(root, [names[i] for i in fit_idx]),
                "l2": L2,
                "seeds": f"fold shuffles numpy default_rng(0..{REPEATS - 1}), nested CV rng 0",
                "cross_validated": figures,
            },
        }
        args.out.write_text(json.dumps(model, indent=1) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
