"""CinC 2017 AF with the signal: the shipped model's calls and the held-out figures.

A record is called AF when at least half of its beats lie in AF episodes, and noisy when noise
episodes cover at least half of it; the score is F1 of AF against all other classes. The shipped
model is fitted on all the development records, so its calls on them are in-sample; the honest
figures are recomputed here by the procedure of `make train-af`: nested 5-fold cross-validation
by record (threshold chosen inside each fold) and the odd/even split both ways.

What limits the held-out F1 (`errors`): the nested-CV misses and false calls by the share of the
record the analyser called noise and by reference class, and the F1 at the best threshold chosen
on the held-out scores themselves (an optimistic bound: if it is barely higher, the threshold
is not what limits F1, the separation of the scores is).
"""

from __future__ import annotations

from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import numpy as np

from bench import train_af
from bench.records import pct


def errors(rows: list[train_af.Rec], labels: list[str], cv: Any, truth: Any) -> None:
    """Where the nested-CV errors are (see the module docstring)."""
    pred = cv > 0
    noise = np.array([r.noise for r in rows])
    lab = np.array(labels)
    groups = (("noise >= 50 %", noise >= 0.5), ("noise 10-50 %", (noise >= 0.1) & (noise < 0.5)),
              ("noise < 10 %", noise < 0.1),
              *((f"class {c}", lab == c) for c in ("N", "A", "O", "~")))  # fmt: skip
    for name, m in groups:
        miss, false = int((m & truth & ~pred).sum()), int((m & ~truth & pred).sum())
        print(f"    {name:<14} {int(m.sum()):>5} records: AF {int((m & truth).sum()):>4}, "
              f"missed {miss:>4}, false AF {false:>4}")  # fmt: skip
    fin = np.isfinite(cv)
    best = max(train_af.f1(cv > t, truth)[0] for t in np.unique(cv[fin]))
    clean = noise < 0.5
    quiet = train_af.f1(pred[clean], truth[clean])[0]
    print(f"    best threshold chosen on these held-out scores (optimistic): F1 {best:.3f}; "
          f"F1 without the records called noisy: {quiet:.3f}")  # fmt: skip


def eval_cinc(root: Path, pool: Executor) -> None:
    names, labels, rows = train_af.load(root, None, pool)
    truth = np.array([lab == "A" for lab in labels])
    calls = np.array([r.af for r in rows])
    odd = np.array([int(n[1:]) % 2 == 1 for n in names])
    print(f"CinC 2017 AF vs rest, {len(names)} records")
    f1, tp, fp, fn = train_af.f1(calls, truth)
    print(f"  shipped model (fitted on these records: in-sample): TP {tp} FP {fp} FN {fn}  "
          f"Se {pct(tp, tp + fn):.1f}%  +P {pct(tp, tp + fp):.1f}%  F1 {f1:.3f}")  # fmt: skip
    every = np.arange(len(rows))
    cv = train_af.nested_cv(rows, truth, every, train_af.FOLDS)
    f1, tp, fp, fn = train_af.f1(cv > 0, truth)
    print(f"  held out, nested {train_af.FOLDS}-fold CV by record: TP {tp} FP {fp} FN {fn}  "
          f"Se {pct(tp, tp + fn):.1f}%  +P {pct(tp, tp + fp):.1f}%  F1 {f1:.3f}  "
          f"AUC {train_af.auc(cv, truth):.4f}")  # fmt: skip
    errors(rows, labels, cv, truth)
    oi, ei = np.flatnonzero(odd), np.flatnonzero(~odd)
    for fit, test, fit_idx, test_idx in (("odd", "even", oi, ei), ("even", "odd", ei, oi)):
        ho = train_af.held_out(rows, truth, fit_idx, test_idx)
        print(
            f"  held out, fitted on {fit}-numbered, scored on the {test_idx.size} "
            f"{test}-numbered: TP {ho[1]} FP {ho[2]} FN {ho[3]}  F1 {ho[0]:.3f}  AUC {ho[4]:.4f}"
        )
    for cls in ("N", "A", "O", "~"):
        sel = [r for r, lab in zip(rows, labels, strict=True) if lab == cls]
        noisy = sum(1 for r in sel if r.noise >= 0.5)
        af = sum(1 for r in sel if r.af)
        print(
            f"  class {cls}: {len(sel):>4} records, labelled noisy {noisy:>3} "
            f"({pct(noisy, len(sel)):5.1f}%), called AF {af:>3} ({pct(af, len(sel)):5.1f}%)"
        )
    print()
