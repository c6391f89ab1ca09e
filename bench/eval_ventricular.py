"""Ventricular ectopic beats and ventricular tachycardia on MIT-BIH (part of `make eval-ecg`).

- Beats: every development MIT-BIH record is run through the streaming analyser (1-s chunks,
  first channel), recording each classified beat's features (`alerts.ecg.ventricular`). Detected
  beats are matched to the reference beats within 150 ms (EC57). Reference classes follow AAMI
  EC57: VEB = `V` and `E`; a detected V matched to a fusion (`F`) or unclassifiable (`/ f Q`)
  reference beat counts neither way (as in EC57); a detected V that matches no reference beat
  is a false positive; a VEB missed by QRS detection is a false negative.
- Held-out figures only: the logistic model is fitted with leave-one-record-out
  cross-validation (the threshold chosen on the training records of each fold), and each
  record is scored with the model that never saw it. The shipped model (`--fit`) is fitted on
  all records with the same procedure.
- VT runs: reference runs are three or more consecutive VEB at more than 100 /min (every
  interval under 0.6 s); a run is found when a detected VT episode overlaps it. A detected VT
  episode that overlaps no reference run of three or more consecutive VEB (any rate) is false;
  false VT episodes are reported per hour, on the development records and on the noise stress
  test records 118e24..118e_6 (118 with electrode-motion noise at 24..-6 dB SNR, scored with
  the fold that left out record 118).

`python -m bench.eval_ventricular [--fit]`; features are cached under $TMPDIR (keyed by the
analyser's source), so a second run takes seconds.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import pickle
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import wfdb
from wfdb.processing import compare_annotations

import alerts.ecg
from alerts.ecg import EcgAnalyzer
from alerts.ecg.ventricular import _UNLIKE, FEATURES, MATCH_CORR, Model, VtRuns, settle
from bench.eval_ecg import data_dir, pct

MITDB = (
    "100", "101", "105", "106", "108", "109", "112", "114", "115", "116", "118", "119",
    "122", "124", "201", "203", "205", "207", "209", "215", "220", "223", "230",
)  # fmt: skip
NSTDB = ("118e24", "118e12", "118e06", "118e00", "118e_6")
BEAT = frozenset("NLRBAaJSVrFejnE/fQ?")
VEB = frozenset("VE")
UNSCORED = frozenset("F/fQ?")
L2 = 1.0
# de Chazal, O'Dwyer & Reilly, IEEE Trans Biomed Eng 2004;51:1196: VEB on the held-out half of
# MIT-BIH (inter-patient), Se and +P in %.
ANCHOR = (77.7, 81.9)

F64 = np.ndarray[Any, np.dtype[np.float64]]


@dataclass(frozen=True, slots=True)
class Record:
    name: str
    fs: float
    hours: float
    beats: np.ndarray[Any, Any]  # classified beats, in order
    stream: list[str]  # labels given by the streaming analyser (shipped model)
    alike: list[bool]  # each beat alike the one before (`BeatClassifier.alike`)
    traced: np.ndarray[Any, Any]  # index into `beats` of each feature row
    soft: list[bool]  # beat in a doubtful stretch (see `BeatClassifier.add`)
    features: F64
    ref: list[str]  # reference symbol matched to each beat ("" if none)
    veb_missed: int  # reference VEB with no detected beat
    runs: list[tuple[int, int]]  # reference VT runs (first, last reference beat)
    veb_runs: list[tuple[int, int]]  # any run of three or more consecutive VEB


def _source_key() -> str:
    h = hashlib.sha256()
    for p in [*sorted(Path(alerts.ecg.__file__).parent.glob("*.py")), Path(__file__)]:
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def _runs(samples: list[int], symbols: list[str], fs: float, max_rr: float | None) -> list[Any]:
    out, start, n, last = [], 0, 0, -(10**12)
    for s, y in zip(samples, symbols, strict=True):
        if y in VEB and n and (max_rr is None or s - last < max_rr * fs):
            n += 1
        else:
            if n >= 3:
                out.append((start, last))
            n, start = (1, s) if y in VEB else (0, s)
        last = s
    if n >= 3:
        out.append((start, last))
    return out


def extract(path: str) -> Record:
    cache = Path(tempfile.gettempdir()) / "hmg-ventricular" / _source_key()
    name = Path(path).name
    hit = cache / f"{name}.pkl"
    if hit.exists():
        return Record(*pickle.loads(hit.read_bytes()))
    r = wfdb.rdrecord(path, channels=[0])
    fs = float(r.fs)
    x = np.nan_to_num(np.asarray(r.p_signal[:, 0], dtype=np.float64))
    ana = EcgAnalyzer(fs)
    clf = ana.classifier
    assert clf is not None
    trace: list[tuple[int, tuple[float, ...], bool]] = []
    clf.trace = trace
    beats: list[int] = []
    labels: list[str] = []
    alike: list[bool] = []
    step = round(fs)
    for i in range(0, x.size, step):
        u = ana.feed(x[i : i + step])
        beats += u.classified
        labels += u.labels
        alike += clf.alike if u.classified else []
    u = ana.finish()
    beats += u.classified
    labels += u.labels
    alike += clf.alike if u.classified else []
    b = np.asarray(beats, dtype=np.int64)
    where = {v: i for i, v in enumerate(beats)}
    traced = np.asarray([where[t[0]] for t in trace], dtype=np.int64)
    feats = np.asarray([t[1] for t in trace], dtype=np.float64).reshape(-1, len(FEATURES))
    soft = [False] * b.size
    for i, t in zip(traced.tolist(), trace, strict=True):
        soft[i] = t[2]
    ann = wfdb.rdann(path, "atr")
    pairs = [(int(s), y) for s, y in zip(ann.sample, ann.symbol, strict=True) if y in BEAT]
    ref_s = np.asarray([s for s, _ in pairs], dtype=np.int64)
    ref_y = [y for _, y in pairs]
    cmp = compare_annotations(ref_s, b, round(0.15 * fs))
    matched = np.asarray(cmp.matching_sample_nums)
    ref = [""] * b.size
    missed = 0
    for i, j in enumerate(matched.tolist()):
        if j >= 0:
            ref[j] = ref_y[i]
        elif ref_y[i] in VEB:
            missed += 1
    rec = Record(
        name, fs, x.size / fs / 3600.0, b, labels, alike, traced, soft, feats, ref, missed,
        _runs(ref_s.tolist(), ref_y, fs, 0.6), _runs(ref_s.tolist(), ref_y, fs, None),
    )  # fmt: skip
    cache.mkdir(parents=True, exist_ok=True)
    hit.write_bytes(pickle.dumps(tuple(getattr(rec, f) for f in Record.__slots__)))
    return rec


@dataclass(frozen=True, slots=True)
class Fit:
    mean: F64
    scale: F64
    weights: F64
    bias: float
    threshold: float

    def prob(self, f: F64) -> F64:
        z = ((f - self.mean) / self.scale).clip(-5.0, 5.0) @ self.weights + self.bias
        out: F64 = 1.0 / (1.0 + np.exp(-z))
        return out


def _training(recs: list[Record]) -> tuple[F64, F64]:
    xs, ys = [], []
    for r in recs:
        keep = np.asarray([r.ref[i] != "" and r.ref[i] not in UNSCORED for i in r.traced])
        if keep.any():
            xs.append(r.features[keep])
            ys.append(np.asarray([r.ref[i] in VEB for i in r.traced[keep]], dtype=np.float64))
    return np.concatenate(xs), np.concatenate(ys)


def fit(recs: list[Record]) -> Fit:
    """L2-regularised logistic regression by Newton's method on standardised features; the
    threshold maximises F1 (VEB vs the rest) on the same training records."""
    x, y = _training(recs)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = np.hstack((((x - mean) / scale).clip(-5.0, 5.0), np.ones((y.size, 1))))
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
    p = 1.0 / (1.0 + np.exp(-(z @ w)))
    best, thr = -1.0, 0.5
    for t in np.arange(0.05, 0.96, 0.01):
        pred = p > t
        tp = float(np.sum(pred & (y > 0)))
        f1 = 2 * tp / (float(pred.sum()) + float(y.sum()))
        if f1 > best:
            best, thr = f1, float(t)
    return Fit(mean, scale, w[:-1], float(w[-1]), round(thr, 2))


def labels_with(rec: Record, model: Fit) -> list[str]:
    """The record's beat labels as the streaming analyser gives them with `model`."""
    out = ["Q"] * len(rec.stream)
    off = [False] * len(out)
    if rec.traced.size:
        is_v = model.prob(rec.features) > model.threshold
        unlike = (rec.features[:, 0] > math.log(_UNLIKE - MATCH_CORR)).tolist()
        for i, v, u in zip(rec.traced.tolist(), is_v.tolist(), unlike, strict=True):
            out[i] = "V" if v else "N"
            off[i] = u
    settle(out, rec.alike, off, rec.soft, "Q")
    return out


def score(rec: Record, labels: list[str]) -> tuple[int, int, int]:
    """(TP, FN, FP) for VEB, EC57 rules (see the module docstring)."""
    tp = fn = fp = 0
    for y, lab in zip(rec.ref, labels, strict=True):
        if y in VEB:
            tp += lab == "V"
            fn += lab != "V"
        elif lab == "V" and y not in UNSCORED:
            fp += 1
    return tp, fn + rec.veb_missed, fp


def vt_episodes(rec: Record, labels: list[str]) -> list[tuple[int, int]]:
    vt = VtRuns(rec.fs)
    vt.add(rec.beats.tolist(), labels, rec.alike)
    vt.finish()
    _, closed = vt.log.take()
    return [(e.start, e.end or e.start) for e in closed]


def _overlaps(a: tuple[int, int], runs: list[tuple[int, int]], tol: int) -> bool:
    return any(a[0] <= r[1] + tol and r[0] <= a[1] + tol for r in runs)


def vt_score(rec: Record, labels: list[str]) -> tuple[int, int, int]:
    """(runs found, runs missed, false VT episodes)."""
    eps = vt_episodes(rec, labels)
    tol = round(0.15 * rec.fs)
    found = sum(_overlaps(r, eps, tol) for r in rec.runs)
    false = sum(not _overlaps(e, rec.veb_runs, tol) for e in eps)
    return found, len(rec.runs) - found, false


def shipped() -> Fit:
    """The model the analyser runs (`alerts.ecg.ventricular.Model`)."""
    return Fit(Model.MEAN, Model.SCALE, Model.WEIGHTS, Model.BIAS, Model.THRESHOLD)


def cross_validate(recs: list[Record]) -> dict[str, Fit]:
    return {r.name: fit([o for o in recs if o.name != r.name]) for r in recs}


def report(recs: list[Record], noise: list[Record], folds: dict[str, Fit]) -> None:
    print("Ventricular ectopic beats (VEB, AAMI EC57), MIT-BIH development records, "
          "leave-one-record-out (held-out figures)")  # fmt: skip
    print(f"{'record':<8}{'VEB':>6}{'det V':>7}{'TP':>6}{'FN':>6}{'FP':>6}{'Se %':>8}{'+P %':>8}"
          f"{'runs':>6}{'found':>7}{'false VT':>9}")  # fmt: skip
    tot = np.zeros(6, dtype=np.int64)
    hours = {True: 0.0, False: 0.0}
    false_by = {True: 0, False: 0}
    for r in recs:
        lab = labels_with(r, folds[r.name])
        tp, fn, fp = score(r, lab)
        found, missed, false = vt_score(r, lab)
        tot += (tp, fn, fp, found, missed, false)
        has = bool(r.runs)
        hours[has] += r.hours
        false_by[has] += false
        print(f"{r.name:<8}{tp + fn:>6}{tp + fp:>7}{tp:>6}{fn:>6}{fp:>6}{pct(tp, tp + fn):>8.1f}"
              f"{pct(tp, tp + fp):>8.1f}{len(r.runs):>6}{found:>7}{false:>9}")  # fmt: skip
    tp, fn, fp, found, missed, false = (int(v) for v in tot)
    print(f"{'gross':<8}{tp + fn:>6}{tp + fp:>7}{tp:>6}{fn:>6}{fp:>6}{pct(tp, tp + fn):>8.1f}"
          f"{pct(tp, tp + fp):>8.1f}{found + missed:>6}{found:>7}{false:>9}")  # fmt: skip
    print(f"anchor: de Chazal et al. 2004 (inter-patient, held-out MIT-BIH half): "
          f"VEB Se {ANCHOR[0]} %, +P {ANCHOR[1]} %  [targets: Se >= 90 %, +P >= 92 %]")  # fmt: skip
    print(f"VT runs (>= 3 VEB above 100 /min): {found} of {found + missed} found; "
          f"false VT episodes {false_by[True]} on records with runs "
          f"({false_by[True] / hours[True]:.2f} /h over {hours[True]:.1f} h), "
          f"{false_by[False]} on the others "
          f"({false_by[False] / hours[False]:.2f} /h over {hours[False]:.1f} h)")  # fmt: skip
    held = folds["118"]
    for r in noise:
        lab = labels_with(r, held)
        tp, fn, fp = score(r, lab)
        _, _, false = vt_score(r, lab)
        print(f"nstdb {r.name}: false VT {false} ({false / r.hours:.1f} /h), "
              f"VEB Se {pct(tp, tp + fn):.1f} % +P {pct(tp, tp + fp):.1f} %")  # fmt: skip
    print()


def _constants(m: Fit) -> str:
    def arr(a: F64) -> str:
        return "np.array([" + ", ".join(f"{v:.4g}" for v in a.tolist()) + "])"

    return (f"    MEAN = {arr(m.mean)}\n    SCALE = {arr(m.scale)}\n"
            f"    WEIGHTS = {arr(m.weights)}\n    BIAS = {m.bias:.4g}\n"
            f"    THRESHOLD = {m.threshold}")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--fit", action="store_true", help="print the model fitted on all records")
    args = p.parse_args(argv)
    root = data_dir() / "ecg"
    paths = [str(root / "mitdb" / n) for n in MITDB]
    noise_paths = [str(root / "nstdb" / n) for n in NSTDB]
    with ProcessPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        recs = list(pool.map(extract, paths))
        noise = list(pool.map(extract, noise_paths))
    folds = cross_validate(recs)
    same = shipped()
    differ = sum(labels_with(r, same) != r.stream for r in recs + noise)
    if differ:  # the offline relabelling must be the analyser's own rule
        raise SystemExit(f"{differ} records: offline labels differ from the analyser's")
    report(recs, noise, folds)
    if args.fit:
        print("Model fitted on all development records (alerts.ecg.ventricular.Model):")
        print(_constants(fit(recs)))
        thr = [f.threshold for f in folds.values()]
        print(f"fold thresholds: {min(thr)}..{max(thr)}; features {', '.join(FEATURES)}")
    if not math.isfinite(sum(r.hours for r in recs)):
        raise SystemExit("no records")


if __name__ == "__main__":
    main()
