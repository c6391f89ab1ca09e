"""Alternative ventricular-beat models, held out patient-wise beside the shipped one.

The same detected beats and the same EC57-style scoring as `bench.eval_ventricular` (labels
through the analyser's own `settle` rules). Features per beat: the shipped model's 19
(`alerts.ecg.beatmodel.FEATURES`), plus `bench.vebshape`: Haar coefficients of the QRS window
and of its difference to the patient's running dominant template (both over the template's
norm), log ratios of energy, area, width and peaks to the template, and the RR log ratios to
the local (10 beats) and long (5 min) averages. The windows and templates are taken from the
streaming classifier as it classifies each group (`windows`).

Model: `bench.vebmlp` (one hidden layer, Adam, fixed seed). Nested leave-one-record-out: for
each held-out record, the hidden size and L2 penalty of `GRID` and the threshold (VEB F1) are
chosen on `INNER` record-wise folds of the other 22 records' beats; the chosen network is then
fitted on all 22 and scores the held-out record once. Beside it: the shipped procedure's
leave-one-record-out figures (`bench.eval_ventricular.cross_validate`) and de Chazal's anchor.

`python -m bench.veb_alternatives` prints pooled (gross) and per-record figures and writes
`build/eval/veb_alternatives.tsv`; windows are cached under `build/cache/veb_windows`.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import pickle
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import wfdb

from alerts.ecg import EcgAnalyzer
from alerts.ecg.classifier import BeatClassifier
from alerts.ecg.vebmodel import VebModel
from bench import beatfit
from bench.eval_ventricular import (
    ANCHOR,
    cross_validate,
    labels_from,
    labels_with,
    score,
    trainable,
)
from bench.records import WORKERS, data_dir, pct
from bench.vebmlp import best_threshold, fit_mlp
from bench.vebshape import rr_features, shape_features, shape_names
from bench.ventricular_records import CACHE, F64, MITDB, VEB, Record, extract

GRID = ((8, 1e-3), (16, 1e-3), (16, 1e-4), (32, 1e-4))  # (hidden units, L2 per beat)
INNER = 4
TABLE = Path("build") / "eval" / "veb_alternatives.tsv"
WINDOWS = CACHE.parent / "veb_windows"


def windows(path: str) -> tuple[F64, F64, F64]:
    """Each judged beat's sample, QRS window and the dominant template it was compared with,
    in the order of the classifier's `trace` (one streaming pass, 1-s chunks)."""
    name = Path(path).name
    hit = WINDOWS / f"{name}.pkl"
    if hit.exists():
        out: tuple[F64, F64, F64] = pickle.loads(hit.read_bytes())
        return out
    r = wfdb.rdrecord(path, channels=[0])
    x = np.nan_to_num(np.asarray(r.p_signal[:, 0], dtype=np.float64))
    ana = EcgAnalyzer(float(r.fs))
    clf = ana.classifier
    assert clf is not None
    clf.trace = []
    beats: list[int] = []
    rows: list[F64] = []
    tpls: list[F64] = []
    clf._group = _recording(clf, beats, rows, tpls)  # type: ignore[method-assign,assignment]
    step = round(float(r.fs))
    for i in range(0, x.size, step):
        ana.feed(x[i : i + step])
    ana.finish()
    out = (np.asarray(beats, dtype=np.float64), np.stack(rows), np.stack(tpls))
    WINDOWS.mkdir(parents=True, exist_ok=True)
    hit.write_bytes(pickle.dumps(out))
    return out


def _recording(
    clf: BeatClassifier, beats: list[int], rows: list[F64], tpls: list[F64]
) -> Callable[[int, int | None], list[str]]:
    """`clf._group`, also keeping the window and template of every beat it traces."""
    group = clf._group

    def run(k: int, nxt: int | None) -> list[str]:
        before, tpl = len(clf.trace or []), clf._tpl
        got, at = clf._rows[:k], clf._beats[:k]
        labels = group(k, nxt)
        if len(clf.trace or []) > before:
            t = tpl if tpl is not None else clf._tpl
            assert t is not None
            for b, w in zip(at, got, strict=True):
                if w is not None:
                    beats.append(b)
                    rows.append(w)
                    tpls.append(t)
        return labels

    return run


def enlarged(rec: Record, win: tuple[F64, F64, F64], *, relative: bool = False) -> F64:
    """The shipped features and `bench.vebshape`'s of each traced beat of `rec` (`relative`:
    without the Haar coefficients of the window itself, only of its difference to the
    template)."""
    at, x, t = win
    if at.size != rec.traced.size or not np.array_equal(at, rec.beats[rec.traced]):
        raise SystemExit(f"{rec.name}: windows do not match the traced beats")
    rr = rr_features(rec.beats.astype(np.float64), rec.fs)[rec.traced]
    shape = shape_features(x, t)
    if relative:
        names = shape_names(x.shape[1])
        shape = shape[:, [i for i, n in enumerate(names) if not n.startswith("rel")]]
    out: F64 = np.concatenate((rec.features, shape, rr), axis=1)
    return out


Data = list[tuple[F64, F64]]  # per record: trainable beats' features and VEB labels


def _stack(data: Data, use: list[int]) -> tuple[F64, F64]:
    return np.concatenate([data[i][0] for i in use]), np.concatenate([data[i][1] for i in use])


def choose(data: Data, train: list[int]) -> tuple[int, float, float, float]:
    """(hidden, l2, threshold, inner F1) chosen on `INNER` record-wise folds of `train`."""
    folds = [train[i::INNER] for i in range(INNER)]
    best: tuple[int, float, float, float] = (0, 0.0, 0.5, -1.0)
    for hidden, l2 in GRID:
        ps, ys = [], []
        for held in folds:
            fit_on = [i for i in train if i not in held]
            m = fit_mlp(*_stack(data, fit_on), hidden, l2)
            x, y = _stack(data, held)
            ps.append(m.prob(x))
            ys.append(y)
        thr, f1 = best_threshold(np.concatenate(ps), np.concatenate(ys))
        if f1 > best[3]:
            best = (hidden, l2, thr, f1)
    return best


def outer(args: tuple[Data, int, F64]) -> tuple[F64, tuple[int, float, float, float]]:
    """Held-out V probabilities of record `out` (all its traced beats) with the nested choice."""
    data, out, feats = args
    train = [i for i in range(len(data)) if i != out]
    pick = choose(data, train)
    m = fit_mlp(*_stack(data, train), pick[0], pick[1])
    return m.prob(feats), pick


def outer_trees(args: tuple[Data, int, F64]) -> tuple[F64, tuple[int, float, float, float]]:
    """Held-out V probabilities of record `out` from the shipped procedure (`bench.beatfit`:
    logistic part and boosted trees, its fixed constants, threshold by F1 on the training
    beats) on the enlarged features."""
    data, out, feats = args
    x, y = _stack(data, [i for i in range(len(data)) if i != out])
    mean, scale, w, b = beatfit.fit_logistic(x, y)
    feat, thr, leaf, base = beatfit.fit_trees(x, y)
    names = tuple(f"f{i}" for i in range(x.shape[1]))
    m = VebModel(names, mean, scale, w, b, beatfit.DEPTH, feat, np.minimum(thr, 1e300), leaf,
                 base, beatfit.MIX, 0.5)  # fmt: skip
    return m.prob(feats.T), (0, 0.0, beatfit.best_threshold(m.prob(x.T), y), 0.0)


Fold = Callable[[tuple[Data, int, F64]], tuple[F64, tuple[int, float, float, float]]]


def _key(data: Data, fold: Fold) -> str:
    h = hashlib.sha256(repr((GRID, INNER, fold.__name__)).encode())
    for p in ("vebmlp.py", "vebshape.py", "beatfit.py"):
        h.update((Path(__file__).parent / p).read_bytes())
    for x, y in data:
        h.update(x.tobytes() + y.tobytes())
    return h.hexdigest()[:16]


def held_out(recs: list[Record], feats: list[F64], fold: Fold) -> list[tuple[F64, Any]]:
    """Per record: its held-out V probabilities and the fold's choices (cached)."""
    data = [
        (f[m], np.asarray([r.ref[i] in VEB for i in r.traced[m]], dtype=np.float64))
        for r, f in zip(recs, feats, strict=True)
        for m in [trainable(r)]
    ]
    hit = CACHE.parent / f"veb_alternatives-{_key(data, fold)}.pkl"
    if hit.exists():
        cached: list[tuple[F64, Any]] = pickle.loads(hit.read_bytes())
        return cached
    jobs = [(data, i, feats[i]) for i in range(len(recs))]
    with ProcessPoolExecutor(max_workers=min(WORKERS, os.cpu_count() or 1)) as pool:
        out = list(pool.map(fold, jobs))
    hit.parent.mkdir(parents=True, exist_ok=True)
    hit.write_bytes(pickle.dumps(out))
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument(
        "--relative",
        action="store_true",
        help="leave out the Haar coefficients of the window itself (keep its difference to "
        "the template)",
    )
    args = p.parse_args(argv)
    paths = [str(data_dir() / "ecg" / "mitdb" / n) for n in MITDB]
    with ProcessPoolExecutor(max_workers=min(WORKERS, os.cpu_count() or 1)) as pool:
        recs = list(pool.map(extract, paths))
        wins = list(pool.map(windows, paths))
    feats = [enlarged(r, w, relative=args.relative) for r, w in zip(recs, wins, strict=True)]
    shipped = cross_validate(recs)
    mlp = held_out(recs, feats, outer)
    trees = held_out(recs, feats, outer_trees)
    head = ("record", "VEB", "MLP TP", "FN", "FP", "Se %", "+P %", "trees Se", "+P",
            "shipped Se", "+P", "hidden", "l2", "thr")  # fmt: skip
    rows: list[tuple[Any, ...]] = []
    tot = np.zeros(9, dtype=np.int64)
    for r, (prob, pick), (t_prob, t_pick) in zip(recs, mlp, trees, strict=True):
        c = (*score(r, labels_from(r, prob > pick[2])),
             *score(r, labels_from(r, t_prob > t_pick[2])),
             *score(r, labels_with(r, shipped[r.name])))  # fmt: skip
        tot += c
        rows.append((r.name, *_figures(c), pick[0], f"{pick[1]:g}", f"{pick[2]:.2f}"))
    rows.append(("gross", *_figures(tuple(int(v) for v in tot)), "", "", ""))
    print("VEB (AAMI EC57), MIT-BIH development records, held out record-wise: MLP on the "
          "shipped + template-relative Haar + RR-ratio features (size, L2 and threshold chosen "
          "in inner folds), the shipped procedure on the same features (`trees`), and the "
          "shipped model's procedure in the same folds")  # fmt: skip
    print(f"{head[0]:<8}" + "".join(f"{h:>11}" for h in head[1:]))
    for row in rows:
        print(f"{row[0]:<8}" + "".join(
            f"{v:>11.1f}" if isinstance(v, float) else f"{v!s:>11}"
            for v in row[1:]))  # fmt: skip
    table = TABLE.with_stem(TABLE.stem + ("-relative" if args.relative else ""))
    table.parent.mkdir(parents=True, exist_ok=True)
    table.write_text("\t".join(head) + "\n" + "".join(
        "\t".join(f"{v:.1f}" if isinstance(v, float) else str(v) for v in row)
        + "\n" for row in rows))  # fmt: skip
    print(f"anchor: de Chazal et al. 2004 (inter-patient, held-out MIT-BIH half): "
          f"VEB Se {ANCHOR[0]} %, +P {ANCHOR[1]} %  (table: {table})")  # fmt: skip


def _figures(c: tuple[int, ...]) -> tuple[Any, ...]:
    """VEB count, the MLP's TP FN FP Se +P, then Se +P of the trees and the shipped model."""
    tp, fn, fp, a, b, d, e, f, g = c
    return (tp + fn, tp, fn, fp, pct(tp, tp + fn), pct(tp, tp + fp), pct(a, a + b),
            pct(a, a + d), pct(e, e + f), pct(e, e + g))  # fmt: skip


if __name__ == "__main__":
    main()
