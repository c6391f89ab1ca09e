"""CinC 2017 AF with the signal: the shipped model's calls and the held-out figures.

A record is called AF when at least half of its beats lie in AF episodes, and noisy when noise
episodes cover at least half of it; the score is F1 of AF against all other classes. The shipped
model is fitted on all the development records, so its calls on them are in-sample; the honest
figures are recomputed here by the procedure of `make train-af`: nested 5-fold cross-validation
by record (threshold chosen inside each fold) and the odd/even split both ways.
"""

from __future__ import annotations

from concurrent.futures import Executor
from pathlib import Path

import numpy as np

from bench import train_af
from bench.records import pct


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
