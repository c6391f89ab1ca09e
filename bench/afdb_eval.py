"""AF per beat on the AFDB development records from their `.qrs` beats (beats-only mode).

The reference rhythm of a beat is the last `.atr` rhythm note before it (AF = `(AFIB`). Our
analyser (`gateway.ecgtool.analyze_record` with the `.qrs` annotations: a beat is AF when it lies
in an AF episode) is scored beside the Petrėnas rule (`bench.petrenas`) on the same beats.

Per record, besides Se over every AF beat, `Se 30 s` is the Se over the beats of reference AF
episodes lasting at least 30 s: the ESC guideline's minimum for AF (Hindricks et al., Eur Heart
J 2021;42:373) and the length from which `ecg.af` is raised (`EcgConfig.af_alarm_s`). Some
records' AF is a string of paroxysms of a few beats (05091: seven episodes of 3 to 22 beats,
1.7-13.6 s, and one of 43 s), which no window of RR intervals can label and no alarm would
report. The per-record table goes to `TABLE`.
"""

from __future__ import annotations

from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import numpy as np
import wfdb

from alerts.ecg import EcgConfig
from bench.petrenas import af_beats
from bench.records import pct
from gateway.ecgtool import analyze_record

AFDB = (
    "00735", "04015", "04048", "04126", "04908", "05091",
    "05121", "06453", "07162", "07910", "08405", "08434",
)  # fmt: skip
LONG_S = 30.0  # a reference AF episode at least this long counts in `Se 30 s`
TABLE = Path("build") / "eval" / "afdb.tsv"
Counts = tuple[int, int, int, int, int, int]  # TP, FN, TN, FP, TP and FN in long episodes


def af_reference(path: str, beats: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return af_reference_long(path, beats)[0]


def af_reference_long(
    path: str, beats: np.ndarray[Any, Any]
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Per beat: in reference AF, and in a reference AF episode of at least `LONG_S`."""
    ann = wfdb.rdann(path, "atr")
    fs = float(ann.fs or 250.0)
    marks = [(s, n) for s, n in zip(ann.sample, ann.aux_note, strict=True) if n.startswith("(")]
    pos = np.array([s for s, _ in marks])
    is_af = np.array([n.strip("\x00").startswith("(AFIB") for _, n in marks])
    end = np.append(pos[1:], max(int(beats[-1]) + 1, int(pos[-1]) + 1) if beats.size else pos[-1])
    long = is_af & ((end - pos) >= LONG_S * fs)
    k = np.searchsorted(pos, beats, side="right") - 1
    ok = k >= 0
    kk = np.maximum(k, 0)
    return np.where(ok, is_af[kk], False), np.where(ok, long[kk], False)


def in_episodes(beats: np.ndarray[Any, Any], eps: list[dict[str, Any]], label: str) -> Any:
    mask = np.zeros(beats.size, dtype=bool)
    for e in eps:
        if e["label"] == label:
            mask |= (beats > e["start"]) & (beats <= e["end"])
    return mask


def _counts(pred: Any, ref: Any, long: Any) -> Counts:
    return (int(np.sum(pred & ref)), int(np.sum(~pred & ref)),
            int(np.sum(~pred & ~ref)), int(np.sum(pred & ~ref)),
            int(np.sum(pred & long)), int(np.sum(~pred & long)))  # fmt: skip


def af_counts(path: str, config: EcgConfig | None = None) -> Counts:
    """Our per-beat counts on one record's `.qrs` beats, with `config` (None: as shipped)."""
    out = analyze_record(path, "qrs", 0, config)
    beats = np.asarray(out["beats"], dtype=np.int64)
    ref, long = af_reference_long(path, beats)
    return _counts(in_episodes(beats, out["episodes"], "AF"), ref, long)


def score_record(path: str) -> tuple[Counts, Counts]:
    """(ours, Petrėnas) per-beat counts on one record."""
    out = analyze_record(path, "qrs", 0)
    beats = np.asarray(out["beats"], dtype=np.int64)
    ref, long = af_reference_long(path, beats)
    ours = _counts(in_episodes(beats, out["episodes"], "AF"), ref, long)
    anchor = _counts(af_beats(beats, float(out["fs"])), ref, long)
    return ours, anchor


def _figures(c: Counts) -> tuple[float, float, float]:
    tp, fn, tn, fp, lt, lf = c
    return pct(tp, tp + fn), pct(tn, tn + fp), pct(lt, lt + lf)


def eval_afdb(root: Path, pool: Executor) -> None:
    print("AF per beat, AFDB (.qrs beats, .atr rhythm): Se % / Sp %, and Se over AF episodes "
          f"of >= {LONG_S:.0f} s")  # fmt: skip
    head = ("record", "AF", "non-AF", "AF>=30s", "hmg Se", "Sp", "Se 30s", "Petrenas Se", "Sp",
            "Se 30s")  # fmt: skip
    print(f"{head[0]:<9}" + "".join(f"{h:>9}" for h in head[1:4]) + "  "
          + "".join(f"{h:>8}" for h in head[4:7]) + "  "
          + f"{head[7]:>12}" + "".join(f"{h:>8}" for h in head[8:]))  # fmt: skip
    paths = [str(root / "ecg" / "afdb" / r) for r in AFDB]
    tot = [[0] * 6, [0] * 6]
    worst = [100.0, 100.0, 100.0]  # lowest Se, Sp, Se 30 s of ours where both rhythms occur
    rows: list[tuple[Any, ...]] = []
    for rec, res in zip(AFDB, pool.map(score_record, paths), strict=True):
        for t, c in zip(tot, res, strict=True):
            t[:] = [a + b for a, b in zip(t, c, strict=True)]
        tp, fn, tn, fp, lt, lf = res[0]
        ours, anchor = _figures(res[0]), _figures(res[1])
        if tp + fn and tn + fp:
            worst[0], worst[1] = min(worst[0], ours[0]), min(worst[1], ours[1])
            if lt + lf:
                worst[2] = min(worst[2], ours[2])
        rows.append((rec, tp + fn, tn + fp, lt + lf, *ours, *anchor))
    tp, fn, tn, fp, lt, lf = tot[0]
    rows.append(("total", tp + fn, tn + fp, lt + lf, *_figures(tuple(tot[0])),  # type: ignore[arg-type]
                 *_figures(tuple(tot[1]))))  # type: ignore[arg-type]  # fmt: skip
    for row in rows:
        print(f"{row[0]:<9}{row[1]:>9}{row[2]:>9}{row[3]:>9}  {row[4]:>8.2f}{row[5]:>8.2f}"
              f"{row[6]:>8.2f}  {row[7]:>12.2f}{row[8]:>8.2f}{row[9]:>8.2f}")  # fmt: skip
    TABLE.parent.mkdir(parents=True, exist_ok=True)
    TABLE.write_text("\t".join(head) + "\n" + "".join(
        "\t".join(f"{v:.2f}" if isinstance(v, float) else str(v) for v in row) + "\n"
        for row in rows))  # fmt: skip
    print(f"hmg lowest on records with both rhythms: Se {worst[0]:.2f} %, Sp {worst[1]:.2f} %, "
          f"Se over AF episodes >= {LONG_S:.0f} s {worst[2]:.2f} % (table: {TABLE})\n")  # fmt: skip
