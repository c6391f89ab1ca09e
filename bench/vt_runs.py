"""Why each reference VT run was found or missed (part of `bench.eval_ventricular`).

For every reference run (three or more consecutive VEB, every interval under 0.6 s) the table
gives its length, the held-out labels of the detected beats inside it and the first rule of
`alerts.ecg.vt.VtRuns` that the run fails, checked in the order a run is built:

- `qrs`: a reference beat of the run has no detected beat within 150 ms, so the detected
  intervals are too long or the run too short;
- `quality`: a beat of the run is `Q` (a stretch the quality checks do not vouch for);
- `model`: a beat of the run is `N` (the beat model's probability below its threshold);
- `alike`: a beat's complex is not alike the one before it (QRS correlation below 0.8);
- `confirm`: every beat is V and alike, but the run's confidence or width check failed.

The table goes to `build/eval/vt_runs.tsv`; the causes are counted on the console.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import wfdb

from bench.records import data_dir
from bench.ventricular_records import BEAT, Record

TABLE = Path("build") / "eval" / "vt_runs.tsv"
HEAD = ("record", "start", "end", "seconds", "ref beats", "detected", "labels", "alike",
        "mean p(V)", "found", "cause")  # fmt: skip


def _ref_beats(name: str) -> list[int]:
    ann = wfdb.rdann(str(data_dir() / "ecg" / "mitdb" / name), "atr")
    return [int(s) for s, y in zip(ann.sample, ann.symbol, strict=True) if y in BEAT]


def cause(labels: str, alike: str, n_ref: int, n_det: int) -> str:
    """The first run rule failed by a missed run (see the module docstring)."""
    if n_det < n_ref:
        return "qrs"
    if "Q" in labels:
        return "quality"
    if "N" in labels:
        return "model"
    if "0" in alike[1:]:
        return "alike"
    return "confirm"


def rows(
    rec: Record,
    labels: list[str],
    conf: list[float],
    found: list[bool],
) -> list[tuple[object, ...]]:
    """One row per reference run of `rec` (`found`: per run, whether a VT episode overlaps it)."""
    if not rec.runs:
        return []
    ref = np.asarray(_ref_beats(rec.name), dtype=np.int64)
    tol = round(0.15 * rec.fs)
    out: list[tuple[object, ...]] = []
    for (s, e), hit in zip(rec.runs, found, strict=True):
        n_ref = int(((ref >= s) & (ref <= e)).sum())
        at = np.nonzero((rec.beats >= s - tol) & (rec.beats <= e + tol))[0].tolist()
        lab = "".join(labels[i] for i in at)
        same = "".join("1" if rec.alike[i] else "0" for i in at)
        p = float(np.mean([conf[i] for i in at])) if at else 0.0
        why = "-" if hit else cause(lab, same, n_ref, len(at))
        out.append((rec.name, s, e, round((e - s) / rec.fs, 2), n_ref, len(at), lab or "-",
                    same or "-", round(p, 2), int(hit), why))  # fmt: skip
    return out


def write(table: list[tuple[object, ...]]) -> None:
    """Write the table and print how many missed runs each rule dropped."""
    TABLE.parent.mkdir(parents=True, exist_ok=True)
    TABLE.write_text(
        "\t".join(HEAD) + "\n" + "".join("\t".join(str(v) for v in r) + "\n" for r in table)
    )
    missed = Counter(str(r[-1]) for r in table if r[-1] != "-")
    per = ", ".join(f"{k} {v}" for k, v in missed.most_common())
    print(f"VT runs missed, by the first rule they fail: {per or 'none'} (per-run table: {TABLE})")
