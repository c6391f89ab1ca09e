"""`make eval-ecg`: accuracy of the streaming ECG analyser on the public records in HMG_RECORDS.

- QRS detection, EC57-style beat-by-beat matching within 150 ms (wfdb compare_annotations), on
  MIT-BIH Arrhythmia 100 and 105 and SVDB 800, whole records, first channel.
- AF per-beat sensitivity/specificity on the 12 AFDB records, from their `.qrs` beats (beats-only
  mode); the reference rhythm of a beat is the last `.atr` rhythm note before it, AF = `(AFIB`.
- CinC 2017: a record is called AF when at least half of its beats lie in AF episodes, and noisy
  when noise episodes cover at least half of it; F1 of AF against all other classes.
- False rhythm alarms per hour on NSR2DB nsr001 (beats only): brady/tachycardia, pause, asystole
  (overlapping pause and asystole count once) and AF episodes of at least `af_alarm_s`.
"""

from __future__ import annotations

import csv
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import wfdb
from wfdb.processing import compare_annotations

from alerts.ecg import EcgConfig
from gateway.ecgtool import BEAT_SYMBOLS, analyze_record

QRS_RECORDS = ("mitdb/100", "mitdb/105", "svdb/800")
AFDB = (
    "00735", "04015", "04048", "04126", "04908", "05091",
    "05121", "06453", "07162", "07910", "08405", "08434",
)  # fmt: skip


def data_dir() -> Path:
    default = Path(__file__).resolve().parent.parent / ".." / "shared" / "data"
    return Path(os.environ.get("HMG_RECORDS", str(default))).resolve()


def pct(a: float, b: float) -> float:
    return 100.0 * a / b if b else float("nan")


def eval_qrs(root: Path) -> None:
    print("QRS detection (150 ms match)")
    print(f"{'record':<10}{'ref':>7}{'det':>7}{'TP':>7}{'FN':>6}{'FP':>6}{'Se %':>9}{'+P %':>9}")
    tot = [0, 0, 0]
    for rec in QRS_RECORDS:
        path = str(root / "ecg" / rec)
        out = analyze_record(path, None, 0)
        ann = wfdb.rdann(path, "atr")
        ref = np.array(
            [s for s, y in zip(ann.sample, ann.symbol, strict=True) if y in BEAT_SYMBOLS]
        )
        det = np.asarray(out["beats"], dtype=np.int64)
        cmp = compare_annotations(ref, det, round(0.15 * out["fs"]))
        tp, fn, fp = cmp.tp, cmp.fn, cmp.fp
        tot = [tot[0] + tp, tot[1] + fn, tot[2] + fp]
        print(f"{rec:<10}{ref.size:>7}{det.size:>7}{tp:>7}{fn:>6}{fp:>6}"
              f"{pct(tp, tp + fn):>9.2f}{pct(tp, tp + fp):>9.2f}")  # fmt: skip
    tp, fn, fp = tot
    print(f"{'total':<10}{tp + fn:>7}{tp + fp:>7}{tp:>7}{fn:>6}{fp:>6}"
          f"{pct(tp, tp + fn):>9.2f}{pct(tp, tp + fp):>9.2f}\n")  # fmt: skip


def _af_reference(path: str, beats: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    ann = wfdb.rdann(path, "atr")
    marks = [(s, n) for s, n in zip(ann.sample, ann.aux_note, strict=True) if n.startswith("(")]
    pos = np.array([s for s, _ in marks])
    is_af = np.array([n.strip("\x00").startswith("(AFIB") for _, n in marks])
    k = np.searchsorted(pos, beats, side="right") - 1
    return np.where(k >= 0, is_af[np.maximum(k, 0)], False)


def _in_episodes(beats: np.ndarray[Any, Any], eps: list[dict[str, Any]], label: str) -> Any:
    mask = np.zeros(beats.size, dtype=bool)
    for e in eps:
        if e["label"] == label:
            mask |= (beats > e["start"]) & (beats <= e["end"])
    return mask


def _afdb_one(path: str) -> tuple[int, int, int, int]:
    out = analyze_record(path, "qrs", 0)
    beats = np.asarray(out["beats"], dtype=np.int64)
    ref = _af_reference(path, beats)
    pred = _in_episodes(beats, out["episodes"], "AF")
    return (int(np.sum(pred & ref)), int(np.sum(~pred & ref)),
            int(np.sum(~pred & ~ref)), int(np.sum(pred & ~ref)))  # fmt: skip


def eval_afdb(root: Path, pool: ProcessPoolExecutor) -> None:
    print("AF per beat, AFDB (.qrs beats, .atr rhythm)")
    print(f"{'record':<10}{'AF':>8}{'non-AF':>8}{'FN':>7}{'FP':>7}{'Se %':>9}{'Sp %':>9}")
    paths = [str(root / "ecg" / "afdb" / r) for r in AFDB]
    tot = [0, 0, 0, 0]
    for rec, (tp, fn, tn, fp) in zip(AFDB, pool.map(_afdb_one, paths), strict=True):
        tot = [tot[0] + tp, tot[1] + fn, tot[2] + tn, tot[3] + fp]
        print(f"{rec:<10}{tp + fn:>8}{tn + fp:>8}{fn:>7}{fp:>7}"
              f"{pct(tp, tp + fn):>9.2f}{pct(tn, tn + fp):>9.2f}")  # fmt: skip
    tp, fn, tn, fp = tot
    print(f"{'total':<10}{tp + fn:>8}{tn + fp:>8}{fn:>7}{fp:>7}"
          f"{pct(tp, tp + fn):>9.2f}{pct(tn, tn + fp):>9.2f}\n")  # fmt: skip


def _cinc_one(path: str) -> tuple[bool, float]:
    out = analyze_record(path, None, 0)
    beats = np.asarray(out["beats"], dtype=np.int64)
    n = wfdb.rdheader(path).sig_len
    af = bool(beats.size) and float(_in_episodes(beats, out["episodes"], "AF").mean()) >= 0.5
    noise = sum(e["end"] - e["start"] for e in out["episodes"] if e["label"] == "noise") / n
    return af, noise


def eval_cinc(root: Path, pool: ProcessPoolExecutor) -> None:
    base = root / "ecg" / "cinc2017"
    with (base / "REFERENCE.csv").open() as f:
        ref = {row[0]: row[1] for row in csv.reader(f) if row}
    names = sorted(ref)
    res = list(pool.map(_cinc_one, [str(base / n) for n in names], chunksize=20))
    tp = sum(1 for n, (af, _) in zip(names, res, strict=True) if af and ref[n] == "A")
    fp = sum(1 for n, (af, _) in zip(names, res, strict=True) if af and ref[n] != "A")
    fn = sum(1 for n, (af, _) in zip(names, res, strict=True) if not af and ref[n] == "A")
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    print(f"CinC 2017 ({len(names)} records): AF vs rest TP {tp} FP {fp} FN {fn}  "
          f"Se {pct(tp, tp + fn):.1f}%  +P {pct(tp, tp + fp):.1f}%  F1 {f1:.3f}")  # fmt: skip
    # Design choices are made on odd-numbered records only; the shipped AF model constants are
    # fitted on all 1000 (held-out figures: `python -m bench.train_af`, docs/alerts.md).
    for part, parity in (("odd", 1), ("even", 0)):
        sub = [(n, r) for n, r in zip(names, res, strict=True) if int(n[1:]) % 2 == parity]
        ptp = sum(1 for n, (af, _) in sub if af and ref[n] == "A")
        pfp = sum(1 for n, (af, _) in sub if af and ref[n] != "A")
        pfn = sum(1 for n, (af, _) in sub if not af and ref[n] == "A")
        pf1 = 2 * ptp / (2 * ptp + pfp + pfn) if ptp else 0.0
        print(f"  {part}-numbered ({len(sub)}): TP {ptp} FP {pfp} FN {pfn}  F1 {pf1:.3f}")
    for cls in ("N", "A", "O", "~"):
        sel = [r for n, r in zip(names, res, strict=True) if ref[n] == cls]
        noisy = sum(1 for _, nz in sel if nz >= 0.5)
        calls = sum(1 for af, _ in sel if af)
        print(
            f"  class {cls}: {len(sel):>4} records, labelled noisy {noisy:>3} "
            f"({pct(noisy, len(sel)):5.1f}%), called AF {calls:>3} ({pct(calls, len(sel)):5.1f}%)"
        )
    print()


def eval_nsr(root: Path) -> None:
    cfg = EcgConfig()
    path = str(root / "ecg" / "nsr2db" / "nsr001")
    out = analyze_record(path, "ecg", 0)
    fs = out["fs"]
    hours = (out["beats"][-1] - out["beats"][0]) / fs / 3600.0
    alarms: dict[str, int] = {}
    gaps: list[tuple[int, int]] = []
    for e in sorted(out["episodes"], key=lambda e: e["start"]):
        lab = e["label"]
        if lab == "noise" or (lab == "AF" and (e["end"] - e["start"]) / fs < cfg.af_alarm_s):
            continue
        if lab in ("pause", "asystole"):
            if gaps and e["start"] < gaps[-1][1]:
                continue
            gaps.append((e["start"], e["end"]))
        alarms[lab] = alarms.get(lab, 0) + 1
    total = sum(alarms.values())
    detail = ", ".join(f"{k} {v}" for k, v in sorted(alarms.items())) or "none"
    print(f"NSR2DB nsr001 ({hours:.1f} h, beats only): {total} rhythm alarms = "
          f"{total / hours:.3f} per hour ({detail})")  # fmt: skip


def main() -> None:
    root = data_dir()
    t0 = time.perf_counter()
    eval_qrs(root)
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        eval_afdb(root, pool)
        eval_cinc(root, pool)
    eval_nsr(root)
    print(f"\n(evaluation took {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
