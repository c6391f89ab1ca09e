"""Ventricular ectopic beats and ventricular tachycardia on MIT-BIH (part of `make eval-ecg`).

- Beats: every development MIT-BIH record is run through the streaming analyser (1-s chunks,
  first channel), recording each classified beat's features (`alerts.ecg.ventricular`). Detected
  beats are matched to the reference beats within 150 ms (EC57). Reference classes follow AAMI
  EC57: VEB = `V` and `E`; a detected V matched to a fusion (`F`) or unclassifiable (`/ f Q`)
  reference beat counts neither way (as in EC57); a detected V that matches no reference beat
  is a false positive; a VEB missed by QRS detection is a false negative.
- Held-out figures only: the model (`bench.beatfit`) is fitted with leave-one-record-out
  cross-validation (the threshold chosen on the training records of each fold), and each
  record is scored with the model that never saw it. The shipped model (`make train-beats`)
  is fitted on all records with the same procedure. Beside it, the previous model's
  procedure (logistic regression on the first 14 features) in the same folds.
- VT runs: reference runs are three or more consecutive VEB at more than 100 /min (every
  interval under 0.6 s); a run is found when a detected VT episode overlaps it. A detected VT
  episode that overlaps no reference run of three or more consecutive VEB (any rate) is false;
  false VT episodes are reported per hour, on the development records and on the noise stress
  test records 118e24..118e_6 (118 with electrode-motion noise at 24..-6 dB SNR, scored with
  the fold that left out record 118).

`python -m bench.eval_ventricular`; features are cached under build/cache/ventricular (keyed by
the analyser's source and model files), so a second run only refits the folds. The per-record
table goes to build/eval/ventricular.tsv, the per-run table (why each reference run was missed,
`bench.vt_runs`) to build/eval/vt_runs.tsv.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import pickle
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from alerts.ecg import EcgConfig
from alerts.ecg.beatmodel import shipped_model
from alerts.ecg.vebmodel import VebModel
from alerts.ecg.ventricular import _UNLIKE, FEATURES, MATCH_CORR, VtRuns, settle
from bench import beatfit, vt_runs
from bench.beatfit import fit_model, logistic_only
from bench.records import WORKERS, data_dir, pct
from bench.ventricular_records import (
    CACHE,
    F64,
    MITDB,
    NSTDB,
    UNSCORED,
    VEB,
    Record,
    extract,
)

# de Chazal, O'Dwyer & Reilly, IEEE Trans Biomed Eng 2004;51:1196: VEB on the held-out half of
# MIT-BIH (inter-patient), Se and +P in %.
ANCHOR = (77.7, 81.9)
BASELINE_FEATURES = 14
TABLE = Path("build") / "eval" / "ventricular.tsv"


def training(recs: list[Record]) -> tuple[F64, F64]:
    """Features (beats x `FEATURES`) and VEB labels of the scored beats outside noisy stretches."""
    xs, ys = [], []
    for r in recs:
        keep = trainable(r)
        if keep.any():
            xs.append(r.features[keep])
            ys.append(np.asarray([r.ref[i] in VEB for i in r.traced[keep]], dtype=np.float64))
    return np.concatenate(xs), np.concatenate(ys)


def trainable(r: Record) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Per traced beat: matched to a scored reference beat, outside noisy stretches."""
    return np.asarray(
        [r.ref[i] != "" and r.ref[i] not in UNSCORED and not r.noisy[i] for i in r.traced],
        dtype=bool,
    )


def fit(recs: list[Record]) -> VebModel:
    return fit_model(*training(recs))


def labels_with(rec: Record, model: VebModel) -> list[str]:
    """The record's beat labels as the streaming analyser gives them with `model`."""
    calls = model.prob(rec.features.T) > model.threshold if rec.traced.size else np.zeros(0, bool)
    return labels_from(rec, calls)


def labels_from(rec: Record, is_v: np.ndarray[Any, np.dtype[np.bool_]]) -> list[str]:
    """The record's beat labels from a model's call on each traced beat (`rec.traced` order),
    with the analyser's own rules (`settle`)."""
    out = ["Q"] * len(rec.stream)
    off = [False] * len(out)
    if rec.traced.size:
        unlike = (rec.features[:, 0] > math.log(_UNLIKE - MATCH_CORR)).tolist()
        for i, v, u in zip(rec.traced.tolist(), is_v.tolist(), unlike, strict=True):
            if not rec.noisy[i]:
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


def conf_with(rec: Record, model: VebModel) -> tuple[list[float], list[float]]:
    """Each beat's V probability and QRS width log-ratio as the analyser's classifier reports
    them (`conf`, `width`)."""
    out = [0.0] * len(rec.stream)
    width = [0.0] * len(rec.stream)
    if rec.traced.size:
        p = model.prob(rec.features.T).tolist()
        w = rec.features[:, FEATURES.index("width")].tolist()
        for i, v, x in zip(rec.traced.tolist(), p, w, strict=True):
            if not rec.noisy[i]:
                out[i] = v
                width[i] = x
    return out, width


Extra = tuple[list[float], list[float]] | None  # (conf, width) of each beat


def vt_episodes(
    rec: Record, labels: list[str], extra: Extra = None, min_conf: float = 0.0
) -> list[tuple[int, int]]:
    cfg = EcgConfig()
    vt = VtRuns(rec.fs, cfg.vt_min_beats, cfg.vt_min_bpm, min_conf, cfg.vt_min_width)
    conf, width = extra if extra is not None else (None, None)
    vt.add(rec.beats.tolist(), labels, rec.alike, conf, width)
    vt.finish()
    _, closed = vt.log.take()
    return [(e.start, e.end or e.start) for e in closed]


def _overlaps(a: tuple[int, int], runs: list[tuple[int, int]], tol: int) -> bool:
    return any(a[0] <= r[1] + tol and r[0] <= a[1] + tol for r in runs)


def runs_found(rec: Record, eps: list[tuple[int, int]]) -> list[bool]:
    """Per reference run of `rec`: whether a VT episode overlaps it."""
    tol = round(0.15 * rec.fs)
    return [_overlaps(r, eps, tol) for r in rec.runs]


def vt_score(
    rec: Record, labels: list[str], extra: Extra = None, min_conf: float = 0.0
) -> tuple[int, int, int, int]:
    """(runs found, runs missed, false VT episodes, VT episodes during ventricular flutter).
    An episode that overlaps no run of VEB but lies in a reference ventricular flutter stretch
    (`(VFL`, beats marked `!`) is a ventricular tachyarrhythmia rightly alarmed on: it counts
    in the last figure, not as false."""
    eps = vt_episodes(rec, labels, extra, min_conf)
    tol = round(0.15 * rec.fs)
    found = sum(runs_found(rec, eps))
    other = [e for e in eps if not _overlaps(e, rec.veb_runs, tol)]
    vfl = sum(_overlaps(e, rec.flutter, tol) for e in other)
    return found, len(rec.runs) - found, len(other) - vfl, vfl


CONF_GRID = tuple(round(0.05 * i, 2) for i in range(19))
FALSE_COST = 10  # a false VT episode weighs as much as this many runs found


def vt_table(recs: list[Record], folds: dict[str, VebModel]) -> dict[float, dict[str, int]]:
    """Per value of `CONF_GRID` and record (its held-out labels): runs found less
    `FALSE_COST` per false VT episode (ventricular flutter episodes are not false)."""
    out: dict[float, dict[str, int]] = {c: {} for c in CONF_GRID}
    for r in recs:
        lab, conf = labels_with(r, folds[r.name]), conf_with(r, folds[r.name])
        for c in CONF_GRID:
            found, _, false, _ = vt_score(r, lab, conf, c)
            out[c][r.name] = found - FALSE_COST * false
    return out


def choose_min_conf(table: dict[float, dict[str, int]], leave: str) -> float:
    """`EcgConfig.vt_min_conf` chosen on every record but `leave`: the best value of the
    table's sums without it, the lowest such value on a tie."""
    best, pick = -(10**9), 0.0
    for c, per in table.items():
        total = sum(v for k, v in per.items() if k != leave)
        if total > best:
            best, pick = total, c
    return pick


def cross_validate(recs: list[Record]) -> dict[str, VebModel]:
    """The leave-one-record-out models, cached under `CACHE` by their training data and the
    fitting code (the analyser's model file does not change them)."""
    h = hashlib.sha256(Path(beatfit.__file__).read_bytes())
    for r in recs:
        x, y = training([r])
        h.update(r.name.encode() + x.tobytes() + y.tobytes())
    hit = CACHE / f"folds-{h.hexdigest()[:16]}.pkl"
    if hit.exists():
        folds: dict[str, VebModel] = pickle.loads(hit.read_bytes())
        return folds
    folds = {r.name: fit([o for o in recs if o.name != r.name]) for r in recs}
    hit.parent.mkdir(parents=True, exist_ok=True)
    hit.write_bytes(pickle.dumps(folds))
    return folds


def _baseline(recs: list[Record]) -> dict[str, VebModel]:
    """The previous model's procedure in the same folds: logistic part only, on the first
    `BASELINE_FEATURES` features (the others get weight 0)."""
    out = {}
    for r in recs:
        x, y = training([o for o in recs if o.name != r.name])
        x = x.copy()
        x[:, BASELINE_FEATURES:] = 0.0
        out[r.name] = logistic_only(x, y)
    return out


def report(recs: list[Record], noise: list[Record], folds: dict[str, VebModel]) -> None:
    print("Ventricular ectopic beats (VEB, AAMI EC57), MIT-BIH development records, "
          "leave-one-record-out (held-out figures); `before`: the previous model's procedure "
          "(logistic, 14 features) in the same folds")  # fmt: skip
    head = ("record", "VEB", "det V", "TP", "FN", "FP", "Se %", "+P %", "before Se", "+P",
            "runs", "found", "false VT", "VFL VT")  # fmt: skip
    print(f"{head[0]:<8}" + "".join(f"{h:>10}" for h in head[1:]))
    rows: list[tuple[Any, ...]] = []
    tot = np.zeros(10, dtype=np.int64)
    hours = {True: 0.0, False: 0.0}
    false_by = {True: 0, False: 0}
    base = _baseline(recs)
    table = vt_table(recs, folds)
    picks = []
    run_rows: list[tuple[object, ...]] = []
    for r in recs:
        lab = labels_with(r, folds[r.name])
        tp, fn, fp = score(r, lab)
        btp, bfn, bfp = score(r, labels_with(r, base[r.name]))
        picks.append(choose_min_conf(table, r.name))
        extra = conf_with(r, folds[r.name])
        found, missed, false, vfl = vt_score(r, lab, extra, picks[-1])
        eps = vt_episodes(r, lab, extra, picks[-1])
        run_rows += vt_runs.rows(r, lab, extra[0], runs_found(r, eps))
        tot += (tp, fn, fp, btp, bfn, bfp, found, missed, false, vfl)
        has = bool(r.runs)
        hours[has] += r.hours
        false_by[has] += false
        rows.append((r.name, tp + fn, tp + fp, tp, fn, fp, pct(tp, tp + fn), pct(tp, tp + fp),
                     pct(btp, btp + bfn), pct(btp, btp + bfp), len(r.runs), found, false,
                     vfl))  # fmt: skip
    tp, fn, fp, btp, bfn, bfp, found, missed, false, vfl = (int(v) for v in tot)
    rows.append(("gross", tp + fn, tp + fp, tp, fn, fp, pct(tp, tp + fn), pct(tp, tp + fp),
                 pct(btp, btp + bfn), pct(btp, btp + bfp), found + missed, found, false,
                 vfl))  # fmt: skip
    for row in rows:
        print(f"{row[0]:<8}" + "".join(
            f"{v:>10.1f}" if isinstance(v, float) else f"{v:>10}" for v in row[1:]))  # fmt: skip
    TABLE.parent.mkdir(parents=True, exist_ok=True)
    TABLE.write_text("\t".join(head) + "\n" + "".join(
        "\t".join(f"{v:.1f}" if isinstance(v, float) else str(v) for v in row) + "\n"
        for row in rows))  # fmt: skip
    print(f"anchor: de Chazal et al. 2004 (inter-patient, held-out MIT-BIH half): "
          f"VEB Se {ANCHOR[0]} %, +P {ANCHOR[1]} % (published; XQRS and NeuroKit2 detect "
          f"beats but do not classify them)")  # fmt: skip
    print(f"VT runs (>= 3 VEB above 100 /min): {found} of {found + missed} found; "
          f"false VT episodes {false_by[True]} on records with runs "
          f"({false_by[True] / hours[True]:.2f} /h over {hours[True]:.1f} h), "
          f"{false_by[False]} on the others "
          f"({false_by[False] / hours[False]:.2f} /h over {hours[False]:.1f} h); "
          f"{vfl} more during ventricular flutter (not counted false); run confidence "
          f"(vt_min_conf) chosen on the other records: {min(picks)}..{max(picks)}, on all "
          f"records {choose_min_conf(table, '')} (EcgConfig default "
          f"{EcgConfig().vt_min_conf})")  # fmt: skip
    vt_runs.write(run_rows)
    held = folds["118"]
    held_conf = picks[MITDB.index("118")]
    for r in noise:
        lab = labels_with(r, held)
        tp, fn, fp = score(r, lab)
        false = vt_score(r, lab, conf_with(r, held), held_conf)[2]
        print(f"nstdb {r.name}: false VT {false} ({false / r.hours:.1f} /h), "
              f"VEB Se {pct(tp, tp + fn):.1f} % +P {pct(tp, tp + fp):.1f} %")  # fmt: skip
    print(f"(per-record table: {TABLE})\n")


def load(pool: ProcessPoolExecutor | None = None) -> tuple[list[Record], list[Record]]:
    """The development MIT-BIH records and the noise stress test records, features cached."""
    root = data_dir() / "ecg"
    paths = [str(root / "mitdb" / n) for n in MITDB]
    noise_paths = [str(root / "nstdb" / n) for n in NSTDB]
    if pool is None:
        with ProcessPoolExecutor(max_workers=min(WORKERS, os.cpu_count() or 1)) as own:
            return list(own.map(extract, paths)), list(own.map(extract, noise_paths))
    return list(pool.map(extract, paths)), list(pool.map(extract, noise_paths))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.parse_args(argv)
    recs, noise = load()
    same = shipped_model()
    differ = sum(labels_with(r, same) != r.stream for r in recs + noise)
    if differ:  # the offline relabelling must be the analyser's own rule
        raise SystemExit(f"{differ} records: offline labels differ from the analyser's")
    report(recs, noise, cross_validate(recs))
    if not math.isfinite(sum(r.hours for r in recs)):
        raise SystemExit("no records")


if __name__ == "__main__":
    main()
