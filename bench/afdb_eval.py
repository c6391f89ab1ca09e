"""AF per beat on the AFDB development records from their `.qrs` beats (beats-only mode).

The reference rhythm of a beat is the last `.atr` rhythm note before it (AF = `(AFIB`). Our
analyser (`gateway.ecgtool.analyze_record` with the `.qrs` annotations: a beat is AF when it lies
in an AF episode) is scored beside the Petrėnas rule (`bench.petrenas`) on the same beats.
"""

from __future__ import annotations

from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import numpy as np
import wfdb

from bench.petrenas import af_beats
from bench.records import pct
from gateway.ecgtool import analyze_record

AFDB = (
    "00735", "04015", "04048", "04126", "04908", "05091",
    "05121", "06453", "07162", "07910", "08405", "08434",
)  # fmt: skip
Counts = tuple[int, int, int, int]  # TP, FN, TN, FP


def af_reference(path: str, beats: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    ann = wfdb.rdann(path, "atr")
    marks = [(s, n) for s, n in zip(ann.sample, ann.aux_note, strict=True) if n.startswith("(")]
    pos = np.array([s for s, _ in marks])
    is_af = np.array([n.strip("\x00").startswith("(AFIB") for _, n in marks])
    k = np.searchsorted(pos, beats, side="right") - 1
    return np.where(k >= 0, is_af[np.maximum(k, 0)], False)


def in_episodes(beats: np.ndarray[Any, Any], eps: list[dict[str, Any]], label: str) -> Any:
    mask = np.zeros(beats.size, dtype=bool)
    for e in eps:
        if e["label"] == label:
            mask |= (beats > e["start"]) & (beats <= e["end"])
    return mask


def _counts(pred: Any, ref: Any) -> Counts:
    return (int(np.sum(pred & ref)), int(np.sum(~pred & ref)),
            int(np.sum(~pred & ~ref)), int(np.sum(pred & ~ref)))  # fmt: skip


def score_record(path: str) -> tuple[Counts, Counts]:
    """(ours, Petrėnas) per-beat counts on one record."""
    out = analyze_record(path, "qrs", 0)
    beats = np.asarray(out["beats"], dtype=np.int64)
    ref = af_reference(path, beats)
    ours = _counts(in_episodes(beats, out["episodes"], "AF"), ref)
    anchor = _counts(af_beats(beats, float(out["fs"])), ref)
    return ours, anchor


def _cells(c: Counts) -> str:
    tp, fn, tn, fp = c
    return f"{pct(tp, tp + fn):>8.2f}{pct(tn, tn + fp):>8.2f}"


def eval_afdb(root: Path, pool: Executor) -> None:
    print("AF per beat, AFDB (.qrs beats, .atr rhythm): Se % / Sp %")
    print(f"{'record':<9}{'AF':>8}{'non-AF':>8}{'hmg Se':>10}{'Sp':>6}{'Petrėnas Se':>14}{'Sp':>6}")
    paths = [str(root / "ecg" / "afdb" / r) for r in AFDB]
    tot = [[0] * 4, [0] * 4]
    worst = [100.0, 100.0]  # lowest Se and Sp of ours on records with both rhythms
    for rec, res in zip(AFDB, pool.map(score_record, paths), strict=True):
        for t, c in zip(tot, res, strict=True):
            t[:] = [a + b for a, b in zip(t, c, strict=True)]
        tp, fn, tn, fp = res[0]
        if tp + fn and tn + fp:
            worst = [min(worst[0], pct(tp, tp + fn)), min(worst[1], pct(tn, tn + fp))]
        print(f"{rec:<9}{tp + fn:>8}{tn + fp:>8}  {_cells(res[0])}    {_cells(res[1])}")
    tp, fn, tn, fp = tot[0]
    print(f"{'total':<9}{tp + fn:>8}{tn + fp:>8}  {_cells(tuple(tot[0]))}    "  # type: ignore[arg-type]
          f"{_cells(tuple(tot[1]))}")  # type: ignore[arg-type]  # fmt: skip
    print(f"hmg lowest on records with both rhythms: Se {worst[0]:.2f} %, Sp {worst[1]:.2f} %\n")
