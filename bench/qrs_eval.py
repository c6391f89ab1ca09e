"""QRS detection scored the EC57 way, for the analyser and for the anchors, record by record.

A detection matches a reference beat within 150 ms (`wfdb.processing.compare_annotations`).
Reference beats are the annotation symbols of `gateway.ecgtool.BEAT_SYMBOLS`. As in ANSI/AAMI
EC57, ventricular flutter/fibrillation episodes (between the `[` and `]` annotations, where there
are no beats to count) are left out of the scoring: detections inside them are dropped for every
detector alike. Every detector sees the first channel of the whole record.

Detectors (`DETECTORS`):
- `hmg`: the streaming analyser, fed in 1 s chunks as live ingest feeds it;
- `neurokit2`: NeuroKit2's default R-peak detector (`ecg_clean` then `ecg_peaks`, method
  "neurokit");
- `xqrs`: WFDB's XQRS (`wfdb.processing.xqrs_detect`, default parameters).
The anchors are evaluation-only dependencies (the `eval` extra); they are imported inside their
functions so the analyser's own scoring runs without them.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import wfdb
from wfdb.processing import compare_annotations

from alerts.ecg import EcgAnalyzer, EcgConfig
from gateway.ecgtool import BEAT_SYMBOLS

# MIT-BIH Arrhythmia development records: 100, 105 and the DS1 half of the inter-patient split
# (de Chazal et al., IEEE TBME 2004;51:1196).
MITDB = (
    "100", "101", "105", "106", "108", "109", "112", "114", "115", "116", "118", "119",
    "122", "124", "201", "203", "205", "207", "209", "215", "220", "223", "230",
)  # fmt: skip
NSTDB = ("118e24", "118e12", "118e06", "118e00")
DETECTORS = ("hmg", "neurokit2", "xqrs")

IntArray = np.ndarray[Any, np.dtype[np.int64]]


@dataclass(frozen=True, slots=True)
class Score:
    """Beat-by-beat counts of one detector on one record."""

    tp: int
    fn: int
    fp: int

    def __add__(self, other: Score) -> Score:
        return Score(self.tp + other.tp, self.fn + other.fn, self.fp + other.fp)

    @property
    def se(self) -> float:
        return 100.0 * self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def ppv(self) -> float:
        return 100.0 * self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")


ZERO = Score(0, 0, 0)


@dataclass(frozen=True, slots=True)
class Reference:
    fs: float
    signal: np.ndarray[Any, Any]
    beats: IntArray
    excluded: tuple[tuple[int, int], ...]  # ventricular flutter/fibrillation episodes


def load(path: str) -> Reference:
    rec = wfdb.rdrecord(path, channels=[0])
    ann = wfdb.rdann(path, "atr")
    beats = np.array(
        [s for s, y in zip(ann.sample, ann.symbol, strict=True) if y in BEAT_SYMBOLS],
        dtype=np.int64,
    )
    starts = [int(s) for s, y in zip(ann.sample, ann.symbol, strict=True) if y == "["]
    ends = [int(s) for s, y in zip(ann.sample, ann.symbol, strict=True) if y == "]"]
    x = np.nan_to_num(np.asarray(rec.p_signal[:, 0], dtype=np.float64))
    return Reference(float(rec.fs), x, beats, tuple(zip(starts, ends, strict=False)))


def score(ref: Reference, detected: Sequence[int] | IntArray) -> Score:
    det = np.asarray(detected, dtype=np.int64)
    for lo, hi in ref.excluded:
        det = det[(det < lo) | (det > hi)]
    cmp = compare_annotations(ref.beats, det, round(0.15 * ref.fs))
    return Score(int(cmp.tp), int(cmp.fn), int(cmp.fp))


def detect_hmg(x: np.ndarray[Any, Any], fs: float, config: EcgConfig | None = None) -> IntArray:
    ana = EcgAnalyzer(fs, config)
    step = max(1, round(fs))
    beats: list[int] = []
    for i in range(0, x.size, step):
        beats.extend(ana.feed(x[i : i + step]).beats)
    beats.extend(ana.finish().beats)
    return np.asarray(beats, dtype=np.int64)


def detect_neurokit2(x: np.ndarray[Any, Any], fs: float) -> IntArray:
    import neurokit2 as nk

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clean = nk.ecg_clean(x, sampling_rate=int(fs))
        _, info = nk.ecg_peaks(clean, sampling_rate=int(fs))
    return np.asarray(info["ECG_R_Peaks"], dtype=np.int64)


def detect_xqrs(x: np.ndarray[Any, Any], fs: float) -> IntArray:
    from wfdb.processing import xqrs_detect

    return np.asarray(xqrs_detect(x, fs=fs, verbose=False), dtype=np.int64)


_ANCHORS: dict[str, Callable[[np.ndarray[Any, Any], float], IntArray]] = {
    "neurokit2": detect_neurokit2,
    "xqrs": detect_xqrs,
}


def score_record(path: str, detectors: Sequence[str] = DETECTORS) -> dict[str, Score]:
    """Every detector's score on one record (one task of a process pool)."""
    ref = load(path)
    out: dict[str, Score] = {}
    for name in detectors:
        if name == "hmg":
            det = detect_hmg(ref.signal, ref.fs)
        else:
            det = _ANCHORS[name](ref.signal, ref.fs)
        out[name] = score(ref, det)
    return out


def record_paths(root: Path) -> list[tuple[str, str]]:
    """(label, path) of the development MIT-BIH records, then the noise stress test records."""
    base = root / "ecg"
    return [(f"mitdb/{r}", str(base / "mitdb" / r)) for r in MITDB] + [
        (f"nstdb/{r}", str(base / "nstdb" / r)) for r in NSTDB
    ]


def eval_qrs(root: Path, pool: Executor) -> None:
    """Print every detector's Se/+P per record and the gross totals over the MIT-BIH records."""
    print("QRS detection, EC57 150 ms, first channel: Se % / +P % (FN, FP)")
    head = "".join(f"{d:>26}" for d in DETECTORS)
    print(f"{'record':<14}{'beats':>7}{head}")
    recs = record_paths(root)
    total = dict.fromkeys(DETECTORS, ZERO)
    worst = dict.fromkeys(DETECTORS, 100.0)
    for (label, _), res in zip(recs, pool.map(score_record, [p for _, p in recs]), strict=True):
        if label.startswith("mitdb"):
            for d in DETECTORS:
                total[d] = total[d] + res[d]
                worst[d] = min(worst[d], res[d].se)
        first = res[DETECTORS[0]]
        print(f"{label:<14}{first.tp + first.fn:>7}" + "".join(_cell(res[d]) for d in DETECTORS))
        if label == f"mitdb/{MITDB[-1]}":
            beats = total[DETECTORS[0]].tp + total[DETECTORS[0]].fn
            print(f"{'MIT-BIH total':<14}{beats:>7}" + "".join(_cell(total[d]) for d in DETECTORS))
            print(f"{'lowest Se':<21}" + "".join(f"{worst[d]:>26.2f}" for d in DETECTORS))
    print()


def _cell(s: Score) -> str:
    return f"{s.se:>9.2f} /{s.ppv:>7.2f} ({s.fn:>3},{s.fp:>4})"
